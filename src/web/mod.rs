//! The browser side: performs the effects the core's state machines ask
//! for, and nothing else. Synchronous effects (storage, the clock,
//! `getRandomValues`, history, events) complete in place in [`WebHost`];
//! asynchronous ones (fetch, SubtleCrypto, Web Locks, IndexedDB, timers)
//! hand back a `Promise` ([`exec`]). [`run`] drives one operation until it
//! waits on a promise; the JS loop (npm) or the `Client` driver (Rust apps,
//! feature `rust-api`) awaits it and resumes.

use std::cell::RefCell;

use js_sys::Promise;

use crate::core::flow::{ClientState, Host, Outcome, Step};
use crate::core::Error;

pub mod crypto;
pub mod exec;
mod host;
mod http;
mod idb;
mod popup;
pub(crate) use popup::open as open_popup;
mod promise;

pub use exec::{perform, settle, Pending, Performed, Slots};
#[cfg(feature = "bindings")]
pub(crate) use host::get;
pub(crate) use host::in_page;
pub use host::{Listener, Spawn, WebHost};

#[cfg(feature = "rust-api")]
mod client;
#[cfg(feature = "rust-api")]
pub use crate::core::config::{
    CacheLocation, Config, Endpoints, LoginOptions, ParMode, DEFAULT_CLOCK_SKEW_S,
};
#[cfg(feature = "rust-api")]
pub use crate::core::flow::{CallbackResult, Event};
#[cfg(feature = "rust-api")]
pub use crate::core::session::{Session, Tokens};
#[cfg(feature = "rust-api")]
pub use client::Client;

/// One client: its state and its browser, shared by its operations.
pub struct Shared {
    /// What the client knows.
    pub state: RefCell<ClientState>,
    /// Its browser.
    pub host: WebHost,
}

impl Shared {
    /// A message from another tab, handed to the core; true when this tab's
    /// own session must end (a local logout, for the driver to run).
    pub fn tab_message(&self, message: &str) -> bool {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            return false;
        };
        let action = st.tab_message(&self.host, message);
        drop(st);
        self.host.flush();
        action == crate::core::flow::TabAction::Logout
    }
}

/// How far [`run`] got.
pub enum Run<T> {
    /// The operation finished.
    Done(Result<T, Error>),
    /// It waits for this promise; [`settle`] its value and [`run`] again.
    Wait(Promise, Pending),
}

/// An operation's resume function.
pub type Resume<'a, T> = dyn FnMut(&mut ClientState, &dyn Host, Outcome) -> Step<T> + 'a;

/// Resumes an operation with `input` and performs its effects until one must
/// be awaited. Events are delivered after each step, when the client's state
/// is free again (a handler may call the client).
pub fn run<T>(
    shared: &Shared,
    slots: &mut Slots,
    mut input: Outcome,
    resume: &mut Resume<'_, T>,
) -> Run<T> {
    loop {
        let step = match shared.state.try_borrow_mut() {
            Ok(mut st) => resume(&mut st, &shared.host, input),
            Err(_) => Step::Done(Err(Error::InvalidConfig(
                "pkce-wasm was called from inside one of its own steps",
            ))),
        };
        shared.host.flush();
        match step {
            Step::Done(r) => {
                slots.release(&shared.host);
                return Run::Done(r);
            }
            Step::Effect(e) => match perform(e, &shared.host, slots) {
                Performed::Now(o) => input = o,
                Performed::Later(p, pending) => return Run::Wait(p, pending),
            },
        }
    }
}
