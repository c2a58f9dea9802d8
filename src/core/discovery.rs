//! Provider metadata (OpenID Connect Discovery 1.0 §3–4, RFC 8414 §2–3).

use super::error::Error;
use super::json::{self, Value};
use super::token::{is_json_content_type, MAX_BODY_BYTES};
use super::url::check_url;

/// What pkce-wasm uses from the provider's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderMetadata {
    /// `issuer`, equal to the configured issuer.
    pub issuer: String,
    /// `authorization_endpoint`
    pub authorization_endpoint: String,
    /// `token_endpoint`
    pub token_endpoint: String,
    /// `jwks_uri` (required for OpenID Connect).
    pub jwks_uri: Option<String>,
    /// `userinfo_endpoint`
    pub userinfo_endpoint: Option<String>,
    /// `end_session_endpoint` (RP-initiated logout).
    pub end_session_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    pub revocation_endpoint: Option<String>,
    /// `id_token_signing_alg_values_supported` (default `["RS256"]`).
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    pub authorization_response_iss_parameter_supported: bool,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5).
    pub require_pushed_authorization_requests: bool,
}

/// `<issuer>/.well-known/openid-configuration`, a trailing `/` of the issuer removed first.
pub fn discovery_url(issuer: &str) -> String {
    let mut url = String::from(issuer.strip_suffix('/').unwrap_or(issuer));
    url.push_str("/.well-known/openid-configuration");
    url
}

fn opt_string(doc: &Value, key: &'static str) -> Result<Option<String>, Error> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::DiscoveryInvalid(key)),
    }
}

fn required(doc: &Value, key: &'static str) -> Result<String, Error> {
    opt_string(doc, key)?.ok_or(Error::DiscoveryInvalid(key))
}

/// Validates a metadata document (already parsed) against the configured issuer.
pub fn metadata_from_json(expected_issuer: &str, doc: &Value) -> Result<ProviderMetadata, Error> {
    if !matches!(doc, Value::Object(_)) {
        return Err(Error::DiscoveryInvalid("document"));
    }
    let issuer = opt_string(doc, "issuer")?.ok_or(Error::DiscoveryInvalid("issuer"))?;
    if issuer != expected_issuer {
        return Err(Error::DiscoveryIssuerMismatch);
    }
    let algs = match doc.get("id_token_signing_alg_values_supported") {
        None | Some(Value::Null) => vec![String::from("RS256")],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::DiscoveryInvalid(
                "id_token_signing_alg_values_supported",
            ))?,
        Some(_) => {
            return Err(Error::DiscoveryInvalid(
                "id_token_signing_alg_values_supported",
            ))
        }
    };
    let flag = |key: &'static str| match doc.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Error::DiscoveryInvalid(key)),
    };
    let iss_supported = flag("authorization_response_iss_parameter_supported")?;
    let par_required = flag("require_pushed_authorization_requests")?;
    let m = ProviderMetadata {
        issuer,
        authorization_endpoint: required(doc, "authorization_endpoint")?,
        token_endpoint: required(doc, "token_endpoint")?,
        jwks_uri: opt_string(doc, "jwks_uri")?,
        userinfo_endpoint: opt_string(doc, "userinfo_endpoint")?,
        end_session_endpoint: opt_string(doc, "end_session_endpoint")?,
        revocation_endpoint: opt_string(doc, "revocation_endpoint")?,
        id_token_signing_alg_values_supported: algs,
        authorization_response_iss_parameter_supported: iss_supported,
        pushed_authorization_request_endpoint: opt_string(
            doc,
            "pushed_authorization_request_endpoint",
        )?,
        require_pushed_authorization_requests: par_required,
    };
    check_metadata(&m, expected_issuer, false)?;
    Ok(m)
}

/// The checks every metadata document passes, fetched or supplied by the app:
/// its `issuer` is the configured one, every endpoint is https (http on
/// loopback only), and a `jwks_uri` is there when ID tokens are expected.
pub fn check_metadata(m: &ProviderMetadata, issuer: &str, openid: bool) -> Result<(), Error> {
    if m.issuer != issuer {
        return Err(Error::DiscoveryIssuerMismatch);
    }
    let endpoints: [(&'static str, Option<&String>); 7] = [
        ("authorization_endpoint", Some(&m.authorization_endpoint)),
        ("token_endpoint", Some(&m.token_endpoint)),
        ("jwks_uri", m.jwks_uri.as_ref()),
        ("userinfo_endpoint", m.userinfo_endpoint.as_ref()),
        ("end_session_endpoint", m.end_session_endpoint.as_ref()),
        ("revocation_endpoint", m.revocation_endpoint.as_ref()),
        (
            "pushed_authorization_request_endpoint",
            m.pushed_authorization_request_endpoint.as_ref(),
        ),
    ];
    for (name, url) in endpoints {
        if let Some(u) = url {
            check_url(u, name).map_err(|_| Error::InsecureEndpoint(name))?;
        }
    }
    if openid && m.jwks_uri.is_none() {
        return Err(Error::DiscoveryInvalid("jwks_uri"));
    }
    Ok(())
}

/// Parses the discovery response: status, content type, JSON, then the document.
pub fn parse_metadata(
    expected_issuer: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<ProviderMetadata, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::DiscoveryFailed(status));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::ResponseTooLarge);
    }
    if !is_json_content_type(content_type) {
        return Err(Error::DiscoveryNotJson);
    }
    let doc = json::parse(body).ok_or(Error::DiscoveryNotJson)?;
    metadata_from_json(expected_issuer, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://idp.example.com";
    const CT: Option<&str> = Some("application/json");

    fn doc(extra: &str) -> String {
        let mut s = String::from(
            r#"{"issuer":"https://idp.example.com","authorization_endpoint":"https://idp.example.com/auth","token_endpoint":"https://idp.example.com/token","jwks_uri":"https://idp.example.com/jwks""#,
        );
        s.push_str(extra);
        s.push('}');
        s
    }

    #[test]
    fn url_is_built_from_the_issuer() {
        assert_eq!(
            discovery_url("https://a/t1/"),
            "https://a/t1/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://a"),
            "https://a/.well-known/openid-configuration"
        );
    }

    #[test]
    fn parses_and_defaults() {
        let m = parse_metadata(ISS, 200, CT, &doc("")).unwrap();
        assert_eq!(m.token_endpoint, "https://idp.example.com/token");
        assert_eq!(m.id_token_signing_alg_values_supported, ["RS256"]);
        assert!(!m.authorization_response_iss_parameter_supported);
        let m = parse_metadata(
            ISS,
            200,
            CT,
            &doc(r#","id_token_signing_alg_values_supported":["ES256","RS256"],"authorization_response_iss_parameter_supported":true,"userinfo_endpoint":"https://idp.example.com/me""#),
        )
        .unwrap();
        assert_eq!(m.id_token_signing_alg_values_supported, ["ES256", "RS256"]);
        assert!(m.authorization_response_iss_parameter_supported);
        assert_eq!(
            m.userinfo_endpoint.as_deref(),
            Some("https://idp.example.com/me")
        );
    }

    #[test]
    fn rejections_have_distinct_codes() {
        let cases: Vec<(&str, u16, Option<&str>, String, &str)> = vec![
            (ISS, 404, CT, doc(""), "discovery_failed"),
            (ISS, 200, Some("text/html"), doc(""), "discovery_not_json"),
            (ISS, 200, CT, "<html>".into(), "discovery_not_json"),
            (
                "https://other.example.com",
                200,
                CT,
                doc(""),
                "discovery_issuer_mismatch",
            ),
            (
                "https://idp.example.com/",
                200,
                CT,
                doc(""),
                "discovery_issuer_mismatch",
            ),
            (ISS, 200, CT, "[]".into(), "discovery_invalid"),
            (
                ISS,
                200,
                CT,
                r#"{"issuer":"https://idp.example.com"}"#.into(),
                "discovery_invalid",
            ),
            (
                ISS,
                200,
                CT,
                doc(r#","userinfo_endpoint":5"#),
                "discovery_invalid",
            ),
            (
                ISS,
                200,
                CT,
                doc(r#","id_token_signing_alg_values_supported":"RS256""#),
                "discovery_invalid",
            ),
            (
                ISS,
                200,
                CT,
                doc(r#","authorization_response_iss_parameter_supported":"yes""#),
                "discovery_invalid",
            ),
            (
                ISS,
                200,
                CT,
                doc(r#","userinfo_endpoint":"http://idp.example.com/me""#),
                "insecure_endpoint",
            ),
        ];
        for (iss, status, ct, body, code) in cases {
            assert_eq!(
                parse_metadata(iss, status, ct, &body).unwrap_err().code(),
                code,
                "{body}"
            );
        }
        let insecure = r#"{"issuer":"https://idp.example.com","authorization_endpoint":"http://evil.example.com/auth","token_endpoint":"https://idp.example.com/token"}"#;
        assert_eq!(
            parse_metadata(ISS, 200, CT, insecure).unwrap_err(),
            Error::InsecureEndpoint("authorization_endpoint")
        );
        // The same checks for a document the app supplies itself (no silent downgrade).
        let m = parse_metadata(ISS, 200, CT, &doc("")).unwrap();
        assert!(check_metadata(&m, ISS, true).is_ok());
        let no_jwks = ProviderMetadata {
            jwks_uri: None,
            ..m.clone()
        };
        assert_eq!(
            check_metadata(&no_jwks, ISS, true).unwrap_err(),
            Error::DiscoveryInvalid("jwks_uri")
        );
        assert!(check_metadata(&no_jwks, ISS, false).is_ok());
        let http = ProviderMetadata {
            revocation_endpoint: Some("http://idp.example.com/revoke".into()),
            ..m.clone()
        };
        assert_eq!(
            check_metadata(&http, ISS, false).unwrap_err(),
            Error::InsecureEndpoint("revocation_endpoint")
        );
        assert_eq!(
            check_metadata(&m, "https://other", false).unwrap_err(),
            Error::DiscoveryIssuerMismatch
        );
        let loopback = r#"{"issuer":"http://127.0.0.1:9","authorization_endpoint":"http://127.0.0.1:9/auth","token_endpoint":"http://127.0.0.1:9/token"}"#;
        assert!(parse_metadata("http://127.0.0.1:9", 200, CT, loopback).is_ok());
    }
}
