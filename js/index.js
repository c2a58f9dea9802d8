// pkce-wasm: the thin JS wrapper. It loads the wasm (once), runs the await
// loop that drives each operation, and gives errors their class. It knows no
// OAuth: every decision is made in Rust, every effect performed there too.
import initWasm, { createClient as createWasmClient } from '../pkg/pkce_wasm.js';

/**
 * Every failure is a PkceWasmError with a stable `code` (see README, "Error codes").
 * Provider errors also carry `error`, `errorDescription`, `errorUri`, `status`.
 */
export class PkceWasmError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'PkceWasmError';
    this.code = code;
  }
}

const typed = (e) => {
  if (e instanceof Error && typeof e.code === 'string' && !(e instanceof PkceWasmError)) {
    Object.setPrototypeOf(e, PkceWasmError.prototype);
  }
  return e;
};

let loading;

// The module starts loading when this file is imported, in a page: one
// microtask later, so that an `init(url)` made in the importing module's
// synchronous part (before its first `await`) replaces the default URL and no
// request is wasted. Opt out with <meta name="pkce-wasm-init" content="manual">
// (or data-init="manual" on the script tag of the global build). Never in Node
// or a worker: importing there has no side effect. A failure here is not
// reported; the createClient that follows retries and reports it.
let auto =
  typeof document === 'object' &&
  !document.querySelector('meta[name="pkce-wasm-init"][content="manual"]') &&
  document.currentScript?.dataset.init !== 'manual';

/**
 * Loads the wasm module once. Called for you by createClient; call it yourself
 * to start loading early, or to load the module from elsewhere (a URL, a
 * Response, bytes or a WebAssembly.Module), e.g. for a CDN or a strict CSP.
 */
export function init(moduleOrPath) {
  auto = false;
  loading ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).then(
    () => undefined,
    (e) => {
      loading = undefined;
      // A Content-Security-Policy without 'wasm-unsafe-eval' refuses to compile it: say what to add.
      const csp = /unsafe-eval|Content Security Policy/i.test(String(e && e.message));
      const hint = csp ? "the page's Content-Security-Policy forbids compiling WebAssembly: add 'wasm-unsafe-eval' to its script-src directive. " : '';
      throw new PkceWasmError('The pkce-wasm WebAssembly module failed to load: ' + hint + (e && e.message), 'wasm_load_failed');
    },
  );
  return loading;
}

queueMicrotask(() => auto && init().catch(() => {}));

/**
 * The await loop: `start()` makes an operation; each `next()` returns a
 * promise to await (or undefined when the operation is over), and is
 * resumed with how it settled.
 */
async function run(start) {
  let op;
  try {
    op = start();
    let value;
    let ok = true;
    for (let p; (p = op.next(value, ok)) !== undefined; ) {
      try {
        value = await p;
        ok = true;
      } catch (e) {
        value = e;
        ok = false;
      }
    }
    return op.result();
  } catch (e) {
    throw typed(e);
  } finally {
    op?.free();
  }
}

// Background operations (auto refresh) report through `error` events, never rejections.
const spawn = (op) => run(() => op).catch(() => {});

const here = () => (typeof location === 'undefined' ? undefined : location.href);

/** A PKCE client; make one with createClient(). */
export class Client {
  #inner;
  constructor(inner) {
    this.#inner = inner;
  }

  /** Starts a login and resolves to the authorization URL without navigating. */
  authorizeUrl(options = {}) {
    return run(() => this.#inner.authorizeUrl(options));
  }

  /** Starts a login (pushing the request first with PAR) and redirects the page to the provider. */
  loginWithRedirect(options = {}) {
    return run(() => this.#inner.loginWithRedirect(options));
  }

  /** Logs in through a popup opened now (call it in a click, before any await); resolves like handleRedirectCallback. */
  loginWithPopup(options = {}) {
    return run(() => this.#inner.loginWithPopup(options));
  }

  /** Silent authentication (prompt=none in a hidden iframe); resolves like handleRedirectCallback. */
  checkSession(options = {}) {
    return run(() => this.#inner.checkSession(options));
  }

  /** True when the URL (default: the current page) carries an authorization response. */
  isCallback(url = here()) {
    return typeof url === 'string' && this.#inner.isCallback(url);
  }

  /** Handles the redirect back: resolves to { appState, tokens, claims? }. */
  handleRedirectCallback(url = here()) {
    return run(() => this.#inner.handleRedirectCallback(String(url)));
  }

  /** The validated ID token claims of the current session, or undefined. */
  getIdTokenClaims() {
    return this.#inner.getIdTokenClaims();
  }

  /** UserInfo claims; their `sub` must equal the ID token's. */
  getUserInfo() {
    return run(() => this.#inner.getUserInfo());
  }

  /** A valid access token, refreshed when it expires within the leeway. `{ forceRefresh }`. */
  getAccessToken(options = {}) {
    return run(() => this.#inner.getAccessToken(options));
  }

  /** The current tokens `{ accessToken, tokenType, expiresAt, refreshToken?, idToken?, scope }`, or undefined. */
  getTokens() {
    return this.#inner.getTokens();
  }

  /** True when there is a session whose access token is valid or refreshable. */
  isAuthenticated() {
    return this.#inner.isAuthenticated();
  }

  /** The validated ID token claims; `{ userInfo: true }` merges in UserInfo. */
  getUser(options = {}) {
    return run(() => this.#inner.getUser(options));
  }

  /** Ends the session: `{ returnTo, localOnly }`. */
  logout(options = {}) {
    return run(() => this.#inner.logout(options));
  }

  /** fetch() that attaches the access token for the configured API origins only. */
  fetch(input, init) {
    return run(() => this.#inner.fetch(input, init));
  }

  /**
   * Subscribes to 'loggedIn' | 'tokensRefreshed' | 'sessionExpired' | 'loggedOut' | 'error'.
   * Returns the unsubscribe function.
   */
  on(event, handler) {
    if (typeof handler !== 'function') throw new PkceWasmError('on(event, handler): handler must be a function', 'invalid_config');
    let id;
    try {
      id = this.#inner.on(String(event), (payload) => handler(payload === undefined ? undefined : typed(payload)));
    } catch (e) {
      throw typed(e);
    }
    return () => this.#inner.off(id);
  }
}

/**
 * Loads the wasm (once) and makes a client. With `issuer` alone it fetches the
 * discovery document (once per page load). Throws PkceWasmError.
 */
export async function createClient(options) {
  await init();
  return new Client(await run(() => createWasmClient(options, spawn)));
}
