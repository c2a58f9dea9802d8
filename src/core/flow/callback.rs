//! The redirect back from the provider: the callback parsed and checked, its
//! transaction consumed before any request, the code exchanged while the
//! JWKS is fetched, the tokens written ahead as soon as they parse (not yet
//! handed to the app), the ID token validated, and only then the session.
//!
//! Write-ahead: the code is spent once the token endpoint answers, so the
//! tokens are kept (under `pkce-wasm.pending.<ns>`) until their ID token
//! validates. If validation fails for a reason that says nothing about the
//! token (a JWKS request that timed out, say), the address bar keeps the
//! callback and handling it again (a retry, a reload) completes the login
//! without another redirect.
//!
//! With localStorage the session is written under the refresh lock, after
//! storage shows every write another tab announced (as a refresh does): a
//! logout in another tab either shows here first (no session, the tokens
//! revoked) or finds this write in its sweep.

use super::call::Call;
use super::pending::{decode, encode, state_hash, Pending};
use super::settle::Settle;
use super::store::pending_key;
use super::verify::{jwks_request, Verify};
use super::{out_of_order, Area, ClientState, Effect, Event, Host, Outcome, Step};
use crate::core::authorize::{has_openid, POPUP_STATE_PREFIX, SILENT_STATE_PREFIX};
use crate::core::callback::{clean_callback_url, parse_callback};
use crate::core::error::Error;
use crate::core::id_token::IdTokenClaims;
use crate::core::secret::AccessToken;
use crate::core::secret::Redacted;
use crate::core::session::{revocation_request, Session, Tokens};
use crate::core::token::{code_exchange, parse_token_response};

/// What a successful callback yields.
#[derive(Debug, Clone)]
pub struct CallbackResult {
    /// The tokens.
    pub tokens: Tokens,
    /// The validated ID token claims, when an ID token was issued.
    pub claims: Option<IdTokenClaims>,
    /// The application state given to the login, as JSON text.
    pub app_state: Option<String>,
}

#[derive(Debug)]
enum State {
    /// Before anything: join an attempt for the same URL, or be the one others join.
    New,
    Start,
    /// Waiting for the attempt another call for this URL made (its signal).
    Joining(u32),
    /// A popup's (or a silent login's iframe's) callback page: handing the
    /// response (for this `state`) to the page that started the login;
    /// `true` once sent.
    Relaying(bool, crate::core::secret::State),
    Exchanging(Call, Pending),
    Validating(Verify, Pending),
    Locking(Pending, Option<IdTokenClaims>),
    Settling(Settle, Pending, Option<IdTokenClaims>),
    Marking(Option<CallbackResult>),
    Discarding(Option<CallbackResult>),
    Revoking(Call),
}

/// Handles the redirect back from the provider.
pub struct Callback {
    url: String,
    keep_url: bool,
    locked: bool,
    /// The DPoP key of the session this login replaced, to let go.
    replaced_key: Option<String>,
    /// This attempt's signal id, when it is the one others join.
    share: Option<u32>,
    /// A popup's callback page hands popup responses to its opener; the
    /// opener itself (a popup login's own callback) never does.
    relay: bool,
    /// The epoch the login began in (a popup's or silent login's), if not this callback's.
    epoch: Option<u64>,
    state: State,
}

impl core::fmt::Debug for Callback {
    // The URL carries the code and the state.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Callback")
            .field("url", &Redacted)
            .field("keep_url", &self.keep_url)
            .field("locked", &self.locked)
            .field("state", &self.state)
            .finish()
    }
}

impl Callback {
    /// Handles the callback at `url`.
    pub fn start(url: &str) -> Self {
        Callback {
            url: String::from(url),
            keep_url: false,
            locked: false,
            replaced_key: None,
            share: None,
            relay: true,
            epoch: None,
            state: State::New,
        }
    }

    /// The callback a popup (or silent) login runs in the page that started
    /// it, in the logout epoch the login started in: a logout while the
    /// popup or iframe was open wins.
    pub fn in_opener(mut self, epoch: u64) -> Self {
        self.relay = false;
        self.epoch = Some(epoch);
        self
    }

    /// Ends the operation: the address bar loses the response parameters,
    /// unless tokens are kept for a retry of this very callback.
    fn finish(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        r: Result<CallbackResult, Error>,
    ) -> Step<CallbackResult> {
        if let Some(id) = self.share.take() {
            if st.callbacks.running.as_ref().is_some_and(|(i, _)| *i == id) {
                if let Some((_, digest)) = st.callbacks.running.take() {
                    st.callbacks.last = Some((id, digest, r.clone()));
                }
            }
            host.notify(id);
        }
        if self.locked {
            self.locked = false;
            host.unlock(&st.lock_name());
        }
        // Another client's callback stays in the address bar for that client.
        let keep = self.keep_url || matches!(r, Err(Error::CallbackOtherClient));
        if !keep && host.current_url().as_deref() == Some(self.url.as_str()) {
            if let Some(clean) = clean_callback_url(&self.url, st.config.response_mode) {
                host.replace_url(&clean);
            }
        }
        Step::Done(r)
    }

    fn drop_pending(st: &ClientState, host: &dyn Host) {
        let _ = host.remove(st.area(), &pending_key(&st.ns));
    }

    /// Drives the callback.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<CallbackResult> {
        let step = match &mut self.state {
            State::New => {
                let digest = state_hash(&self.url);
                match &st.callbacks.running {
                    Some((id, d)) if *d == digest => {
                        let id = *id;
                        self.state = State::Joining(id);
                        return Step::Effect(Effect::Wait(id));
                    }
                    // Another URL's attempt holds the slot: this one runs unshared.
                    Some(_) => {}
                    None => {
                        st.refresh.seq = st.refresh.seq.wrapping_add(1);
                        let id = st.refresh.seq;
                        st.callbacks.running = Some((id, digest));
                        self.share = Some(id);
                    }
                }
                self.state = State::Start;
                return self.resume(st, host, Outcome::Start);
            }
            State::Joining(id) => {
                let id = *id;
                return match &st.callbacks.last {
                    Some((done, _, r)) if *done == id => Step::Done(r.clone()),
                    // The attempt ended without a result for us: try ourselves.
                    _ => {
                        self.state = State::New;
                        self.resume(st, host, Outcome::Start)
                    }
                };
            }
            State::Relaying(sent, state) => {
                if *sent {
                    let silent = state.secret().starts_with(SILENT_STATE_PREFIX);
                    return self.finish(
                        st,
                        host,
                        Err(if silent {
                            Error::SilentResponseSent
                        } else {
                            Error::PopupResponseSent
                        }),
                    );
                }
                *sent = true;
                return Step::Effect(Effect::PopupRelay {
                    channel: super::popup::popup_channel(&st.ns),
                    state: String::from(state.secret()),
                    url: self.url.clone(),
                });
            }
            State::Start => match self.begin(st, host) {
                Ok(state) => {
                    self.state = state;
                    return self.resume(st, host, Outcome::Start);
                }
                Err(e) => return self.finish(st, host, Err(e)),
            },
            State::Exchanging(call, pending) => match call.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(answer) => {
                    let prefetched = call.companion_answer.take();
                    let mut p = pending.clone();
                    match answer.and_then(|r| {
                        parse_token_response(
                            r.status,
                            r.content_type.as_deref(),
                            &r.body,
                            st.config.dpop,
                        )
                    }) {
                        Err(e) => return self.finish(st, host, Err(e)),
                        Ok(t) => {
                            p.tokens = Tokens::from_response(t, host.now_ms(), &st.config.scope);
                            // Write-ahead: the code is spent; these tokens are the only copy.
                            let _ = host.set(st.area(), &pending_key(&st.ns), &encode(&p));
                            match p.tokens.id_token.clone() {
                                Some(id) => {
                                    let v = Verify::new(
                                        id.secret(),
                                        p.nonce.as_deref(),
                                        p.max_age,
                                        prefetched,
                                    )
                                    .with_acr(p.acr_values.clone());
                                    self.state = State::Validating(v, p);
                                    return self.resume(st, host, Outcome::Start);
                                }
                                // Without an ID token the acr and auth_time asked for cannot be checked.
                                None if has_openid(&st.config.scope)
                                    || p.acr_values.is_some()
                                    || p.max_age.is_some() =>
                                {
                                    Self::drop_pending(st, host);
                                    return self.finish(st, host, Err(Error::IdTokenMissing));
                                }
                                None => (p, None),
                            }
                        }
                    }
                }
            },
            State::Validating(v, p) => match v.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(Ok(claims)) => (p.clone(), Some(claims)),
                Step::Done(Err(e)) => {
                    // A bad token is dropped; a failure that says nothing about it keeps it for a retry.
                    if e.code().starts_with("id_token_")
                        || matches!(e, Error::JwksKeyAmbiguous | Error::JwksKeyWeak)
                    {
                        Self::drop_pending(st, host);
                    } else {
                        self.keep_url = true;
                    }
                    return self.finish(st, host, Err(e));
                }
            },
            State::Locking(p, claims) => {
                let Outcome::Locked { .. } = input else {
                    return self.finish(st, host, Err(out_of_order()));
                };
                self.locked = true;
                self.state = State::Settling(Settle::default(), p.clone(), claims.take());
                return self.resume(st, host, Outcome::Start);
            }
            State::Settling(settle, p, claims) => match settle.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(_) => {
                    let (p, claims) = (p.clone(), claims.take());
                    return self.complete(st, host, p, claims);
                }
            },
            State::Marking(r) => {
                let r = r.take();
                return self.discard_replaced(st, host, r);
            }
            State::Discarding(r) => {
                let r = r.take().ok_or_else(out_of_order);
                return self.finish(st, host, r);
            }
            State::Revoking(call) => match call.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(_) => return self.finish(st, host, Err(Error::LoginRequired)),
            },
        };
        let (p, claims) = step;
        if st.area() == Area::Local && host.locks_available() {
            self.state = State::Locking(p, claims);
            return Step::Effect(Effect::Lock(st.lock_name()));
        }
        self.complete(st, host, p, claims)
    }

    /// Parses the callback and consumes its transaction (or finds the tokens
    /// a failed attempt at this same callback kept).
    fn begin(&mut self, st: &mut ClientState, host: &dyn Host) -> Result<State, Error> {
        let response = parse_callback(&self.url, st.config.response_mode)?;
        // A silent login's iframe shares the tab's sessionStorage with the
        // page that started the login: the transaction is left to that page.
        if self.relay && response.state.secret().starts_with(SILENT_STATE_PREFIX) {
            // The URL stays: another client on this page may be the one it is for.
            self.keep_url = true;
            return Ok(State::Relaying(false, response.state.clone()));
        }
        let txs = st.transactions(host);
        let pending = match txs.take(&response.state, host.now_ms()) {
            Ok(p) => p,
            // A popup's login lives in the page that opened the popup.
            Err(Error::NoPendingLogin | Error::StateMismatch)
                if self.relay && response.state.secret().starts_with(POPUP_STATE_PREFIX) =>
            {
                return Ok(State::Relaying(false, response.state.clone()));
            }
            Err(Error::CallbackReplayed) => {
                let hash = state_hash(response.state.secret());
                let kept = host
                    .get(st.area(), &pending_key(&st.ns))
                    .ok()
                    .flatten()
                    .and_then(|t| decode(&t))
                    .filter(|p| p.state_hash == hash);
                return match kept {
                    Some(p) => {
                        let Some(id) = p.tokens.id_token.as_ref() else {
                            return Err(Error::CallbackReplayed);
                        };
                        let v = Verify::new(id.secret(), p.nonce.as_deref(), p.max_age, None)
                            .with_acr(p.acr_values.clone());
                        Ok(State::Validating(v, p))
                    }
                    None => Err(Error::CallbackReplayed),
                };
            }
            Err(e) => return Err(e),
        };
        let cb = response.validate(
            pending,
            st.config.issuer.as_deref(),
            st.meta.authorization_response_iss_parameter_supported,
        )?;
        let req = code_exchange(&st.meta.token_endpoint, &st.config.client_id, &cb);
        let companion = if has_openid(&st.config.scope) {
            jwks_request(st, host)
        } else {
            None
        };
        let p = cb.pending;
        let pending = Pending {
            state_hash: state_hash(p.state.secret()),
            tokens: Tokens {
                access_token: AccessToken::new(String::new()),
                token_type: String::new(),
                expires_at_ms: None,
                refresh_token: None,
                id_token: None,
                scope: String::new(),
            },
            nonce: p.nonce.map(|n| String::from(n.secret())),
            max_age: p.max_age,
            acr_values: p.acr_values,
            resources: p.resources,
            app_state: p.app_state,
            epoch: self.epoch.unwrap_or(st.record(host).epoch),
            dpop_key: p.dpop_key,
        };
        // The exchange is proven with the key the login bound the code to.
        let call = Call::new("POST", &req.url, Some(req.body), None)
            .with_companion(companion)
            .with_dpop_key(pending.dpop_key.clone());
        Ok(State::Exchanging(call, pending))
    }

    fn complete(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        p: Pending,
        claims: Option<IdTokenClaims>,
    ) -> Step<CallbackResult> {
        Self::drop_pending(st, host);
        // Logout wins: a logout since this callback began means no session now.
        if st.record(host).epoch != p.epoch {
            if self.locked {
                self.locked = false;
                host.unlock(&st.lock_name());
            }
            if let (Some(endpoint), Some(rt)) =
                (&st.meta.revocation_endpoint, &p.tokens.refresh_token)
            {
                let r = revocation_request(endpoint, &st.config.client_id, rt);
                let mut call =
                    Call::new("POST", &r.url, Some(r.body), None).with_dpop_key(p.dpop_key.clone());
                let first = call.resume(st, host, Outcome::Start);
                self.state = State::Revoking(call);
                return match first {
                    Step::Effect(e) => Step::Effect(e),
                    Step::Done(_) => self.finish(st, host, Err(Error::LoginRequired)),
                };
            }
            return self.finish(st, host, Err(Error::LoginRequired));
        }
        // A new login replaces the session this tab had (or, with
        // localStorage, every tab): its DPoP key is let go once this one is stored.
        if let (Some(old), Some(_)) = (st.record(host).session, &p.dpop_key) {
            let key = st.dpop_key_of(Some(&old));
            self.replaced_key = (Some(&key) != p.dpop_key.as_ref()).then_some(key);
        }
        let session = Session {
            tokens: p.tokens.clone(),
            claims: claims.clone(),
            dpop_key: p.dpop_key.clone(),
            // Tokens for other APIs come from this login's refresh token, when asked for.
            resources: Vec::new(),
            granted: p.resources.clone(),
        };
        let written = st.save(host, Some(session), p.epoch);
        // This browser now has a session at the provider (see `SilentLogin`).
        let mut at = String::new();
        crate::core::encoding::push_u64(&mut at, host.now_ms());
        let _ = host.set(Area::Local, &super::sso_key(&st.ns), &at);
        host.emit(Event::LoggedIn);
        let result = CallbackResult {
            tokens: p.tokens,
            claims,
            app_state: p.app_state,
        };
        // Announce the write before the lock goes to the next tab.
        if let Some(mark) = written.and_then(|w| st.marker(host, &w)) {
            self.state = State::Marking(Some(result));
            return Step::Effect(mark);
        }
        self.discard_replaced(st, host, Some(result))
    }

    fn discard_replaced(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        r: Option<CallbackResult>,
    ) -> Step<CallbackResult> {
        if let (Some(key), Some(_)) = (self.replaced_key.take(), &r) {
            self.state = State::Discarding(r);
            return Step::Effect(Effect::DiscardDpopKeys(vec![key]));
        }
        self.finish(st, host, r.ok_or_else(out_of_order))
    }
}
