//! The background refresh: on the timer the state schedules, and when the
//! page becomes visible or comes online.

use super::refresh::AccessToken;
use super::{ClientState, Event, Host, Outcome, Step};
use crate::core::error::Error;

/// The background refresh (timer, `visibilitychange`, `online`): a hidden
/// page waits until it is visible; failures are `error` events.
#[derive(Debug)]
pub struct Wake {
    inner: Option<AccessToken>,
}

impl Wake {
    /// A background refresh.
    pub fn start() -> Self {
        Wake { inner: None }
    }

    /// Drives it.
    pub fn resume(&mut self, st: &mut ClientState, host: &dyn Host, input: Outcome) -> Step<()> {
        let inner = match &mut self.inner {
            Some(i) => i,
            None => {
                if !st.config.auto_refresh || host.page_hidden() {
                    return Step::Done(Ok(()));
                }
                self.inner.insert(AccessToken::start(false))
            }
        };
        match inner.resume(st, host, input) {
            Step::Effect(e) => Step::Effect(e),
            Step::Done(Ok(_)) => {
                st.schedule(host);
                Step::Done(Ok(()))
            }
            Step::Done(Err(Error::NotAuthenticated | Error::LoginRequired)) => Step::Done(Ok(())),
            Step::Done(Err(e)) => {
                host.emit(Event::Error(e));
                Step::Done(Ok(()))
            }
        }
    }
}
