/**
 * pkce-wasm/react — the React binding of pkce-wasm (React 18 or 19):
 * {@link AuthProvider}, {@link useAuth} and the guards {@link RequireAuth} /
 * {@link withAuthenticationRequired}. Glue only: the state comes from the
 * client and its events; every protocol decision stays in the SDK.
 *
 * @packageDocumentation
 */
import type { ComponentType, JSX, ReactNode } from 'react';
import type { CallbackResult, Client, ClientOptions, IdTokenClaims, LoginOptions, PkceWasmError } from './index.js';

/** The session as React state. */
export interface AuthState {
  /** True until the client exists and a redirect callback in the URL has been handled. */
  isLoading: boolean;
  /** `client.isAuthenticated()`, kept up to date by the client's events (here and in other tabs). */
  isAuthenticated: boolean;
  /** The validated ID token claims of the session, or undefined. */
  user: IdTokenClaims | undefined;
  /**
   * The last failure: creating the client, the redirect callback, an
   * interactive action, or a background `error` event. Callback outcomes
   * that only mean "no login to finish here" (`no_pending_login`,
   * `callback_replayed`, `transaction_expired`, `callback_other_client`,
   * `popup_response_sent`, `silent_response_sent`) are not errors: the state
   * is then logged out (or unchanged). Cleared when a login starts or completes.
   */
  error: PkceWasmError | undefined;
  /** The client, once created. */
  client: Client | undefined;
}

/** What {@link useAuth} returns: the state and the client's actions (stable functions). */
export interface AuthContextValue extends AuthState {
  /** `client.loginWithRedirect`; a failure is put in `error` and the promise resolves to undefined. */
  loginWithRedirect(options?: LoginOptions): Promise<void>;
  /**
   * `client.loginWithPopup`, called synchronously (call it in a click
   * handler); resolves to the callback's result, or, on failure, to
   * undefined with the error in `error`.
   */
  loginWithPopup<AppState = unknown>(options?: LoginOptions & { popupTimeout?: number }): Promise<CallbackResult<AppState> | undefined>;
  /**
   * `client.logout`; a failure is put in `error` (and resolves `undefined`).
   * Resolves `true` when the page is on its way to the provider; `false` when
   * it stays (then a guard on the page starts a new login).
   */
  logout(options?: { returnTo?: string | URL; localOnly?: boolean }): Promise<boolean | undefined>;
  /** `client.getAccessToken` (rejects with a PkceWasmError). */
  getAccessToken(options?: { forceRefresh?: boolean; resource?: string; scope?: string }): Promise<string>;
  /** `client.getIdTokenClaims` (undefined while loading). */
  getIdTokenClaims(): IdTokenClaims | undefined;
  /** `client.getUser` (rejects with a PkceWasmError). */
  getUser(options?: { userInfo?: boolean }): Promise<Record<string, unknown> | undefined>;
  /** `client.fetch`: the access token for the configured API origins only (rejects with a PkceWasmError). */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** `client.checkSession` (rejects with a PkceWasmError, e.g. `login_required`). */
  checkSession<AppState = unknown>(options?: LoginOptions): Promise<CallbackResult<AppState>>;
}

/** Props of {@link AuthProvider}: `options` or `client`, not both. */
export type AuthProviderProps<AppState = unknown> = (
  | {
      /** The client's options: it is created once per (JSON-equal) options for the page. */
      options: ClientOptions;
      client?: never;
    }
  | {
      /** An existing client, or a promise of one: create it outside render (module scope). */
      client: Client | Promise<Client>;
      options?: never;
    }
) & {
  /**
   * Called once after a successful redirect callback, before the app renders
   * the new state. Default: `history.replaceState` to `appState.returnTo`
   * when it is a URL on this origin (with a router, navigate there instead).
   */
  onRedirectCallback?: (appState: AppState | undefined, result: CallbackResult<AppState>) => void;
  children?: ReactNode;
};

/**
 * Provides the session to {@link useAuth}, and handles the redirect callback
 * on mount (once, StrictMode-safe; the SDK cleans the address bar).
 */
export function AuthProvider<AppState = unknown>(props: AuthProviderProps<AppState>): JSX.Element;

/** The session and its actions from the nearest {@link AuthProvider}; throws outside one. */
export function useAuth(): AuthContextValue;

/** Props of {@link RequireAuth}. */
export interface RequireAuthProps {
  children?: ReactNode;
  /** Rendered while loading and while the user is sent to log in. @defaultValue `null` */
  fallback?: ReactNode;
  /** Options of the `loginWithRedirect` it starts; `appState.returnTo` defaults to the current path, search and hash. */
  loginOptions?: LoginOptions;
}

/**
 * Renders its children for an authenticated user; otherwise renders
 * `fallback` and starts `loginWithRedirect` once (not while `error` is set).
 */
export function RequireAuth(props: RequireAuthProps): JSX.Element;

/** Options of {@link withAuthenticationRequired}. */
export interface WithAuthenticationRequiredOptions {
  /** Rendered while loading and while the user is sent to log in. @defaultValue renders nothing */
  onRedirecting?: () => ReactNode;
  /** Options of the `loginWithRedirect` it starts (see {@link RequireAuthProps.loginOptions}). */
  loginOptions?: LoginOptions;
}

/** `Component` behind {@link RequireAuth}. */
export function withAuthenticationRequired<P extends object>(Component: ComponentType<P>, options?: WithAuthenticationRequiredOptions): ComponentType<P>;
