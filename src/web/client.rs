//! The login flow in the browser: the same client the JS wrapper and Rust
//! apps (Yew, Leptos) use. Protocol decisions live in [`crate::core`]; this
//! file only sequences them with the browser's I/O.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};
use web_sys::{Request, Response};

use crate::core::authorize::{
    authorize_params, check_request, has_openid, par_redirect_url, par_request, parse_par_response,
};
use crate::core::discovery::ProviderMetadata;
use crate::core::dpop::retry_nonce;
#[cfg(feature = "dpop")]
use crate::core::dpop::ProofClaims;
use crate::core::id_token::{
    allowed_algs, parse_jws, select_key, validate_claims, Alg, ClaimChecks, IdTokenClaims, Jwk,
    ALL_ALGS,
};
use crate::core::json::{self, Value};
use crate::core::secret::{AccessToken, CodeVerifier};
use crate::core::session::{
    decode_session, encode_session, end_session_url, is_invalid_token_challenge, needs_refresh,
    refresh_request, revocation_request, Session, Tokens, DEFAULT_LEEWAY_MS,
};
use crate::core::token::is_json_content_type;
#[cfg(feature = "dpop")]
use crate::core::token::oauth_error_code;
use crate::core::transaction::DEFAULT_TTL_MS;
use crate::core::url::check_url;
use crate::core::{
    authorize, clean_callback_url, code_exchange, is_callback, parse_callback,
    parse_token_response, AuthorizeRequest, Error, ResponseMode, Store, Transactions,
};

use super::browser;
use super::crypto;
use super::dpop::DpopKey;
use super::http::{fetch_request, post_form, send, HttpResponse, Outgoing};
use super::provider;
use super::storage::{WebStorage, SESSION_STORE};

const PAR_MISSING: &str =
    "pushedAuthorizationRequests is true but the provider has no pushed_authorization_request_endpoint";

const RETURN_TO_PROBLEM: &str = "returnTo must be an http(s) URL";

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
    /// Where the session lives (default: memory).
    pub cache_location: CacheLocation,
    /// Refresh when the access token expires within this many ms (default 60 000).
    pub refresh_leeway_ms: u64,
    /// Refresh in the background before expiry (default off).
    pub auto_refresh: bool,
    /// Origins `fetch` attaches the access token to (default: the page's own origin).
    pub api_origins: Option<Vec<String>>,
    /// How long pkce-wasm's own requests may take before they are aborted (default 10 000 ms).
    pub timeout_ms: u32,
    /// Sender-constrained tokens with DPoP (RFC 9449); default off.
    pub dpop: bool,
    /// Pushed authorization requests (RFC 9126); default [`ParMode::Auto`].
    pub par: ParMode,
}

/// When to use pushed authorization requests (RFC 9126).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParMode {
    /// When the provider has a `pushed_authorization_request_endpoint`.
    #[default]
    Auto,
    /// Always (an error if the provider has no PAR endpoint).
    Always,
    /// Never (an error if the provider requires PAR).
    Never,
}

/// Default timeout for the SDK's own requests.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// Where the session (tokens and claims) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheLocation {
    /// In this page's memory only: gone on reload, unreachable to other scripts' storage reads.
    #[default]
    Memory,
    /// sessionStorage: survives reloads of this tab; the refresh token is stored there.
    SessionStorage,
    /// localStorage: shared by every tab of the origin; refreshes are serialized across tabs.
    LocalStorage,
}

/// Session events.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// New tokens from a refresh.
    TokensRefreshed,
    /// The session ended without a logout (refresh token rejected or expired).
    SessionExpired,
    /// `logout` cleared the session.
    LoggedOut,
    /// A background step failed (auto refresh, revocation, storage).
    Error(Error),
}

impl Event {
    /// The event's name: `tokensRefreshed`, `sessionExpired`, `loggedOut`, `error`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::TokensRefreshed => "tokensRefreshed",
            Event::SessionExpired => "sessionExpired",
            Event::LoggedOut => "loggedOut",
            Event::Error(_) => "error",
        }
    }
}

/// An event handler.
pub type Listener = Rc<dyn Fn(&Event)>;

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
            cache_location: CacheLocation::Memory,
            refresh_leeway_ms: DEFAULT_LEEWAY_MS,
            auto_refresh: false,
            api_origins: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            dpop: false,
            par: ParMode::Auto,
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
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: false,
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

struct Inflight {
    promise: Promise,
    result: Rc<RefCell<Option<Result<Session, Error>>>>,
}

struct Inner {
    config: Config,
    meta: ProviderMetadata,
    algs: Vec<Alg>,
    transactions: Transactions<WebStorage>,
    session_key: String,
    api_origins: Vec<String>,
    memory: RefCell<Option<Session>>,
    inflight: RefCell<Option<Inflight>>,
    listeners: RefCell<Vec<(u32, &'static str, Listener)>>,
    next_listener: Cell<u32>,
    timer: Cell<Option<i32>>,
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    dpop_key: RefCell<Option<Rc<DpopKey>>>,
    /// The last `DPoP-Nonce` each server sent (RFC 9449 §8), by origin.
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    nonces: RefCell<Vec<(String, String)>>,
}

/// A PKCE client bound to one provider and one redirect URI. Cheap to clone
/// (a handle), so async work and event handlers can hold it.
#[derive(Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

impl Client {
    /// Checks the configuration, discovers the provider if asked to, restores
    /// a stored session, and makes a client.
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
                (*provider::metadata(issuer, config.timeout_ms).await?).clone()
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
        let api_origins = match &config.api_origins {
            Some(list) => list
                .iter()
                .map(|o| {
                    browser::origin_of(o)
                        .ok_or(Error::InvalidConfig("apiOrigins must be URLs or origins"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => browser::page_origin().into_iter().collect(),
        };
        let mut session_key = String::from("pkce-wasm.session.");
        session_key.push_str(&config.client_id);
        let algs = allowed_algs(&meta.id_token_signing_alg_values_supported);
        let client = Client {
            inner: Rc::new(Inner {
                transactions: Transactions::new(SESSION_STORE, config.transaction_ttl_ms),
                config,
                meta,
                algs,
                session_key,
                api_origins,
                memory: RefCell::new(None),
                inflight: RefCell::new(None),
                dpop_key: RefCell::new(None),
                nonces: RefCell::new(Vec::new()),
                listeners: RefCell::new(Vec::new()),
                next_listener: Cell::new(1),
                timer: Cell::new(None),
            }),
        };
        check_request(&client.request(&[]))?;
        if client.inner.config.auto_refresh {
            // A session restored from web storage gets its timer too.
            let _ = client.load();
            let weak = Rc::downgrade(&client.inner);
            browser::on_wake(move || wake(&weak));
            client.schedule();
        }
        Ok(client)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The provider metadata in use (discovered, supplied, or from explicit endpoints).
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.inner.meta
    }

    fn request<'a>(&'a self, extra: &'a [(String, String)]) -> AuthorizeRequest<'a> {
        let c = &self.inner.config;
        AuthorizeRequest {
            authorization_endpoint: &self.inner.meta.authorization_endpoint,
            client_id: &c.client_id,
            redirect_uri: &c.redirect_uri,
            scope: &c.scope,
            response_mode: c.response_mode,
            extra_params: extra,
            dpop_jkt: None,
        }
    }

    // ---- DPoP ----------------------------------------------------------------

    /// The DPoP key (loaded from IndexedDB or made on first use), when DPoP is on.
    #[cfg(feature = "dpop")]
    async fn dpop_key(&self) -> Result<Option<Rc<DpopKey>>, Error> {
        if !self.inner.config.dpop {
            return Ok(None);
        }
        if let Some(k) = self.inner.dpop_key.borrow().clone() {
            return Ok(Some(k));
        }
        let key = Rc::new(DpopKey::load_or_create(&self.inner.config.client_id).await?);
        self.inner.dpop_key.replace(Some(Rc::clone(&key)));
        Ok(Some(key))
    }

    /// Without the `dpop` feature there is never a key, and every DPoP path compiles away.
    #[cfg(not(feature = "dpop"))]
    async fn dpop_key(&self) -> Result<Option<Rc<DpopKey>>, Error> {
        Ok(None)
    }

    #[cfg(feature = "dpop")]
    fn nonce_for(&self, origin: &str) -> Option<String> {
        self.inner
            .nonces
            .borrow()
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, n)| n.clone())
    }

    #[cfg(not(feature = "dpop"))]
    fn remember_nonce(&self, _origin: &str, _nonce: Option<&str>) {}

    #[cfg(feature = "dpop")]
    fn remember_nonce(&self, origin: &str, nonce: Option<&str>) {
        if let Some(n) = nonce.filter(|n| !n.is_empty()) {
            let mut all = self.inner.nonces.borrow_mut();
            all.retain(|(o, _)| o != origin);
            all.push((String::from(origin), String::from(n)));
        }
    }

    #[cfg(feature = "dpop")]
    async fn proof(
        &self,
        key: &DpopKey,
        htm: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String, Error> {
        let origin = browser::origin_of(url).unwrap_or_default();
        let jti = browser::random_token()?;
        let nonce = self.nonce_for(&origin);
        key.proof(&ProofClaims {
            htm,
            url,
            iat: browser::now_ms() / 1000,
            jti: &jti,
            nonce: nonce.as_deref(),
            access_token,
        })
        .await
    }

    /// One of the SDK's own requests to the provider: with DPoP on, it
    /// carries a fresh proof (and `Authorization: DPoP`), and a
    /// `use_dpop_nonce` answer makes exactly one retry with the server's nonce.
    async fn call(
        &self,
        method: &str,
        url: &str,
        form_body: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<HttpResponse, Error> {
        let timeout_ms = self.inner.config.timeout_ms;
        #[cfg(feature = "dpop")]
        if let Some(key) = self.dpop_key().await? {
            return self
                .call_with_proof(&key, method, url, form_body, access_token)
                .await;
        }
        let authorization = access_token.map(|t| ("Bearer", t));
        send(&Outgoing {
            method,
            url,
            form_body,
            authorization,
            dpop: None,
            timeout_ms,
        })
        .await
    }

    /// [`Client::call`] with DPoP: a fresh proof per attempt, one retry on `use_dpop_nonce`.
    #[cfg(feature = "dpop")]
    async fn call_with_proof(
        &self,
        key: &DpopKey,
        method: &str,
        url: &str,
        form_body: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<HttpResponse, Error> {
        let timeout_ms = self.inner.config.timeout_ms;
        let origin = browser::origin_of(url).unwrap_or_default();
        let mut attempt = 0;
        loop {
            let proof = self.proof(key, method, url, access_token).await?;
            let authorization = access_token.map(|t| ("DPoP", t));
            let r = send(&Outgoing {
                method,
                url,
                form_body,
                authorization,
                dpop: Some(&proof),
                timeout_ms,
            })
            .await?;
            self.remember_nonce(&origin, r.dpop_nonce.as_deref());
            let error = oauth_error_code(r.content_type.as_deref(), &r.body);
            if retry_nonce(
                attempt,
                r.status,
                error.as_deref(),
                r.www_authenticate.as_deref(),
                r.dpop_nonce.as_deref(),
            )
            .is_none()
            {
                return Ok(r);
            }
            attempt += 1;
        }
    }

    // ---- session store -------------------------------------------------

    fn web_storage(&self) -> Option<WebStorage> {
        match self.inner.config.cache_location {
            CacheLocation::Memory => None,
            CacheLocation::SessionStorage => Some(WebStorage::Session),
            CacheLocation::LocalStorage => Some(WebStorage::Local),
        }
    }

    /// The current session: from web storage when configured (another tab may
    /// have refreshed or logged out), else from memory. Storage that fails
    /// falls back to the memory copy, so nothing is lost.
    fn load(&self) -> Option<Session> {
        let Some(store) = self.web_storage() else {
            return self.inner.memory.borrow().clone();
        };
        match store.get(&self.inner.session_key) {
            Ok(Some(record)) => match decode_session(&record) {
                Some(s) => {
                    self.inner.memory.replace(Some(s.clone()));
                    Some(s)
                }
                // A damaged record (edited, truncated): keep what this tab
                // has, and repair storage from it rather than lose the session.
                None => {
                    let mine = self.inner.memory.borrow().clone();
                    let _ = match &mine {
                        Some(s) => store.set(&self.inner.session_key, &encode_session(s, true)),
                        None => store.remove(&self.inner.session_key),
                    };
                    mine
                }
            },
            Ok(None) => {
                self.inner.memory.replace(None);
                None
            }
            Err(_) => self.inner.memory.borrow().clone(),
        }
    }

    fn save(&self, session: &Session) {
        self.inner.memory.replace(Some(session.clone()));
        if let Some(store) = self.web_storage() {
            if let Err(e) = store.set(&self.inner.session_key, &encode_session(session, true)) {
                self.emit(&Event::Error(e));
            }
        }
        self.schedule();
    }

    fn clear(&self) {
        self.inner.memory.replace(None);
        if let Some(store) = self.web_storage() {
            let _ = store.remove(&self.inner.session_key);
        }
        if let Some(id) = self.inner.timer.take() {
            browser::clear_timeout(id);
        }
    }

    fn end_session(&self) {
        self.clear();
        self.emit(&Event::SessionExpired);
    }

    // ---- events ----------------------------------------------------------

    /// Registers `handler` for `event` (`tokensRefreshed`, `sessionExpired`,
    /// `loggedOut`, `error`); returns an id for [`Client::off`].
    pub fn on(&self, event: &str, handler: Listener) -> Result<u32, Error> {
        let name = ["tokensRefreshed", "sessionExpired", "loggedOut", "error"]
            .into_iter()
            .find(|n| *n == event)
            .ok_or(Error::InvalidConfig("unknown event name"))?;
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id.wrapping_add(1));
        self.inner.listeners.borrow_mut().push((id, name, handler));
        Ok(id)
    }

    /// Removes a handler.
    pub fn off(&self, id: u32) {
        self.inner
            .listeners
            .borrow_mut()
            .retain(|(i, _, _)| *i != id);
    }

    fn emit(&self, event: &Event) {
        let name = event.name();
        let targets: Vec<Listener> = self
            .inner
            .listeners
            .borrow()
            .iter()
            .filter(|(_, n, _)| *n == name)
            .map(|(_, _, l)| Rc::clone(l))
            .collect();
        for l in targets {
            l(event);
        }
    }

    // ---- login -------------------------------------------------------------

    /// Starts a login: fresh verifier, state and nonce; the transaction stored
    /// in sessionStorage (checked by reading it back); returns the URL to visit.
    ///
    /// With DPoP on, `dpop_jkt` binds the code to the key (RFC 9449 §10). With
    /// PAR, the parameters are POSTed to the PAR endpoint and the URL carries
    /// only `client_id` and `request_uri` (RFC 9126).
    pub async fn authorize_url(&self, options: LoginOptions) -> Result<String, Error> {
        let verifier = options.code_verifier.map(CodeVerifier::parse).transpose()?;
        let entropy = browser::entropy()?;
        let meta = &self.inner.meta;
        // Built without the `par` feature, the mode is constantly `Never` and PAR compiles away.
        let mode = if cfg!(feature = "par") {
            self.inner.config.par
        } else {
            ParMode::Never
        };
        let par_endpoint = match (mode, &meta.pushed_authorization_request_endpoint) {
            (ParMode::Never, _) if meta.require_pushed_authorization_requests => {
                return Err(Error::ParRequired)
            }
            (ParMode::Never, _) | (ParMode::Auto, None) => None,
            (ParMode::Always, None) => return Err(Error::InvalidConfig(PAR_MISSING)),
            (_, Some(endpoint)) => Some(endpoint.clone()),
        };
        // A statement-level cfg, not `dpop_key()` returning None: an awaited
        // future is not folded away, and DPoP would stay in the build (measured).
        #[cfg(feature = "dpop")]
        let jkt = self.dpop_key().await?.map(|k| k.jwk.thumbprint());
        #[cfg(not(feature = "dpop"))]
        let jkt: Option<String> = None;
        let mut request = self.request(&options.extra_params);
        request.dpop_jkt = jkt.as_deref();
        let now = browser::now_ms();
        let Some(endpoint) = par_endpoint else {
            let (url, pending) = authorize(&request, &entropy, verifier, now, options.app_state)?;
            self.inner.transactions.begin(&pending, now)?;
            return Ok(url);
        };
        let (params, pending) =
            authorize_params(&request, &entropy, verifier, now, options.app_state)?;
        // Storage is checked before the network, and the record dropped if PAR fails.
        self.inner.transactions.begin(&pending, now)?;
        let answer = post_form(
            &par_request(&endpoint, &params),
            self.inner.config.timeout_ms,
        )
        .await;
        let pushed =
            answer.and_then(|r| parse_par_response(r.status, r.content_type.as_deref(), &r.body));
        let pushed = pushed.and_then(|p| {
            // A device that slept through the request must not send a dead request_uri.
            if p.expired(browser::now_ms().saturating_sub(now)) {
                Err(Error::ParRequestExpired)
            } else {
                Ok(p)
            }
        });
        match pushed {
            Ok(p) => Ok(par_redirect_url(
                &meta.authorization_endpoint,
                &self.inner.config.client_id,
                &p.request_uri,
            )),
            Err(e) => {
                let _ = self.inner.transactions.take(&pending.state, now);
                Err(e)
            }
        }
    }

    /// [`Client::authorize_url`], then navigates there.
    pub async fn login_with_redirect(&self, options: LoginOptions) -> Result<(), Error> {
        let url = self.authorize_url(options).await?;
        browser::navigate(&url)
    }

    /// True when `url` carries an authorization response for this client's response mode.
    pub fn is_callback(&self, url: &str) -> bool {
        is_callback(url, self.inner.config.response_mode)
    }

    /// Handles the redirect back from the provider: parses and checks the
    /// callback, consumes its transaction (before any request, so a replay
    /// cannot reuse it), cleans the address bar when `url` is the current
    /// page, exchanges the code, parses the tokens and validates the ID token.
    /// Nothing is kept, and no token returned, unless every check passes; a
    /// session the user already had is left as it was.
    pub async fn handle_redirect_callback(&self, url: &str) -> Result<CallbackResult, Error> {
        let c = &self.inner.config;
        let mode = c.response_mode;
        let response = parse_callback(url, mode);
        if browser::current_url().as_deref() == Some(url) {
            if let Some(clean) = clean_callback_url(url, mode) {
                browser::replace_url(&clean);
            }
        }
        let response = response?;
        let pending = self
            .inner
            .transactions
            .take(&response.state, browser::now_ms())?;
        let callback = response.validate(
            pending,
            c.issuer.as_deref(),
            self.inner
                .meta
                .authorization_response_iss_parameter_supported,
        )?;
        let request = code_exchange(&self.inner.meta.token_endpoint, &c.client_id, &callback);
        // The key set is fetched while the code is exchanged, not after: the
        // ID token needs it, and the token request's errors still come first.
        let jwks_uri = self.inner.meta.jwks_uri.as_deref();
        let (answer, keys) = browser::join(
            self.call("POST", &request.url, Some(&request.body), None),
            async {
                match jwks_uri.filter(|_| has_openid(&c.scope)) {
                    Some(uri) => Some(provider::jwks(uri, false, c.timeout_ms).await),
                    None => None,
                }
            },
        )
        .await;
        let answer = answer?;
        let issued_at = browser::now_ms();
        let t = parse_token_response(
            answer.status,
            answer.content_type.as_deref(),
            &answer.body,
            c.dpop,
        )?;
        let nonce = callback.pending.nonce.as_ref().map(|n| n.secret());
        let claims = match &t.id_token {
            Some(id_token) => Some(
                self.validate_id_token(id_token.secret(), nonce, callback.pending.max_age, keys)
                    .await?,
            ),
            None if has_openid(&c.scope) => return Err(Error::IdTokenMissing),
            None => None,
        };
        let tokens = Tokens::from_response(t, issued_at, &c.scope);
        let session = Session {
            tokens: tokens.clone(),
            claims: claims.clone(),
        };
        self.save(&session);
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
        max_age: Option<u64>,
        prefetched: Option<Result<Rc<Vec<Jwk>>, Error>>,
    ) -> Result<IdTokenClaims, Error> {
        let jws = parse_jws(token, &self.inner.algs)?;
        if let Some(uri) = &self.inner.meta.jwks_uri {
            let mut keys = match prefetched {
                Some(keys) => keys?,
                None => provider::jwks(uri, false, self.inner.config.timeout_ms).await?,
            };
            if select_key(&keys, jws.alg, jws.kid.as_deref()) == Err(Error::JwksKeyNotFound) {
                keys = provider::jwks(uri, true, self.inner.config.timeout_ms).await?;
            }
            let key = select_key(&keys, jws.alg, jws.kid.as_deref())?;
            let signature_ok =
                crypto::verify(key, jws.alg, jws.signing_input.as_bytes(), &jws.signature).await?;
            if !signature_ok {
                return Err(Error::IdTokenSignatureInvalid);
            }
        }
        let checks = ClaimChecks {
            issuer: self.inner.config.issuer.as_deref().unwrap_or(""),
            client_id: &self.inner.config.client_id,
            nonce,
            now_s: browser::now_ms() / 1000,
            skew_s: self.inner.config.clock_skew_s,
            max_age,
        };
        validate_claims(&jws.payload, &jws.payload_json, &checks)
    }

    // ---- the session -------------------------------------------------------

    /// The validated ID token claims of the current session.
    pub fn id_token_claims(&self) -> Option<IdTokenClaims> {
        self.load().and_then(|s| s.claims)
    }

    /// The current session's tokens.
    pub fn tokens(&self) -> Option<Tokens> {
        self.load().map(|s| s.tokens)
    }

    /// True when there is a session whose access token is valid or refreshable.
    pub fn is_authenticated(&self) -> bool {
        self.load().is_some_and(|s| {
            s.tokens.refresh_token.is_some()
                || !needs_refresh(s.tokens.expires_at_ms, browser::now_ms(), 0)
        })
    }

    /// A valid access token, refreshed first when it expires within the leeway
    /// (judged from the wall clock now, so a device waking from sleep
    /// refreshes). `force` refreshes regardless (e.g. after a 401).
    pub async fn access_token(&self, force: bool) -> Result<String, Error> {
        let s = self.load().ok_or(Error::NotAuthenticated)?;
        if !force
            && !needs_refresh(
                s.tokens.expires_at_ms,
                browser::now_ms(),
                self.inner.config.refresh_leeway_ms,
            )
        {
            return Ok(String::from(s.tokens.access_token.secret()));
        }
        let s = self.refresh(force).await?;
        Ok(String::from(s.tokens.access_token.secret()))
    }

    /// One refresh in flight per client: concurrent callers share it.
    async fn refresh(&self, force: bool) -> Result<Session, Error> {
        let existing = self
            .inner
            .inflight
            .borrow()
            .as_ref()
            .map(|f| (f.promise.clone(), Rc::clone(&f.result)));
        let (promise, result) = match existing {
            Some(pair) => pair,
            None => {
                let result = Rc::new(RefCell::new(None));
                let me = self.clone();
                let slot = Rc::clone(&result);
                let promise = future_to_promise(async move {
                    let r = me.refresh_serialized(force).await;
                    slot.replace(Some(r));
                    me.inner.inflight.replace(None);
                    Ok(JsValue::UNDEFINED)
                });
                self.inner.inflight.replace(Some(Inflight {
                    promise: promise.clone(),
                    result: Rc::clone(&result),
                }));
                (promise, result)
            }
        };
        let _ = JsFuture::from(promise).await;
        let r = result.borrow().clone();
        r.unwrap_or(Err(Error::Network))
    }

    /// With localStorage (shared by tabs), refreshes are serialized across
    /// tabs with the Web Lock `pkce-wasm.refresh.<client_id>`.
    async fn refresh_serialized(&self, force: bool) -> Result<Session, Error> {
        let seen = self.load().map(|s| s.tokens.access_token);
        if self.inner.config.cache_location != CacheLocation::LocalStorage
            || !browser::web_locks_available()
        {
            return self.refresh_now(force, seen, false).await;
        }
        let mut name = String::from("pkce-wasm.refresh.");
        name.push_str(&self.inner.config.client_id);
        let result = Rc::new(RefCell::new(None));
        let (me, slot) = (self.clone(), Rc::clone(&result));
        browser::with_lock(&name, move |contended| async move {
            slot.replace(Some(me.refresh_now(force, seen, contended).await));
        })
        .await;
        let r = result.borrow().clone();
        r.unwrap_or(Err(Error::Network))
    }

    /// The session as storage shows it. After waiting for another tab's lock,
    /// that tab's write may still be on its way: Chromium propagates
    /// localStorage between renderer processes asynchronously, and spending
    /// the refresh token the other tab just rotated out makes the provider
    /// revoke the whole grant. So while storage still shows the access token
    /// seen before waiting, look again, for up to 500 ms.
    async fn settled(&self, seen: Option<&AccessToken>, contended: bool) -> Option<Session> {
        let mut s = self.load();
        for _ in 0..25 {
            if !contended || s.as_ref().map(|s| &s.tokens.access_token) != seen {
                break;
            }
            browser::sleep(20).await;
            s = self.load();
        }
        s
    }

    async fn refresh_now(
        &self,
        force: bool,
        seen: Option<AccessToken>,
        contended: bool,
    ) -> Result<Session, Error> {
        let leeway = self.inner.config.refresh_leeway_ms;
        let s = self
            .settled(seen.as_ref(), contended)
            .await
            .ok_or(Error::LoginRequired)?;
        // Another tab (or call) refreshed while we waited: use its tokens
        // instead of spending the refresh token it rotated out.
        let refreshed_elsewhere = Some(&s.tokens.access_token) != seen.as_ref();
        if (refreshed_elsewhere || !force)
            && !needs_refresh(s.tokens.expires_at_ms, browser::now_ms(), leeway)
        {
            return Ok(s);
        }
        let Some(rt) = s.tokens.refresh_token.clone() else {
            self.end_session();
            return Err(Error::LoginRequired);
        };
        let c = &self.inner.config;
        let refresh = refresh_request(&self.inner.meta.token_endpoint, &c.client_id, &rt);
        let answer = self
            .call("POST", &refresh.url, Some(&refresh.body), None)
            .await?;
        let now = browser::now_ms();
        match parse_token_response(
            answer.status,
            answer.content_type.as_deref(),
            &answer.body,
            c.dpop,
        ) {
            Ok(t) => {
                let new = Tokens::from_response(t, now, &s.tokens.scope);
                let claims = match &new.id_token {
                    Some(id) => {
                        let fresh = self
                            .validate_id_token(id.secret(), None, None, None)
                            .await?;
                        if s.claims.as_ref().is_some_and(|old| old.sub != fresh.sub) {
                            return Err(Error::IdTokenSubMismatch);
                        }
                        Some(fresh)
                    }
                    None => s.claims.clone(),
                };
                let session = Session {
                    tokens: s.tokens.refreshed(new),
                    claims,
                };
                self.save(&session);
                self.emit(&Event::TokensRefreshed);
                Ok(session)
            }
            Err(e) if e.code() == "invalid_grant" => {
                // Without Web Locks another tab may have rotated the token first: adopt its result.
                if let Some(current) = self.load() {
                    if current.tokens.refresh_token.as_ref() != Some(&rt)
                        && !needs_refresh(current.tokens.expires_at_ms, browser::now_ms(), leeway)
                    {
                        return Ok(current);
                    }
                }
                self.end_session();
                Err(Error::LoginRequired)
            }
            Err(e) => Err(e),
        }
    }

    fn schedule(&self) {
        if !self.inner.config.auto_refresh {
            return;
        }
        if let Some(id) = self.inner.timer.take() {
            browser::clear_timeout(id);
        }
        let Some(s) = self.inner.memory.borrow().clone() else {
            return;
        };
        let (Some(exp), Some(_)) = (s.tokens.expires_at_ms, &s.tokens.refresh_token) else {
            return;
        };
        // Lead by the leeway, but never by more than half the remaining
        // lifetime: a leeway longer than the tokens live would otherwise make
        // every refresh due at once again, in a tight loop against the provider.
        let remaining = exp.saturating_sub(browser::now_ms());
        let lead = self.inner.config.refresh_leeway_ms.min(remaining / 2);
        let delay = remaining.saturating_sub(lead).min(i32::MAX as u64) as i32;
        let weak = Rc::downgrade(&self.inner);
        self.inner
            .timer
            .set(browser::set_timeout(delay, move || wake(&weak)));
    }

    // ---- logout, UserInfo, fetch ------------------------------------------

    /// Ends the session: clears local state, revokes the refresh token
    /// (RFC 7009) when the provider has a `revocation_endpoint`, then — unless
    /// `local_only` — navigates to the `end_session_endpoint` (with
    /// `id_token_hint`, `post_logout_redirect_uri`, `state`), or to `return_to`.
    /// `return_to` (resolved against the page) must be `http:`/`https:`.
    pub async fn logout(&self, return_to: Option<String>, local_only: bool) -> Result<(), Error> {
        // Checked before anything is cleared: a bad returnTo costs the user nothing.
        let return_to = return_to
            .map(|u| browser::http_url(&u).ok_or(Error::InvalidConfig(RETURN_TO_PROBLEM)))
            .transpose()?;
        let session = self.load();
        self.clear();
        let meta = &self.inner.meta;
        let c = &self.inner.config;
        if let (Some(endpoint), Some(rt)) = (
            &meta.revocation_endpoint,
            session
                .as_ref()
                .and_then(|s| s.tokens.refresh_token.as_ref()),
        ) {
            let revoke = revocation_request(endpoint, &c.client_id, rt);
            match self
                .call("POST", &revoke.url, Some(&revoke.body), None)
                .await
            {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => self.emit(&Event::Error(Error::RevocationFailed(r.status))),
                Err(e) => self.emit(&Event::Error(e)),
            }
        }
        #[cfg(feature = "dpop")]
        if c.dpop {
            // A fresh key for the next session.
            self.inner.dpop_key.replace(None);
            if let Err(e) = DpopKey::discard(&c.client_id).await {
                self.emit(&Event::Error(e));
            }
        }
        self.emit(&Event::LoggedOut);
        if local_only {
            return Ok(());
        }
        match &meta.end_session_endpoint {
            Some(end) => {
                let state = browser::random_token()?;
                let hint = session.as_ref().and_then(|s| s.tokens.id_token.as_ref());
                browser::navigate(&end_session_url(
                    end,
                    &c.client_id,
                    hint,
                    return_to.as_deref(),
                    &state,
                ))
            }
            None => match return_to {
                Some(url) => browser::navigate(&url),
                None => Ok(()),
            },
        }
    }

    /// Calls the UserInfo endpoint with the access token (OIDC Core §5.3) and
    /// checks that its `sub` equals the ID token's. Returns the claims as JSON text.
    pub async fn user_info(&self) -> Result<String, Error> {
        let endpoint = self
            .inner
            .meta
            .userinfo_endpoint
            .as_deref()
            .ok_or(Error::InvalidConfig(
                "the provider has no userinfo_endpoint",
            ))?;
        let token = self.access_token(false).await?;
        let sub = self.load().and_then(|s| s.claims).map(|c| c.sub);
        let r = self.call("GET", endpoint, None, Some(&token)).await?;
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

    /// `fetch` with the access token attached — only for the configured API
    /// origins (default: the page's own), never to any other origin. With
    /// DPoP on: `Authorization: DPoP` and a fresh proof with `ath`; a
    /// `use_dpop_nonce` challenge retries once with the server's nonce. A 401
    /// with `error="invalid_token"` refreshes once and retries. Retries happen
    /// only when the request can be replayed.
    pub async fn fetch(&self, request: Request) -> Result<Response, Error> {
        let origin =
            browser::origin_of(&request.url()).filter(|o| self.inner.api_origins.contains(o));
        let has_auth = request.headers().has("authorization").unwrap_or(false);
        let Some(origin) = origin.filter(|_| !has_auth) else {
            return fetch_request(&request).await;
        };
        // Clone before the body is consumed, so the request can be replayed.
        let replay = request.clone().ok();
        let key = self.dpop_key().await?;
        let token = self.access_token(false).await?;
        self.authorize_request(&request, &token, key.as_deref())
            .await?;
        let response = fetch_request(&request).await?;
        let header = |name: &str| response.headers().get(name).ok().flatten();
        let (nonce, challenge) = (header("dpop-nonce"), header("www-authenticate"));
        self.remember_nonce(&origin, nonce.as_deref());
        let nonce_retry = key.is_some()
            && retry_nonce(
                0,
                response.status(),
                None,
                challenge.as_deref(),
                nonce.as_deref(),
            )
            .is_some();
        let token_retry = response.status() == 401
            && challenge.as_deref().is_some_and(is_invalid_token_challenge);
        match (nonce_retry || token_retry, replay) {
            (true, Some(retry)) => {
                let token = if token_retry {
                    self.access_token(true).await?
                } else {
                    token
                };
                self.authorize_request(&retry, &token, key.as_deref())
                    .await?;
                let second = fetch_request(&retry).await?;
                self.remember_nonce(
                    &origin,
                    second.headers().get("dpop-nonce").ok().flatten().as_deref(),
                );
                Ok(second)
            }
            _ => Ok(response),
        }
    }

    async fn authorize_request(
        &self,
        request: &Request,
        token: &str,
        key: Option<&DpopKey>,
    ) -> Result<(), Error> {
        let mut value = String::from(if key.is_some() { "DPoP " } else { "Bearer " });
        value.push_str(token);
        let _ = request.headers().set("Authorization", &value);
        #[cfg(feature = "dpop")]
        if let Some(key) = key {
            let proof = self
                .proof(key, &request.method(), &request.url(), Some(token))
                .await?;
            let _ = request.headers().set("DPoP", &proof);
        }
        Ok(())
    }
}

/// The background refresh: on the timer, and on `visibilitychange`/`online`.
/// A hidden page waits until it is visible again.
fn wake(weak: &Weak<Inner>) {
    let Some(inner) = weak.upgrade() else { return };
    let client = Client { inner };
    if !client.inner.config.auto_refresh || browser::document_hidden() {
        return;
    }
    spawn_local(async move {
        match client.access_token(false).await {
            Ok(_) => client.schedule(),
            Err(Error::NotAuthenticated | Error::LoginRequired) => {}
            Err(e) => client.emit(&Event::Error(e)),
        }
    });
}
