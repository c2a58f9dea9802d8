// The demo SPA: plain ES modules, importing the package by name.
// Everything rendered from the network is set with textContent, never innerHTML.
import { createClient } from 'pkce-wasm';

const $ = (id) => document.getElementById(id);
const SESSION_BUTTONS = ['call-api', 'call-demo-api', 'refresh', 'logout'];
const LOGIN_BUTTONS = ['login', 'login-popup'];
let auth;
let ticking;

function show(id, on = true) {
  $(id).hidden = !on;
}

function status(text, state) {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

const time = (ms) => new Date(ms).toLocaleTimeString();

/** One line in the events log, newest first. */
function log(text) {
  const li = document.createElement('li');
  const when = document.createElement('time');
  when.textContent = time(Date.now());
  li.append(when, ' ', text);
  $('events').prepend(li);
}

function showError(e) {
  show('error');
  $('error-code').textContent = e.code ?? e.name ?? 'error';
  $('error-message').textContent = e.message;
  $('error-description').textContent = e.errorDescription ? `Provider said: ${e.errorDescription}` : '';
  log(`Error: ${e.code ?? e.name}`);
}

function mask(token) {
  return token.length <= 10 ? '••••' : `${token.slice(0, 4)}…${token.slice(-4)} (${token.length} chars)`;
}

function enable(loggedIn) {
  for (const id of LOGIN_BUTTONS) $(id).disabled = loggedIn;
  for (const id of SESSION_BUTTONS) $(id).disabled = !loggedIn;
}

/** Disables a button while its action runs. */
function busy(id, action) {
  return async () => {
    $(id).disabled = true;
    try {
      await action();
    } finally {
      $(id).disabled = !auth.isAuthenticated();
    }
  };
}

function renderClaims(claims) {
  $('claims').textContent = claims ? JSON.stringify(claims, null, 2) : '(no ID token)';
  const rows = Object.entries(claims ?? {}).map(([name, value]) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    const td = document.createElement('td');
    th.textContent = name;
    const isTime = ['iat', 'exp', 'auth_time', 'nbf'].includes(name) && typeof value === 'number';
    td.textContent = isTime ? `${time(value * 1000)} (${value})` : typeof value === 'string' ? value : JSON.stringify(value);
    tr.append(th, td);
    return tr;
  });
  $('claims-table').tBodies[0].replaceChildren(...rows);
}

function renderTokens() {
  const tokens = auth.getTokens();
  if (!tokens) return;
  $('access-token').textContent = mask(tokens.accessToken);
  $('scope').textContent = tokens.scope;
  $('refresh-token').textContent = tokens.refreshToken ? 'issued (kept in memory)' : 'none';
  const tick = () => {
    const { expiresAt } = auth.getTokens() ?? {};
    if (!expiresAt) return ($('expires').textContent = 'no expiry given');
    const s = Math.round((expiresAt - Date.now()) / 1000);
    $('expires').textContent = `${time(expiresAt)} (${s > 0 ? `in ${s} s` : 'expired'})`;
  };
  tick();
  clearInterval(ticking);
  ticking = setInterval(tick, 1000);
}

function renderSession(appState) {
  show('session');
  renderTokens();
  if (appState !== undefined) $('app-state').textContent = JSON.stringify(appState ?? null);
  const claims = auth.getIdTokenClaims(); // validated: signature, iss, aud, exp, iat, nonce
  renderClaims(claims);
  enable(true);
  status(`Logged in${claims?.sub ? ` as ${claims.sub}` : ''}.`, 'logged-in');
}

function renderLoggedOut(text = 'Not logged in.', state = 'logged-out') {
  clearInterval(ticking);
  show('session', false);
  show('api', false);
  enable(false);
  status(text, state);
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  $('issuer').textContent = config.issuer;
  $('client').textContent = config.clientId;
  // Discovery: the SDK fetches <issuer>/.well-known/openid-configuration.
  auth = await createClient(config);
  log('Client ready (provider discovered).');

  $('login').onclick = () => {
    log('Login by redirect: going to the provider.');
    auth.loginWithRedirect({ appState: { returnTo: location.pathname, at: Date.now() } }).catch(showError);
  };
  // loginWithPopup opens the window at once: nothing is awaited before it.
  $('login-popup').onclick = async () => {
    const login = auth.loginWithPopup({ appState: { returnTo: location.pathname, via: 'popup' } });
    log('Login in a popup: waiting for it.');
    // The button stays usable: a user who closed the popup clicks again, and
    // the newer call takes over (the older one fails with popup_replaced).
    status('Waiting for the popup… Closed it? Click “Log in with a popup” again.', 'popup');
    try {
      renderSession((await login).appState);
    } catch (e) {
      if (e.code === 'popup_replaced') return log('The popup login was started again.');
      if (auth.isAuthenticated()) renderSession(); // a login meanwhile (another tab) still counts
      else renderLoggedOut('Popup login failed.', 'error');
      showError(e);
    }
  };

  $('call-api').onclick = busy('call-api', async () => {
    show('api');
    show('userinfo-panel');
    try {
      // A bearer GET to the provider's userinfo endpoint; its sub is checked against the ID token's.
      $('userinfo').textContent = `OK\n${JSON.stringify(await auth.getUserInfo(), null, 2)}`;
      log('UserInfo answered.');
    } catch (e) {
      $('userinfo').textContent = `Failed: ${e.code}: ${e.message}`;
      log(`UserInfo failed: ${e.code}`);
    }
  });

  $('call-demo-api').onclick = busy('call-demo-api', async () => {
    show('api');
    show('demo-api-panel');
    try {
      // client.fetch adds `Authorization: Bearer` for apiOrigins (default: this origin) only.
      const res = await auth.fetch('/api/me');
      const body = await res.text();
      let shown = body;
      try {
        shown = JSON.stringify(JSON.parse(body), null, 2);
      } catch {}
      $('demo-api').textContent = `${res.status} ${res.statusText}\n${shown}`;
      log(`Demo API answered ${res.status}.`);
    } catch (e) {
      $('demo-api').textContent = `Failed: ${e.code}: ${e.message}`;
      log(`Demo API failed: ${e.code}`);
    }
  });

  $('refresh').onclick = busy('refresh', async () => {
    try {
      await auth.getAccessToken({ forceRefresh: true });
    } catch (e) {
      showError(e);
    }
  });
  $('logout').onclick = () => {
    log('Logging out: revoking the refresh token, then the provider.');
    // The page is left for the provider's logout: the page that comes back says so.
    sessionStorage.setItem('demo.loggedOut', '1');
    auth.logout({ returnTo: config.redirectUri }).catch((e) => {
      sessionStorage.removeItem('demo.loggedOut');
      showError(e);
    });
  };
  $('error-dismiss').onclick = () => show('error', false);

  auth.on('loggedIn', () => {
    log('Event loggedIn.');
    renderSession();
  });
  auth.on('tokensRefreshed', () => {
    log('Event tokensRefreshed: new access token.');
    renderTokens();
    status('Tokens refreshed.', 'refreshed');
  });
  auth.on('sessionExpired', () => {
    log('Event sessionExpired.');
    renderLoggedOut('Session expired: log in again.', 'expired');
  });
  auth.on('loggedOut', () => {
    log('Event loggedOut.');
    renderLoggedOut();
  });
  auth.on('error', (e) => log(`Event error: ${e.code}`));

  // Every button stays disabled until the page knows where it stands.
  if (auth.isCallback()) {
    status('Completing login…', 'callback');
    try {
      const result = await auth.handleRedirectCallback();
      log('Callback checked: state, iss, code exchange with the verifier, ID token.');
      renderSession(result.appState);
    } catch (e) {
      if (e.code === 'popup_response_sent') return status('Login handed to the window that opened this one.', 'popup-done');
      renderLoggedOut('Login failed.', 'error');
      showError(e);
    }
  } else if (auth.isAuthenticated()) {
    renderSession();
  } else if (sessionStorage.getItem('demo.loggedOut')) {
    sessionStorage.removeItem('demo.loggedOut');
    log('Back from the provider’s logout page.');
    renderLoggedOut('Logged out.');
  } else {
    renderLoggedOut();
  }
}

main().catch((e) => {
  status('The demo failed to start.', 'error');
  showError(e);
});
