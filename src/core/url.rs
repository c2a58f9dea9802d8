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

/// Whether two http(s) URLs are on the same site as browsers decide it for
/// cookies (scheme and registrable domain; the port does not count).
/// Without the public-suffix list the registrable domain is taken as the
/// last two labels, and an IP address or a one-label name (`localhost`)
/// must be equal: for `a.co.uk` against `b.co.uk` this says "same site",
/// which only ever makes [`Error::ThirdPartyCookiesBlocked`] a plain
/// `login_required`, never the reverse. Unparsable URLs are not the same site.
pub fn same_site(a: &str, b: &str) -> bool {
    // The site as bytes: ASCII work only (a reverse `str` split costs ~2 kB of wasm).
    fn site(url: &str) -> Option<(bool, String)> {
        let (https, host) = scheme_host(url)?;
        let b = host.as_bytes();
        let ip = b.first() == Some(&b'[') || b.iter().all(|c| c.is_ascii_digit() || *c == b'.');
        let b = b.strip_suffix(b".").unwrap_or(b);
        let dot = |s: &[u8]| s.iter().rposition(|c| *c == b'.');
        // The start of the last two labels: after the second-to-last dot.
        let start = match dot(b).and_then(|last| b.get(..last)).and_then(dot) {
            Some(d) if !ip => d + 1,
            _ => 0,
        };
        Some((https, String::from(host.get(start..b.len())?)))
    }
    matches!((site(a), site(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites() {
        for (a, b, same) in [
            ("http://127.0.0.1:8080/", "http://127.0.0.1:9000/auth", true),
            (
                "http://127.0.0.1:8080/",
                "http://localhost:9000/auth",
                false,
            ),
            ("http://localhost:1/", "http://localhost:2/", true),
            (
                "https://app.example.com/",
                "https://login.example.com/a",
                true,
            ),
            ("https://example.com/", "https://login.example.com/a", true),
            (
                "https://app.example.com/",
                "https://login.example.org/a",
                false,
            ),
            (
                "http://app.example.com/",
                "https://login.example.com/a",
                false,
            ),
            ("https://[::1]:1/", "https://[::1]:2/", true),
            ("https://10.0.0.1/", "https://10.0.0.2/", false),
            ("https://app.example.com/", "not a url", false),
        ] {
            assert_eq!(same_site(a, b), same, "{a} {b}");
        }
    }

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
