//! Silent authentication (`checkSession`): a login with `prompt=none` in a
//! hidden iframe. The provider answers at once — a code when the user has
//! a session there, `login_required` / `interaction_required` /
//! `consent_required` when not — to the silent redirect page, which runs in
//! the iframe, sees a silent login's `state` (`s.`) and hands the response
//! to this page over the popup channel, without touching the transaction
//! (the iframe shares this tab's sessionStorage). This page then runs the
//! very callback a redirect runs (state, `iss`, PKCE, the ID token) and
//! stores the session. The wait is time-boxed (`silentTimeout`, default
//! 10 s: `silent_timeout`), and concurrent calls share one iframe.
//!
//! A provider on another site than the app sees its cookies in the iframe
//! only where the browser allows third-party cookies. Its answer is then
//! `login_required` whatever the user did, so on another site that answer
//! becomes `third_party_cookies_blocked` when this browser did log in there
//! through this client ([`sso_key`] marks it; a logout clears it): the code
//! then says why silent login cannot work here, and never loops or hangs.

use super::popup::PopupLogin;
use super::{AccessToken, Area, CallbackResult, ClientState, Effect, Host, Outcome, Step};
use crate::core::config::LoginOptions;
use crate::core::encoding::parse_u64;
use crate::core::error::Error;
use crate::core::session::{needs_refresh, Session, Target};
use crate::core::url::same_site;

/// The localStorage key that says this browser logged in at the provider
/// through this client (and has not logged out since): the time of that
/// login (ms), or `ok` once a silent login worked across sites.
pub fn sso_key(ns: &str) -> String {
    let mut k = String::from("pkce-wasm.sso.");
    k.push_str(ns);
    k
}

#[derive(Debug)]
enum State {
    New,
    /// Waiting for the silent login another call started (its signal), to
    /// take its result (`true`: the same options) or to go after it.
    Joining(u32, bool),
    Running(Box<PopupLogin>, u32),
}

/// A silent login (`checkSession`); the result is the callback's.
#[derive(Debug)]
pub struct SilentLogin {
    options: LoginOptions,
    state: State,
}

impl SilentLogin {
    /// A silent login with `options` (`prompt` is refused: it is `none`).
    pub fn start(options: LoginOptions) -> Self {
        SilentLogin {
            options,
            state: State::New,
        }
    }

    /// Drives it.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<CallbackResult> {
        match &mut self.state {
            State::New => {
                let now = host.now_ms();
                match &st.silent {
                    // The same request running: its answer is this call's too.
                    Some((id, by, o)) if now <= *by && same(o, &self.options) => {
                        self.state = State::Joining(*id, true);
                        return Step::Effect(Effect::Wait(*id));
                    }
                    // Another request running: this one goes once it ended
                    // (one iframe at a time).
                    Some((id, by, _)) if now <= *by => {
                        self.state = State::Joining(*id, false);
                        return Step::Effect(Effect::Wait(*id));
                    }
                    _ => {}
                }
                st.refresh.seq = st.refresh.seq.wrapping_add(1);
                let id = st.refresh.seq;
                // The wait, then the token request and the JWKS (and a retry).
                let by = st.config.silent_timeout_ms + 4 * u64::from(st.config.timeout_ms);
                st.silent = Some((id, now.saturating_add(by), self.options.clone()));
                let op = Box::new(PopupLogin::silent(
                    id,
                    self.options.clone(),
                    st.config.silent_timeout_ms,
                ));
                self.state = State::Running(op, id);
                self.resume(st, host, Outcome::Start)
            }
            State::Joining(id, shared) => match &st.silent_last {
                Some((done, r)) if done == id && *shared => Step::Done(r.clone()),
                // It ended without a result for us: try ourselves.
                _ => {
                    self.state = State::New;
                    self.resume(st, host, Outcome::Start)
                }
            },
            State::Running(op, id) => match op.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(r) => {
                    let id = *id;
                    let r = classify(st, host, r);
                    if st.silent.as_ref().is_some_and(|(i, ..)| *i == id) {
                        st.silent = None;
                    }
                    st.silent_last = Some((id, r.clone()));
                    host.notify(id);
                    Step::Done(r)
                }
            },
        }
    }
}

/// Two silent logins ask the same: their answers are interchangeable.
fn same(a: &LoginOptions, b: &LoginOptions) -> bool {
    a.app_state == b.app_state && a.extra_params == b.extra_params && b.code_verifier.is_none()
}

/// The provider's `login_required`, told apart: on the app's own site it is
/// the truth (the marker goes); on another site, after a login here, it is
/// the browser hiding the provider's cookies from the iframe.
fn classify(
    st: &ClientState,
    host: &dyn Host,
    r: Result<CallbackResult, Error>,
) -> Result<CallbackResult, Error> {
    let key = sso_key(&st.ns);
    let cross = host
        .current_url()
        .is_some_and(|page| !same_site(&page, &st.meta.authorization_endpoint));
    let refused = matches!(&r, Err(Error::Provider(p)) if p.error == "login_required");
    match (&r, cross) {
        // Through the iframe on another site: this browser lets its cookies through.
        (Ok(_), true) => {
            let _ = host.set(Area::Local, &key, SSO_WORKS);
            r
        }
        // The provider's word is the truth here: on the app's site, or where
        // a silent login on the other site worked before.
        (_, false) if refused => {
            let _ = host.remove(Area::Local, &key);
            r
        }
        (_, true) if refused => match host.get(Area::Local, &key) {
            Ok(Some(v)) if v == SSO_WORKS => {
                let _ = host.remove(Area::Local, &key);
                r
            }
            // A login here, recently: the browser hides the provider's cookies.
            Ok(Some(v))
                if parse_u64(&v)
                    .is_some_and(|at| host.now_ms().saturating_sub(at) < SSO_MARK_MS) =>
            {
                Err(Error::ThirdPartyCookiesBlocked)
            }
            _ => r,
        },
        _ => r,
    }
}

/// The mark's value once a silent login worked across sites.
const SSO_WORKS: &str = "ok";

/// How long after a login here a cross-site `login_required` is taken for
/// blocked cookies rather than an ended provider session: 12 hours.
pub const SSO_MARK_MS: u64 = 12 * 3600 * 1000;

#[derive(Debug)]
enum Fallback {
    Start,
    Token(Box<AccessToken>),
    Silent(Box<SilentLogin>),
    /// The provider said no: the expired session ends as it would have
    /// without the fallback, and the provider's answer is the result.
    Expiring(Box<AccessToken>, Error),
}

/// `getAccessToken()`: the access token (see [`AccessToken`]); with
/// `silentFallback`, a session that is due and has no refresh token is
/// renewed by a silent login instead of ending. The provider's refusal
/// (`login_required` & co., `third_party_cookies_blocked`) ends the session
/// as an expiry does and is the result; a failure that says nothing about
/// the session (`silent_timeout`, a network error) keeps it.
#[derive(Debug)]
pub struct TokenOrSilent {
    force: bool,
    target: Option<Target>,
    /// The record (epoch, generation) the silent renewal was decided on.
    seen: (u64, u64),
    state: Fallback,
}

impl TokenOrSilent {
    /// `force` as for [`AccessToken::start`].
    pub fn start(force: bool) -> Self {
        Self::for_target(force, None)
    }

    /// The token for `target` (see [`AccessToken::for_target`]).
    pub fn for_target(force: bool, target: Option<Target>) -> Self {
        TokenOrSilent {
            force,
            target,
            seen: (0, 0),
            state: Fallback::Start,
        }
    }

    /// Drives it.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<Session> {
        match &mut self.state {
            Fallback::Start => {
                let rec = st.record(host);
                self.seen = (rec.epoch, rec.gen);
                let renew = st.config.silent_fallback
                    && self.target.is_none()
                    && st.session(host).is_some_and(|s| {
                        s.tokens.refresh_token.is_none()
                            && (self.force
                                || needs_refresh(
                                    s.tokens.expires_at_ms,
                                    host.now_ms(),
                                    st.config.refresh_leeway_ms,
                                ))
                    });
                self.state = if renew {
                    Fallback::Silent(Box::new(SilentLogin::start(LoginOptions::default())))
                } else {
                    Fallback::Token(Box::new(AccessToken::for_target(
                        self.force,
                        self.target.take(),
                    )))
                };
                self.resume(st, host, Outcome::Start)
            }
            Fallback::Token(op) => op.resume(st, host, input),
            Fallback::Silent(op) => match op.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(Ok(_)) => Step::Done(st.session(host).ok_or(Error::LoginRequired)),
                Step::Done(Err(e)) if refusal(&e) => {
                    // A session stored meanwhile (a login here or in another
                    // tab) is not the one the provider refused: it stands.
                    let rec = st.record(host);
                    if (rec.epoch, rec.gen) != self.seen {
                        self.state = Fallback::Token(Box::new(AccessToken::start(false)));
                        return self.resume(st, host, Outcome::Start);
                    }
                    let mut op = Box::new(AccessToken::start(true));
                    let first = op.resume(st, host, Outcome::Start);
                    self.state = Fallback::Expiring(op, e);
                    self.expiring(first)
                }
                Step::Done(Err(e)) => Step::Done(Err(e)),
            },
            Fallback::Expiring(op, _) => {
                let step = op.resume(st, host, input);
                self.expiring(step)
            }
        }
    }

    fn expiring(&mut self, step: Step<Session>) -> Step<Session> {
        match (step, &self.state) {
            (Step::Effect(e), _) => Step::Effect(e),
            // Another tab renewed the session meanwhile: that stands.
            (Step::Done(Ok(s)), _) => Step::Done(Ok(s)),
            (Step::Done(Err(_)), Fallback::Expiring(_, e)) => Step::Done(Err(e.clone())),
            (Step::Done(r), _) => Step::Done(r),
        }
    }
}

/// The provider's answer that the user must log in interactively.
fn refusal(e: &Error) -> bool {
    matches!(e, Error::ThirdPartyCookiesBlocked)
        || matches!(e, Error::Provider(p) if matches!(p.error.as_str(),
            "login_required" | "interaction_required" | "consent_required" | "account_selection_required"))
}
