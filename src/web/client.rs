//! The login flow in the browser: the same client the JS wrapper and Rust
//! apps (Yew, Leptos) use. Protocol decisions live in [`crate::core`]; this
//! file only sequences them with the browser's I/O.

use crate::core::authorize::check_request;
use crate::core::secret::{AccessToken, CodeVerifier, IdToken, RefreshToken};
use crate::core::transaction::DEFAULT_TTL_MS;
use crate::core::url::check_url;
use crate::core::{
    authorize, clean_callback_url, code_exchange, is_callback, parse_callback,
    parse_token_response, AuthorizeRequest, Error, ResponseMode, Transactions,
};

use super::browser;
use super::http::post_form;
use super::storage::SessionStore;

/// Client configuration (explicit endpoints).
#[derive(Debug, Clone)]
pub struct Config {
    /// The provider's authorization endpoint.
    pub authorization_endpoint: String,
    /// The provider's token endpoint.
    pub token_endpoint: String,
    /// The public client's id.
    pub client_id: String,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// Space-separated scopes (default `openid`).
    pub scope: String,
    /// The issuer identifier; when set, a callback's `iss` must equal it (RFC 9207).
    pub issuer: Option<String>,
    /// Query (default) or fragment.
    pub response_mode: ResponseMode,
    /// How long a started login stays valid (default 10 minutes).
    pub transaction_ttl_ms: u64,
}

impl Config {
    /// A configuration with the defaults for everything optional.
    pub fn new(
        authorization_endpoint: String,
        token_endpoint: String,
        client_id: String,
        redirect_uri: String,
    ) -> Self {
        Self {
            authorization_endpoint,
            token_endpoint,
            client_id,
            redirect_uri,
            scope: String::from("openid"),
            issuer: None,
            response_mode: ResponseMode::Query,
            transaction_ttl_ms: DEFAULT_TTL_MS,
        }
    }
}

/// Per-login options.
#[derive(Debug, Default)]
pub struct LoginOptions {
    /// Application state (JSON text) handed back by the callback.
    pub app_state: Option<String>,
    /// Extra authorization parameters; protocol parameters are refused.
    pub extra_params: Vec<(String, String)>,
    /// A caller-supplied code verifier (checked); normally left `None`.
    pub code_verifier: Option<String>,
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`, as the provider spelt it.
    pub token_type: String,
    /// Expiry, ms since the Unix epoch, when the provider gave `expires_in`.
    pub expires_at_ms: Option<u64>,
    /// The refresh token, if issued.
    pub refresh_token: Option<RefreshToken>,
    /// The ID token, if issued.
    pub id_token: Option<IdToken>,
    /// The granted scope (the requested one when the provider omits it, RFC 6749 §5.1).
    pub scope: String,
}

/// What a successful callback yields.
#[derive(Debug)]
pub struct CallbackResult {
    /// The tokens.
    pub tokens: Tokens,
    /// The application state given to the login, as JSON text.
    pub app_state: Option<String>,
}

/// A PKCE client bound to one provider and one redirect URI.
pub struct Client {
    config: Config,
    transactions: Transactions<SessionStore>,
}

impl Client {
    /// Checks the configuration and makes a client.
    pub fn new(config: Config) -> Result<Self, Error> {
        check_request(&Self::request(&config, &[]))?;
        check_url(
            &config.token_endpoint,
            "tokenEndpoint must be an https URL (http only on loopback) without a fragment",
        )?;
        if let Some(iss) = &config.issuer {
            check_url(iss, "issuer must be an https URL (http only on loopback)")?;
        }
        let transactions = Transactions::new(SessionStore, config.transaction_ttl_ms);
        Ok(Self {
            config,
            transactions,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn request<'a>(config: &'a Config, extra: &'a [(String, String)]) -> AuthorizeRequest<'a> {
        AuthorizeRequest {
            authorization_endpoint: &config.authorization_endpoint,
            client_id: &config.client_id,
            redirect_uri: &config.redirect_uri,
            scope: &config.scope,
            response_mode: config.response_mode,
            extra_params: extra,
        }
    }

    /// Starts a login: fresh verifier, state and nonce; the transaction stored
    /// in sessionStorage (checked by reading it back); returns the URL to visit.
    pub fn authorize_url(&self, options: LoginOptions) -> Result<String, Error> {
        let verifier = options.code_verifier.map(CodeVerifier::parse).transpose()?;
        let entropy = browser::entropy()?;
        let now = browser::now_ms();
        let (url, pending) = authorize(
            &Self::request(&self.config, &options.extra_params),
            &entropy,
            verifier,
            now,
            options.app_state,
        )?;
        self.transactions.begin(&pending, now)?;
        Ok(url)
    }

    /// [`Client::authorize_url`], then navigates there.
    pub fn login_with_redirect(&self, options: LoginOptions) -> Result<(), Error> {
        let url = self.authorize_url(options)?;
        browser::navigate(&url)
    }

    /// True when `url` carries an authorization response for this client's response mode.
    pub fn is_callback(&self, url: &str) -> bool {
        is_callback(url, self.config.response_mode)
    }

    /// Handles the redirect back from the provider: parses and checks the
    /// callback, consumes its transaction (before any request, so a replay
    /// cannot reuse it), cleans the address bar when `url` is the current
    /// page, exchanges the code, and parses the tokens.
    pub async fn handle_redirect_callback(&self, url: &str) -> Result<CallbackResult, Error> {
        let mode = self.config.response_mode;
        let response = parse_callback(url, mode);
        if browser::current_url().as_deref() == Some(url) {
            if let Some(clean) = clean_callback_url(url, mode) {
                browser::replace_url(&clean);
            }
        }
        let response = response?;
        let pending = self.transactions.take(&response.state, browser::now_ms())?;
        let callback = response.validate(pending, self.config.issuer.as_deref())?;
        let request = code_exchange(
            &self.config.token_endpoint,
            &self.config.client_id,
            &callback,
        );
        let answer = post_form(&request).await?;
        let issued_at = browser::now_ms();
        let t = parse_token_response(answer.status, answer.content_type.as_deref(), &answer.body)?;
        let scope = t.scope.unwrap_or_else(|| self.config.scope.clone());
        Ok(CallbackResult {
            tokens: Tokens {
                access_token: t.access_token,
                token_type: t.token_type,
                expires_at_ms: t
                    .expires_in
                    .map(|s| issued_at.saturating_add(s.saturating_mul(1000))),
                refresh_token: t.refresh_token,
                id_token: t.id_token,
                scope,
            },
            app_state: callback.pending.app_state,
        })
    }
}
