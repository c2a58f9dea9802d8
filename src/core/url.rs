//! Just enough URL handling for the protocol, without a URL crate (size):
//! checking endpoints, and finding a URL's query and fragment.

use super::error::Error;

/// Splits `url` into (before-query, query, fragment). The query excludes `?`,
/// the fragment excludes `#`.
pub fn split(url: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    match rest.split_once('?') {
        Some((b, q)) => (b, Some(q), fragment),
        None => (rest, None, fragment),
    }
}

/// The host of an absolute `http(s)` URL, lowercased, brackets kept for IPv6,
/// and whether it is https. `None` if the URL is not absolute http(s), has
/// userinfo, or an empty host.
fn scheme_host(url: &str) -> Option<(bool, String)> {
    let lower = url.get(..8)?.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, url.get(8..)?)
    } else if lower.starts_with("http://") {
        (false, url.get(7..)?)
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    if authority.contains('@') {
        return None;
    }
    let host = if authority.starts_with('[') {
        authority.get(..=authority.find(']')?)?
    } else {
        authority.split(':').next()?
    };
    if host.is_empty() {
        return None;
    }
    Some((https, host.to_ascii_lowercase()))
}

/// True for `localhost`, `127.0.0.0/8` and `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" || host == "[::1]" {
        return true;
    }
    let mut parts = host.split('.');
    let first = parts.next();
    let rest: Vec<&str> = parts.collect();
    first == Some("127")
        && rest.len() == 3
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// An endpoint or redirect URI we are willing to use: absolute `https`, or
/// `http` on a loopback host only; no fragment (RFC 6749 §3.1, §3.1.2); no
/// whitespace or control characters; no userinfo.
pub fn check_url(url: &str, problem: &'static str) -> Result<(), Error> {
    let clean = !url.contains('#') && url.bytes().all(|b| b > b' ' && b != 0x7f);
    match scheme_host(url) {
        Some((https, host)) if clean && (https || is_loopback_host(&host)) => Ok(()),
        _ => Err(Error::InvalidConfig(problem)),
    }
}

/// The origin (`scheme://host[:port]`) of an absolute `http(s)` URL: scheme
/// and host lowercased, the default port dropped — the form browsers
/// serialise (`new URL(u).origin`) for ASCII hosts. `None` for anything
/// else, userinfo included.
pub fn origin(url: &str) -> Option<String> {
    let (https, _) = scheme_host(url)?;
    let rest = url.get(if https { 8 } else { 7 }..)?;
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let lower = rest.get(..end)?.to_ascii_lowercase();
    let default = if https { ":443" } else { ":80" };
    let authority = lower.strip_suffix(default).unwrap_or(&lower);
    let authority = authority.strip_suffix(':').unwrap_or(authority);
    let mut o = String::from(if https { "https://" } else { "http://" });
    o.push_str(authority);
    Some(o)
}

/// `value` (an origin, an absolute URL, or a path on this page's origin) as an origin.
pub fn origin_against(value: &str, page_origin: Option<&str>) -> Option<String> {
    if value.starts_with('/') && !value.starts_with("//") {
        return page_origin.map(String::from);
    }
    origin(value)
}

/// True for an absolute `http:` or `https:` URL (never `javascript:`, `data:`…).
pub fn is_http_url(url: &str) -> bool {
    scheme_host(url).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_query_and_fragment() {
        assert_eq!(
            split("https://a/b?c=1#d"),
            ("https://a/b", Some("c=1"), Some("d"))
        );
        assert_eq!(split("https://a/b#d?x"), ("https://a/b", None, Some("d?x")));
        assert_eq!(split("https://a/b"), ("https://a/b", None, None));
    }

    #[test]
    fn origins() {
        for (url, want) in [
            (
                "https://API.example.com/x?y#z",
                Some("https://api.example.com"),
            ),
            (
                "https://api.example.com:443/",
                Some("https://api.example.com"),
            ),
            ("http://127.0.0.1:80/a", Some("http://127.0.0.1")),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("https://[::1]:8443/a", Some("https://[::1]:8443")),
            ("https://u:p@api.example.com/", None),
            ("javascript:alert(1)", None),
            ("/relative", None),
        ] {
            assert_eq!(origin(url).as_deref(), want, "{url}");
        }
        assert_eq!(
            origin_against("/api", Some("https://app")).as_deref(),
            Some("https://app")
        );
        assert!(origin_against("//evil.example/x", Some("https://app")).is_none());
        assert!(is_http_url("HTTPS://a/b") && !is_http_url("data:text/html,x"));
    }

    #[test]
    fn endpoint_rules() {
        for ok in [
            "https://idp.example.com/authorize",
            "https://idp.example.com:8443/a?x=1",
            "http://127.0.0.1:3000/token",
            "http://localhost/cb",
            "http://[::1]:8080/cb",
            "HTTPS://IDP.EXAMPLE.COM/",
        ] {
            assert!(check_url(ok, "x").is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.com/authorize",
            "http://127.0.0.1.evil.com/",
            "https://idp.example.com/a#frag",
            "ftp://idp.example.com/",
            "/relative",
            "https://user@idp.example.com/",
            "https:///path",
            "https://idp.example.com/a b",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(check_url(bad, "x"), Err(Error::InvalidConfig("x")), "{bad}");
        }
    }
}
