//! base64url (RFC 4648 §5, no padding: the `base64` crate, strict),
//! percent-encoding (RFC 3986 / `application/x-www-form-urlencoded`), and
//! decimal integers — the last two by hand, so that no `core::fmt` reaches
//! the wasm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// base64url without padding (RFC 4648 §5), with the `base64` crate.
/// Through `encode_slice`: `Engine::encode` ends in an `expect` on a
/// `FromUtf8Error`, which links Debug formatting (~2 kB of wasm).
pub fn b64url(bytes: &[u8]) -> String {
    let mut buf = vec![0; bytes.len().div_ceil(3) * 4];
    let n = URL_SAFE_NO_PAD.encode_slice(bytes, &mut buf).unwrap_or(0);
    buf.truncate(n);
    String::from_utf8(buf).unwrap_or_default()
}

/// Decodes base64url without padding; `None` on any invalid input: other
/// alphabets, padding, an impossible length, or non-zero trailing bits
/// (so every value has exactly one encoding).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'A' + n - 10 })
}

/// RFC 3986 unreserved characters.
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `s` percent-encoded: every byte but the unreserved set becomes `%XX`
/// (space too, as `%20`, which both form and URI decoders read back as a space).
pub fn encode_into(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 15));
        }
    }
}

/// Builds `a=1&b=2` strings: a query or an `application/x-www-form-urlencoded` body.
#[derive(Default)]
pub struct FormBuilder {
    out: String,
}

impl FormBuilder {
    /// Starts from an existing encoded string (e.g. the endpoint's own query).
    pub fn from_encoded(existing: &str) -> Self {
        Self {
            out: String::from(existing),
        }
    }

    /// Appends one pair, encoding both sides.
    pub fn pair(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.out.is_empty() {
            self.out.push('&');
        }
        encode_into(&mut self.out, key);
        self.out.push('=');
        encode_into(&mut self.out, value);
        self
    }

    /// The encoded string.
    pub fn finish(self) -> String {
        self.out
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one form-urlencoded component (`+` is a space). `None` on a broken
/// `%` escape or invalid UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_val(*bytes.get(i + 1)?)?;
                let lo = hex_val(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Splits and decodes `a=1&b=2` into pairs, in order, duplicates kept.
/// Empty segments (`a=1&&b=2`) are skipped; a key without `=` has an empty value.
pub fn parse_pairs(s: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for seg in s.split('&') {
        if seg.is_empty() {
            continue;
        }
        let (k, v) = match seg.find('=') {
            Some(i) => (seg.get(..i)?, seg.get(i + 1..)?),
            None => (seg, ""),
        };
        pairs.push((decode(k)?, decode(v)?));
    }
    Some(pairs)
}

/// The value of the first pair named `key` (out of line: it is called from
/// many places, and inlined copies cost more than the call).
#[inline(never)]
pub fn field(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(n, _)| n == key).map(|(_, v)| v.clone())
}

/// Every value of `key`, in order (a repeated parameter).
pub fn fields(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(n, _)| n == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Appends a `u64` in decimal.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &b in buf.get(i..).unwrap_or(&[]) {
        out.push(b as char);
    }
}

/// Parses a plain non-negative decimal integer (no sign, no exponent, ≤ u64::MAX).
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// The byte offset of the first `needle` in `hay`. `str::find`/`contains`
/// with a string pattern would link core's two-way searcher, whose panic path
/// pulls in `core::fmt` (about 6 kB of wasm); the inputs here are short.
pub fn find_str(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    if n.is_empty() {
        return Some(0);
    }
    hay.as_bytes().windows(n.len()).position(|w| w == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_str_matches_str_find() {
        for (hay, needle) in [
            ("https://a/b", "://"),
            ("abc", ""),
            ("", "a"),
            ("aaab", "aab"),
            ("dpop error=\"use_dpop_nonce\"", "use_dpop_nonce"),
            ("x", "xy"),
            ("é://ü", "://"),
        ] {
            assert_eq!(
                find_str(hay, needle),
                hay.find(needle),
                "{hay:?} {needle:?}"
            );
        }
    }

    #[test]
    fn encodes_spaces_unicode_and_reserved() {
        let mut s = String::new();
        encode_into(&mut s, "a b&c=d/é?#+%~._-");
        assert_eq!(s, "a%20b%26c%3Dd%2F%C3%A9%3F%23%2B%25~._-");
        assert_eq!(decode(&s).as_deref(), Some("a b&c=d/é?#+%~._-"));
    }

    #[test]
    fn decode_rejects_broken_escapes_and_bad_utf8() {
        assert_eq!(decode("a+b").as_deref(), Some("a b"));
        assert_eq!(decode("%"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%C3"), None);
        assert_eq!(decode("%C3%A9").as_deref(), Some("é"));
    }

    #[test]
    fn parses_pairs_keeping_duplicates() {
        let p = parse_pairs("a=1&&b&a=2&c=x%3Dy").unwrap();
        assert_eq!(
            p,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("a".into(), "2".into()),
                ("c".into(), "x=y".into())
            ]
        );
    }

    #[test]
    fn decimal_round_trip() {
        for n in [0u64, 7, 10, 3600, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
            assert_eq!(parse_u64(&s), Some(n));
        }
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("1e3"), None);
        assert_eq!(parse_u64("18446744073709551616"), None);
    }

    #[test]
    fn b64url_round_trip() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("-_8="), None);
        assert_eq!(b64url_decode("+/8"), None);
        // RFC 4648 §10 vectors (base64url alphabet, no padding)
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64url(plain.as_bytes()), enc);
            assert_eq!(b64url_decode(enc).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(b64url_decode("Z"), None, "impossible length");
        assert_eq!(b64url_decode("Zh"), None, "non-zero trailing bits");
        assert_eq!(b64url_decode("Zm9"), None, "non-zero trailing bits");
        assert_eq!(b64url_decode("Zm 9"), None);
    }
}
