//! Login in a popup. The caller opens the popup in its click (no `await`
//! before `window.open`, so popup blockers allow it); then the login is
//! started as for a redirect, with a `state` marked for a popup, and the
//! popup sent to the provider. The authorization response comes back to the
//! app's redirect page *in the popup*, whose `handleRedirectCallback` sees a
//! popup's `state` it has no login for and hands the response to the opening
//! page over a `BroadcastChannel` (`pkce-wasm.popup.<ns>`): not through
//! `window.opener`, which a provider's `Cross-Origin-Opener-Policy` severs.
//! The opening page — which holds the transaction — checks that the answer
//! is for its `state`, then runs the very callback a redirect runs (state,
//! `iss`, PKCE, the ID token) and stores the session. A new popup login
//! replaces one still waiting (which ends as `popup_replaced`): a popup the
//! user closed behind a COOP header looks like a severed one, so waiting
//! for it to time out must never block the next attempt.

use super::callback::{Callback, CallbackResult};
use super::login::Login;
use super::{out_of_order, ClientState, Effect, Host, Outcome, Step};
use crate::core::callback::parse_callback;
use crate::core::config::LoginOptions;
use crate::core::error::Error;
use crate::core::secret::State as LoginState;

/// How long a popup login waits for the response by default: 5 minutes.
pub const DEFAULT_POPUP_TIMEOUT_MS: u64 = 300_000;

/// The channel a popup's callback page answers its opener on.
pub fn popup_channel(ns: &str) -> String {
    let mut c = String::from("pkce-wasm.popup.");
    c.push_str(ns);
    c
}

impl ClientState {
    /// Before the caller opens a popup: this popup login's number. Any popup
    /// login still running ends (`popup_replaced`).
    pub fn claim_popup(&mut self) -> u32 {
        self.popup_seq = self.popup_seq.wrapping_add(1);
        self.popup = Some(self.popup_seq);
        self.popup_seq
    }

    /// The popup could not be opened after all (blocked).
    pub fn release_popup(&mut self, n: u32) {
        if self.popup == Some(n) {
            self.popup = None;
        }
    }

    /// The name of this client's popup window (one per client: a second
    /// login reuses it).
    pub fn popup_window(&self) -> String {
        let mut n = String::from("pkce-wasm-login-");
        n.push_str(&self.ns);
        n
    }
}

// One popup login at a time per page: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum State {
    Login(Login),
    Opening(LoginState),
    Waiting(LoginState),
    Callback(Callback, String, bool),
}

/// A login in the popup the caller opened ([`ClientState::claim_popup`] first).
#[derive(Debug)]
pub struct PopupLogin {
    n: u32,
    timeout_ms: u64,
    /// The logout epoch it started in (a logout meanwhile wins).
    epoch: Option<u64>,
    /// A silent login: the window is a hidden iframe (see [`super::SilentLogin`]).
    silent: bool,
    state: State,
}

impl PopupLogin {
    /// Starts popup login number `n`; the result is the callback's, as for a redirect.
    pub fn start(n: u32, options: LoginOptions, timeout_ms: u64) -> Self {
        PopupLogin {
            n,
            timeout_ms,
            epoch: None,
            silent: false,
            state: State::Login(Login::start(options, false).in_popup()),
        }
    }

    /// The same in a hidden iframe, with `prompt=none`: a silent login.
    pub(crate) fn silent(n: u32, options: LoginOptions, timeout_ms: u64) -> Self {
        PopupLogin {
            n,
            timeout_ms,
            epoch: None,
            silent: true,
            state: State::Login(Login::start(options, false).in_silent()),
        }
    }

    fn finish(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        r: Result<CallbackResult, Error>,
    ) -> Step<CallbackResult> {
        // A login that ends before its answer came leaves no transaction behind.
        if let State::Opening(state) | State::Waiting(state) = &self.state {
            st.transactions(host).abandon(state);
        }
        if self.silent {
            host.close_frame(self.n);
        } else if st.popup == Some(self.n) {
            st.popup = None;
            if r.is_err() {
                host.close_popup();
            }
        }
        Step::Done(r)
    }

    /// Drives it.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<CallbackResult> {
        // A newer popup login took the window: this one ends, touching nothing.
        if !self.silent && st.popup != Some(self.n) && !matches!(self.state, State::Callback(..)) {
            return self.finish(st, host, Err(Error::PopupReplaced));
        }
        let epoch = *self.epoch.get_or_insert_with(|| st.record(host).epoch);
        let step = match (&mut self.state, input) {
            (State::Login(login), input) => match login.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(Err(e)) => return self.finish(st, host, Err(e)),
                Step::Done(Ok(url)) => {
                    let Some(state) = login.started_state().cloned() else {
                        return self.finish(st, host, Err(out_of_order()));
                    };
                    self.state = State::Opening(state);
                    return Step::Effect(if self.silent {
                        Effect::FrameOpen(url, self.n)
                    } else {
                        Effect::PopupOpen(url)
                    });
                }
            },
            (State::Opening(state), Outcome::Done(Ok(()))) => {
                let state = state.clone();
                let wait = Effect::PopupWait {
                    channel: popup_channel(&st.ns),
                    state: String::from(state.secret()),
                    timeout_ms: self.timeout_ms,
                    watch: !self.silent,
                };
                self.state = State::Waiting(state);
                return Step::Effect(wait);
            }
            (State::Waiting(expected), Outcome::Popup(Ok(url))) => {
                // Only the answer to this login's own request is taken.
                let ours = parse_callback(&url, st.config.response_mode)
                    .is_ok_and(|cb| cb.state == *expected);
                if !ours {
                    return self.finish(st, host, Err(Error::StateMismatch));
                }
                let mut cb = Callback::start(&url).in_opener(epoch);
                let step = cb.resume(st, host, Outcome::Start);
                self.state = State::Callback(cb, url, false);
                step
            }
            (State::Waiting(_), Outcome::Popup(Err(Error::Timeout))) if self.silent => {
                return self.finish(st, host, Err(Error::SilentTimeout))
            }
            (State::Callback(cb, ..), input) => cb.resume(st, host, input),
            (_, Outcome::Done(Err(e)) | Outcome::Popup(Err(e))) => {
                return self.finish(st, host, Err(e))
            }
            _ => return self.finish(st, host, Err(out_of_order())),
        };
        match step {
            Step::Effect(e) => Step::Effect(e),
            // The code is spent and its tokens kept for a retry of this very
            // response (a JWKS that timed out): the URL is only here, so the
            // retry is made here, once.
            Step::Done(Err(Error::Network | Error::Timeout)) if self.retry_once() => {
                let State::Callback(cb, url, _) = &mut self.state else {
                    return self.finish(st, host, Err(out_of_order()));
                };
                *cb = Callback::start(url).in_opener(epoch);
                match cb.resume(st, host, Outcome::Start) {
                    Step::Effect(e) => Step::Effect(e),
                    Step::Done(r) => self.finish(st, host, r),
                }
            }
            Step::Done(r) => self.finish(st, host, r),
        }
    }

    fn retry_once(&mut self) -> bool {
        match &mut self.state {
            State::Callback(_, _, retried) if !*retried => {
                *retried = true;
                true
            }
            _ => false,
        }
    }
}
