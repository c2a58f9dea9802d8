//! The login flow in the browser: the same client the JS wrapper and Rust
//! apps (Yew, Leptos) use. Protocol decisions live in [`crate::core`]; this
//! file only sequences them with the browser's I/O.

use std::cell::RefCell;

use crate::core::authorize::{check_request, has_openid};
use crate::core::discovery::ProviderMetadata;
use crate::core::id_token::{
    allowed_algs, parse_jws, select_key, validate_claims, Alg, ClaimChecks, IdTokenClaims, ALL_ALGS,
};
use crate::core::json::{self, Value};
use crate::core::secret::{AccessToken, CodeVerifier, IdToken, RefreshToken};
use crate::core::token::is_json_content_type;
use crate::core::transaction::DEFAULT_TTL_MS;
use crate::core::url::check_url;
use crate::core::{
    authorize, clean_callback_url, code_exchange, is_callback, parse_callback,
    parse_token_response, AuthorizeRequest, Error, ResponseMode, Transactions,
};

use super::browser;
use super::crypto;
use super::http::{get, post_form};
use super::provider;
use super::storage::SessionStore;

/// Default allowed clock skew for `exp`/`iat`, seconds.
pub const DEFAULT_CLOCK_SKEW_S: u64 = 60;

/// Where the provider's endpoints come from.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// Fetch `<issuer>/.well-known/openid-configuration` (cached per page load).
    Discover,
    /// Metadata supplied by the app (already validated against the issuer), or
    /// explicit endpoints.
    Given(ProviderMetadata),
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier. Required for discovery and for `openid` scope;
    /// a callback's `iss` and the ID token's `iss` must equal it.
    pub issuer: Option<String>,
    /// Discovery, or the endpoints themselves.
    pub endpoints: Endpoints,
    /// The public client's id.
    pub client_id: String,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// Space-separated scopes (default `openid`).
    pub scope: String,
    /// Query (default) or fragment.
    pub response_mode: ResponseMode,
    /// How long a started login stays valid (default 10 minutes).
    pub transaction_ttl_ms: u64,
    /// Allowed clock skew for ID token times, seconds (default 60).
    pub clock_skew_s: u64,
}

impl Config {
    fn with(
        issuer: Option<String>,
        endpoints: Endpoints,
        client_id: String,
        redirect_uri: String,
    ) -> Self {
        Self {
            issuer,
            endpoints,
            client_id,
            redirect_uri,
            scope: String::from("openid"),
            response_mode: ResponseMode::Query,
            transaction_ttl_ms: DEFAULT_TTL_MS,
            clock_skew_s: DEFAULT_CLOCK_SKEW_S,
        }
    }

    /// A configuration that discovers the provider from `issuer`.
    pub fn discover(issuer: String, client_id: String, redirect_uri: String) -> Self {
        Self::with(Some(issuer), Endpoints::Discover, client_id, redirect_uri)
    }

    /// A configuration with explicit endpoints (no discovery). Every supported
    /// asymmetric algorithm is accepted for ID tokens. Without a `jwks_uri` in
    /// the endpoints no ID token signature is checked: OIDC Core §3.1.3.7
    /// step 6 then relies on the TLS connection to the token endpoint.
    /// Set `issuer` when `openid` is in scope (its claims are checked against it).
    pub fn explicit(
        authorization_endpoint: String,
        token_endpoint: String,
        client_id: String,
        redirect_uri: String,
    ) -> Self {
        let meta = ProviderMetadata {
            issuer: String::new(),
            authorization_endpoint,
            token_endpoint,
            jwks_uri: None,
            userinfo_endpoint: None,
            end_session_endpoint: None,
            revocation_endpoint: None,
            id_token_signing_alg_values_supported: ALL_ALGS
                .iter()
                .map(|a| String::from(a.name()))
                .collect(),
            authorization_response_iss_parameter_supported: false,
        };
        Self::with(None, Endpoints::Given(meta), client_id, redirect_uri)
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
    /// The ID token, if issued (validated before it is returned).
    pub id_token: Option<IdToken>,
    /// The granted scope (the requested one when the provider omits it, RFC 6749 §5.1).
    pub scope: String,
}

/// What a successful callback yields.
#[derive(Debug)]
pub struct CallbackResult {
    /// The tokens.
    pub tokens: Tokens,
    /// The validated ID token claims, when an ID token was issued.
    pub claims: Option<IdTokenClaims>,
    /// The application state given to the login, as JSON text.
    pub app_state: Option<String>,
}

struct Session {
    tokens: Tokens,
    claims: Option<IdTokenClaims>,
}

/// A PKCE client bound to one provider and one redirect URI.
pub struct Client {
    config: Config,
    meta: ProviderMetadata,
    algs: Vec<Alg>,
    transactions: Transactions<SessionStore>,
    session: RefCell<Option<Session>>,
}

impl Client {
    /// Checks the configuration, discovers the provider if asked to, and makes a client.
    pub async fn create(config: Config) -> Result<Self, Error> {
        if let Some(iss) = &config.issuer {
            check_url(iss, "issuer must be an https URL (http only on loopback)")?;
        }
        let meta = match &config.endpoints {
            Endpoints::Given(m) => m.clone(),
            Endpoints::Discover => {
                let issuer = config.issuer.as_deref().ok_or(Error::InvalidConfig(
                    "issuer, or authorizationEndpoint and tokenEndpoint, is required",
                ))?;
                (*provider::metadata(issuer).await?).clone()
            }
        };
        let openid = has_openid(&config.scope);
        if openid && config.issuer.is_none() {
            return Err(Error::InvalidConfig(
                "issuer is required when scope includes openid",
            ));
        }
        if openid && matches!(config.endpoints, Endpoints::Discover) && meta.jwks_uri.is_none() {
            return Err(Error::DiscoveryInvalid("jwks_uri"));
        }
        check_url(
            &meta.token_endpoint,
            "tokenEndpoint must be an https URL (http only on loopback) without a fragment",
        )?;
        for (url, problem) in [
            (
                &meta.jwks_uri,
                "jwksUri must be an https URL (http only on loopback)",
            ),
            (
                &meta.userinfo_endpoint,
                "userinfoEndpoint must be an https URL (http only on loopback)",
            ),
        ] {
            if let Some(u) = url {
                check_url(u, problem)?;
            }
        }
        let algs = allowed_algs(&meta.id_token_signing_alg_values_supported);
        let client = Self {
            transactions: Transactions::new(SessionStore, config.transaction_ttl_ms),
            config,
            meta,
            algs,
            session: RefCell::new(None),
        };
        check_request(&client.request(&[]))?;
        Ok(client)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The provider metadata in use (discovered, supplied, or from explicit endpoints).
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.meta
    }

    fn request<'a>(&'a self, extra: &'a [(String, String)]) -> AuthorizeRequest<'a> {
        AuthorizeRequest {
            authorization_endpoint: &self.meta.authorization_endpoint,
            client_id: &self.config.client_id,
            redirect_uri: &self.config.redirect_uri,
            scope: &self.config.scope,
            response_mode: self.config.response_mode,
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
            &self.request(&options.extra_params),
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
    /// page, exchanges the code, parses the tokens and validates the ID token.
    /// Nothing is kept, and no token returned, unless every check passes.
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
        let callback = response.validate(
            pending,
            self.config.issuer.as_deref(),
            self.meta.authorization_response_iss_parameter_supported,
        )?;
        let request = code_exchange(&self.meta.token_endpoint, &self.config.client_id, &callback);
        let answer = post_form(&request).await?;
        let issued_at = browser::now_ms();
        let t = parse_token_response(answer.status, answer.content_type.as_deref(), &answer.body)?;
        let nonce = callback.pending.nonce.as_ref().map(|n| n.secret());
        let claims = match &t.id_token {
            Some(id_token) => Some(self.validate_id_token(id_token.secret(), nonce).await?),
            None if has_openid(&self.config.scope) => return Err(Error::IdTokenMissing),
            None => None,
        };
        let tokens = Tokens {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_at_ms: t
                .expires_in
                .map(|s| issued_at.saturating_add(s.saturating_mul(1000))),
            refresh_token: t.refresh_token,
            id_token: t.id_token,
            scope: t.scope.unwrap_or_else(|| self.config.scope.clone()),
        };
        *self.session.borrow_mut() = Some(Session {
            tokens: tokens.clone(),
            claims: claims.clone(),
        });
        Ok(CallbackResult {
            tokens,
            claims,
            app_state: callback.pending.app_state,
        })
    }

    /// OIDC Core §3.1.3.7: alg allow-list, key by `kid` (one JWKS re-fetch for
    /// an unknown key), signature via SubtleCrypto, then the claims.
    async fn validate_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        let jws = parse_jws(token, &self.algs)?;
        if let Some(uri) = &self.meta.jwks_uri {
            let mut keys = provider::jwks(uri, false).await?;
            if select_key(&keys, jws.alg, jws.kid.as_deref()) == Err(Error::JwksKeyNotFound) {
                keys = provider::jwks(uri, true).await?;
            }
            let key = select_key(&keys, jws.alg, jws.kid.as_deref())?;
            let signature_ok =
                crypto::verify(key, jws.alg, jws.signing_input.as_bytes(), &jws.signature).await?;
            if !signature_ok {
                return Err(Error::IdTokenSignatureInvalid);
            }
        }
        let checks = ClaimChecks {
            issuer: self.config.issuer.as_deref().unwrap_or(""),
            client_id: &self.config.client_id,
            nonce,
            now_s: browser::now_ms() / 1000,
            skew_s: self.config.clock_skew_s,
        };
        validate_claims(&jws.payload, &jws.payload_json, &checks)
    }

    /// The validated ID token claims of the current session.
    pub fn id_token_claims(&self) -> Option<IdTokenClaims> {
        self.session
            .borrow()
            .as_ref()
            .and_then(|s| s.claims.clone())
    }

    /// The current session's tokens.
    pub fn tokens(&self) -> Option<Tokens> {
        self.session.borrow().as_ref().map(|s| s.tokens.clone())
    }

    /// Calls the UserInfo endpoint with the access token (OIDC Core §5.3) and
    /// checks that its `sub` equals the ID token's. Returns the claims as JSON text.
    pub async fn user_info(&self) -> Result<String, Error> {
        let endpoint = self
            .meta
            .userinfo_endpoint
            .as_deref()
            .ok_or(Error::InvalidConfig(
                "the provider has no userinfo_endpoint",
            ))?;
        let (token, sub) = {
            let session = self.session.borrow();
            let s = session.as_ref().ok_or(Error::NotAuthenticated)?;
            (
                String::from(s.tokens.access_token.secret()),
                s.claims.as_ref().map(|c| c.sub.clone()),
            )
        };
        let r = get(endpoint, Some(&token)).await?;
        if !(200..300).contains(&r.status) {
            return Err(Error::UserinfoHttpError(r.status));
        }
        if !is_json_content_type(r.content_type.as_deref()) {
            return Err(Error::UserinfoInvalid);
        }
        let v = json::parse(&r.body).ok_or(Error::UserinfoInvalid)?;
        let got = v
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(Error::UserinfoInvalid)?;
        if sub.as_deref().is_some_and(|s| s != got) {
            return Err(Error::UserinfoSubMismatch);
        }
        Ok(r.body)
    }
}
