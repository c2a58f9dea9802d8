/**
 * pkce-wasm — OAuth 2.0 / OpenID Connect Authorization Code + PKCE for
 * single-page apps, in Rust compiled to WebAssembly.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636 PKCE
 * @see https://openid.net/specs/openid-connect-core-1_0.html OpenID Connect Core
 * @packageDocumentation
 */

/** Stable error codes (see the README's error table). Provider codes pass through too. */
export type PkceWasmErrorCode =
  | 'invalid_config' | 'invalid_code_verifier' | 'reserved_parameter' | 'storage_unavailable'
  | 'crypto_unavailable' | 'no_window' | 'not_a_callback' | 'invalid_callback' | 'duplicate_parameter'
  | 'popup_blocked' | 'popup_closed' | 'popup_replaced' | 'popup_response_sent'
  | 'silent_timeout' | 'third_party_cookies_blocked' | 'silent_response_sent'
  | 'missing_state' | 'state_mismatch' | 'no_pending_login' | 'callback_replayed' | 'callback_other_client' | 'transaction_expired'
  | 'transaction_invalid' | 'missing_code' | 'code_and_error' | 'iss_mismatch' | 'iss_missing'
  | 'token_http_error' | 'token_response_not_json' | 'invalid_token_response'
  | 'missing_access_token' | 'missing_token_type' | 'unsupported_token_type'
  | 'response_too_large' | 'network_error' | 'timeout' | 'discovery_failed' | 'discovery_not_json'
  | 'discovery_invalid' | 'discovery_issuer_mismatch' | 'insecure_endpoint' | 'id_token_missing'
  | 'id_token_malformed' | 'id_token_invalid_base64' | 'id_token_invalid_json'
  | 'id_token_alg_not_allowed' | 'jwks_invalid' | 'jwks_key_not_found' | 'jwks_key_ambiguous' | 'jwks_key_weak'
  | 'id_token_signature_invalid' | 'id_token_iss_mismatch' | 'id_token_aud_mismatch'
  | 'id_token_azp_mismatch' | 'id_token_expired' | 'id_token_issued_in_future'
  | 'id_token_nonce_mismatch' | 'id_token_claims_invalid' | 'id_token_sub_mismatch' | 'id_token_refresh_mismatch' | 'return_to_not_allowed' | 'api_redirect_refused'
  | 'userinfo_http_error' | 'userinfo_invalid' | 'userinfo_sub_mismatch' | 'not_authenticated'
  | 'login_required' | 'id_token_max_age_exceeded' | 'id_token_acr_not_satisfied' | 'step_up_required' | 'resource_metadata_invalid' | 'resource_not_granted' | 'revocation_failed' | 'dpop_not_bound' | 'dpop_key_unavailable' | 'par_failed' | 'par_required'
  | 'par_request_expired' | 'provider_error' | 'wasm_load_failed'
  | 'access_denied' | 'invalid_grant' | 'invalid_request' | 'invalid_scope' | 'consent_required'
  | 'interaction_required' | 'account_selection_required' | 'server_error' | 'temporarily_unavailable' | (string & {});

/**
 * Every failure. `message` is readable and never contains a token, code,
 * verifier, state or nonce. Provider errors (RFC 6749 §4.1.2.1, §5.2) also
 * carry the provider's fields; render `errorDescription` as text, never HTML.
 */
export class PkceWasmError extends Error {
  readonly name: 'PkceWasmError';
  /** Stable snake_case code. */
  readonly code: PkceWasmErrorCode;
  /** The provider's `error`, for provider errors. */
  readonly error?: string;
  /** The provider's `error_description` (untrusted text). */
  readonly errorDescription?: string;
  /** The provider's `error_uri`. */
  readonly errorUri?: string;
  /** HTTP status, for errors from an HTTP answer. */
  readonly status?: number;
  /** `step_up_required`: the authentication context classes the API accepts (RFC 9470 `acr_values`). */
  readonly acrValues?: string;
  /** `resource_not_granted`: the resource indicator the login did not ask for. */
  readonly resource?: string;
  /** `step_up_required`: the most seconds since the user authenticated that the API accepts (`max_age`). */
  readonly maxAge?: number;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /**
   * Issuer identifier. Alone (no endpoints, no `metadata`) it is discovered:
   * `<issuer>/.well-known/openid-configuration`, fetched once per page load.
   * Required when `scope` contains `openid`; the callback's `iss` (RFC 9207)
   * and the ID token's `iss` must equal it exactly.
   */
  issuer?: string;
  /** The public client's id. No client secret is ever used. */
  clientId: string;
  /** The registered redirect URI (https, or http on loopback). */
  redirectUri: string;
  /** Space-separated scopes. @defaultValue `'openid'` */
  scope?: string;
  /**
   * Where `checkSession()`'s hidden iframe comes back to: a registered
   * redirect URI on this origin whose page calls `handleRedirectCallback()`.
   * @defaultValue `redirectUri`
   */
  silentRedirectUri?: string;
  /** Seconds `checkSession()` waits for the provider (1 to 120). @defaultValue `10` */
  silentTimeout?: number;
  /**
   * APIs with their own access tokens (RFC 8707): an origin or URL prefix →
   * the resource indicator and scope its tokens are asked for. The login
   * asks for every resource; `fetch()` sends each API its own token.
   */
  resources?: Record<string, { resource: string; scope?: string }>;
  /**
   * What `fetch()` does when an API asks for a step-up (RFC 9470 `insufficient_user_authentication`):
   * fail with `step_up_required`, log in again in a popup and send the request once more, or log in again by redirect.
   * @defaultValue `'fail'`
   */
  stepUp?: 'fail' | 'popup' | 'redirect';
  /** `getAccessToken()` renews a session without a refresh token by a silent login. @defaultValue `false` */
  silentFallback?: boolean;
  /** The discovery document itself, to skip the fetch (validated like a fetched one). */
  metadata?: Record<string, unknown>;
  /** Explicit authorization endpoint (no discovery). Requires `tokenEndpoint`. */
  authorizationEndpoint?: string;
  /** Explicit token endpoint (no discovery). */
  tokenEndpoint?: string;
  /** With explicit endpoints: the JWKS URL (ID token signatures are then verified). */
  jwksUri?: string;
  /** With explicit endpoints: the UserInfo endpoint. */
  userinfoEndpoint?: string;
  /** Where the provider puts the response. @defaultValue `'query'` */
  responseMode?: 'query' | 'fragment';
  /** Seconds a started login stays valid. @defaultValue `600` */
  transactionTtl?: number;
  /** Seconds of clock skew tolerated for ID token `exp`/`iat`. @defaultValue `60` */
  clockSkew?: number;
  /**
   * Where the session lives. Memory is the default because web storage is
   * readable by any script on the origin. @defaultValue `'memory'`
   */
  cacheLocation?: 'memory' | 'sessionStorage' | 'localStorage';
  /** Seconds before expiry at which `getAccessToken` refreshes. @defaultValue `60` */
  refreshLeeway?: number;
  /** Refresh in the background before expiry (paused while hidden). @defaultValue `false` */
  autoRefresh?: boolean;
  /** Origins `fetch` attaches the access token to. @defaultValue the page's own origin */
  apiOrigins?: string[];
  /**
   * Where `logout({ returnTo })` may go besides this origin when the provider
   * has no `end_session_endpoint` (exact URLs; anything else is `return_to_not_allowed`).
   */
  postLogoutRedirectUris?: string[];
  /** Seconds the SDK's own requests may take before they are aborted (`timeout`). @defaultValue `10` */
  timeout?: number;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449): a non-extractable ES256 key
   * in IndexedDB signs a proof for every token, refresh, revocation,
   * UserInfo and `fetch` request; a stolen token is useless without it.
   * @defaultValue `false`
   */
  dpop?: boolean;
  /**
   * Pushed authorization requests (RFC 9126): `'auto'` uses them when the
   * provider has a PAR endpoint (and requires them when it says so).
   * @defaultValue `'auto'`
   */
  pushedAuthorizationRequests?: 'auto' | boolean;
}

/** Per-login options. */
export interface LoginOptions {
  /** Any JSON-serialisable value, handed back by `handleRedirectCallback`. */
  appState?: unknown;
  /**
   * Extra authorization parameters (prompt, login_hint, audience, resource,
   * ui_locales, acr_values, max_age, …). Arrays repeat the parameter.
   * Protocol parameters are refused with `reserved_parameter`.
   */
  extraParams?: Record<string, string | number | boolean | Array<string | number | boolean>>;
  /** A caller-supplied code verifier (43–128 unreserved characters). Normally omitted. */
  codeVerifier?: string;
}

/** Tokens from the token endpoint. */
export interface Tokens {
  accessToken: string;
  /** `Bearer`, as the provider spelt it. */
  tokenType: string;
  /** Expiry in ms since the epoch, when the provider gave `expires_in`. */
  expiresAt?: number;
  refreshToken?: string;
  /** The ID token (already validated). */
  idToken?: string;
  /** Granted scope (the requested one when the provider omits it). */
  scope: string;
}

/** Validated ID token claims (OIDC Core §2). */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  [claim: string]: unknown;
}

/** What a successful callback yields. */
export interface CallbackResult<AppState = unknown> {
  tokens: Tokens;
  /** The validated ID token claims, when an ID token was issued. */
  claims?: IdTokenClaims;
  appState?: AppState;
}

/** Session events and their payloads. */
export interface ClientEvents {
  /** A login completed: here, or (with localStorage) in another tab. */
  loggedIn: undefined;
  tokensRefreshed: undefined;
  sessionExpired: undefined;
  loggedOut: undefined;
  error: PkceWasmError;
}

/** A PKCE client; make one with {@link createClient}. */
export class Client {
  private constructor();
  /** Starts a login and resolves to the authorization URL without navigating (after PAR, if used). */
  authorizeUrl(options?: LoginOptions): Promise<string>;
  /** Starts a login and redirects the page to the provider. */
  loginWithRedirect(options?: LoginOptions): Promise<void>;
  /**
   * Logs in through a popup, which it opens at once: call it from a click
   * handler, before any `await`. The popup's page (your `redirectUri`) calls
   * `handleRedirectCallback()`, which hands the response to this page over a
   * BroadcastChannel (it works when the provider's COOP header severs
   * `window.opener`) and closes the popup. Fails with `popup_blocked`,
   * `popup_closed`, `timeout` (`popupTimeout` seconds, default 300),
   * `popup_replaced` (a newer call took over), or the callback's own codes.
   */
  loginWithPopup<AppState = unknown>(options?: LoginOptions & { popupTimeout?: number }): Promise<CallbackResult<AppState>>;
  /**
   * Silent authentication: asks the provider, in a hidden iframe with
   * `prompt=none`, whether the user has a session there, and if so logs in
   * with it (the same checks as a redirect; concurrent calls share one
   * iframe). Fails with the provider's `login_required`,
   * `interaction_required` or `consent_required`; `silent_timeout` after
   * `silentTimeout` seconds; `third_party_cookies_blocked` when the provider
   * is on another site and the browser keeps its cookies from the iframe.
   * `extraParams.prompt` is refused (it is `none`).
   */
  checkSession<AppState = unknown>(options?: LoginOptions): Promise<CallbackResult<AppState>>;
  /** True when the URL (default: the current page) carries `code` or `error`. */
  isCallback(url?: string): boolean;
  /**
   * Handles the redirect back: checks state, iss (RFC 9207), exchanges the
   * code with the PKCE verifier, validates the ID token (signature and
   * claims). Nothing is kept unless every check passes.
   */
  handleRedirectCallback<AppState = unknown>(url?: string): Promise<CallbackResult<AppState>>;
  /** The validated ID token claims of the current session. */
  getIdTokenClaims(): IdTokenClaims | undefined;
  /** UserInfo claims (OIDC Core §5.3); their `sub` must equal the ID token's. */
  getUserInfo(): Promise<Record<string, unknown>>;
  /** A valid access token, refreshed (RFC 6749 §6) when it expires within the leeway. */
  getAccessToken(options?: {
    forceRefresh?: boolean;
    /** A token for this API (RFC 8707 resource indicator), from the one refresh token. */
    resource?: string;
    /** The scope asked for it. @defaultValue the scope `resources` gives that resource */
    scope?: string;
  }): Promise<string>;
  /** The current tokens, or undefined. */
  getTokens(): Tokens | undefined;
  /** True when there is a session whose access token is valid or refreshable. */
  isAuthenticated(): boolean;
  /** The validated ID token claims, merged with UserInfo when `userInfo` is true. */
  getUser(options?: { userInfo?: boolean }): Promise<Record<string, unknown> | undefined>;
  /**
   * Ends the session: clears it, revokes the refresh token (RFC 7009), then
   * RP-initiated logout unless `localOnly`. Without an end-session endpoint,
   * `returnTo` must be this origin or listed in `postLogoutRedirectUris`.
   * Resolves to `true` when the page is now on its way to the provider (or
   * `returnTo`), `false` when it stays (`localOnly`, or no end-session
   * endpoint and no `returnTo`).
   */
  logout(options?: { returnTo?: string | URL; localOnly?: boolean }): Promise<boolean>;
  /**
   * `fetch` with `Authorization: Bearer` for the configured `apiOrigins` only;
   * a 401 with `error="invalid_token"` refreshes once and retries.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Subscribes to a session event; returns the unsubscribe function. */
  on<E extends keyof ClientEvents>(event: E, handler: (payload: ClientEvents[E]) => void): () => void;
}

/**
 * Loads the WebAssembly module once (memoised). In a page, importing the
 * package starts it with the default URL one microtask later; call
 * `init(url)` before your module's first `await` (or opt out with
 * `<meta name="pkce-wasm-init" content="manual">`) to load it from elsewhere
 * (CDN, strict CSP). `createClient` calls it for you.
 */
export function init(moduleOrPath?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** Loads the wasm (once), validates the options, discovers the provider, and makes a client. */
export function createClient(options: ClientOptions): Promise<Client>;
