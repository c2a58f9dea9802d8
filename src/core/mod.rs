//! The protocol core: pure Rust, no browser APIs. Builds requests as values,
//! parses responses from strings, validates. Tested natively with `cargo test`.

pub mod authorize;
pub mod callback;
pub mod challenge;
pub mod config;
pub mod discovery;
pub mod dpop;
pub mod encoding;
pub mod error;
pub mod flow;
pub mod id_token;
pub mod json;
pub mod options;
pub mod pkce;
pub mod prm;
pub mod refreshed;
pub mod resource;
pub mod secret;
pub mod session;
pub mod token;
pub mod transaction;
pub mod url;

pub use authorize::{authorize, AuthorizeRequest, Entropy, PendingAuthorization, ResponseMode};
pub use callback::{
    clean_callback_url, is_callback, parse_callback, CallbackResponse, ValidatedCallback,
};
pub use error::{Error, ErrorSource, ProviderError};
pub use token::{code_exchange, parse_token_response, FormPost, TokenResponse};
pub use transaction::{Store, Transactions};
