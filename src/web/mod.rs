//! The browser side: the only module that touches browser APIs
//! (crypto.getRandomValues, SubtleCrypto, sessionStorage/localStorage, fetch,
//! Web Locks, timers, location, history).

mod browser;
mod client;
pub mod crypto;
pub mod dpop;
mod http;
mod idb;
mod provider;
mod storage;

pub use crate::core::session::{Session, Tokens};
pub use client::{
    CacheLocation, CallbackResult, Client, Config, Endpoints, Event, Listener, LoginOptions,
    ParMode, DEFAULT_CLOCK_SKEW_S,
};
pub use storage::WebStorage;
