//! Every operation as a state machine (the sans-IO shape of quinn-proto).
//!
//! An operation is made with `start(..)` and driven with
//! `resume(&mut self, state, host, outcome) -> Step`: a [`Step`] is either
//! an [`Effect`] the driver must perform and answer with an [`Outcome`], or
//! the operation's result. Synchronous effects — storage, the clock,
//! entropy, the address bar, events — are calls on a [`Host`] and complete
//! in place; only what a browser answers later (fetch, WebCrypto, Web
//! Locks, IndexedDB, timers) is an [`Effect`]. Every protocol decision,
//! including what is persisted and when, is made here; the browser layer
//! (`web`) and the simulator (`tests/simulation`) only perform effects.

mod call;
mod callback;
mod create;
mod effect;
mod fetch;
mod login;
mod logout;
mod pending;
mod popup;
mod refresh;
mod settle;
mod silent;
mod store;
mod tabs;
mod userinfo;
mod verify;
mod wake;

pub use tabs::{TabAction, View, STORAGE};

pub use call::Call;
pub use callback::{Callback, CallbackResult};
pub use create::Create;
pub use effect::{AppRequest, AppResponse, Effect, HttpRequest, HttpResponse, Outcome, Step};
pub use fetch::Fetch;
pub use login::Login;
pub use logout::Logout;
pub use popup::{PopupLogin, DEFAULT_POPUP_TIMEOUT_MS};
pub use refresh::AccessToken;
pub use silent::{sso_key, SilentLogin, TokenOrSilent};
pub use store::session_key;
pub use userinfo::{merged_claims, UserInfo};
pub use wake::Wake;

use super::config::Config;
use super::discovery::ProviderMetadata;
use super::dpop::PublicJwk;
use super::encoding::{b64url, push_u64};
use super::error::Error;
use super::id_token::Alg;
use super::session::{Record, Session};
use super::transaction::{Store, Transactions};

/// Which store a key lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// This page's memory (gone on reload): memory sessions, the discovery and JWKS caches.
    Page,
    /// The tab's `sessionStorage`.
    Session,
    /// The origin's `localStorage` (shared by tabs).
    Local,
}

/// Session events, delivered to the app's listeners after the step that emitted them.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A login completed (here, or with localStorage in another tab).
    LoggedIn,
    /// New tokens from a refresh.
    TokensRefreshed,
    /// The session ended without a logout (refresh token rejected or expired).
    SessionExpired,
    /// `logout` cleared the session.
    LoggedOut,
    /// A background step failed (auto refresh, revocation, storage).
    Error(Error),
}

impl Event {
    /// The event's name: `loggedIn`, `tokensRefreshed`, `sessionExpired`, `loggedOut`, `error`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::LoggedIn => "loggedIn",
            Event::TokensRefreshed => "tokensRefreshed",
            Event::SessionExpired => "sessionExpired",
            Event::LoggedOut => "loggedOut",
            Event::Error(_) => "error",
        }
    }

    /// The event named `name`, for listeners (`error` carries its error when emitted).
    pub fn known(name: &str) -> Option<&'static str> {
        [
            "loggedIn",
            "tokensRefreshed",
            "sessionExpired",
            "loggedOut",
            "error",
        ]
        .into_iter()
        .find(|n| *n == name)
    }
}

/// The synchronous effects, performed in place by the host (the browser
/// layer, or a simulated tab). Every storage failure is
/// [`Error::StorageUnavailable`].
pub trait Host {
    /// Wall-clock milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Fills `buf` from a CSPRNG (`crypto.getRandomValues`).
    fn random(&self, buf: &mut [u8]) -> Result<(), Error>;
    /// The value under `key`.
    fn get(&self, area: Area, key: &str) -> Result<Option<String>, Error>;
    /// Sets `key`.
    fn set(&self, area: Area, key: &str, value: &str) -> Result<(), Error>;
    /// Removes `key`.
    fn remove(&self, area: Area, key: &str) -> Result<(), Error>;
    /// Every key of `area`.
    fn keys(&self, area: Area) -> Result<Vec<String>, Error>;
    /// Queues an event for the app's listeners.
    fn emit(&self, event: Event);
    /// The page's URL.
    fn current_url(&self) -> Option<String>;
    /// Replaces the address bar's URL (no reload, no history entry).
    fn replace_url(&self, url: &str);
    /// Navigates the page to `url`.
    fn navigate(&self, url: &str) -> Result<(), Error>;
    /// Whether cross-tab locks (Web Locks) exist.
    fn locks_available(&self) -> bool;
    /// Releases a lock [`Effect::Lock`] acquired.
    fn unlock(&self, name: &str);
    /// Wakes every [`Effect::Wait`] on `signal`.
    fn notify(&self, signal: u32);
    /// Starts (or restarts) this client's background-refresh timer.
    fn set_timer(&self, delay_ms: u64);
    /// Stops the background-refresh timer.
    fn clear_timer(&self);
    /// Whether the page is hidden (background refresh waits until it is visible).
    fn page_hidden(&self) -> bool;
    /// Starts listening for the page becoming visible or coming online (background refresh).
    fn watch_wake(&self);
    /// Starts listening for this client's other tabs: messages on `channel`
    /// and, as the fallback, storage changes, each handed to
    /// [`ClientState::tab_message`].
    fn watch_tabs(&self, channel: &str);
    /// Sends `message` to this client's other tabs on `channel`.
    fn broadcast(&self, channel: &str, message: &str);
    /// Closes the login popup this page opened, if it is still open.
    fn close_popup(&self);
    /// Removes silent login `id`'s hidden iframe, if it is still there.
    fn close_frame(&self, id: u32);
}

/// A [`Store`] over one area of a host.
pub struct AreaStore<'a> {
    /// The host.
    pub host: &'a dyn Host,
    /// The area.
    pub area: Area,
}

impl Store for AreaStore<'_> {
    fn get(&self, key: &str) -> Result<Option<String>, Error> {
        self.host.get(self.area, key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        self.host.set(self.area, key, value)
    }
    fn remove(&self, key: &str) -> Result<(), Error> {
        self.host.remove(self.area, key)
    }
    fn keys(&self) -> Result<Vec<String>, Error> {
        self.host.keys(self.area)
    }
}

/// An outcome that does not fit the state the operation is in: a driver bug.
pub(crate) fn unexpected<T>() -> Step<T> {
    Step::Done(Err(out_of_order()))
}

/// The error of an effect answered out of order (a bug of ours, never a panic).
pub(crate) fn out_of_order() -> Error {
    Error::InvalidConfig("pkce-wasm internal error: an effect was answered out of order")
}

/// How long a marker lock announcing a session write is held: long enough
/// for localStorage to reach every tab.
pub const MARK_MS: u32 = 3000;

/// Concurrent access-token calls in one tab share one refresh.
#[derive(Debug, Default)]
pub struct RefreshShare {
    /// The refresh in flight (its signal id), if any.
    pub running: Option<u32>,
    /// The last signal id handed out.
    pub seq: u32,
    /// The result of the last finished refresh, by signal id.
    pub last: Option<(u32, Result<Session, Error>)>,
    /// What that refresh was for (RFC 8707 resource; `None`: the session's own token).
    pub target: Option<super::session::Target>,
    /// Background refreshes that failed in a row (for the retry backoff).
    pub background_failures: u32,
}

/// Concurrent `handleRedirectCallback` calls for one URL in one page (React
/// StrictMode runs effects twice) share one attempt: one token request, the
/// same result for each. A call after the attempt ended is a new attempt
/// (after a success, `callback_replayed`).
#[derive(Debug, Default)]
pub struct CallbackShare {
    /// The attempt in flight: its signal id and the URL's digest.
    pub running: Option<(u32, String)>,
    /// The last attempt that ended: its signal id, the URL's digest, its result.
    pub last: Option<(u32, String, Result<CallbackResult, Error>)>,
}

/// Everything one client knows between operations. Pure data: the host
/// keeps the browser objects (the DPoP `CryptoKey`, listeners, timers).
#[derive(Debug)]
pub struct ClientState {
    /// The configuration.
    pub config: Config,
    /// The provider metadata in use (discovered, supplied, or explicit).
    pub meta: ProviderMetadata,
    /// ID token algorithms accepted (advertised ∩ supported).
    pub algs: Vec<Alg>,
    /// The namespace of this client's keys: issuer and client id.
    pub ns: String,
    /// Normalised origins `fetch` may send the token to.
    pub api_origins: Vec<String>,
    /// This tab's copy of the session record.
    pub mem: Option<Record>,
    /// The copy in `mem` could not be written to storage (kept here, reported).
    pub unsynced: bool,
    /// The refresh shared by concurrent calls.
    pub refresh: RefreshShare,
    /// The callback shared by concurrent calls for one URL.
    pub callbacks: CallbackShare,
    /// What this tab's app was last told of the session (for tab sync).
    pub reported: View,
    /// The popup login running in this page, by number.
    pub popup: Option<u32>,
    /// The last popup login's number.
    pub popup_seq: u32,
    /// The silent login running in this page: its signal id and the time
    /// by which it must have ended. Concurrent `checkSession` calls share it
    /// (one whose driver was dropped is not waited for past that time).
    pub silent: Option<(u32, u64, super::config::LoginOptions)>,
    /// The last silent login that ended: its signal id and result.
    pub silent_last: Option<(u32, Result<CallbackResult, Error>)>,
    /// APIs that told their resource in protected resource metadata (RFC
    /// 9728), for this page's life.
    pub learned: Vec<super::config::ResourceRule>,
    /// The DPoP key last loaded: its id and public half.
    pub dpop_key: Option<(String, PublicJwk)>,
    /// The last `DPoP-Nonce` each server sent (RFC 9449 §8), by origin.
    pub nonces: Vec<(String, String)>,
}

impl ClientState {
    /// This client's login transactions (in the tab's sessionStorage).
    pub(crate) fn transactions<'a>(&self, host: &'a dyn Host) -> Transactions<AreaStore<'a>> {
        Transactions::new(
            AreaStore {
                host,
                area: Area::Session,
            },
            &self.ns,
            self.config.transaction_ttl_ms,
        )
    }

    /// The Web Lock that serialises refreshes of this client across tabs.
    pub fn lock_name(&self) -> String {
        let mut n = String::from("pkce-wasm.refresh.");
        n.push_str(&self.ns);
        n
    }

    /// The prefix of the marker locks that announce a session write
    /// (`<prefix><generation>.<digest>`).
    pub fn marker_prefix(&self) -> String {
        let mut n = String::from("pkce-wasm.written.");
        n.push_str(&self.ns);
        n.push('.');
        n
    }

    /// The marker that announces a write ([`ClientState::save`]'s answer) to
    /// other tabs (localStorage only: elsewhere no other tab reads the record).
    pub(crate) fn marker(&self, host: &dyn Host, written: &str) -> Option<Effect> {
        if self.area() != Area::Local || !host.locks_available() {
            return None;
        }
        let mut name = self.marker_prefix();
        name.push_str(written);
        Some(Effect::Mark(name, MARK_MS))
    }

    /// The prefix of this client's DPoP key ids in IndexedDB (by issuer and client).
    pub fn dpop_key_prefix(&self) -> String {
        let mut id = String::from("dpop:");
        id.push_str(&self.ns);
        id.push(':');
        id
    }

    /// A new DPoP key id for a login: `dpop:<ns>:<created, base 10>.<random>`.
    /// Each login binds its tokens to its own key, so a logout (which
    /// discards that session's key) and a new login in one tab never touch
    /// another tab's session.
    pub fn new_dpop_key_id(&self, host: &dyn Host) -> Result<String, Error> {
        let mut id = self.dpop_key_prefix();
        push_u64(&mut id, host.now_ms());
        id.push('.');
        let mut r = [0u8; 9];
        host.random(&mut r)?;
        id.push_str(&b64url(&r));
        Ok(id)
    }

    /// The key the current session's tokens are bound to: its own, or (a
    /// session stored before keys were per login) the client's old single key.
    pub fn session_dpop_key(&self) -> String {
        self.dpop_key_of(self.mem.as_ref().and_then(|r| r.session.as_ref()))
    }

    /// The key `session`'s tokens are bound to (see [`Self::session_dpop_key`]).
    pub fn dpop_key_of(&self, session: Option<&Session>) -> String {
        session.and_then(|s| s.dpop_key.clone()).unwrap_or_else(|| {
            let mut id = String::from("dpop:");
            id.push_str(&self.ns);
            id
        })
    }

    /// The `DPoP-Nonce` last seen from `origin`.
    pub fn nonce_for(&self, origin: &str) -> Option<&str> {
        self.nonces
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, n)| n.as_str())
    }

    /// Remembers a server's `DPoP-Nonce`.
    pub fn remember_nonce(&mut self, origin: &str, nonce: Option<&str>) {
        if let Some(n) = nonce.filter(|n| !n.is_empty()) {
            self.nonces.retain(|(o, _)| o != origin);
            self.nonces.push((String::from(origin), String::from(n)));
        }
    }
}

/// A 256-bit random value, base64url.
pub(crate) fn random_token(host: &dyn Host) -> Result<String, Error> {
    let mut b = [0u8; 32];
    host.random(&mut b)?;
    Ok(super::encoding::b64url(&b))
}
