//! Login in a popup. The caller opens the popup in its click (no `await`
//! before `window.open`, so popup blockers allow it); then the login is
//! started as for a redirect, with a `state` marked for a popup, and the
//! popup sent to the provider. The authorization response comes back to the
//! app's redirect page *in the popup*, whose `handleRedirectCallback` sees a
//! popup's `state` it has no login for and hands the response to the opening
//! page over a `BroadcastChannel` (`pkce-wasm.popup.<ns>`): not through
//! `window.opener`, which a provider's `Cross-Origin-Opener-Policy` severs.
//! The opening page — which holds the transaction — then runs the very
//! callback a redirect runs (state, `iss`, PKCE, the ID token) and stores the
//! session. One popup login per page at a time: a second is `popup_in_progress`.

use super::callback::{Callback, CallbackResult};
use super::login::Login;
use super::{out_of_order, ClientState, Effect, Host, Outcome, Step};
use crate::core::config::LoginOptions;
use crate::core::error::Error;

/// How long a popup login waits for the response by default: 5 minutes.
pub const DEFAULT_POPUP_TIMEOUT_MS: u64 = 300_000;

/// The channel a popup's callback page answers its opener on.
pub fn popup_channel(ns: &str) -> String {
    let mut c = String::from("pkce-wasm.popup.");
    c.push_str(ns);
    c
}

impl ClientState {
    /// Before the caller opens a popup: one popup login per page at a time.
    pub fn claim_popup(&mut self) -> Result<(), Error> {
        if self.popup_open {
            return Err(Error::PopupInProgress);
        }
        self.popup_open = true;
        Ok(())
    }

    /// The popup could not be opened after all (blocked).
    pub fn release_popup(&mut self) {
        self.popup_open = false;
    }
}

// One popup login at a time per page: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum State {
    Login(Login),
    Opening(crate::core::secret::State),
    Waiting,
    Callback(Callback),
}

/// A login in the popup the caller opened ([`ClientState::claim_popup`] first).
#[derive(Debug)]
pub struct PopupLogin {
    timeout_ms: u64,
    state: State,
}

impl PopupLogin {
    /// Starts it; the result is the callback's, as for a redirect.
    pub fn start(options: LoginOptions, timeout_ms: u64) -> Self {
        PopupLogin {
            timeout_ms,
            state: State::Login(Login::start(options, false).in_popup()),
        }
    }

    fn finish(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        r: Result<CallbackResult, Error>,
    ) -> Step<CallbackResult> {
        st.popup_open = false;
        if r.is_err() {
            host.close_popup();
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
        let step = match (&mut self.state, input) {
            (State::Login(login), input) => match login.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(Err(e)) => return self.finish(st, host, Err(e)),
                Step::Done(Ok(url)) => {
                    let Some(state) = login
                        .started_state()
                        .map(|s| crate::core::secret::State::new(s.into()))
                    else {
                        return self.finish(st, host, Err(out_of_order()));
                    };
                    self.state = State::Opening(state);
                    return Step::Effect(Effect::PopupOpen(url));
                }
            },
            (State::Opening(state), Outcome::Done(Ok(()))) => {
                let state = String::from(state.secret());
                self.state = State::Waiting;
                return Step::Effect(Effect::PopupWait {
                    channel: popup_channel(&st.ns),
                    state,
                    timeout_ms: self.timeout_ms,
                });
            }
            (State::Waiting, Outcome::Popup(Ok(url))) => {
                let mut cb = Callback::start(&url);
                let step = cb.resume(st, host, Outcome::Start);
                self.state = State::Callback(cb);
                step
            }
            (State::Callback(cb), input) => cb.resume(st, host, input),
            (_, Outcome::Done(Err(e)) | Outcome::Popup(Err(e))) => {
                return self.finish(st, host, Err(e))
            }
            _ => return self.finish(st, host, Err(out_of_order())),
        };
        match step {
            Step::Effect(e) => Step::Effect(e),
            Step::Done(r) => self.finish(st, host, r),
        }
    }
}
