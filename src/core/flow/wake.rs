//! The background refresh: on the timer the state schedules, and when the
//! page becomes visible or comes online. After a failure it tries again
//! later, backing off (5 s, doubling, at most 5 min): a failure after the
//! provider rotated the refresh token leaves a due access token, and
//! retrying at once would be a loop against the provider. With
//! `silentFallback`, a session without a refresh token is renewed silently.

use super::silent::TokenOrSilent;
use super::{ClientState, Event, Host, Outcome, Step};
use crate::core::error::Error;

/// The background refresh (timer, `visibilitychange`, `online`): a hidden
/// page waits until it is visible; failures are `error` events.
#[derive(Debug)]
pub struct Wake {
    inner: Option<TokenOrSilent>,
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
                self.inner.insert(TokenOrSilent::start(false))
            }
        };
        match inner.resume(st, host, input) {
            Step::Effect(e) => Step::Effect(e),
            Step::Done(Ok(_)) => {
                st.refresh.background_failures = 0;
                st.schedule(host);
                Step::Done(Ok(()))
            }
            Step::Done(Err(Error::NotAuthenticated | Error::LoginRequired)) => Step::Done(Ok(())),
            // The provider refused a silent renewal: `sessionExpired` said it.
            Step::Done(Err(_)) if st.session(host).is_none() => Step::Done(Ok(())),
            Step::Done(Err(e)) => {
                host.emit(Event::Error(e));
                let n = st.refresh.background_failures.saturating_add(1);
                st.refresh.background_failures = n;
                if st.session(host).is_some() {
                    host.set_timer(backoff_ms(n));
                }
                Step::Done(Ok(()))
            }
        }
    }
}

/// The wait before background retry `n` (1-based): 5 s, doubling, at most 5 min.
pub fn backoff_ms(n: u32) -> u64 {
    (5_000u64 << n.clamp(1, 7).saturating_sub(1)).min(300_000)
}
