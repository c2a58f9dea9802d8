// A Vite app using pkce-wasm from npm exactly as the README shows.
import { createClient, PkceWasmError } from 'pkce-wasm';

const status = document.getElementById('status');
const config = await (await fetch('/config.json')).json();
const auth = await createClient({ ...config, redirectUri: location.origin + '/vite/' });
document.getElementById('login').onclick = () => auth.loginWithRedirect();
try {
  if (auth.isCallback()) {
    const { claims } = await auth.handleRedirectCallback();
    status.textContent = `in:${claims.sub}`;
  } else {
    status.textContent = 'out';
  }
} catch (e) {
  status.textContent = `error:${e instanceof PkceWasmError ? e.code : e}`;
}
status.dataset.done = '';
