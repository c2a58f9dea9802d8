//! Tabs in step. Every write of the session record is announced on the
//! client's channel (`pkce-wasm.<ns>`, a `BroadcastChannel` in the browser,
//! with `storage` events as the fallback): `s` for a new session or new
//! tokens (only with localStorage, where the other tabs share the record),
//! `o` for a logout (whatever the cache). A tab that hears one re-reads the
//! record and tells its app what changed since it last told it — `loggedIn`,
//! `tokensRefreshed`, `loggedOut` or `sessionExpired` — as if the other tab's
//! action had happened here, and re-arms its timer. With memory or
//! sessionStorage each tab has its own login; a logout elsewhere ends this
//! tab's too (its refresh token revoked): [`TabAction::Logout`].
//!
//! Nothing secret is ever sent: the messages are one letter, and what the app
//! was last told is kept as a digest.

use super::store::{digest, session_key};
use super::{Area, ClientState, Event, Host};
use crate::core::session::Record;

/// What the app of this tab was last told: the record's epoch, a digest
/// of the access token (none without a session) and of the user's `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    epoch: u64,
    token: Option<String>,
    user: Option<String>,
}

impl View {
    /// The view of `record`.
    pub fn of(record: &Record) -> Self {
        View {
            epoch: record.epoch,
            token: record
                .session
                .as_ref()
                .map(|s| digest(s.tokens.access_token.secret())),
            user: record
                .session
                .as_ref()
                .and_then(|s| s.claims.as_ref())
                .map(|c| digest(&c.sub)),
        }
    }
}

/// What a message from another tab asks of this one.
#[derive(Debug, PartialEq, Eq)]
pub enum TabAction {
    /// Nothing more (events, if any, were emitted).
    None,
    /// End this tab's own session: run a local logout (its refresh token revoked).
    Logout,
}

/// A logout was announced.
pub const LOGGED_OUT: &str = "o";
/// A session was written (login or refresh).
pub const WRITTEN: &str = "s";
/// How the host marks a `storage` event's key (so no key is taken for a message).
pub const STORAGE: &str = "storage:";

impl ClientState {
    /// The channel this client's tabs talk on.
    pub fn channel(&self) -> String {
        let mut c = String::from("pkce-wasm.");
        c.push_str(&self.ns);
        c
    }

    /// Announces a write of the record (`save`) to the other tabs, and
    /// remembers that this tab's app knows of it (its flows emit their own events).
    pub(crate) fn announce(&mut self, host: &dyn Host, before: u64, rec: &Record) {
        self.reported = View::of(rec);
        let logout = rec.session.is_none() && rec.epoch > before;
        if logout {
            host.broadcast(&self.channel(), LOGGED_OUT);
        } else if self.area() == Area::Local {
            host.broadcast(&self.channel(), WRITTEN);
        }
    }

    /// A message from another tab: the channel's (`o`, `s`) or, from a
    /// `storage` event, [`STORAGE`] and the key that changed.
    pub fn tab_message(&mut self, host: &dyn Host, message: &str) -> TabAction {
        let shared = self.area() == Area::Local;
        let ours = match message.strip_prefix(STORAGE) {
            Some(key) => shared && key == session_key(&self.ns),
            None => message == LOGGED_OUT || message == WRITTEN,
        };
        if !ours {
            return TabAction::None;
        }
        if !shared {
            // Its own login, in this tab only: a logout elsewhere ends it too.
            let has = self.record(host).session.is_some();
            return if message == LOGGED_OUT && has {
                TabAction::Logout
            } else {
                TabAction::None
            };
        }
        let now = View::of(&self.record(host));
        let was = core::mem::replace(&mut self.reported, now.clone());
        let event = match (&was.token, &now.token) {
            (Some(_), None) if now.epoch > was.epoch => Some(Event::LoggedOut),
            (Some(_), None) => Some(Event::SessionExpired),
            (None, Some(_)) => Some(Event::LoggedIn),
            // A new login over the session (another user, or the same again).
            (Some(_), Some(_)) if now.epoch > was.epoch || now.user != was.user => {
                Some(Event::LoggedIn)
            }
            (Some(a), Some(b)) if a != b => Some(Event::TokensRefreshed),
            _ => None,
        };
        if let Some(e) = event {
            host.emit(e);
            self.schedule(host);
        }
        TabAction::None
    }
}
