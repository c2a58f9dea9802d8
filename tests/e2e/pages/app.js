// A bare page for the session tests: the SDK on window, options from the query
// (?opts=<json>), the callback handled on load. Tests drive it with evaluate().
import { createClient } from 'pkce-wasm';

const config = await (await fetch('/config.json')).json();
// Options survive the round trip through the provider in this tab's sessionStorage.
const opts = JSON.parse(new URLSearchParams(location.search).get('opts') ?? sessionStorage.getItem('test-opts') ?? '{}');
sessionStorage.setItem('test-opts', JSON.stringify(opts));
window.events = [];
try {
  const auth = await createClient({ ...config, redirectUri: location.origin + '/test/', ...opts });
  for (const e of ['loggedIn', 'tokensRefreshed', 'sessionExpired', 'loggedOut', 'error']) {
    auth.on(e, (err) => window.events.push(err ? `${e}:${err.code}` : e));
  }
  window.auth = auth;
  // A login popup opened from a real click (tests set window.popupOptions first).
  const button = document.createElement('button');
  button.id = 'popup';
  button.textContent = 'Log in with a popup';
  button.onclick = () => {
    window.popupResult = auth.loginWithPopup(window.popupOptions ?? {}).then(
      (r) => ({ sub: r.claims?.sub, accessToken: r.tokens.accessToken }),
      (e) => ({ code: e.code }),
    );
  };
  document.body.append(button);
  // fetch() from a real click (a step-up popup needs the click's activation).
  const fetchButton = document.createElement('button');
  fetchButton.id = 'fetch';
  fetchButton.textContent = 'Call the API';
  fetchButton.onclick = () => {
    window.fetchResult = auth.fetch(window.fetchUrl).then(
      (r) => ({ status: r.status }),
      (e) => ({ code: e.code, acrValues: e.acrValues }),
    );
  };
  document.body.append(fetchButton);
  if (auth.isCallback() && sessionStorage.getItem('test-double') === '1') {
    // As React StrictMode does: the callback effect runs twice at once.
    const both = await Promise.allSettled([auth.handleRedirectCallback(), auth.handleRedirectCallback()]);
    window.double = both.map((r) => ({ status: r.status, accessToken: r.value?.tokens.accessToken, code: r.reason?.code }));
  } else if (auth.isCallback()) await auth.handleRedirectCallback();
  document.getElementById('status').textContent = auth.isAuthenticated() ? 'in' : 'out';
} catch (e) {
  document.getElementById('status').textContent = `error:${e.code}`;
}
document.getElementById('status').dataset.done = '';
