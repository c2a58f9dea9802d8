// pkce-wasm: the thin JS wrapper. It owns loading the wasm (once) and gives
// errors their class; every protocol decision is made in Rust.
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

/**
 * Loads the wasm module once. Called for you by createClient; call it yourself
 * to start loading early, or to load the module from elsewhere (a URL, a
 * Response, bytes or a WebAssembly.Module), e.g. for a CDN or a strict CSP.
 */
export function init(moduleOrPath) {
  loading ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).then(
    () => undefined,
    (e) => {
      loading = undefined;
      throw new PkceWasmError('The pkce-wasm WebAssembly module failed to load: ' + (e && e.message), 'wasm_load_failed');
    },
  );
  return loading;
}

const here = () => (typeof location === 'undefined' ? undefined : location.href);

/** A PKCE client; make one with createClient(). */
export class Client {
  #inner;
  constructor(inner) {
    this.#inner = inner;
  }

  /** Starts a login and resolves to the authorization URL without navigating. */
  async authorizeUrl(options = {}) {
    try {
      return await this.#inner.authorizeUrl(options);
    } catch (e) {
      throw typed(e);
    }
  }

  /** Starts a login (pushing the request first with PAR) and redirects the page to the provider. */
  async loginWithRedirect(options = {}) {
    try {
      await this.#inner.loginWithRedirect(options);
    } catch (e) {
      throw typed(e);
    }
  }

  /** True when the URL (default: the current page) carries an authorization response. */
  isCallback(url = here()) {
    return typeof url === 'string' && this.#inner.isCallback(url);
  }

  /** Handles the redirect back: resolves to { appState, tokens, claims? }. */
  async handleRedirectCallback(url = here()) {
    try {
      return await this.#inner.handleRedirectCallback(String(url));
    } catch (e) {
      throw typed(e);
    }
  }

  /** The validated ID token claims of the current session, or undefined. */
  getIdTokenClaims() {
    return this.#inner.getIdTokenClaims();
  }

  /** UserInfo claims; their `sub` must equal the ID token's. */
  async getUserInfo() {
    try {
      return await this.#inner.getUserInfo();
    } catch (e) {
      throw typed(e);
    }
  }

  /** A valid access token, refreshed when it expires within the leeway. `{ forceRefresh }`. */
  async getAccessToken(options = {}) {
    try {
      return await this.#inner.getAccessToken(options);
    } catch (e) {
      throw typed(e);
    }
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
  async getUser(options = {}) {
    try {
      return await this.#inner.getUser(options);
    } catch (e) {
      throw typed(e);
    }
  }

  /** Ends the session: `{ returnTo, localOnly }`. */
  async logout(options = {}) {
    try {
      await this.#inner.logout(options);
    } catch (e) {
      throw typed(e);
    }
  }

  /** fetch() that attaches the access token for the configured API origins only. */
  async fetch(input, init) {
    try {
      return await this.#inner.fetch(input, init);
    } catch (e) {
      throw typed(e);
    }
  }

  /**
   * Subscribes to 'tokensRefreshed' | 'sessionExpired' | 'loggedOut' | 'error'.
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
  try {
    return new Client(await createWasmClient(options));
  } catch (e) {
    throw typed(e);
  }
}
