//! # pkce-wasm
//!
//! OAuth 2.0 Authorization Code flow with PKCE (RFC 7636) for single-page
//! apps, in Rust compiled to WebAssembly.
//!
//! - [`core`]: the protocol, pure Rust, usable anywhere (tested natively).
//! - `web` (wasm32 only): the browser side — randomness, sessionStorage,
//!   fetch, history — and the [`web::Client`] that runs a login.
//!
//! The npm package wraps the same client for JavaScript.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod core;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub mod web;
