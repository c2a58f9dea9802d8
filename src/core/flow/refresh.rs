//! A valid access token, refreshed when due (RFC 6749 §6), with the rules
//! that keep a rotating refresh token alive:
//!
//! - *one refresh per tab*: concurrent calls wait for the one in flight;
//! - *under the lock, storage first*: with localStorage, tabs serialise on a
//!   Web Lock, and the holder re-reads the record before it spends anything,
//!   adopting a newer session another tab stored. localStorage reaches other
//!   tabs late, so a tab that wrote holds a marker lock naming the record's
//!   generation for a few seconds (the lock manager is consistent across
//!   tabs): the next holder waits until storage shows that generation;
//! - *write-ahead*: a rotated refresh token is persisted as soon as the
//!   answer parses, before the ID token is checked (a 2xx JSON answer with a
//!   well-formed `refresh_token` counts even when another field is bad);
//! - *logout wins*: a refresh that began before a logout writes nothing and
//!   revokes the refresh token it obtained.

use super::call::Call;
use super::settle::Settle;
use super::verify::Verify;
use super::{unexpected, Area, ClientState, Effect, Event, Host, HttpResponse, Outcome, Step};
use crate::core::error::Error;
use crate::core::id_token::IdTokenClaims;
use crate::core::refreshed::check_refreshed;
use crate::core::secret::RefreshToken;
use crate::core::session::{
    needs_refresh, refresh_request, revocation_request, ResourceToken, Session, Target, Tokens,
};
use crate::core::token::{parse_token_response, salvage_refresh_token};

#[derive(Debug)]
enum State {
    Start,
    Waiting(u32),
    Locking,
    Settling(Settle),
    Calling {
        call: Call,
        old: Session,
    },
    Ahead {
        old: Session,
        new: Tokens,
    },
    Validating {
        verify: Verify,
        old: Session,
        new: Tokens,
    },
    Revoking(Call),
    Marking(Result<Session, Error>),
    Finished,
}

/// The access token: from the session, or refreshed first.
#[derive(Debug)]
pub struct AccessToken {
    force: bool,
    /// The API the token is for (RFC 8707); `None`: the session's own.
    target: Option<Target>,
    id: u32,
    seen: (u64, u64),
    locked: bool,
    wrote: Option<String>,
    state: State,
}

impl AccessToken {
    /// `force` refreshes even when the access token is still valid (e.g. after a 401).
    pub fn start(force: bool) -> Self {
        Self::for_target(force, None)
    }

    /// The token for `target` (RFC 8707): the session's own for `None`, else
    /// one from the refresh grant with its `resource` and `scope`, kept per
    /// resource and scope and renewed the same way.
    pub fn for_target(force: bool, target: Option<Target>) -> Self {
        AccessToken {
            force,
            target,
            id: 0,
            seen: (0, 0),
            locked: false,
            wrote: None,
            state: State::Start,
        }
    }

    fn epoch(&self) -> u64 {
        self.seen.0
    }

    /// Whether `s` lacks a token for the target that is valid beyond the leeway.
    fn due(&self, st: &ClientState, host: &dyn Host, s: &Session) -> bool {
        s.token_for(self.target.as_ref()).is_none_or(|(_, _, exp)| {
            needs_refresh(exp, host.now_ms(), st.config.refresh_leeway_ms)
        })
    }

    fn save(&mut self, st: &mut ClientState, host: &dyn Host, s: Option<Session>) {
        if let Some(w) = st.save(host, s, self.epoch()) {
            self.wrote = Some(w);
        }
    }

    fn finish(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        r: Result<Session, Error>,
    ) -> Step<Session> {
        if let Some(mark) = self.wrote.take().and_then(|w| st.marker(host, &w)) {
            // Announce the write before the lock goes to the next tab.
            self.state = State::Marking(r);
            return Step::Effect(mark);
        }
        if self.locked {
            self.locked = false;
            host.unlock(&st.lock_name());
        }
        self.state = State::Finished;
        if st.refresh.running == Some(self.id) {
            st.refresh.running = None;
            st.refresh.last = Some((self.id, r.clone()));
            st.refresh.target.clone_from(&self.target);
            host.notify(self.id);
        }
        Step::Done(r)
    }

    /// Drives the call.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<Session> {
        match (&mut self.state, input) {
            (State::Start, Outcome::Start) => {
                let rec = st.record(host);
                let Some(s) = rec.session else {
                    return Step::Done(Err(Error::NotAuthenticated));
                };
                let due = self.due(st, host, &s);
                if !self.force && !due {
                    return Step::Done(Ok(s));
                }
                if let Some(id) = st.refresh.running {
                    self.state = State::Waiting(id);
                    return Step::Effect(Effect::Wait(id));
                }
                st.refresh.seq = st.refresh.seq.wrapping_add(1);
                self.id = st.refresh.seq;
                st.refresh.running = Some(self.id);
                self.seen = (rec.epoch, rec.gen);
                if st.area() == Area::Local && host.locks_available() {
                    self.state = State::Locking;
                    return Step::Effect(Effect::Lock(st.lock_name()));
                }
                self.decide(st, host)
            }
            (State::Waiting(id), Outcome::Done(_)) => {
                let id = *id;
                match &st.refresh.last {
                    // Its result serves this call too (a token for another
                    // API does not: this call refreshes next, on its own).
                    Some((done, r))
                        if *done == id
                            && (st.refresh.target == self.target
                                || r.as_ref()
                                    .is_ok_and(|s| !self.force && !self.due(st, host, s))) =>
                    {
                        self.state = State::Finished;
                        Step::Done(r.clone())
                    }
                    // The shared refresh ended without a result for us: look again.
                    _ => {
                        self.state = State::Start;
                        self.resume(st, host, Outcome::Start)
                    }
                }
            }
            (State::Locking, Outcome::Locked { .. }) => {
                self.locked = true;
                self.state = State::Settling(Settle::default());
                self.resume(st, host, Outcome::Start)
            }
            (State::Settling(settle), input) => match settle.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(_) => self.decide(st, host),
            },
            (State::Calling { call, old }, input) => match call.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(answer) => {
                    let old = old.clone();
                    self.answered(st, host, old, answer)
                }
            },
            (State::Ahead { old, new }, Outcome::Done(_)) => {
                let (old, new) = (old.clone(), new.clone());
                self.validate(st, host, old, new)
            }
            (State::Validating { verify, old, new }, input) => match verify.resume(st, host, input)
            {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(Err(e)) => self.finish(st, host, Err(e)),
                Step::Done(Ok(claims)) => {
                    let (old, new) = (old.clone(), new.clone());
                    self.complete(st, host, old, new, Some(claims))
                }
            },
            (State::Revoking(call), input) => match call.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(_) => self.finish(st, host, Err(Error::LoginRequired)),
            },
            (State::Marking(_), Outcome::Done(_)) => {
                let State::Marking(r) = core::mem::replace(&mut self.state, State::Finished) else {
                    return unexpected();
                };
                self.finish(st, host, r)
            }
            _ => unexpected(),
        }
    }

    /// Under the lock (or in a tab without one): storage first, then refresh only if still due.
    fn decide(&mut self, st: &mut ClientState, host: &dyn Host) -> Step<Session> {
        let rec = st.record(host);
        if rec.epoch != self.epoch() {
            return self.finish(st, host, Err(Error::LoginRequired));
        }
        let Some(s) = rec.session else {
            return self.finish(st, host, Err(Error::LoginRequired));
        };
        // Another tab (or call) refreshed meanwhile: use its tokens instead of
        // spending the refresh token it rotated out.
        let changed = (rec.epoch, rec.gen) != self.seen;
        let due = self.due(st, host, &s);
        if (changed || !self.force) && !due {
            return self.finish(st, host, Ok(s));
        }
        // RFC 8707 §2.2: only what the grant covers. (oidc-provider, for one,
        // spends the refresh token before it refuses the resource.)
        if let Some(t) = self
            .target
            .as_ref()
            .filter(|t| !s.granted.contains(&t.resource))
        {
            let e = Error::ResourceNotGranted(t.resource.clone());
            return self.finish(st, host, Err(e));
        }
        let Some(rt) = s.tokens.refresh_token.clone() else {
            // An API's token needs a refresh token; the session's own may still be good.
            if let Some(t) = &self.target {
                let e = Error::ResourceNotGranted(t.resource.clone());
                return self.finish(st, host, Err(e));
            }
            self.save(st, host, None);
            host.emit(Event::SessionExpired);
            return self.finish(st, host, Err(Error::LoginRequired));
        };
        let req = refresh_request(
            &st.meta.token_endpoint,
            &st.config.client_id,
            &rt,
            self.target.as_ref(),
        );
        let key = st.dpop_key_of(Some(&s));
        let mut call = Call::new("POST", &req.url, Some(req.body), None).with_dpop_key(Some(key));
        match call.resume(st, host, Outcome::Start) {
            Step::Effect(e) => {
                self.state = State::Calling { call, old: s };
                Step::Effect(e)
            }
            Step::Done(r) => self.answered(st, host, s, r),
        }
    }

    fn answered(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        old: Session,
        answer: Result<HttpResponse, Error>,
    ) -> Step<Session> {
        let r = match answer {
            Ok(r) => r,
            Err(e) => return self.finish(st, host, Err(e)),
        };
        let t = match parse_token_response(
            r.status,
            r.content_type.as_deref(),
            &r.body,
            st.config.dpop,
        ) {
            Ok(t) => t,
            Err(e) if e.code() == "invalid_grant" => {
                // Without Web Locks another tab may have rotated the token first: adopt its result.
                let rec = st.record(host);
                if let Some(s) = rec
                    .session
                    .filter(|s| s.tokens.refresh_token != old.tokens.refresh_token)
                {
                    if !self.due(st, host, &s) {
                        return self.finish(st, host, Ok(s));
                    }
                    // Rotated by another tab (a refresh for another API leaves
                    // this token due): ask again with the new refresh token.
                    self.seen = (rec.epoch, rec.gen);
                    return self.decide(st, host);
                }
                // Refused for one API only (consent, a policy): the session stays.
                if self.target.is_some() {
                    return self.finish(st, host, Err(e));
                }
                if rec.epoch == self.epoch() {
                    self.save(st, host, None);
                    host.emit(Event::SessionExpired);
                }
                return self.finish(st, host, Err(Error::LoginRequired));
            }
            Err(e) => {
                // The provider may have rotated the refresh token even if the
                // rest of its answer is unusable: that copy is the only live one.
                if let Some(rt) =
                    salvage_refresh_token(r.status, r.content_type.as_deref(), &r.body)
                {
                    if let Some(stop) = self.keep_refresh_token(st, host, &old, rt) {
                        return stop;
                    }
                }
                return self.finish(st, host, Err(e));
            }
        };
        let scope = match &self.target {
            Some(t) if !t.scope.is_empty() => t.scope.as_str(),
            _ => old.tokens.scope.as_str(),
        };
        let new = Tokens::from_response(t, host.now_ms(), scope);
        if let Some(rt) = new.refresh_token.clone() {
            if let Some(stop) = self.keep_refresh_token(st, host, &old, rt) {
                return stop;
            }
            // Announce the write-ahead at once: this tab may be gone before it finishes.
            if let Some(mark) = self.wrote.take().and_then(|w| st.marker(host, &w)) {
                self.state = State::Ahead { old, new };
                return Step::Effect(mark);
            }
        }
        self.validate(st, host, old, new)
    }

    fn validate(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        old: Session,
        new: Tokens,
    ) -> Step<Session> {
        let Some(id) = new.id_token.clone() else {
            return self.complete(st, host, old, new, None);
        };
        let mut verify = Verify::new(id.secret(), None, None, None);
        match verify.resume(st, host, Outcome::Start) {
            Step::Effect(e) => {
                self.state = State::Validating { verify, old, new };
                Step::Effect(e)
            }
            Step::Done(Ok(c)) => self.complete(st, host, old, new, Some(c)),
            Step::Done(Err(e)) => self.finish(st, host, Err(e)),
        }
    }

    /// Write-ahead of a rotated refresh token: the old session with the new
    /// refresh token, before anything else can fail. `Some` when a logout
    /// came first (the token is revoked instead).
    fn keep_refresh_token(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        old: &Session,
        rt: RefreshToken,
    ) -> Option<Step<Session>> {
        if st.record(host).epoch != self.epoch() {
            let key = st.dpop_key_of(Some(old));
            return Some(self.revoke(st, host, rt, key));
        }
        if old.tokens.refresh_token.as_ref() != Some(&rt) {
            let mut kept = old.clone();
            kept.tokens.refresh_token = Some(rt);
            self.save(st, host, Some(kept));
        }
        None
    }

    /// Revokes `rt` (a logout came first), proven by the session's key `key`.
    fn revoke(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        rt: RefreshToken,
        key: String,
    ) -> Step<Session> {
        let Some(endpoint) = st.meta.revocation_endpoint.clone() else {
            return self.finish(st, host, Err(Error::LoginRequired));
        };
        let r = revocation_request(&endpoint, &st.config.client_id, &rt);
        let mut call = Call::new("POST", &r.url, Some(r.body), None).with_dpop_key(Some(key));
        match call.resume(st, host, Outcome::Start) {
            Step::Effect(e) => {
                self.state = State::Revoking(call);
                Step::Effect(e)
            }
            Step::Done(_) => self.finish(st, host, Err(Error::LoginRequired)),
        }
    }

    fn complete(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        old: Session,
        new: Tokens,
        claims: Option<IdTokenClaims>,
    ) -> Step<Session> {
        if let (Some(was), Some(now)) = (&old.claims, &claims) {
            if let Err(e) = check_refreshed(was, now) {
                return self.finish(st, host, Err(e));
            }
        }
        if st.record(host).epoch != self.epoch() {
            let key = st.dpop_key_of(Some(&old));
            return match new.refresh_token.or(old.tokens.refresh_token) {
                Some(rt) => self.revoke(st, host, rt, key),
                None => self.finish(st, host, Err(Error::LoginRequired)),
            };
        }
        let session = match &self.target {
            None => Session {
                tokens: old.tokens.refreshed(new),
                claims: claims.or(old.claims),
                dpop_key: old.dpop_key,
                resources: old.resources,
                granted: old.granted,
            },
            // The API's token is kept beside the session's own; the refresh
            // token (rotated) and an ID token sent with it are the session's.
            Some(t) => {
                let mut s = old;
                if let Some(rt) = new.refresh_token {
                    s.tokens.refresh_token = Some(rt);
                }
                if let Some(id) = new.id_token {
                    s.tokens.id_token = Some(id);
                }
                s.claims = claims.or(s.claims);
                s.resources.retain(|r| r.target != *t);
                s.resources.push(ResourceToken {
                    target: t.clone(),
                    access_token: new.access_token,
                    token_type: new.token_type,
                    expires_at_ms: new.expires_at_ms,
                });
                s
            }
        };
        self.save(st, host, Some(session.clone()));
        host.emit(Event::TokensRefreshed);
        self.finish(st, host, Ok(session))
    }
}
