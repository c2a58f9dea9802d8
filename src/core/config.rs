//! Client configuration and its validation. The JS bindings hand the
//! options over as JSON text (`JSON.stringify(options)`), so every rule about
//! what an option may be lives here, in one place, tested natively.

use super::authorize::ResponseMode;
use super::discovery::{metadata_from_json, ProviderMetadata};
use super::error::Error;
use super::json::{self, Value};
pub use super::options::{
    login_options_from_json, logout_options_from_json, popup_timeout_from_json,
    token_options_from_json, LoginOptions,
};
pub use super::resource::{resource_for, ResourceRule};
use super::resource::{resource_rule, RESOURCES};
use super::session::DEFAULT_LEEWAY_MS;
use super::transaction::DEFAULT_TTL_MS;
use super::url::is_http_url;

/// Default allowed clock skew for `exp`/`iat`, seconds.
pub const DEFAULT_CLOCK_SKEW_S: u64 = 60;
/// Default timeout of the SDK's own requests, ms.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// Where the provider's endpoints come from.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// Fetch `<issuer>/.well-known/openid-configuration` (cached per page load).
    Discover,
    /// A discovery document supplied by the app: validated exactly like a
    /// fetched one (issuer, endpoints, `jwks_uri` when ID tokens are expected).
    Given(ProviderMetadata),
    /// Explicit endpoints, no discovery (`jwks_uri` required with `openid`).
    Explicit(ProviderMetadata),
}

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

/// What `fetch` does when an API asks for a step-up (RFC 9470).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepUpMode {
    /// Fail with `step_up_required`.
    #[default]
    Fail,
    /// Log in again in a popup with what the API asked for, then send the request once more.
    Popup,
    /// Log in again by redirect (the request is not sent again: the callback's
    /// `appState.pkceWasmStepUp` names it).
    Redirect,
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier. Required for discovery and for `openid` scope;
    /// a callback's `iss` and the ID token's `iss` must equal it.
    pub issuer: Option<String>,
    /// Discovery, supplied metadata, or explicit endpoints.
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
    /// Where `logout({ returnTo })` may go besides this origin, when the
    /// provider has no end-session endpoint (exact URLs).
    pub post_logout_redirect_uris: Vec<String>,
    /// How long pkce-wasm's own requests may take before they are aborted (default 10 000 ms).
    pub timeout_ms: u32,
    /// Sender-constrained tokens with DPoP (RFC 9449); default off.
    pub dpop: bool,
    /// Pushed authorization requests (RFC 9126); default [`ParMode::Auto`].
    pub par: ParMode,
    /// Where a silent login's iframe comes back to (default: `redirect_uri`).
    pub silent_redirect_uri: Option<String>,
    /// How long a silent login waits for the provider (default 10 000 ms).
    pub silent_timeout_ms: u64,
    /// `getAccessToken` renews a session without a refresh token by a
    /// silent login (default off).
    pub silent_fallback: bool,
    /// APIs with their own access tokens (RFC 8707), by URL prefix.
    pub resources: Vec<ResourceRule>,
    /// `fetch` on a step-up challenge (default: fail typed).
    pub step_up: StepUpMode,
}

/// How long a silent login waits for the provider by default: 10 s.
pub const DEFAULT_SILENT_TIMEOUT_MS: u64 = 10_000;

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
            post_logout_redirect_uris: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            dpop: false,
            par: ParMode::Auto,
            silent_redirect_uri: None,
            silent_timeout_ms: DEFAULT_SILENT_TIMEOUT_MS,
            silent_fallback: false,
            resources: Vec::new(),
            step_up: StepUpMode::Fail,
        }
    }

    /// A configuration that discovers the provider from `issuer`.
    pub fn discover(issuer: String, client_id: String, redirect_uri: String) -> Self {
        Self::with(Some(issuer), Endpoints::Discover, client_id, redirect_uri)
    }

    /// A configuration with explicit endpoints (no discovery). Every supported
    /// asymmetric algorithm is accepted for ID tokens. With `openid` in scope,
    /// set `issuer` and the endpoints' `jwks_uri`: ID token signatures are
    /// always verified.
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
            id_token_signing_alg_values_supported: super::id_token::ALL_ALGS
                .iter()
                .map(|a| String::from(a.name()))
                .collect(),
            authorization_response_iss_parameter_supported: false,
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: false,
        };
        Self::with(None, Endpoints::Explicit(meta), client_id, redirect_uri)
    }
}

/// A string member: absent or `null` → `None`; another type → `problem`.
pub(crate) fn opt_str(
    obj: &Value,
    key: &str,
    problem: &'static str,
) -> Result<Option<String>, Error> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::InvalidConfig(problem)),
    }
}

pub(crate) fn opt_bool(
    obj: &Value,
    key: &str,
    problem: &'static str,
) -> Result<Option<bool>, Error> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Error::InvalidConfig(problem)),
    }
}

/// A JSON number as milliseconds: plain decimal, non-negative, at most `max_s`
/// seconds (fractions of a millisecond are dropped). `null` (what
/// `JSON.stringify` makes of `NaN` and `Infinity`) and exponents are refused.
pub(crate) fn millis(v: &Value, max_s: u64) -> Option<u64> {
    let Value::Number(text) = v else { return None };
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs = super::encoding::parse_u64(int)?;
    let mut ms = secs.checked_mul(1000)?;
    let mut scale = 100;
    for b in frac.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        ms = ms.saturating_add(u64::from(b - b'0') * scale);
        scale /= 10;
    }
    (ms <= max_s * 1000).then_some(ms)
}

/// The client options (`createClient(options)`) from their JSON text.
pub fn config_from_json(text: &str) -> Result<Config, Error> {
    let o = json::parse(text)
        .filter(|v| matches!(v, Value::Object(_)))
        .ok_or(Error::InvalidConfig("options must be an object"))?;
    let text = |k: &'static str| opt_str(&o, k, k);
    let issuer = text("issuer")?;
    let client_id =
        text("clientId")?.ok_or(Error::InvalidConfig("clientId (a string) is required"))?;
    let redirect_uri =
        text("redirectUri")?.ok_or(Error::InvalidConfig("redirectUri (a string) is required"))?;
    let (auth, token) = (text("authorizationEndpoint")?, text("tokenEndpoint")?);
    let mut c = if auth.is_some() || token.is_some() {
        let (Some(auth), Some(token)) = (auth, token) else {
            return Err(Error::InvalidConfig(
                "authorizationEndpoint and tokenEndpoint go together",
            ));
        };
        let mut c = Config::explicit(auth, token, client_id, redirect_uri);
        if let Endpoints::Explicit(m) = &mut c.endpoints {
            m.jwks_uri = text("jwksUri")?;
            m.userinfo_endpoint = text("userinfoEndpoint")?;
        }
        c.issuer = issuer;
        c
    } else {
        let iss = issuer.ok_or(Error::InvalidConfig(
            "issuer, or authorizationEndpoint and tokenEndpoint, is required",
        ))?;
        let mut c = Config::discover(iss, client_id, redirect_uri);
        match o.get("metadata") {
            None | Some(Value::Null) => {}
            // Supplied metadata goes through the same validation as a fetched document.
            Some(doc @ Value::Object(_)) => {
                c.endpoints =
                    Endpoints::Given(metadata_from_json(c.issuer.as_deref().unwrap_or(""), doc)?)
            }
            Some(_) => return Err(Error::InvalidConfig("metadata")),
        }
        c
    };
    if let Some(scope) = text("scope")? {
        c.scope = scope;
    }
    // An option that names one of a few choices: its index (absent: 0).
    let choice = |k: &'static str, choices: &[&str]| -> Result<usize, Error> {
        match text(k)? {
            None => Ok(0),
            Some(v) => choices
                .iter()
                .position(|c| *c == v)
                .ok_or(Error::InvalidConfig(k)),
        }
    };
    if choice("responseMode", &["query", "fragment"])? == 1 {
        c.response_mode = ResponseMode::Fragment;
    }
    c.cache_location = [
        CacheLocation::Memory,
        CacheLocation::SessionStorage,
        CacheLocation::LocalStorage,
    ]
    .get(choice(
        "cacheLocation",
        &["memory", "sessionStorage", "localStorage"],
    )?)
    .copied()
    .unwrap_or_default();
    // Seconds, as milliseconds, within [min, max].
    let secs = |k: &'static str, min: u64, max: u64| -> Result<Option<u64>, Error> {
        match o.get(k) {
            None => Ok(None),
            Some(v) => millis(v, max)
                .filter(|ms| *ms >= min)
                .map(Some)
                .ok_or(Error::InvalidConfig(k)),
        }
    };
    if let Some(ms) = secs("transactionTtl", 1000, 86_400)? {
        c.transaction_ttl_ms = ms;
    }
    if let Some(ms) = secs("clockSkew", 0, 600)? {
        c.clock_skew_s = ms / 1000;
    }
    if let Some(ms) = secs("refreshLeeway", 0, 3600)? {
        c.refresh_leeway_ms = ms;
    }
    if let Some(ms) = secs("timeout", 1, 600)? {
        c.timeout_ms = ms as u32;
    }
    if let Some(ms) = secs("silentTimeout", 1000, 120)? {
        c.silent_timeout_ms = ms;
    }
    c.silent_redirect_uri = text("silentRedirectUri")?;
    c.step_up = [StepUpMode::Fail, StepUpMode::Popup, StepUpMode::Redirect]
        .get(choice("stepUp", &["fail", "popup", "redirect"])?)
        .copied()
        .unwrap_or_default();
    c.silent_fallback = opt_bool(&o, "silentFallback", "silentFallback")?.unwrap_or(false);
    c.auto_refresh = opt_bool(&o, "autoRefresh", "autoRefresh")?.unwrap_or(false);
    c.dpop = opt_bool(&o, "dpop", "dpop")?.unwrap_or(false);
    if c.dpop && !cfg!(feature = "dpop") {
        return Err(Error::InvalidConfig(
            "this build of pkce-wasm has no DPoP support (the `dpop` feature)",
        ));
    }
    c.par = match o.get("pushedAuthorizationRequests") {
        None => ParMode::Auto,
        Some(Value::Bool(true)) => ParMode::Always,
        Some(Value::Bool(false)) => ParMode::Never,
        Some(Value::String(s)) if s == "auto" => ParMode::Auto,
        Some(_) => return Err(Error::InvalidConfig("pushedAuthorizationRequests")),
    };
    match o.get("apiOrigins") {
        None => {}
        Some(Value::Array(items)) => {
            let list = items
                .iter()
                .map(|v| v.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .ok_or(Error::InvalidConfig("apiOrigins"))?;
            c.api_origins = Some(list);
        }
        Some(_) => return Err(Error::InvalidConfig("apiOrigins")),
    }
    match o.get("resources") {
        None | Some(Value::Null) => {}
        Some(Value::Object(members)) => {
            for (prefix, v) in members {
                c.resources.push(resource_rule(prefix, v)?);
            }
        }
        Some(_) => return Err(Error::InvalidConfig(RESOURCES)),
    }
    match o.get("postLogoutRedirectUris") {
        None => {}
        Some(Value::Array(items)) => {
            c.post_logout_redirect_uris = items
                .iter()
                .map(|v| v.as_str().filter(|u| is_http_url(u)).map(String::from))
                .collect::<Option<Vec<_>>>()
                .ok_or(Error::InvalidConfig("postLogoutRedirectUris"))?;
        }
        Some(_) => return Err(Error::InvalidConfig("postLogoutRedirectUris")),
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""issuer":"https://idp.example.com","clientId":"spa","redirectUri":"https://app.example.com/""#;

    fn cfg(extra: &str) -> Result<Config, Error> {
        config_from_json(&format!("{{{BASE}{extra}}}"))
    }

    #[test]
    fn defaults_and_values() {
        let c = cfg("").unwrap();
        assert!(matches!(c.endpoints, Endpoints::Discover));
        assert_eq!(c.scope, "openid");
        assert_eq!(c.timeout_ms, DEFAULT_TIMEOUT_MS);
        let c = cfg(r#","timeout":0.5,"refreshLeeway":30,"cacheLocation":"localStorage","pushedAuthorizationRequests":false,"apiOrigins":["https://api.example.com"],"postLogoutRedirectUris":["https://www.example.com/bye"],"autoRefresh":true,"transactionTtl":60,"clockSkew":0"#).unwrap();
        assert_eq!(c.timeout_ms, 500);
        assert_eq!(c.refresh_leeway_ms, 30_000);
        assert_eq!(c.cache_location, CacheLocation::LocalStorage);
        assert_eq!(c.par, ParMode::Never);
        assert!(c.auto_refresh);
        assert_eq!(c.transaction_ttl_ms, 60_000);
        assert_eq!(c.clock_skew_s, 0);
        assert_eq!(c.api_origins.unwrap(), ["https://api.example.com"]);
        assert_eq!(c.post_logout_redirect_uris, ["https://www.example.com/bye"]);
    }

    #[test]
    fn resources_map_prefixes_to_targets() {
        let c = cfg(r#","resources":{"https://API.example.com":{"resource":"urn:a","scope":"a:read"},"https://example.com/api/":{"resource":"https://example.com/api"}}"#).unwrap();
        assert_eq!(c.resources[0].prefix, "https://api.example.com");
        assert_eq!(c.resources[0].target.scope, "a:read");
        assert_eq!(c.resources[1].target.scope, "");
        let at = |u: &str| resource_for(&c.resources, u).map(|r| r.target.resource.as_str());
        assert_eq!(at("https://api.example.com"), Some("urn:a"));
        assert_eq!(at("https://api.example.com/x?y"), Some("urn:a"));
        assert_eq!(at("https://api.example.com.evil.test/"), None);
        assert_eq!(at("https://api.example.com:8443/"), None);
        assert_eq!(
            at("https://example.com/api/v1"),
            Some("https://example.com/api")
        );
        assert_eq!(at("https://example.com/apix"), None);
        for bad in [
            r#","resources":[]"#,
            r#","resources":{"https://a":{}}"#,
            r#","resources":{"https://a":{"resource":"no-scheme"}}"#,
            r#","resources":{"https://a":{"resource":"urn:a#frag"}}"#,
            r#","resources":{"http://a.example":{"resource":"urn:a"}}"#,
            r#","resources":{"https://a":{"resource":"urn:a","scope":1}}"#,
            r#","resources":{"https://a":{"resource":"urn:a b"}}"#,
            r#","resources":{"https://a.example\\@b.example/":{"resource":"urn:a"}}"#,
        ] {
            assert!(matches!(cfg(bad), Err(Error::InvalidConfig(_))), "{bad}");
        }
        let t = token_options_from_json(r#"{"resource":"urn:a"}"#, &c.resources).unwrap();
        assert_eq!(t.1.unwrap().scope, "a:read", "the scope resources gives it");
        assert!(token_options_from_json(r#"{"scope":"x"}"#, &c.resources).is_err());
        assert!(token_options_from_json(r#"{"resource":"x y"}"#, &c.resources).is_err());
        assert_eq!(
            token_options_from_json("null", &c.resources).unwrap(),
            (false, None)
        );
    }

    #[test]
    fn bad_options_are_invalid_config() {
        for bad in [
            r#","timeout":-1"#,
            r#","timeout":null"#,
            r#","timeout":0"#,
            r#","timeout":1e3"#,
            r#","clockSkew":1000000000"#,
            r#","scope":["openid"]"#,
            r#","responseMode":"form_post""#,
            r#","cacheLocation":"cookie""#,
            r#","apiOrigins":"https://api""#,
            r#","apiOrigins":[1]"#,
            r#","postLogoutRedirectUris":"https://x""#,
            r#","postLogoutRedirectUris":["javascript:alert(1)"]"#,
            r#","postLogoutRedirectUris":[1]"#,
            r#","autoRefresh":"yes""#,
            r#","dpop":"true""#,
            r#","pushedAuthorizationRequests":"sometimes""#,
            r#","transactionTtl":0"#,
            r#","metadata":"x""#,
            r#","redirectUri":{}"#,
            r#","clientId":7"#,
        ] {
            assert_eq!(cfg(bad).unwrap_err().code(), "invalid_config", "{bad}");
        }
        for bad in ["null", "42", "\"x\"", "[]", "{"] {
            assert_eq!(config_from_json(bad).unwrap_err().code(), "invalid_config");
        }
        assert_eq!(
            cfg(r#","metadata":{"issuer":"https://evil.example"}"#)
                .unwrap_err()
                .code(),
            "discovery_issuer_mismatch"
        );
    }
}
