//! The authorization request (RFC 6749 §4.1.1 + RFC 7636 §4.3 + OIDC Core §3.1.2.1).
//!
//! [`authorize`] is the only way to make a [`PendingAuthorization`], and the
//! pending record is the only thing a callback can be validated against.

use super::encoding::{b64url, FormBuilder};
use super::error::Error;
use super::secret::{CodeVerifier, Nonce, State};
use super::url::{check_url, split};
use crate::core::secret::Redacted;

/// Where the provider puts the authorization response (OAuth 2.0 Multiple Response Types §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// `?code=…&state=…` (the default for `response_type=code`).
    #[default]
    Query,
    /// `#code=…&state=…`, sent as `response_mode=fragment`.
    Fragment,
}

/// Parameters an `extraParams` entry may not set: they are the protocol's own,
/// and letting app code (or a value an attacker influences) override them would
/// undo PKCE, state or nonce.
pub const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "response_mode",
    "request",
    "request_uri",
    "client_secret",
    "dpop_jkt",
];

/// What the application asks for.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    /// The provider's authorization endpoint; may already carry a query, which is kept.
    pub authorization_endpoint: &'a str,
    /// The registered public client id.
    pub client_id: &'a str,
    /// The registered redirect URI.
    pub redirect_uri: &'a str,
    /// Space-separated scopes; `nonce` is sent when it contains `openid`.
    pub scope: &'a str,
    /// Query or fragment.
    pub response_mode: ResponseMode,
    /// Extra parameters: prompt, login_hint, audience, resource, ui_locales,
    /// acr_values, max_age, or any other. Repeats are allowed (RFC 8707 `resource`).
    pub extra_params: &'a [(String, String)],
    /// The DPoP key's thumbprint, binding the code to it (RFC 9449 §10).
    pub dpop_jkt: Option<&'a str>,
    /// What the `state` starts with: nothing for a redirect,
    /// [`POPUP_STATE_PREFIX`] or [`SILENT_STATE_PREFIX`] so that the callback
    /// page in a popup or a hidden iframe knows to hand the response to the
    /// page that started the login.
    pub state_prefix: &'static str,
}

/// The start of a popup login's `state`.
pub const POPUP_STATE_PREFIX: &str = "p.";

/// The start of a silent login's `state` (`prompt=none` in a hidden iframe).
pub const SILENT_STATE_PREFIX: &str = "s.";

/// Fresh CSPRNG output for one login: 256 bits each for verifier, state and nonce.
pub struct Entropy {
    /// For the code verifier.
    pub verifier: [u8; 32],
    /// For `state`.
    pub state: [u8; 32],
    /// For `nonce`.
    pub nonce: [u8; 32],
}

/// What the callback must be checked against. Lives in sessionStorage between
/// the redirect and the callback, and is deleted on first use.
#[derive(Debug)]
pub struct PendingAuthorization {
    /// The `state` sent.
    pub state: State,
    /// The `nonce` sent, when `openid` was in scope.
    pub nonce: Option<Nonce>,
    /// The PKCE verifier for the token request.
    pub code_verifier: CodeVerifier,
    /// The redirect URI sent (the token request must repeat it).
    pub redirect_uri: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The application's state, as JSON text, handed back after the callback.
    pub app_state: Option<String>,
    /// The `max_age` sent, if any: the ID token's `auth_time` is then checked (OIDC Core §3.1.3.7 step 13).
    pub max_age: Option<u64>,
    /// The `acr_values` sent, if any: the ID token's `acr` must be one of them (step 12).
    pub acr_values: Option<String>,
    /// The `resource` indicators sent (RFC 8707): what the grant covers.
    pub resources: Vec<String>,
    /// The DPoP key this login's tokens are bound to (its IndexedDB id).
    pub dpop_key: Option<String>,
}

/// True when the space-separated `scope` contains `openid`.
pub fn has_openid(scope: &str) -> bool {
    scope.split(' ').any(|s| s == "openid")
}

/// Checks the static parts of a request (endpoints, ids). Run once when a client is made.
pub fn check_request(req: &AuthorizeRequest) -> Result<(), Error> {
    check_url(
        req.authorization_endpoint,
        "authorizationEndpoint must be an https URL (http only on loopback) without a fragment",
    )?;
    check_url(
        req.redirect_uri,
        "redirectUri must be an https URL (http only on loopback) without a fragment",
    )?;
    if req.client_id.is_empty() {
        return Err(Error::InvalidConfig("clientId is required"));
    }
    if req.scope.trim().is_empty() {
        return Err(Error::InvalidConfig("scope must not be empty"));
    }
    Ok(())
}

/// Builds the authorization URL and the pending record for one login.
///
/// `code_verifier` is a caller-supplied verifier (already checked by
/// [`CodeVerifier::parse`]); `None` makes one from `entropy`.
pub fn authorize(
    req: &AuthorizeRequest,
    entropy: &Entropy,
    code_verifier: Option<CodeVerifier>,
    now_ms: u64,
    app_state: Option<String>,
) -> Result<(String, PendingAuthorization), Error> {
    let (params, pending) = authorize_params(req, entropy, code_verifier, now_ms, app_state)?;
    let (base, query, _) = split(req.authorization_endpoint);
    let mut q = FormBuilder::from_encoded(query.unwrap_or(""));
    for (k, v) in &params {
        q.pair(k, v);
    }
    let mut url = String::from(base);
    url.push('?');
    url.push_str(&q.finish());
    Ok((url, pending))
}

/// The authorization request's parameters, in order, and the pending record:
/// the query of [`authorize`], or the body of a pushed authorization request.
pub fn authorize_params(
    req: &AuthorizeRequest,
    entropy: &Entropy,
    code_verifier: Option<CodeVerifier>,
    now_ms: u64,
    app_state: Option<String>,
) -> Result<(Vec<(String, String)>, PendingAuthorization), Error> {
    check_request(req)?;
    for (name, _) in req.extra_params {
        if name.is_empty() {
            return Err(Error::InvalidConfig(
                "extra parameter names must not be empty",
            ));
        }
        if RESERVED_PARAMS.contains(&name.as_str()) {
            return Err(Error::ReservedParameter(name.clone()));
        }
    }

    let max_age = match req.extra_params.iter().find(|(k, _)| k == "max_age") {
        Some((_, v)) => Some(super::encoding::parse_u64(v).ok_or(Error::InvalidConfig(
            "max_age must be a non-negative integer (seconds)",
        ))?),
        None => None,
    };
    let verifier = code_verifier.unwrap_or_else(|| CodeVerifier::from_entropy(&entropy.verifier));
    let mut state = String::from(req.state_prefix);
    state.push_str(&b64url(&entropy.state));
    let state = State::new(state);
    let nonce = has_openid(req.scope).then(|| Nonce::new(b64url(&entropy.nonce)));

    let p = |k: &str, v: &str| (String::from(k), String::from(v));
    let mut q = vec![
        p("response_type", "code"),
        p("client_id", req.client_id),
        p("redirect_uri", req.redirect_uri),
        p("scope", req.scope),
        p("state", state.secret()),
    ];
    if let Some(n) = &nonce {
        q.push(p("nonce", n.secret()));
    }
    q.push(p("code_challenge", &verifier.challenge()));
    q.push(p("code_challenge_method", "S256"));
    if req.response_mode == ResponseMode::Fragment {
        q.push(p("response_mode", "fragment"));
    }
    if let Some(jkt) = req.dpop_jkt {
        q.push(p("dpop_jkt", jkt));
    }
    q.extend(req.extra_params.iter().cloned());

    let pending = PendingAuthorization {
        state,
        nonce,
        code_verifier: verifier,
        redirect_uri: String::from(req.redirect_uri),
        created_at_ms: now_ms,
        app_state,
        max_age,
        acr_values: req
            .extra_params
            .iter()
            .find(|(k, _)| k == "acr_values")
            .map(|(_, v)| v.clone()),
        resources: req
            .extra_params
            .iter()
            .filter(|(k, _)| k == "resource")
            .map(|(_, v)| v.clone())
            .collect(),
        dpop_key: None,
    };
    Ok((q, pending))
}

/// A pushed authorization request (RFC 9126 §2.1): the parameters as a form.
pub fn par_request(par_endpoint: &str, params: &[(String, String)]) -> super::token::FormPost {
    let mut f = FormBuilder::default();
    for (k, v) in params {
        f.pair(k, v);
    }
    super::token::FormPost {
        url: String::from(par_endpoint),
        body: f.finish(),
    }
}

/// The PAR endpoint's answer (RFC 9126 §2.2). `Debug` leaves out the
/// `request_uri` (it stands for the whole pushed request).
#[derive(Clone, PartialEq, Eq)]
pub struct ParResponse {
    /// The `request_uri` for the front channel.
    pub request_uri: String,
    /// Seconds it stays valid (`expires_in`).
    pub expires_in: u64,
}

impl core::fmt::Debug for ParResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ParResponse")
            .field("request_uri", &Redacted)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl ParResponse {
    /// True when `elapsed_ms` since the PAR answer used up `expires_in`: the
    /// provider would refuse the `request_uri` on its own error page.
    pub fn expired(&self, elapsed_ms: u64) -> bool {
        elapsed_ms >= self.expires_in.saturating_mul(1000)
    }
}

/// Reads the PAR endpoint's answer (RFC 9126 §2.2–2.3).
pub fn parse_par_response(
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<ParResponse, Error> {
    use super::error::ErrorSource;
    use super::json::{self, Value};
    use super::token::{is_json_content_type, provider_error};
    if !(200..300).contains(&status) {
        return Err(
            provider_error(status, content_type, body, ErrorSource::PushedAuthorization)
                .map_or(Error::ParFailed(status), |p| Error::Provider(Box::new(p))),
        );
    }
    let v = is_json_content_type(content_type)
        .then(|| json::parse(body))
        .flatten()
        .ok_or(Error::ParFailed(status))?;
    let request_uri = v
        .get("request_uri")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or(Error::ParFailed(status))?;
    let expires_in = v
        .get("expires_in")
        .and_then(Value::as_u64)
        .ok_or(Error::ParFailed(status))?;
    Ok(ParResponse {
        request_uri: String::from(request_uri),
        expires_in,
    })
}

/// The front-channel URL after PAR: only `client_id` and `request_uri` (RFC 9126 §4).
pub fn par_redirect_url(
    authorization_endpoint: &str,
    client_id: &str,
    request_uri: &str,
) -> String {
    let (base, query, _) = split(authorization_endpoint);
    let mut q = FormBuilder::from_encoded(query.unwrap_or(""));
    q.pair("client_id", client_id)
        .pair("request_uri", request_uri);
    let mut url = String::from(base);
    url.push('?');
    url.push_str(&q.finish());
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::encoding::parse_pairs;

    fn entropy() -> Entropy {
        Entropy {
            verifier: [1; 32],
            state: [2; 32],
            nonce: [3; 32],
        }
    }

    fn req<'a>(extra: &'a [(String, String)]) -> AuthorizeRequest<'a> {
        AuthorizeRequest {
            authorization_endpoint: "https://idp.example.com/authorize",
            client_id: "spa",
            redirect_uri: "https://app.example.com/cb",
            scope: "openid profile",
            response_mode: ResponseMode::Query,
            extra_params: extra,
            dpop_jkt: None,
            state_prefix: "",
        }
    }

    fn query_of(url: &str) -> Vec<(String, String)> {
        parse_pairs(split(url).1.unwrap()).unwrap()
    }

    fn get<'a>(q: &'a [(String, String)], k: &str) -> Vec<&'a str> {
        q.iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn builds_the_protocol_parameters() {
        let (url, p) = authorize(&req(&[]), &entropy(), None, 1000, None).unwrap();
        assert!(url.starts_with("https://idp.example.com/authorize?response_type=code&client_id=spa&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid%20profile&state="));
        let q = query_of(&url);
        assert_eq!(get(&q, "response_type"), ["code"]);
        assert_eq!(get(&q, "state"), [p.state.secret()]);
        assert_eq!(get(&q, "nonce"), [p.nonce.as_ref().unwrap().secret()]);
        assert_eq!(
            get(&q, "code_challenge"),
            [p.code_verifier.challenge().as_str()]
        );
        assert_eq!(get(&q, "code_challenge_method"), ["S256"]);
        assert!(get(&q, "response_mode").is_empty());
        assert!(
            !url.contains(p.code_verifier.secret()),
            "verifier must never be in the URL"
        );
        // 256-bit state and nonce, all distinct
        assert_eq!(p.state.secret().len(), 43);
        assert_ne!(p.state.secret(), p.nonce.as_ref().unwrap().secret());
        assert_eq!(p.created_at_ms, 1000);
    }

    #[test]
    fn no_nonce_without_openid() {
        let mut r = req(&[]);
        r.scope = "api:read openidish";
        let (url, p) = authorize(&r, &entropy(), None, 0, None).unwrap();
        assert!(p.nonce.is_none());
        assert!(get(&query_of(&url), "nonce").is_empty());
    }

    #[test]
    fn extras_are_encoded_and_cannot_override() {
        let extra = vec![
            ("login_hint".to_string(), "a b+c@ex.com".to_string()),
            ("ui_locales".to_string(), "fr-CA ü".to_string()),
            (
                "resource".to_string(),
                "https://api.one/?x=1&y=2#z".to_string(),
            ),
            ("resource".to_string(), "https://api.two/".to_string()),
            ("max_age".to_string(), "0".to_string()),
        ];
        let (url, _) = authorize(&req(&extra), &entropy(), None, 0, None).unwrap();
        assert!(url.contains("login_hint=a%20b%2Bc%40ex.com"));
        assert!(url.contains("ui_locales=fr-CA%20%C3%BC"));
        let q = query_of(&url);
        assert_eq!(
            get(&q, "resource"),
            ["https://api.one/?x=1&y=2#z", "https://api.two/"]
        );
        assert_eq!(get(&q, "max_age"), ["0"]);
        for name in RESERVED_PARAMS {
            let bad = vec![(name.to_string(), "x".to_string())];
            assert_eq!(
                authorize(&req(&bad), &entropy(), None, 0, None).unwrap_err(),
                Error::ReservedParameter(name.to_string())
            );
        }
    }

    #[test]
    fn endpoint_query_is_kept() {
        let mut r = req(&[]);
        r.authorization_endpoint = "https://idp.example.com/authorize?tenant=a%20b&p=1";
        let (url, _) = authorize(&r, &entropy(), None, 0, None).unwrap();
        assert!(url
            .starts_with("https://idp.example.com/authorize?tenant=a%20b&p=1&response_type=code&"));
    }

    #[test]
    fn fragment_mode_is_requested() {
        let mut r = req(&[]);
        r.response_mode = ResponseMode::Fragment;
        let (url, _) = authorize(&r, &entropy(), None, 0, None).unwrap();
        assert_eq!(get(&query_of(&url), "response_mode"), ["fragment"]);
    }

    #[test]
    fn caller_verifier_is_used() {
        let v = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()).unwrap();
        let (url, p) = authorize(&req(&[]), &entropy(), Some(v), 0, None).unwrap();
        assert!(url.contains("code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&"));
        assert_eq!(
            p.code_verifier.secret(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    #[test]
    fn dpop_jkt_and_par() {
        let mut r = req(&[]);
        r.dpop_jkt = Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        let (params, p) = authorize_params(&r, &entropy(), None, 0, None).unwrap();
        assert!(params.contains(&(
            "dpop_jkt".into(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()
        )));
        let post = par_request("https://idp/par", &params);
        let body = parse_pairs(&post.body).unwrap();
        assert_eq!(
            body, params,
            "the PAR body carries exactly the authorization parameters"
        );
        assert!(body
            .iter()
            .any(|(k, v)| k == "code_challenge" && *v == p.code_verifier.challenge()));
        assert_eq!(
            par_redirect_url("https://idp/auth?t=1", "spa", "urn:ietf:params:oauth:request_uri:abc"),
            "https://idp/auth?t=1&client_id=spa&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
        );
        let ct = Some("application/json");
        let ok = parse_par_response(201, ct, r#"{"request_uri":"urn:x","expires_in":60}"#).unwrap();
        assert_eq!(ok.request_uri, "urn:x");
        assert!(!ok.expired(59_999) && ok.expired(60_000));
        assert_eq!(
            parse_par_response(201, ct, r#"{"request_uri":"urn:x"}"#)
                .unwrap_err()
                .code(),
            "par_failed"
        );
        let e = parse_par_response(
            400,
            ct,
            r#"{"error":"invalid_request","error_description":"bad"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert_eq!(e.status(), Some(400));
        assert_eq!(
            parse_par_response(500, Some("text/html"), "x")
                .unwrap_err()
                .code(),
            "par_failed"
        );
        assert_eq!(
            parse_par_response(201, ct, "{}").unwrap_err().code(),
            "par_failed"
        );
        assert_eq!(
            parse_par_response(201, ct, r#"{"request_uri":5}"#)
                .unwrap_err()
                .code(),
            "par_failed"
        );
    }

    #[test]
    fn max_age_is_kept_for_the_auth_time_check() {
        let extra = vec![("max_age".to_string(), "600".to_string())];
        let (_, p) = authorize(&req(&extra), &entropy(), None, 0, None).unwrap();
        assert_eq!(p.max_age, Some(600));
        let (_, p) = authorize(&req(&[]), &entropy(), None, 0, None).unwrap();
        assert_eq!(p.max_age, None);
        let bad = vec![("max_age".to_string(), "soon".to_string())];
        assert!(matches!(
            authorize(&req(&bad), &entropy(), None, 0, None),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn bad_config_is_typed() {
        let mut r = req(&[]);
        r.client_id = "";
        assert!(matches!(
            authorize(&r, &entropy(), None, 0, None),
            Err(Error::InvalidConfig(_))
        ));
        let mut r = req(&[]);
        r.redirect_uri = "https://app.example.com/cb#x";
        assert!(matches!(
            authorize(&r, &entropy(), None, 0, None),
            Err(Error::InvalidConfig(_))
        ));
        let mut r = req(&[]);
        r.authorization_endpoint = "http://idp.example.com/authorize";
        assert!(matches!(
            authorize(&r, &entropy(), None, 0, None),
            Err(Error::InvalidConfig(_))
        ));
        let mut r = req(&[]);
        r.scope = " ";
        assert!(matches!(
            authorize(&r, &entropy(), None, 0, None),
            Err(Error::InvalidConfig(_))
        ));
        let empty = vec![(String::new(), "x".to_string())];
        assert!(matches!(
            authorize(&req(&empty), &entropy(), None, 0, None),
            Err(Error::InvalidConfig(_))
        ));
    }
}
