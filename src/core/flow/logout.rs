//! Logout: a tombstone with the next epoch first (so no operation that began
//! before can write a session after it, in this tab or another), the
//! refresh token revoked (RFC 7009), a fresh DPoP key for the next session,
//! `loggedOut`, and then — with localStorage — a sweep under the refresh
//! lock: the tombstone written again above every write storage shows, and
//! the refresh token revoked of a session another tab (a refresh, a login's
//! callback) wrote before it saw the logout. Finally the end-session redirect (OIDC RP-Initiated Logout) or
//! `returnTo`.

use super::call::Call;
use super::settle::Settle;
use super::store::session_key;
use super::{unexpected, Area, ClientState, Effect, Event, Host, Outcome, Step};
use crate::core::error::Error;
use crate::core::session::{decode_record, end_session_url, revocation_request, Session};
use crate::core::url::{is_http_url, origin};

const RETURN_TO_PROBLEM: &str = "returnTo must be an http(s) URL";

#[derive(Debug)]
enum State {
    Start,
    Marked,
    Revoking(Call),
    Discarding,
    Locking,
    Settling(Settle),
    Swept(Option<Call>),
    Sweeping(Call),
    Finished,
}

/// Ends the session.
#[derive(Debug)]
pub struct Logout {
    return_to: Option<String>,
    local_only: bool,
    session: Option<Session>,
    epoch: u64,
    locked: bool,
    state: State,
}

impl Logout {
    /// `return_to` is absolute (the bindings resolve it against the page) and must be http(s).
    pub fn start(return_to: Option<String>, local_only: bool) -> Self {
        Logout {
            return_to,
            local_only,
            session: None,
            epoch: 0,
            locked: false,
            state: State::Start,
        }
    }

    /// Revokes `session`'s refresh token, proven (with DPoP) by its own key.
    fn revoke(st: &ClientState, session: Option<&Session>) -> Option<Call> {
        let rt = session?.tokens.refresh_token.as_ref()?;
        let endpoint = st.meta.revocation_endpoint.as_ref()?;
        let r = revocation_request(endpoint, &st.config.client_id, rt);
        let key = st.dpop_key_of(session);
        Some(Call::new("POST", &r.url, Some(r.body), None).with_dpop_key(Some(key)))
    }

    fn report(host: &dyn Host, r: Result<super::HttpResponse, Error>) {
        match r {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => host.emit(Event::Error(Error::RevocationFailed(r.status))),
            Err(e) => host.emit(Event::Error(e)),
        }
    }

    /// Drives the logout. Its result says whether the page is now on its way
    /// to the provider's end-session endpoint or `returnTo` (`false`: a local
    /// logout, or no end-session endpoint and no `returnTo`).
    pub fn resume(&mut self, st: &mut ClientState, host: &dyn Host, input: Outcome) -> Step<bool> {
        let mut input = input;
        loop {
            let next = match (&mut self.state, input) {
                (State::Start, Outcome::Start) => {
                    // Checked before anything is cleared: a bad returnTo costs the user nothing.
                    if self.return_to.as_deref().is_some_and(|u| !is_http_url(u)) {
                        return Step::Done(Err(Error::InvalidConfig(RETURN_TO_PROBLEM)));
                    }
                    // Without an end-session endpoint we navigate there ourselves:
                    // only this origin or a listed URL, never an open redirect.
                    if st.meta.end_session_endpoint.is_none() {
                        if let Some(to) = self.return_to.as_deref() {
                            let here = host.current_url().and_then(|u| origin(&u));
                            let same = here.is_some() && origin(to) == here;
                            if !same && !st.config.post_logout_redirect_uris.iter().any(|u| u == to)
                            {
                                return Step::Done(Err(Error::ReturnToNotAllowed));
                            }
                        }
                    }
                    let rec = st.record(host);
                    self.epoch = rec.epoch.saturating_add(1);
                    let written = st.save(host, None, self.epoch);
                    host.clear_timer();
                    // Shared results kept for joiners hold tokens: gone too
                    // (a joiner still waiting tries again, and finds no session).
                    st.refresh.last = None;
                    st.callbacks.last = None;
                    st.silent_last = None;
                    self.session = rec.session;
                    // Other tabs' refreshes wait for the tombstone to reach them.
                    if let Some(mark) = written.and_then(|w| st.marker(host, &w)) {
                        self.state = State::Marked;
                        return Step::Effect(mark);
                    }
                    State::Marked
                }
                (State::Marked, Outcome::Start | Outcome::Done(_)) => {
                    match Self::revoke(st, self.session.as_ref()) {
                        Some(call) => State::Revoking(call),
                        None => State::Discarding,
                    }
                }
                (State::Revoking(call), input) => match call.resume(st, host, input) {
                    Step::Effect(e) => return Step::Effect(e),
                    Step::Done(r) => {
                        Self::report(host, r);
                        State::Discarding
                    }
                },
                (State::Discarding, Outcome::Start)
                    if cfg!(feature = "dpop") && st.config.dpop && self.session.is_some() =>
                {
                    // The next login makes its own key.
                    st.dpop_key = None;
                    self.state = State::Discarding;
                    // This session's key only: other tabs' sessions keep theirs.
                    let key = st.dpop_key_of(self.session.as_ref());
                    return Step::Effect(Effect::DiscardDpopKeys(vec![key]));
                }
                (State::Discarding, Outcome::Start | Outcome::Done(_)) => {
                    host.emit(Event::LoggedOut);
                    if st.area() == Area::Local && host.locks_available() {
                        self.state = State::Locking;
                        return Step::Effect(Effect::Lock(st.lock_name()));
                    }
                    State::Finished
                }
                (State::Locking, Outcome::Locked { .. }) => {
                    self.locked = true;
                    State::Settling(Settle::default())
                }
                (State::Settling(settle), input) => {
                    if let Step::Effect(e) = settle.resume(st, host, input) {
                        return Step::Effect(e);
                    }
                    // Another tab that had not seen the logout yet (a refresh, a
                    // login's callback) may have written a session after the
                    // first tombstone: its refresh token is revoked.
                    let stored = host.get(st.area(), &session_key(&st.ns)).ok().flatten();
                    let stale = stored
                        .as_deref()
                        .and_then(decode_record)
                        .filter(|r| r.epoch < self.epoch)
                        .and_then(|r| r.session);
                    let revoke = Self::revoke(st, stale.as_ref());
                    // The tombstone again, under the lock and above every write
                    // storage shows now: the first one was written without the
                    // lock, and a later write may have arrived over it (or will).
                    let written = st.save(host, None, self.epoch);
                    if let Some(mark) = written.and_then(|w| st.marker(host, &w)) {
                        self.state = State::Swept(revoke);
                        return Step::Effect(mark);
                    }
                    match revoke {
                        Some(call) => State::Sweeping(call),
                        None => State::Finished,
                    }
                }
                (State::Swept(revoke), Outcome::Done(_)) => match revoke.take() {
                    Some(call) => State::Sweeping(call),
                    None => State::Finished,
                },
                (State::Sweeping(call), input) => match call.resume(st, host, input) {
                    Step::Effect(e) => return Step::Effect(e),
                    Step::Done(r) => {
                        Self::report(host, r);
                        State::Finished
                    }
                },
                (State::Finished, _) => return self.leave(st, host),
                _ => return unexpected(),
            };
            // The next state starts in this same step.
            self.state = next;
            input = Outcome::Start;
        }
    }

    fn leave(&mut self, st: &ClientState, host: &dyn Host) -> Step<bool> {
        if self.locked {
            self.locked = false;
            host.unlock(&st.lock_name());
        }
        if self.local_only {
            return Step::Done(Ok(false));
        }
        let url = match (&st.meta.end_session_endpoint, self.return_to.take()) {
            (Some(end), return_to) => {
                // The provider's session ends too (see `SilentLogin`).
                let _ = host.remove(Area::Local, &super::sso_key(&st.ns));
                let hint = self
                    .session
                    .as_ref()
                    .and_then(|s| s.tokens.id_token.as_ref());
                end_session_url(end, &st.config.client_id, hint, return_to.as_deref())
            }
            (None, Some(url)) => url,
            (None, None) => return Step::Done(Ok(false)),
        };
        Step::Done(host.navigate(&url).map(|()| true))
    }
}
