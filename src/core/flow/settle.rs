//! Waiting, under the refresh lock, until storage shows every write another
//! tab announced. localStorage reaches other tabs late (Chromium propagates
//! it between processes asynchronously), but the lock manager answers the
//! same in every tab: a tab that writes the session record holds a marker
//! lock naming the record's generation for a few seconds, and the next
//! holder of the refresh lock waits — as long as that marker is held — for
//! storage to show it before it decides anything.

use super::{unexpected, ClientState, Effect, Host, Outcome, Step};
use crate::core::encoding::parse_u64;

impl Settle {
    /// Storage shows every announced write (or a later one).
    fn caught_up(&self, st: &ClientState, host: &dyn Host) -> bool {
        let (gen, digest) = st.stored(host);
        self.want
            .iter()
            .all(|(g, d)| gen > *g || (gen == *g && digest == *d))
    }
}

/// How often storage is looked at again.
const SETTLE_MS: u32 = 20;

/// Waits for announced writes.
#[derive(Debug, Default)]
pub(crate) struct Settle {
    /// The writes announced: (generation, digest).
    want: Vec<(u64, String)>,
}

impl Settle {
    /// Drives the wait.
    pub(crate) fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<()> {
        match input {
            Outcome::Start => {}
            Outcome::Names(names) => {
                let prefix = st.marker_prefix();
                self.want = names
                    .iter()
                    .filter_map(|n| {
                        let (gen, digest) = n.strip_prefix(prefix.as_str())?.split_once('.')?;
                        Some((parse_u64(gen)?, String::from(digest)))
                    })
                    .collect();
                if self.caught_up(st, host) {
                    return Step::Done(Ok(()));
                }
                return Step::Effect(Effect::Sleep(SETTLE_MS));
            }
            // After a sleep: caught up, or ask again whether the markers are still held.
            Outcome::Done(_) if self.caught_up(st, host) => return Step::Done(Ok(())),
            Outcome::Done(_) => {}
            _ => return unexpected(),
        }
        Step::Effect(Effect::QueryLocks(st.marker_prefix()))
    }
}
