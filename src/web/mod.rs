//! The browser side: the only module that touches browser APIs
//! (crypto.getRandomValues, sessionStorage, fetch, location, history).

mod browser;
mod client;
mod http;
mod storage;

pub use client::{CallbackResult, Client, Config, LoginOptions, Tokens};
pub use storage::SessionStore;
