//! `WWW-Authenticate` (RFC 9110 §11.6.1), parsed once for Bearer (RFC 6750
//! §3) and DPoP (RFC 9449 §7.1) alike:
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! Schemes and parameter names are case-insensitive; values are kept as
//! sent (a quoted string unescaped). A parameter's words are never searched:
//! `use_dpop_nonce` in an `error_description` is not an `error`.

/// One challenge: its scheme (lowercase) and parameters (names lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme, lowercased (`bearer`, `dpop`, …).
    pub scheme: String,
    /// The auth-params in order, names lowercased.
    pub params: Vec<(String, String)>,
    /// A token68 instead of parameters (e.g. `Basic` credentials).
    pub token68: Option<String>,
}

impl Challenge {
    /// The first value of parameter `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// Whitespace and the commas of an (empty-element tolerant) list.
    fn separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    // Tokens are ASCII, so their ends are char boundaries.
    fn text(&self, from: usize) -> String {
        String::from(self.s.get(from..self.i).unwrap_or_default())
    }

    fn token(&mut self) -> Option<String> {
        let from = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > from).then(|| self.text(from))
    }

    /// A token68, only when the challenge ends right after it.
    fn token68(&mut self) -> Option<String> {
        let from = self.i;
        while self.peek().is_some_and(is_token68_char) {
            self.i += 1;
        }
        let chars = self.i;
        while self.peek() == Some(b'=') {
            self.i += 1;
        }
        let end = self.i;
        self.ws();
        if chars > from && matches!(self.peek(), None | Some(b',')) {
            self.i = end;
            return Some(self.text(from));
        }
        self.i = from;
        None
    }

    fn quoted(&mut self) -> Option<String> {
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    // Only ASCII backslashes were taken out: still UTF-8.
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    self.i += 1;
                    out.push(self.peek()?);
                }
                b => out.push(b),
            }
            self.i += 1;
        }
    }
}

/// Every challenge in a `WWW-Authenticate` value, in order. Parsing stops
/// at the first syntax error (what came before it is kept).
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut c = Cursor {
        s: header,
        b: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        c.separators();
        let Some(scheme) = c.token() else {
            return out;
        };
        let mut ch = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
            token68: None,
        };
        c.ws();
        ch.token68 = c.token68();
        if ch.token68.is_none() {
            loop {
                let before = c.i;
                c.separators();
                let Some(name) = c.token() else {
                    c.i = before;
                    break;
                };
                c.ws();
                if c.peek() != Some(b'=') {
                    // Not a parameter: the next challenge's scheme.
                    c.i = before;
                    break;
                }
                c.i += 1;
                c.ws();
                let value = match c.peek() {
                    Some(b'"') => c.quoted(),
                    _ => c.token(),
                };
                let Some(value) = value else {
                    return out;
                };
                ch.params.push((name.to_ascii_lowercase(), value));
            }
        }
        out.push(ch);
    }
}

/// The `error` of the first challenge with one of `schemes` (lowercase).
pub fn challenge_error(header: &str, schemes: &[&str]) -> Option<String> {
    parse_challenges(header)
        .into_iter()
        .filter(|c| schemes.contains(&c.scheme.as_str()))
        .find_map(|c| c.param("error").map(String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: &str) -> (String, String) {
        (name.into(), value.into())
    }

    #[test]
    fn parses_rfc_9110_challenges() {
        let all = parse_challenges(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", DPoP algs="ES256 PS256", error="use_dpop_nonce", Basic dXNlcjpwYXNz=="#,
        );
        let schemes: Vec<&str> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["newauth", "basic", "dpop", "basic"]);
        assert_eq!(
            all[0].params,
            [
                p("realm", "apps"),
                p("type", "1"),
                p("title", r#"Login to "apps""#)
            ]
        );
        assert_eq!(all[2].param("error"), Some("use_dpop_nonce"));
        assert_eq!(all[3].token68.as_deref(), Some("dXNlcjpwYXNz=="));
        // Case-insensitive scheme and names, BWS around "=", empty list elements.
        let c = parse_challenges(r#" ,  BEARER  Error = "invalid_token" ,, Realm=api"#);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert_eq!(c[0].param("realm"), Some("api"));
        // A bare scheme, and a scheme followed by another.
        let c = parse_challenges("Bearer, DPoP algs=ES256");
        assert_eq!(c.len(), 2);
        assert!(c[0].params.is_empty());
        // A syntax error stops the parse; what came before stays.
        let c = parse_challenges(r#"Bearer error="invalid_token", DPoP error="unterminated"#);
        assert_eq!(c.len(), 1);
        assert!(parse_challenges("").is_empty());
        assert!(parse_challenges("=x").is_empty());
    }

    #[test]
    fn an_error_is_a_parameter_never_a_word_in_another() {
        let h = r#"DPoP error="invalid_token", error_description="use_dpop_nonce is not it""#;
        assert_eq!(
            challenge_error(h, &["dpop"]).as_deref(),
            Some("invalid_token")
        );
        let h = r#"DPoP error_description="error=\"use_dpop_nonce\"""#;
        assert_eq!(challenge_error(h, &["dpop"]), None);
        let h = r#"Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce""#;
        assert_eq!(
            challenge_error(h, &["dpop"]).as_deref(),
            Some("use_dpop_nonce")
        );
        assert_eq!(challenge_error(h, &["bearer"]), None);
        // Another scheme's error does not count.
        assert_eq!(
            challenge_error(r#"Basic error="use_dpop_nonce""#, &["dpop"]),
            None
        );
    }
}
