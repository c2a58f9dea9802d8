//! # pkce-wasm
//!
//! OAuth 2.0 Authorization Code flow with PKCE (RFC 7636) for single-page
//! apps, in Rust compiled to WebAssembly.
//!
//! - [`core`]: the protocol and every operation as a state machine
//!   ([`core::flow`]), pure Rust, usable anywhere (tested natively).
//! - `web` (wasm32 only): performs the effects the machines ask for —
//!   fetch, WebCrypto, storage, Web Locks, IndexedDB, history, timers — and,
//!   with the `rust-api` feature (default), `web::Client`, the async API for
//!   Rust apps.
//!
//! The npm package drives the same machines from a small JS await loop
//! (feature `bindings`; no Rust futures in that build).
//!
//! ## Rust quick start (wasm32)
//!
//! ```ignore
//! use pkce_wasm::web::{CacheLocation, Client, Config, LoginOptions};
//!
//! let mut config = Config::discover(issuer, client_id, redirect_uri);
//! config.scope = "openid profile".into();
//! config.cache_location = CacheLocation::SessionStorage;
//! let client = Client::create(config).await?; // discovery, cached per page load
//! if client.is_callback(&href) {
//!     let result = client.handle_redirect_callback(&href).await?;
//!     let token = client.access_token(false).await?; // refreshed when due
//! } else {
//!     client.login_with_redirect(LoginOptions::default())?;
//! }
//! ```
//!
//! The same code is compiled for `wasm32-unknown-unknown` as
//! `examples/login.rs` and run in the browser as `tests/rust_api.rs`.
//! Every failure is a [`core::Error`] with a stable [`core::Error::code`].
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

// The npm build's allocator (feature `small-alloc`): single-threaded wasm only.
#[cfg(all(target_arch = "wasm32", feature = "small-alloc"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without the atomics feature has one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(all(target_arch = "wasm32", feature = "bindings"))]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub mod web;
