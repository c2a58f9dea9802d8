//! The token request (RFC 6749 §4.1.3 + RFC 7636 §4.5) and response (§5.1, §5.2).
//! No client secret, ever: this is a public client.

use super::callback::ValidatedCallback;
use super::encoding::FormBuilder;
use super::error::{Error, ErrorSource, ProviderError};
use super::json::{self, Value};
use super::secret::{AccessToken, IdToken, RefreshToken};
use crate::core::secret::Redacted;

/// Largest token endpoint body we read (tokens are a few kB; this bounds memory).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A POST of an `application/x-www-form-urlencoded` body, built as a value so
/// the protocol is testable without a network.
pub struct FormPost {
    /// Target URL.
    pub url: String,
    /// The encoded body. Contains secrets: never log it.
    pub body: String,
}

impl core::fmt::Debug for FormPost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FormPost")
            .field("url", &self.url)
            .field("body", &Redacted)
            .finish()
    }
}

/// The authorization code grant for a validated callback.
pub fn code_exchange(token_endpoint: &str, client_id: &str, cb: &ValidatedCallback) -> FormPost {
    let mut f = FormBuilder::default();
    f.pair("grant_type", "authorization_code")
        .pair("code", cb.code.secret())
        .pair("redirect_uri", &cb.pending.redirect_uri)
        .pair("client_id", client_id)
        .pair("code_verifier", cb.pending.code_verifier.secret());
    FormPost {
        url: String::from(token_endpoint),
        body: f.finish(),
    }
}

/// A successful token response.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// `access_token`
    pub access_token: AccessToken,
    /// `token_type` as sent (compared case-insensitively).
    pub token_type: String,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// `refresh_token`
    pub refresh_token: Option<RefreshToken>,
    /// `id_token`
    pub id_token: Option<IdToken>,
    /// `scope`, when the provider says which scopes it granted.
    pub scope: Option<String>,
}

/// True for `application/json` and `application/*+json`, ignoring parameters and case.
pub fn is_json_content_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// An RFC 6749 §5.2 error body (`error`, `error_description`, `error_uri`)
/// as a [`ProviderError`] from `source`, if the body is one.
pub fn provider_error(
    status: u16,
    content_type: Option<&str>,
    body: &str,
    source: ErrorSource,
) -> Option<ProviderError> {
    if !is_json_content_type(content_type) {
        return None;
    }
    let v = json::parse(body)?;
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    Some(ProviderError::new(
        text("error").filter(|e| !e.is_empty())?,
        text("error_description"),
        text("error_uri"),
        Some(status),
        source,
    ))
}

/// The RFC 6749 §5.2 `error` of a JSON error body, if there is one.
pub fn oauth_error_code(content_type: Option<&str>, body: &str) -> Option<String> {
    if !is_json_content_type(content_type) {
        return None;
    }
    json::parse(body)?.get("error")?.as_str().map(String::from)
}

/// The refresh token of a 2xx JSON answer that is otherwise unusable (a
/// field of the wrong type, a missing one): the provider has spent the old
/// refresh token, so this copy must be kept. Only a well-formed token counts
/// (RFC 6749 Appendix A.17: one or more visible ASCII characters).
pub fn salvage_refresh_token(
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Option<RefreshToken> {
    if !(200..300).contains(&status)
        || body.len() > MAX_BODY_BYTES
        || !is_json_content_type(content_type)
    {
        return None;
    }
    let v = json::parse(body)?;
    let rt = v.get("refresh_token")?.as_str()?;
    let ok = !rt.is_empty() && rt.len() <= 8192 && rt.bytes().all(|b| (0x20..=0x7e).contains(&b));
    ok.then(|| RefreshToken::new(String::from(rt)))
}

/// An optional string member: absent or `null` → `None`; another type → error.
fn opt_str(obj: &Value, key: &str) -> Result<Option<String>, Error> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::InvalidTokenResponse),
    }
}

/// Parses the token endpoint's answer: status first, then content type, then
/// body. `dpop` says whether the request carried a DPoP proof: then the
/// token must be `DPoP`-bound (RFC 9449 §5), else it must be `Bearer`.
pub fn parse_token_response(
    status: u16,
    content_type: Option<&str>,
    body: &str,
    dpop: bool,
) -> Result<TokenResponse, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::ResponseTooLarge);
    }
    let is_json = is_json_content_type(content_type);
    if !(200..300).contains(&status) {
        return Err(
            provider_error(status, content_type, body, ErrorSource::Token)
                .map_or(Error::TokenHttpError(status), |p| {
                    Error::Provider(Box::new(p))
                }),
        );
    }
    if !is_json {
        return Err(Error::TokenResponseNotJson);
    }
    let v = json::parse(body).ok_or(Error::TokenResponseNotJson)?;
    if !matches!(v, Value::Object(_)) {
        return Err(Error::InvalidTokenResponse);
    }
    let access_token = opt_str(&v, "access_token")?
        .filter(|s| !s.is_empty())
        .ok_or(Error::MissingAccessToken)?;
    let token_type = opt_str(&v, "token_type")?
        .filter(|s| !s.is_empty())
        .ok_or(Error::MissingTokenType)?;
    match (dpop, token_type.to_ascii_lowercase().as_str()) {
        (true, "dpop") | (false, "bearer") => {}
        (true, "bearer") => return Err(Error::DpopNotBound),
        _ => return Err(Error::UnsupportedTokenType),
    }
    let expires_in = match v.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(n @ Value::Number(_)) => Some(n.as_u64().ok_or(Error::InvalidTokenResponse)?),
        Some(_) => return Err(Error::InvalidTokenResponse),
    };
    Ok(TokenResponse {
        access_token: AccessToken::new(access_token),
        token_type,
        expires_in,
        refresh_token: opt_str(&v, "refresh_token")?.map(RefreshToken::new),
        id_token: opt_str(&v, "id_token")?.map(IdToken::new),
        scope: opt_str(&v, "scope")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::authorize::PendingAuthorization;
    use crate::core::encoding::parse_pairs;
    use crate::core::secret::{AuthorizationCode, CodeVerifier, State};

    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    #[test]
    fn builds_the_code_exchange_without_a_secret() {
        let cb = ValidatedCallback {
            code: AuthorizationCode::new("c&1".into()),
            pending: PendingAuthorization {
                state: State::new("s".into()),
                nonce: None,
                code_verifier: CodeVerifier::new(
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
                ),
                redirect_uri: "https://app/cb?x=1".into(),
                created_at_ms: 0,
                app_state: None,
                max_age: None,
                acr_values: None,
                resources: Vec::new(),
                dpop_key: None,
            },
        };
        let req = code_exchange("https://idp/token", "spa", &cb);
        assert_eq!(req.url, "https://idp/token");
        let pairs = parse_pairs(&req.body).unwrap();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "grant_type",
                "code",
                "redirect_uri",
                "client_id",
                "code_verifier"
            ]
        );
        assert_eq!(pairs[1].1, "c&1");
        assert_eq!(pairs[2].1, "https://app/cb?x=1");
        assert!(!req.body.contains("secret"));
        // The request as a value, in Debug: the endpoint, never the body.
        let shown = format!("{req:?}");
        assert!(shown.contains("https://idp/token"), "{shown}");
        assert!(
            !shown.contains("c&1") && !shown.contains("dBjftJeZ4CVP"),
            "{shown}"
        );
        let login = crate::core::config::LoginOptions {
            code_verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
            ..Default::default()
        };
        assert!(!format!("{login:?}").contains("dBjftJeZ4CVP"));
    }

    #[test]
    fn parses_a_full_response() {
        let t = parse_token_response(
            200,
            JSON,
            r#"{"access_token":"at","token_type":"bearer","expires_in":3600,"refresh_token":"rt","id_token":"a.b.c","scope":"openid"}"#,
            false,
        ).unwrap();
        assert_eq!(t.access_token.secret(), "at");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token.unwrap().secret(), "rt");
        assert_eq!(t.id_token.unwrap().secret(), "a.b.c");
        assert_eq!(t.scope.as_deref(), Some("openid"));
        let t = parse_token_response(
            201,
            Some("application/jwt+json"),
            r#"{"access_token":"at","token_type":"BEARER","refresh_token":null}"#,
            false,
        )
        .unwrap();
        assert_eq!(t.expires_in, None);
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn salvages_a_rotated_refresh_token_from_a_broken_answer() {
        let body = r#"{"access_token":"at","token_type":"Bearer","expires_in":"3600","refresh_token":"rt-2"}"#;
        assert_eq!(
            parse_token_response(200, JSON, body, false)
                .unwrap_err()
                .code(),
            "invalid_token_response"
        );
        assert_eq!(
            salvage_refresh_token(200, JSON, body).unwrap().secret(),
            "rt-2"
        );
        for (status, ct, body) in [
            (400, JSON, r#"{"refresh_token":"rt"}"#),
            (200, Some("text/html"), r#"{"refresh_token":"rt"}"#),
            (200, JSON, r#"{"refresh_token":5}"#),
            (200, JSON, r#"{"refresh_token":""}"#),
            (200, JSON, r#"{"refresh_token":"a\nb"}"#),
            (200, JSON, r#"{"refresh_token":"rt""#),
        ] {
            assert!(salvage_refresh_token(status, ct, body).is_none(), "{body}");
        }
    }

    #[test]
    fn keeps_rfc6749_error_fields() {
        let e = parse_token_response(
            400,
            JSON,
            r#"{"error":"invalid_grant","error_description":"grant request is invalid","error_uri":"https://idp/e"}"#,
            false,
        ).unwrap_err();
        assert_eq!(e.code(), "invalid_grant");
        assert_eq!(e.status(), Some(400));
        let p = e.provider().unwrap();
        assert_eq!(
            p.error_description.as_deref(),
            Some("grant request is invalid")
        );
        assert_eq!(p.error_uri.as_deref(), Some("https://idp/e"));
        assert_eq!(p.source, ErrorSource::Token);
    }

    #[test]
    fn rejections_have_distinct_codes() {
        let ok_body = r#"{"access_token":"at","token_type":"Bearer"}"#;
        let cases: &[(u16, Option<&str>, &str, &str)] = &[
            (500, Some("text/html"), "<h1>oops</h1>", "token_http_error"),
            (502, JSON, "", "token_http_error"),
            (400, JSON, r#"{"error":7}"#, "token_http_error"),
            (200, Some("text/html"), ok_body, "token_response_not_json"),
            (200, None, ok_body, "token_response_not_json"),
            (200, JSON, "<html>", "token_response_not_json"),
            (
                200,
                JSON,
                r#"{"access_token":"at","#,
                "token_response_not_json",
            ),
            (200, JSON, "[]", "invalid_token_response"),
            (
                200,
                JSON,
                r#"{"token_type":"Bearer"}"#,
                "missing_access_token",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"","token_type":"Bearer"}"#,
                "missing_access_token",
            ),
            (200, JSON, r#"{"access_token":"at"}"#, "missing_token_type"),
            (
                200,
                JSON,
                r#"{"access_token":1,"token_type":"Bearer"}"#,
                "invalid_token_response",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"at","token_type":"mac"}"#,
                "unsupported_token_type",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"at","token_type":"Bearer","expires_in":"3600"}"#,
                "invalid_token_response",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"at","token_type":"Bearer","expires_in":-5}"#,
                "invalid_token_response",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"at","token_type":"Bearer","refresh_token":5}"#,
                "invalid_token_response",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"at","token_type":"Bearer","id_token":{}}"#,
                "invalid_token_response",
            ),
            (
                200,
                JSON,
                r#"{"access_token":"at","token_type":"Bearer","scope":["a"]}"#,
                "invalid_token_response",
            ),
        ];
        for (status, ct, body, code) in cases {
            let e = parse_token_response(*status, *ct, body, false).unwrap_err();
            assert_eq!(e.code(), *code, "{status} {ct:?} {body}");
            assert!(!e.message().contains("at\""));
        }
        let huge = " ".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(
            parse_token_response(200, JSON, &huge, false).unwrap_err(),
            Error::ResponseTooLarge
        );
    }
}
