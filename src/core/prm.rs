//! Protected resource metadata (RFC 9728): an API that answers 401 with a
//! `resource_metadata` URL in its `WWW-Authenticate` challenge says where
//! to read which resource it is and which authorization servers it trusts.
//! Checked before any token goes to it: the document's `resource` is the
//! request's origin and a path prefix of the request (RFC 9728 §3.3 asks for
//! the request URL itself; a prefix, as draft-mcguinness-oauth-rfc9728bis
//! and the MCP SDKs allow, lets one document serve an API's paths), https or
//! loopback only, and this client's issuer among its `authorization_servers`.

use super::challenge::parse_challenges;
use super::config::ResourceRule;
use super::error::Error;
use super::json::{self, Value};
use super::session::Target;
use super::url::{check_url, origin};

/// The largest metadata document read.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The `resource_metadata` URL of a `Bearer` or `DPoP` challenge, if any.
pub fn resource_metadata_url(www_authenticate: &str) -> Option<String> {
    parse_challenges(www_authenticate)
        .into_iter()
        .filter(|c| c.scheme == "bearer" || c.scheme == "dpop")
        .find_map(|c| c.param("resource_metadata").map(String::from))
}

/// The metadata answer for a request to `request_url`, checked: the rule
/// under which this API's requests get their own tokens.
pub fn parse_resource_metadata(
    status: u16,
    body: &str,
    request_url: &str,
    issuer: &str,
) -> Result<ResourceRule, Error> {
    use Error::ResourceMetadataInvalid as Bad;
    if !(200..300).contains(&status) {
        return Err(Bad("the metadata document could not be fetched"));
    }
    if body.len() > MAX_METADATA_BYTES {
        return Err(Error::ResponseTooLarge);
    }
    let doc = json::parse(body)
        .filter(|d| matches!(d, Value::Object(_)))
        .ok_or(Bad("the metadata document is not a JSON object"))?;
    let resource = doc
        .get("resource")
        .and_then(Value::as_str)
        .ok_or(Bad("the metadata document has no resource"))?;
    check_url(resource, "").map_err(|_| Bad("its resource is not an https URL"))?;
    let rule = ResourceRule {
        prefix: origin(resource).map_or_else(String::new, |o| {
            // The origin as browsers write it, then the path as given.
            let after = resource.find("://").map_or(0, |i| i + 3);
            let rest = resource.get(after..).unwrap_or("");
            o + rest
                .find(['/', '?'])
                .and_then(|i| rest.get(i..))
                .unwrap_or("")
        }),
        target: Target {
            resource: String::from(resource),
            scope: String::new(),
        },
    };
    if origin(resource) != origin(request_url) || !rule.covers(request_url) {
        return Err(Bad("its resource is not the API that was called"));
    }
    let trusted = match doc.get("authorization_servers") {
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(issuer)),
        _ => false,
    };
    if !trusted || issuer.is_empty() {
        return Err(Bad(
            "it does not name this client's issuer among its authorization_servers",
        ));
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://idp.example.com";

    fn doc(resource: &str, servers: &str) -> String {
        format!(r#"{{"resource":"{resource}","authorization_servers":{servers}}}"#)
    }

    #[test]
    fn metadata_is_checked_against_the_request_and_the_issuer() {
        let url = "https://api.example.com/v1/items?x=1";
        let ok = parse_resource_metadata(
            200,
            &doc(
                "https://api.example.com/v1",
                r#"["https://other","https://idp.example.com"]"#,
            ),
            url,
            ISS,
        )
        .unwrap();
        assert_eq!(ok.target.resource, "https://api.example.com/v1");
        assert!(ok.covers("https://api.example.com/v1/other"));
        assert!(!ok.covers("https://api.example.com/v2"));
        assert!(parse_resource_metadata(
            200,
            &doc("https://api.example.com", r#"["https://idp.example.com"]"#),
            url,
            ISS
        )
        .is_ok());
        for (status, body) in [
            (
                200,
                doc("https://api.example.com/v1", r#"["https://evil.example"]"#),
            ),
            (
                200,
                doc(
                    "https://api.example.com/v2",
                    r#"["https://idp.example.com"]"#,
                ),
            ),
            (
                200,
                doc(
                    "https://other.example.com/v1",
                    r#"["https://idp.example.com"]"#,
                ),
            ),
            (
                200,
                doc(
                    "http://api.example.com/v1",
                    r#"["https://idp.example.com"]"#,
                ),
            ),
            (
                200,
                doc(
                    "https://api.example.com/v1#f",
                    r#"["https://idp.example.com"]"#,
                ),
            ),
            (
                200,
                r#"{"authorization_servers":["https://idp.example.com"]}"#.into(),
            ),
            (
                200,
                doc("https://api.example.com/v1", r#""https://idp.example.com""#),
            ),
            (200, "[]".into()),
            (
                404,
                doc(
                    "https://api.example.com/v1",
                    r#"["https://idp.example.com"]"#,
                ),
            ),
        ] {
            assert!(
                matches!(
                    parse_resource_metadata(status, &body, url, ISS),
                    Err(Error::ResourceMetadataInvalid(_))
                ),
                "{body}"
            );
        }
        let big = format!(
            r#"{{"resource":"https://api.example.com","x":"{}"}}"#,
            "a".repeat(MAX_METADATA_BYTES)
        );
        assert_eq!(
            parse_resource_metadata(200, &big, url, ISS).unwrap_err(),
            Error::ResponseTooLarge
        );
        assert_eq!(
            resource_metadata_url(r#"Bearer error="invalid_token", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#).as_deref(),
            Some("https://api.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            resource_metadata_url(r#"Basic resource_metadata="https://x""#),
            None
        );
    }
}
