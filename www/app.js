// The demo SPA: plain ES modules, importing the package by name.
// Everything rendered from the network is set with textContent, never innerHTML.
import { createClient } from 'pkce-wasm';

const $ = (id) => document.getElementById(id);
let tokens;

function show(id, on = true) {
  $(id).hidden = !on;
}

function status(text, state) {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

function showError(e) {
  show('error');
  $('error-code').textContent = e.code ?? e.name ?? 'error';
  $('error-message').textContent = e.message;
  $('error-description').textContent = e.errorDescription ? `Provider said: ${e.errorDescription}` : '';
}

function mask(token) {
  return token.length <= 10 ? '••••' : `${token.slice(0, 4)}…${token.slice(-4)} (${token.length} chars)`;
}

let ticking;
function renderSession(auth, appState) {
  show('session');
  $('access-token').textContent = mask(tokens.accessToken);
  $('scope').textContent = tokens.scope;
  $('refresh-token').textContent = tokens.refreshToken ? 'issued (kept in memory)' : 'none';
  $('app-state').textContent = JSON.stringify(appState ?? null);
  const claims = auth.getIdTokenClaims(); // validated: signature, iss, aud, exp, iat, nonce
  $('claims').textContent = claims ? JSON.stringify(claims, null, 2) : '(no ID token)';
  for (const id of ['call-api', 'refresh', 'logout']) $(id).disabled = false;
  const tick = () => {
    if (!tokens?.expiresAt) return ($('expires').textContent = 'no expiry given');
    const s = Math.round((tokens.expiresAt - Date.now()) / 1000);
    $('expires').textContent = `${new Date(tokens.expiresAt).toLocaleTimeString()} (${s > 0 ? `in ${s} s` : 'expired'})`;
  };
  tick();
  clearInterval(ticking);
  ticking = setInterval(tick, 1000);
  status(`Logged in${claims?.sub ? ` as ${claims.sub}` : ''}.`, 'logged-in');
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  $('issuer').textContent = config.issuer;
  $('client').textContent = config.clientId;
  // Discovery: the SDK fetches <issuer>/.well-known/openid-configuration.
  const auth = await createClient(config);

  $('login').onclick = () =>
    auth.loginWithRedirect({ appState: { returnTo: location.pathname, at: Date.now() } }).catch(showError);

  $('call-api').onclick = async () => {
    show('api');
    try {
      // A bearer GET to the provider's userinfo endpoint; its sub is checked against the ID token's.
      $('userinfo').textContent = `OK\n${JSON.stringify(await auth.getUserInfo(), null, 2)}`;
    } catch (e) {
      $('userinfo').textContent = `Failed: ${e.code}: ${e.message}`;
    }
  };

  $('refresh').onclick = async () => {
    try {
      await auth.getAccessToken({ forceRefresh: true });
    } catch (e) {
      showError(e);
    }
  };
  $('logout').onclick = () => auth.logout({ returnTo: config.redirectUri }).catch(showError);
  auth.on('tokensRefreshed', () => {
    tokens = auth.getTokens();
    $('access-token').textContent = mask(tokens.accessToken);
    status('Tokens refreshed.', 'refreshed');
  });
  auth.on('sessionExpired', () => status('Session expired: log in again.', 'expired'));

  $('login').disabled = false;
  if (auth.isCallback()) {
    status('Completing login…', 'callback');
    try {
      const result = await auth.handleRedirectCallback();
      tokens = result.tokens;
      renderSession(auth, result.appState);
    } catch (e) {
      status('Login failed.', 'error');
      showError(e);
    }
  } else {
    status('Not logged in.', 'logged-out');
  }
}

main().catch((e) => {
  status('The demo failed to start.', 'error');
  showError(e);
});
