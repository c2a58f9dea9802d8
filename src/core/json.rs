//! A strict, small JSON parser (RFC 8259) for token, discovery and JWT bodies.
//!
//! Why not serde_json: it costs tens of kB of wasm. This one keeps numbers as
//! their source text (converted on demand, integers only), rejects duplicate
//! object keys (a classic JWT-claims confusion), and caps nesting depth.

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as its validated source text.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in source order, keys unique.
    Object(Vec<(String, Value)>),
}

const MAX_DEPTH: usize = 32;

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative integer number (a fraction is truncated; exponents and
    /// negative numbers give `None`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => {
                let int = n.split('.').next().unwrap_or("");
                super::encoding::parse_u64(int)
            }
            _ => None,
        }
    }
}

impl Value {
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Compact JSON text of this value (numbers as their source text).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => push_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                let b = c as u8;
                for n in [b >> 4, b & 15] {
                    out.push(char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 }));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses a complete JSON text. `None` on any syntax error, trailing data,
/// duplicate key or excessive depth.
pub fn parse(text: &str) -> Option<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i == p.s.len() {
        Some(v)
    } else {
        None
    }
}

/// True when two members share a key. Small objects are scanned; large
/// ones sorted (a heapsort: O(n log n) whatever the keys, and no sort
/// machinery linked in), so an object of 30 000 keys costs milliseconds.
fn has_duplicate_keys(members: &[(String, Value)]) -> bool {
    let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    if keys.len() <= 16 {
        return keys
            .iter()
            .enumerate()
            .any(|(i, k)| keys.get(..i).is_some_and(|before| before.contains(k)));
    }
    heapsort(&mut keys);
    keys.windows(2).any(|w| matches!(w, [a, b] if a == b))
}

fn heapsort(a: &mut [&str]) {
    let n = a.len();
    for start in (0..n / 2).rev() {
        sift_down(a, start, n);
    }
    for end in (1..n).rev() {
        a.swap(0, end);
        sift_down(a, 0, end);
    }
}

fn sift_down(a: &mut [&str], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && a.get(child) < a.get(child + 1) {
            child += 1;
        }
        if a.get(root) >= a.get(child) {
            return;
        }
        a.swap(root, child);
        root = child;
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i.checked_add(lit.len())?;
        if self.s.get(self.i..end)? == lit {
            self.i = end;
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'n' => self.eat(b"null").map(|_| Value::Null),
            b't' => self.eat(b"true").map(|_| Value::Bool(true)),
            b'f' => self.eat(b"false").map(|_| Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.bump()? {
                        b',' => continue,
                        b']' => return Some(Value::Array(items)),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut members: Vec<(String, Value)> = Vec::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(Value::Object(members));
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.bump()? != b':' {
                        return None;
                    }
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.bump()? {
                        b',' => continue,
                        b'}' if has_duplicate_keys(&members) => return None,
                        b'}' => return Some(Value::Object(members)),
                        _ => return None,
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else if self.digits() == 0 {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = core::str::from_utf8(self.s.get(start..self.i)?).ok()?;
        Some(Value::Number(String::from(text)))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = char::from(self.bump()?).to_digit(16)?;
            n = n << 4 | d;
        }
        Some(n)
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let b = self.bump()?;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let c = match self.bump()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.eat(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return None,
                _ => out.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_token_response() {
        let v = parse(
            r#" {"access_token":"a\u00e9\"b","expires_in":3600,"x":[1,-2.5e3,true,null,{}]} "#,
        )
        .unwrap();
        assert_eq!(v.get("access_token").and_then(Value::as_str), Some("aé\"b"));
        assert_eq!(v.get("expires_in").and_then(Value::as_u64), Some(3600));
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn surrogate_pairs_decode() {
        let v = parse(r#""\ud83d\ude00""#).unwrap();
        assert_eq!(v.as_str(), Some("😀"));
        assert_eq!(parse(r#""\ud83d""#), None);
        assert_eq!(parse(r#""\ude00""#), None);
    }

    #[test]
    fn rejects_what_strict_json_rejects() {
        for bad in [
            "",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "\"\\x\"",
            "\"a\nb\"",
            "{\"a\":1}x",
            "{'a':1}",
            "{\"a\" 1}",
            "nul",
            "tru",
            "[1 2]",
            "{\"a\":1,\"a\":2}",
            "\"\u{1}\"",
        ] {
            assert_eq!(parse(bad), None, "accepted {bad:?}");
        }
    }

    #[test]
    fn depth_is_capped() {
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert_eq!(parse(&deep), None);
        let ok = "[".repeat(10) + &"]".repeat(10);
        assert!(parse(&ok).is_some());
    }

    #[test]
    fn integers_only_for_u64() {
        assert_eq!(parse("-1").unwrap().as_u64(), None);
        assert_eq!(parse("1e3").unwrap().as_u64(), None);
        assert_eq!(parse("12.9").unwrap().as_u64(), Some(12));
        assert_eq!(parse("\"3600\"").unwrap().as_u64(), None);
    }

    /// A hostile object: 30 000 distinct keys in 240 kB (and the same with a
    /// duplicate at the end). The duplicate check is O(n log n): milliseconds.
    #[test]
    fn many_keys_parse_fast_and_a_late_duplicate_is_found() {
        const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let key = |i: usize| -> String {
            [i / 1296, i / 36 % 36, i % 36]
                .iter()
                .map(|&d| char::from(DIGITS[d]))
                .collect()
        };
        let mut text = String::from("{");
        for i in 0..30_000 {
            text.push_str(&format!("\"{}\":0,", key(i)));
        }
        let unique = format!("{}\"last\":1}}", text);
        let dup = format!("{}\"{}\":1}}", text, key(12_345));
        assert!(unique.len() <= 256 * 1024, "{}", unique.len());
        let t = std::time::Instant::now();
        let v = parse(&unique).expect("30 000 distinct keys parse");
        assert!(matches!(&v, Value::Object(m) if m.len() == 30_001));
        assert_eq!(parse(&dup), None, "the duplicate is found");
        let ms = t.elapsed().as_millis();
        eprintln!("30 000-key object, parsed twice: {ms} ms");
        assert!(ms < 2_000, "{ms} ms");
    }

    #[test]
    fn the_sorted_duplicate_check_agrees_with_a_scan() {
        for n in [2usize, 16, 17, 18, 31, 64] {
            let keys: Vec<String> = (0..n).map(|i| format!("k{}", (i * 7919) % 1009)).collect();
            let obj = |ks: &[String]| {
                let body: Vec<String> = ks.iter().map(|k| format!("\"{k}\":0")).collect();
                format!("{{{}}}", body.join(","))
            };
            assert!(parse(&obj(&keys)).is_some(), "{n} distinct");
            for (a, b) in [(0, n - 1), (n / 2, 0), (n - 1, n / 2)] {
                let mut with = keys.clone();
                with[b] = keys[a].clone();
                let dup = a != b;
                assert_eq!(parse(&obj(&with)).is_none(), dup, "{n}: {a}->{b}");
            }
        }
    }
}
