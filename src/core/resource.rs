//! Tokens for several APIs (RFC 8707): which API a request goes to, by URL
//! prefix, and the resource indicators the configuration names.

use super::config::opt_str;
use super::error::Error;
use super::json::Value;

/// Requests under `prefix` carry a token for `target` (RFC 8707).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRule {
    /// An origin (`https://api.example.com`) or a URL prefix (`https://example.com/api/`).
    pub prefix: String,
    /// The resource indicator and scope its tokens are asked for.
    pub target: crate::core::session::Target,
}

impl ResourceRule {
    /// Whether `url` is under this rule's prefix: the same origin, and the
    /// path at or below the prefix's (a prefix without a path is the origin).
    pub fn covers(&self, url: &str) -> bool {
        let Some(rest) = url.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        self.prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '?', '#'])
    }
}

/// The rule whose prefix covers `url`, the longest if several do.
pub fn resource_for<'a>(rules: &'a [ResourceRule], url: &str) -> Option<&'a ResourceRule> {
    rules
        .iter()
        .filter(|r| r.covers(url))
        .max_by_key(|r| r.prefix.len())
}

pub(crate) const RESOURCES: &str =
    "resources maps https URL prefixes to { resource: an absolute URI without a fragment, scope?: a string }";

/// RFC 8707 §2: an absolute URI (a scheme, then `:`) without a fragment.
pub(crate) fn is_resource_indicator(r: &str) -> bool {
    let scheme = r.split_once(':').map_or("", |(s, _)| s);
    !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !r.contains('#')
        && r.bytes().all(|b| b > b' ' && b != 0x7f)
}

pub(crate) fn resource_rule(prefix: &str, v: &Value) -> Result<ResourceRule, Error> {
    let resource = opt_str(v, "resource", RESOURCES)?.ok_or(Error::InvalidConfig(RESOURCES))?;
    let scope = opt_str(v, "scope", RESOURCES)?.unwrap_or_default();
    // RFC 8707 §2: absolute, no fragment. The prefix: where its tokens may go.
    if !is_resource_indicator(&resource) || !matches!(v, Value::Object(_)) {
        return Err(Error::InvalidConfig(RESOURCES));
    }
    crate::core::url::check_url(prefix, RESOURCES)?;
    if prefix.contains('\\') {
        return Err(Error::InvalidConfig(RESOURCES));
    }
    // The origin as browsers write it (lowercase, no default port), then the path as given.
    let origin = crate::core::url::origin(prefix).ok_or(Error::InvalidConfig(RESOURCES))?;
    let after = prefix.find("://").map_or(0, |i| i + 3);
    let path = prefix
        .get(after..)
        .and_then(|r| r.find(['/', '?']).and_then(|i| r.get(i..)))
        .unwrap_or("");
    let mut prefix = origin;
    prefix.push_str(path);
    Ok(ResourceRule {
        prefix,
        target: crate::core::session::Target { resource, scope },
    })
}
