// The script-tag build's entry: bundled into dist/pkce-wasm.global.js as an
// IIFE that defines window.PkceWasm. The wasm is found next to the script
// (from its own src), not through import.meta.url, which a classic script lacks.
import * as sdk from './index.js';

const here = document.currentScript && document.currentScript.src;
const wasmUrl = new URL('pkce_wasm_bg.wasm', here || location.href);

/** Same API as the ESM entry; `init()` without an argument loads the wasm next to this script. */
export const init = (moduleOrPath) => sdk.init(moduleOrPath === undefined ? wasmUrl : moduleOrPath);
// Loading starts now, from next to this script, unless the page opted out
// (data-init="manual" on this script tag, or the meta tag the ESM entry reads).
const manual =
  document.currentScript?.dataset.init === 'manual' || document.querySelector('meta[name="pkce-wasm-init"][content="manual"]');
if (!manual) init().catch(() => {});
export const createClient = async (options) => {
  await init();
  return sdk.createClient(options);
};
export const { Client, PkceWasmError } = sdk;
