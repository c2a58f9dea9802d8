// Test-only: the app imports `pkce-wasm` directly too, beside `pkce-wasm/react`.
import { PkceWasmError } from 'pkce-wasm';

window.directSdk = typeof PkceWasmError;
