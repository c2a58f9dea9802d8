//! The effect vocabulary: what an operation asks the browser to do and
//! answer later ([`Effect`], [`Outcome`]), and what a step returns ([`Step`]).

use crate::core::dpop::PublicJwk;
use crate::core::error::Error;
use crate::core::id_token::{Alg, Jwk};
use crate::core::secret::Redacted;

/// One of the SDK's own HTTP requests: `credentials: 'omit'`, `redirect:
/// 'error'`, `Accept: application/json`, a form body when there is one, an
/// abort after `timeout_ms`, the body bounded by [`crate::core::token::MAX_BODY_BYTES`].
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Target URL.
    pub url: String,
    /// The `application/x-www-form-urlencoded` body (carries secrets).
    pub body: Option<String>,
    /// The `Authorization` header value (carries a token).
    pub authorization: Option<String>,
    /// The `DPoP` proof header.
    pub dpop: Option<String>,
    /// Abort after this many milliseconds (`timeout`).
    pub timeout_ms: u32,
}

impl core::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The URL is an endpoint; everything else may carry a secret.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What came back, before any protocol interpretation.
#[derive(Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body text (within the size limit).
    pub body: String,
    /// The `DPoP-Nonce` header (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    /// The `WWW-Authenticate` header.
    pub www_authenticate: Option<String>,
}

impl core::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The app's own request in [`Client::fetch`](super::Fetch): the host holds the
/// request object; the core says which headers to set.
pub struct AppRequest {
    /// `Authorization` to set (`Bearer …` / `DPoP …`), or none (not an API origin).
    pub authorization: Option<String>,
    /// The `DPoP` proof to set.
    pub dpop: Option<String>,
    /// Send the copy kept for a replay instead of the original.
    pub replay: bool,
    /// Follow redirects (`redirect: 'follow'`, or the app's own mode). When
    /// false the host sends with `redirect: 'manual'`: the browser does not
    /// follow, and the answer says it was a redirect.
    pub follow_redirects: bool,
}

impl core::fmt::Debug for AppRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppRequest")
            .field("replay", &self.replay)
            .field("follow_redirects", &self.follow_redirects)
            .finish_non_exhaustive()
    }
}

/// The headers of the app's response that the core looks at.
#[derive(Debug, Clone)]
pub struct AppResponse {
    /// HTTP status.
    pub status: u16,
    /// `WWW-Authenticate`.
    pub www_authenticate: Option<String>,
    /// `DPoP-Nonce`.
    pub dpop_nonce: Option<String>,
    /// The answer was a redirect that was not followed (`opaqueredirect`).
    pub redirected: bool,
}

/// What the browser must do and answer later.
pub enum Effect {
    /// Send a request → [`Outcome::Http`].
    Http(HttpRequest),
    /// Send two requests concurrently → [`Outcome::HttpPair`].
    HttpPair(HttpRequest, HttpRequest),
    /// Import `key` and verify `signature` over `input` (WebCrypto) → [`Outcome::Verified`].
    Verify {
        /// The public key.
        key: Jwk,
        /// The algorithm (its WebCrypto parameters: [`Alg::verify_params`]).
        alg: Alg,
        /// The signed bytes.
        input: String,
        /// The signature.
        signature: Vec<u8>,
    },
    /// Load the DPoP key stored under `id` in IndexedDB; with `create`, when
    /// there is none, make a non-extractable one and store it there unless
    /// another tab stored one first (then that one) → [`Outcome::DpopKey`].
    LoadDpopKey {
        /// The key's id.
        id: String,
        /// Make it when it is missing (a new login); else missing is `dpop_key_unavailable`.
        create: bool,
    },
    /// The ids of the DPoP keys stored, in IndexedDB's order → [`Outcome::Names`].
    DpopKeyIds,
    /// Forget the DPoP keys stored under these ids → [`Outcome::Done`].
    DiscardDpopKeys(Vec<String>),
    /// Sign `input` with the DPoP key `key` (ES256, loaded before) → [`Outcome::Signature`].
    Sign {
        /// The key's id.
        key: String,
        /// The proof's signing input.
        input: String,
    },
    /// Acquire the exclusive cross-tab lock `name` → [`Outcome::Locked`]; held until [`Host::unlock`](super::Host::unlock).
    Lock(String),
    /// The names of the cross-tab locks held now that start with this prefix → [`Outcome::Names`].
    QueryLocks(String),
    /// Hold a shared cross-tab lock `name` for `ms` milliseconds, as a marker
    /// other tabs can see at once (the lock manager is consistent across
    /// tabs; localStorage propagation is not) → [`Outcome::Done`] once held.
    Mark(String, u32),
    /// Wait `ms` milliseconds → [`Outcome::Done`].
    Sleep(u32),
    /// Wait for [`Host::notify`](super::Host::notify) on this signal → [`Outcome::Done`].
    Wait(u32),
    /// Send the app's request → [`Outcome::App`].
    AppFetch(AppRequest),
    /// Send the login popup (opened by the caller, in its click) to `url` →
    /// [`Outcome::Done`] (`popup_closed` when it is gone).
    PopupOpen(String),
    /// Open the login popup now, named so (a step-up from `fetch`: the
    /// browser allows it within a few seconds of the click that started the
    /// request) → [`Outcome::Done`] (`popup_blocked` when it refused).
    PopupLaunch(String),
    /// Add a hidden iframe that loads `url` for silent login `id` (replacing
    /// any other) → [`Outcome::Done`].
    FrameOpen(String, u32),
    /// Wait for the callback page in the popup (or, for a silent login, the
    /// hidden iframe) to send the authorization response of the login with
    /// this `state` on `channel` → [`Outcome::Popup`]: its URL; `timeout`
    /// after `timeout_ms`, or, watching a popup, `popup_closed` if it was
    /// seen closed by then.
    PopupWait {
        /// The channel (`pkce-wasm.popup.<ns>`).
        channel: String,
        /// The login's `state`.
        state: String,
        /// How long to wait.
        timeout_ms: u64,
        /// Whether there is a popup to watch (not for an iframe).
        watch: bool,
    },
    /// On a popup's callback page: send the response `url` (for the login
    /// with this `state`) on `channel` to the page that opened the popup, and
    /// close this window → [`Outcome::Done`].
    PopupRelay {
        /// The channel (`pkce-wasm.popup.<ns>`).
        channel: String,
        /// The login's `state`.
        state: String,
        /// The callback URL (it carries the code).
        url: String,
    },
}

impl core::fmt::Debug for Effect {
    // What is signed or verified is a token or a proof: only its presence shows.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Effect::Http(r) => f.debug_tuple("Http").field(r).finish(),
            Effect::HttpPair(a, b) => f.debug_tuple("HttpPair").field(a).field(b).finish(),
            Effect::Verify { key, alg, .. } => f
                .debug_struct("Verify")
                .field("key", key)
                .field("alg", alg)
                .field("input", &Redacted)
                .field("signature", &Redacted)
                .finish(),
            Effect::LoadDpopKey { id, create } => f
                .debug_struct("LoadDpopKey")
                .field("id", id)
                .field("create", create)
                .finish(),
            Effect::DpopKeyIds => f.write_str("DpopKeyIds"),
            Effect::DiscardDpopKeys(ids) => f.debug_tuple("DiscardDpopKeys").field(ids).finish(),
            Effect::Sign { key, .. } => f
                .debug_struct("Sign")
                .field("key", key)
                .field("input", &Redacted)
                .finish(),
            Effect::Lock(n) => f.debug_tuple("Lock").field(n).finish(),
            Effect::QueryLocks(p) => f.debug_tuple("QueryLocks").field(p).finish(),
            Effect::Mark(n, ms) => f.debug_tuple("Mark").field(n).field(ms).finish(),
            Effect::Sleep(ms) => f.debug_tuple("Sleep").field(ms).finish(),
            Effect::Wait(s) => f.debug_tuple("Wait").field(s).finish(),
            Effect::AppFetch(r) => f.debug_tuple("AppFetch").field(r).finish(),
            // The URLs carry the request's state, or the code.
            Effect::PopupOpen(_) => f.debug_tuple("PopupOpen").field(&Redacted).finish(),
            Effect::FrameOpen(_, id) => f
                .debug_tuple("FrameOpen")
                .field(&Redacted)
                .field(id)
                .finish(),
            Effect::PopupWait { timeout_ms, .. } => f
                .debug_struct("PopupWait")
                .field("timeout_ms", timeout_ms)
                .finish_non_exhaustive(),
            Effect::PopupRelay { .. } => f.write_str("PopupRelay"),
            Effect::PopupLaunch(name) => f.debug_tuple("PopupLaunch").field(name).finish(),
        }
    }
}

/// The answer to an [`Effect`].
pub enum Outcome {
    /// Nothing yet: the first `resume` of an operation.
    Start,
    /// The answer to [`Effect::Http`].
    Http(Result<HttpResponse, Error>),
    /// The answers to [`Effect::HttpPair`], in order.
    HttpPair(Result<HttpResponse, Error>, Result<HttpResponse, Error>),
    /// The answer to [`Effect::Verify`].
    Verified(Result<bool, Error>),
    /// The public half of the DPoP key.
    DpopKey(Result<PublicJwk, Error>),
    /// The ES256 signature (64 bytes).
    Signature(Result<Vec<u8>, Error>),
    /// The lock is held; `contended` when another holder had to be waited for.
    Locked {
        /// Whether the lock was busy when asked for.
        contended: bool,
    },
    /// The answer to [`Effect::QueryLocks`].
    Names(Vec<String>),
    /// The answer to [`Effect::AppFetch`].
    App(Result<AppResponse, Error>),
    /// The answer to [`Effect::PopupWait`]: the callback URL.
    Popup(Result<String, Error>),
    /// An effect without a value completed (or failed).
    Done(Result<(), Error>),
}

impl core::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Outcome::Start => f.write_str("Start"),
            Outcome::Http(r) => f.debug_tuple("Http").field(r).finish(),
            Outcome::HttpPair(a, b) => f.debug_tuple("HttpPair").field(a).field(b).finish(),
            Outcome::Verified(r) => f.debug_tuple("Verified").field(r).finish(),
            Outcome::DpopKey(r) => f.debug_tuple("DpopKey").field(r).finish(),
            // A proof's signature.
            Outcome::Signature(r) => f
                .debug_tuple("Signature")
                .field(&r.as_ref().map(|_| Redacted))
                .finish(),
            Outcome::Locked { contended } => f
                .debug_struct("Locked")
                .field("contended", contended)
                .finish(),
            Outcome::Names(n) => f.debug_tuple("Names").field(n).finish(),
            Outcome::App(r) => f.debug_tuple("App").field(r).finish(),
            Outcome::Popup(r) => f
                .debug_tuple("Popup")
                .field(&r.as_ref().map(|_| Redacted))
                .finish(),
            Outcome::Done(r) => f.debug_tuple("Done").field(r).finish(),
        }
    }
}

/// What an operation wants next.
// Boxing the effect was measured: it makes the wasm larger, not smaller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<T> {
    /// Perform this and `resume` with its outcome.
    Effect(Effect),
    /// The operation's result.
    Done(Result<T, Error>),
}
