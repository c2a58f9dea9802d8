//! Where the session lives, and the rules for reading and writing it. Every
//! write goes through [`ClientState::save`]; every read through
//! [`ClientState::record`]. These are the invariants the simulation tier checks:
//!
//! - *newest wins*: a record carries (epoch, generation); of this tab's copy
//!   and storage's, the higher pair is the session (another tab may have
//!   refreshed; a write of ours may have failed);
//! - *no silent loss*: a write that fails keeps the record in this tab's
//!   memory, marked unsynced, and emits an `error` event;
//! - *logout wins*: a logout writes a tombstone with the next epoch, and an
//!   operation may write only in the epoch it started in.

use sha2::{Digest, Sha256};

use super::{Area, ClientState, Event, Host};
use crate::core::config::CacheLocation;
use crate::core::encoding::{b64url, push_u64};
use crate::core::session::{decode_record, encode_record, needs_refresh, Record, Session};

/// The storage key of a client's session record.
pub fn session_key(ns: &str) -> String {
    let mut k = String::from("pkce-wasm.session.");
    k.push_str(ns);
    k
}

/// The storage key of a callback's tokens kept while their ID token is not yet validated.
pub(crate) fn pending_key(ns: &str) -> String {
    let mut k = String::from("pkce-wasm.pending.");
    k.push_str(ns);
    k
}

/// A short digest of a stored record: two writes of the same generation
/// (two tabs that did not see each other) are still told apart.
pub(crate) fn digest(text: &str) -> String {
    let d = b64url(&Sha256::digest(text.as_bytes()));
    String::from(d.get(..8).unwrap_or(&d))
}

fn written(gen: u64, text: &str) -> String {
    let mut w = String::new();
    push_u64(&mut w, gen);
    w.push('.');
    w.push_str(&digest(text));
    w
}

fn newer(a: &Record, b: &Record) -> bool {
    (a.epoch, a.gen) > (b.epoch, b.gen)
}

const EMPTY: Record = Record {
    gen: 0,
    epoch: 0,
    session: None,
};

impl ClientState {
    /// The area the session (and a pending callback) is kept in.
    pub fn area(&self) -> Area {
        match self.config.cache_location {
            CacheLocation::Memory => Area::Page,
            CacheLocation::SessionStorage => Area::Session,
            CacheLocation::LocalStorage => Area::Local,
        }
    }

    /// The current session record: storage's copy or this tab's, whichever is
    /// newer. Storage that cannot be read leaves this tab's copy in charge; a
    /// damaged record is repaired from it.
    pub fn record(&mut self, host: &dyn Host) -> Record {
        let key = session_key(&self.ns);
        let area = self.area();
        let stored = match host.get(area, &key) {
            Err(_) => return self.mem.clone().unwrap_or(EMPTY),
            Ok(None) if self.unsynced => {
                // Ours was never written: try again now.
                let m = self.mem.clone().unwrap_or(EMPTY);
                if host.set(area, &key, &encode_record(&m, true)).is_ok() {
                    self.unsynced = false;
                }
                return m;
            }
            Ok(None) => {
                // Nothing stored and nothing of ours unwritten: cleared (site
                // data removed, a tombstone storage refused), or never logged
                // in. No session, but the epoch is remembered.
                let (gen, epoch) = self.mem.as_ref().map_or((0, 0), |m| (m.gen, m.epoch));
                let r = Record {
                    gen,
                    epoch,
                    session: None,
                };
                self.mem = Some(r.clone());
                return r;
            }
            Ok(Some(text)) => decode_record(&text),
        };
        match (stored, self.mem.clone()) {
            (Some(s), Some(mut m)) if m.epoch > s.epoch || (self.unsynced && newer(&m, &s)) => {
                // Ours is newer: never written (try again now), or storage got
                // a write from an operation that began before our logout
                // (epochs never go back: the tombstone is written again) —
                // above that write's generation, so that a tab which saw it
                // does not take it for the newer record and write over ours.
                m.gen = m.gen.max(s.gen.saturating_add(1));
                self.mem = Some(m.clone());
                if host.set(area, &key, &encode_record(&m, true)).is_ok() {
                    self.unsynced = false;
                }
                m
            }
            (Some(s), _) => {
                self.mem = Some(s.clone());
                self.unsynced = false;
                s
            }
            (None, Some(m)) => {
                // Edited or truncated: keep what this tab has and repair storage from it.
                let _ = host.set(area, &key, &encode_record(&m, true));
                m
            }
            (None, None) => {
                let _ = host.remove(area, &key);
                EMPTY
            }
        }
    }

    /// The current session, if any.
    pub fn session(&mut self, host: &dyn Host) -> Option<Session> {
        self.record(host).session
    }

    /// Writes `session` (or, with `None`, a logout tombstone) in `epoch`, one
    /// generation above the newest record seen. When storage refuses the
    /// write the record stays in this tab's memory and an `error` event
    /// says so: the session is never silently lost.
    ///
    /// Returns what other tabs are told about the write (its generation and
    /// digest: the name of the marker lock), or `None` when nothing was written.
    pub fn save(
        &mut self,
        host: &dyn Host,
        session: Option<Session>,
        epoch: u64,
    ) -> Option<String> {
        let current = self.record(host);
        if epoch < current.epoch {
            // A logout came first: epochs never go back.
            return None;
        }
        let rec = Record {
            gen: current.gen.saturating_add(1),
            epoch,
            session,
        };
        let text = encode_record(&rec, true);
        let written = written(rec.gen, &text);
        let before = current.epoch;
        self.mem = Some(rec.clone());
        let key = session_key(&self.ns);
        match host.set(self.area(), &key, &text) {
            Ok(()) => self.unsynced = false,
            Err(e) => {
                // A tombstone that cannot be written: removing the session
                // (which a full quota still allows) ends it all the same.
                self.unsynced = !(self.mem.as_ref().is_some_and(|m| m.session.is_none())
                    && host.remove(self.area(), &key).is_ok());
                host.emit(Event::Error(e));
            }
        }
        self.announce(host, before, &rec);
        self.schedule(host);
        Some(written)
    }

    /// What storage shows of the record now: `(generation, digest)`.
    pub(crate) fn stored(&self, host: &dyn Host) -> (u64, String) {
        match host.get(self.area(), &session_key(&self.ns)) {
            Ok(Some(text)) => (decode_record(&text).map_or(0, |r| r.gen), digest(&text)),
            _ => (0, String::new()),
        }
    }

    /// True when there is a session whose access token is valid or refreshable.
    pub fn is_authenticated(&mut self, host: &dyn Host) -> bool {
        let now = host.now_ms();
        self.session(host).is_some_and(|s| {
            s.tokens.refresh_token.is_some() || !needs_refresh(s.tokens.expires_at_ms, now, 0)
        })
    }

    /// (Re)arms the background refresh before the access token expires.
    pub fn schedule(&mut self, host: &dyn Host) {
        if !self.config.auto_refresh {
            return;
        }
        host.clear_timer();
        let Some(t) = self
            .mem
            .as_ref()
            .and_then(|r| r.session.as_ref())
            .map(|s| &s.tokens)
        else {
            return;
        };
        // Renewable: by its refresh token, or (`silentFallback`) silently.
        let (Some(exp), true) = (
            t.expires_at_ms,
            t.refresh_token.is_some() || self.config.silent_fallback,
        ) else {
            return;
        };
        // Lead by the leeway, but never by more than half the remaining
        // lifetime: a leeway longer than the tokens live would otherwise make
        // every refresh due at once again, in a tight loop against the provider.
        let remaining = exp.saturating_sub(host.now_ms());
        let lead = self.config.refresh_leeway_ms.min(remaining / 2);
        host.set_timer(remaining.saturating_sub(lead));
    }
}
