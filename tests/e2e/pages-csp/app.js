// The SDK by URL (no import map: an inline script would need a hash), the
// callback handled on load, the result in #status for the test.
import { createClient } from '/dist/pkce-wasm.js';

const status = document.getElementById('status');
try {
  const config = await (await fetch('/config.json')).json();
  const auth = await createClient({ ...config, redirectUri: location.origin + '/csp/' });
  window.auth = auth;
  if (auth.isCallback()) await auth.handleRedirectCallback();
  status.textContent = auth.isAuthenticated() ? `in:${auth.getIdTokenClaims()?.sub}` : 'out';
} catch (e) {
  status.textContent = `error:${e.code}`;
  status.title = e.message;
}
status.dataset.done = '';
