// pkce-wasm/react: the React binding. Glue only: it makes (or takes) one
// client, handles the redirect back once, and mirrors the client's state and
// events into React state. Every protocol decision stays in the SDK.
//
// It imports the package's ESM entry by its path next to this file in dist/,
// so an app importing both `pkce-wasm` and `pkce-wasm/react` bundles one copy
// of the SDK and its wasm. Built (minified, not bundled) into dist/react.js.
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { createClient } from './pkce-wasm.js';

const AuthContext = createContext(undefined);

// One client per options, for the page's lifetime: StrictMode renders twice
// and runs effects twice, a remount renders again, and each must find the
// same client (its callback share, its session, its timers). A failed
// creation is forgotten, so that the next mount tries again.
const clients = new Map();
function clientFor(key, options) {
  let client = clients.get(key);
  if (!client) {
    client = createClient(options);
    clients.set(key, client);
    client.catch(() => clients.get(key) === client && clients.delete(key));
  }
  return client;
}

// Callback outcomes with nothing to show (README, "Using the SDK"): another
// client's callback, the popup's or iframe's own page handing the response to
// the page that started the login, and "this tab has no login to finish",
// whose one recovery is a new login (the logged-out state, or a guard, starts it).
const QUIET = ['callback_other_client', 'popup_response_sent', 'silent_response_sent', 'no_pending_login', 'callback_replayed', 'transaction_expired'];
// The page is only a relay for the window that started the login (and is closing).
const RELAY = ['popup_response_sent', 'silent_response_sent'];

// What holds a guard back (module-private key of the context value): the
// page is on its way to the provider (a login or a logout by redirect) or is
// a relay, or a login of the user's own (a popup) is running. A guard must
// not start a login then: it would race the navigation, or the popup.
const HOLD = Symbol('hold');
// A login failed (the callback, or one the user started): the guard waits
// for the user rather than redirect again. Background errors (a refresh that
// failed on the network) are shown in `error` but hold nothing.
const FAILED = Symbol('failed');
// A counter in the state, bumped when a hold ends: a guard looks again.
const TICK = Symbol('tick');

const EVENTS = ['loggedIn', 'tokensRefreshed', 'sessionExpired', 'loggedOut'];

const INITIAL = { isLoading: true, isAuthenticated: false, user: undefined, error: undefined, client: undefined, [FAILED]: false, [TICK]: 0 };

const snapshot = (client) => {
  const isAuthenticated = client.isAuthenticated();
  return { isAuthenticated, user: isAuthenticated ? client.getIdTokenClaims() : undefined };
};

const isObject = (v) => typeof v === 'object' && v !== null;

/** The default `onRedirectCallback`: back to `appState.returnTo` (same origin only) with `history.replaceState`. */
function returnToAppState(appState) {
  const to = isObject(appState) ? appState.returnTo : undefined;
  if (typeof to !== 'string') return;
  try {
    const url = new URL(to, location.href);
    if (url.origin === location.origin) history.replaceState(history.state, '', url.href);
  } catch {
    // not a URL: stay where the SDK left the page
  }
}

/**
 * Provides the session to {@link useAuth}. Give it `options` (the client is
 * created once per options for the page, StrictMode-safe) or `client` (a
 * `Client` or a promise of one, created outside render). On mount it handles
 * the redirect back when the URL is a callback (once, also under StrictMode's
 * double effects; the SDK cleans the address bar), then calls
 * `onRedirectCallback(appState, result)` — by default a `history.replaceState`
 * to `appState.returnTo` when it is on this origin.
 */
export function AuthProvider({ options, client, onRedirectCallback = returnToAppState, children }) {
  if (!options === !client) throw new Error('<AuthProvider> (pkce-wasm/react) takes either `options` or `client`, not both or neither');
  // The client is made (or awaited) in effects and actions, never in render (SSR: nothing runs on the server).
  const key = options ? JSON.stringify(options) : undefined;
  const source = useMemo(() => (key ? () => clientFor(key, options) : () => client), [key, client]);
  const [state, setState] = useState(INITIAL);
  const resolved = useRef(undefined);
  // The client the provider is attached to (a promise), and how to attach again after it failed.
  const attached = useRef(undefined);
  const reattach = useRef(undefined);
  // Reasons a guard must hold (see HOLD): navigating, and logins running.
  const leaving = useRef(false);
  const running = useRef(0);
  const onRedirect = useRef(onRedirectCallback);
  useEffect(() => {
    onRedirect.current = onRedirectCallback;
  });

  useEffect(() => {
    let live = true;
    const offs = [];
    const update = (patch) => live && setState((s) => ({ ...s, ...patch }));
    resolved.current = undefined;
    const attach = async (c) => {
      // StrictMode's first effect run was cleaned up before the client
      // resolved: only the run still mounted handles the callback.
      if (!live) return;
      resolved.current = c;
      const sync = () => update(snapshot(c));
      for (const event of EVENTS) offs.push(c.on(event, sync));
      // A login, or a refresh that worked: whatever went wrong before is over.
      offs.push(c.on('loggedIn', () => update({ error: undefined, [FAILED]: false })));
      offs.push(c.on('tokensRefreshed', () => update({ error: undefined })));
      offs.push(c.on('error', (error) => update({ error })));
      // Back from the provider through the back/forward cache: this page stayed, state may have moved.
      const shown = (e) => {
        if (!e.persisted) return;
        leaving.current = false;
        setState((st) => ({ ...st, ...snapshot(c), [TICK]: st[TICK] + 1 }));
      };
      addEventListener('pageshow', shown);
      offs.push(() => removeEventListener('pageshow', shown));
      let result;
      let error;
      if (c.isCallback()) {
        try {
          result = await c.handleRedirectCallback();
        } catch (e) {
          if (!QUIET.includes(e?.code)) error = e;
          if (RELAY.includes(e?.code)) leaving.current = true;
        }
      }
      update({ ...snapshot(c), isLoading: false, client: c, ...(error && { error, [FAILED]: true }) });
      // Before React renders that state: the app renders at appState's URL.
      if (result && live) onRedirect.current?.(result.appState, result);
    };
    const connect = () => {
      const p = Promise.resolve(source());
      attached.current = p;
      p.then(attach, (error) => {
        // A failed creation is forgotten (clientFor): the next action attaches to a new one.
        if (attached.current === p) attached.current = undefined;
        update({ isLoading: false, error, [FAILED]: true });
      });
      return p;
    };
    reattach.current = () => attached.current ?? connect();
    connect();
    return () => {
      live = false;
      reattach.current = undefined;
      for (const off of offs) off();
    };
  }, [source]);

  // Stable functions (safe in effect dependencies); state changes only re-make the value.
  const actions = useMemo(() => {
    const withClient = (fn) => Promise.resolve(resolved.current ?? reattach.current?.() ?? source()).then(fn);
    // A guard looks again when a hold ends.
    const release = (patch) => setState((s) => ({ ...s, ...(resolved.current && snapshot(resolved.current)), ...patch, [TICK]: s[TICK] + 1 }));
    // Interactive actions report failures in `error` (and resolve to undefined), as a click handler wants.
    // `navigates(result)`: whether the page is now leaving (a redirect login always; a logout when it says so).
    const interactive = (start, navigates) => {
      setState((s) => ({ ...s, error: undefined, [FAILED]: false }));
      running.current++;
      leaving.current ||= navigates !== undefined;
      return start().then(
        (r) => {
          running.current--;
          leaving.current = navigates?.(r) ?? false;
          release({});
          return r;
        },
        (e) => {
          running.current--;
          leaving.current = false;
          // A newer popup login took this one's window over: not an error, the newer one goes on.
          release(e?.code === 'popup_replaced' ? {} : { error: e, [FAILED]: true });
          return undefined;
        },
      );
    };
    return {
      [HOLD]: () => leaving.current || running.current > 0,
      loginWithRedirect: (o) => interactive(() => withClient((c) => c.loginWithRedirect(o)), () => true),
      // The popup must open in the click itself: the resolved client is called synchronously.
      loginWithPopup: (o) => interactive(() => (resolved.current ? resolved.current.loginWithPopup(o) : withClient((c) => c.loginWithPopup(o)))),
      // logout resolves to whether the page is now on its way to the provider (or returnTo).
      logout: (o) => interactive(() => withClient((c) => c.logout(o)), (navigating) => navigating === true),
      getAccessToken: (o) => withClient((c) => c.getAccessToken(o)),
      getIdTokenClaims: () => resolved.current?.getIdTokenClaims(),
      getUser: (o) => withClient((c) => c.getUser(o)),
      fetch: (input, init) => withClient((c) => c.fetch(input, init)),
      checkSession: (o) => withClient((c) => c.checkSession(o)),
    };
  }, [source]);

  const value = useMemo(() => ({ ...state, ...actions }), [state, actions]);
  return createElement(AuthContext.Provider, { value }, children);
}

/**
 * The session and its actions, from the nearest {@link AuthProvider}:
 * `{ isLoading, isAuthenticated, user, error, client, loginWithRedirect,
 * loginWithPopup, logout, getAccessToken, getIdTokenClaims, getUser, fetch,
 * checkSession }`. State follows the client's events, including another
 * tab's login, refresh and logout. Throws outside a provider.
 */
export function useAuth() {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth() (pkce-wasm/react) was called outside <AuthProvider>: wrap the app in <AuthProvider options={…}>');
  return value;
}

/**
 * Renders `children` for an authenticated user; otherwise renders `fallback`
 * and starts `loginWithRedirect` (once, also under StrictMode) with
 * `appState.returnTo` set to the current path, search and hash. It starts no
 * login while `error` is set (no redirect loop; show the error elsewhere), nor
 * while the page is leaving for the provider (a logout by redirect).
 */
export function RequireAuth({ children, fallback = null, loginOptions }) {
  const auth = useAuth();
  const { isLoading, isAuthenticated, loginWithRedirect } = auth;
  const started = useRef(false);
  const go = !isLoading && !isAuthenticated && !auth[FAILED];
  useEffect(() => {
    if (!go || started.current || auth[HOLD]()) return;
    started.current = true;
    const returnTo = location.pathname + location.search + location.hash;
    const appState = loginOptions?.appState;
    loginWithRedirect({ ...loginOptions, appState: isObject(appState) ? { returnTo, ...appState } : appState ?? { returnTo } }).finally(
      () => (started.current = false),
    );
  }, [go, auth[TICK]]);
  return isAuthenticated ? children : fallback;
}

/**
 * Wraps `Component` in {@link RequireAuth}: `onRedirecting()` is rendered
 * while the user is sent to log in, `loginOptions` go to `loginWithRedirect`.
 */
export function withAuthenticationRequired(Component, { onRedirecting = () => null, loginOptions } = {}) {
  function WithAuthenticationRequired(props) {
    return createElement(RequireAuth, { fallback: onRedirecting(), loginOptions }, createElement(Component, props));
  }
  WithAuthenticationRequired.displayName = `withAuthenticationRequired(${Component.displayName || Component.name || 'Component'})`;
  return WithAuthenticationRequired;
}
