//! The browser side: the only module that touches browser APIs
//! (crypto.getRandomValues, SubtleCrypto, sessionStorage, fetch, location, history).

mod browser;
mod client;
pub mod crypto;
mod http;
mod provider;
mod storage;

pub use client::{
    CallbackResult, Client, Config, Endpoints, LoginOptions, Tokens, DEFAULT_CLOCK_SKEW_S,
};
pub use storage::SessionStore;
