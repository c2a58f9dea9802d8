//! ID token validation (OIDC Core §3.1.3.7): JWS compact parsing (RFC 7515),
//! the algorithm allow-list, JWKS key selection (RFC 7517), and the claims.
//! The signature itself is checked by the host (SubtleCrypto in the browser)
//! with the parameters [`Alg::verify_params`] gives.

use super::encoding::b64url_decode;
use super::error::Error;
use super::json::{self, Value};
use super::token::{is_json_content_type, MAX_BODY_BYTES};
use crate::core::secret::redact;

/// Signature algorithms pkce-wasm verifies (all through WebCrypto).
/// `none` and every HMAC algorithm are refused: a public client has no shared
/// secret, and accepting `HS256` keyed with a public key is a classic forgery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512
    RS512,
    /// RSASSA-PSS with SHA-256
    PS256,
    /// RSASSA-PSS with SHA-384
    PS384,
    /// RSASSA-PSS with SHA-512
    PS512,
    /// ECDSA P-256 with SHA-256
    ES256,
    /// ECDSA P-384 with SHA-384
    ES384,
    /// ECDSA P-521 with SHA-512
    ES512,
    /// Ed25519
    EdDSA,
}

/// WebCrypto parameters for importing a key and verifying with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyParams {
    /// Algorithm `name`: `RSASSA-PKCS1-v1_5`, `RSA-PSS`, `ECDSA`, `Ed25519`.
    pub name: &'static str,
    /// `hash` (import for RSA, verify for ECDSA).
    pub hash: Option<&'static str>,
    /// `namedCurve` for ECDSA.
    pub named_curve: Option<&'static str>,
    /// `saltLength` for RSA-PSS (the hash length, RFC 7518 §3.5).
    pub salt_length: Option<u32>,
}

/// Every supported algorithm.
pub const ALL_ALGS: [Alg; 10] = [
    Alg::RS256,
    Alg::RS384,
    Alg::RS512,
    Alg::PS256,
    Alg::PS384,
    Alg::PS512,
    Alg::ES256,
    Alg::ES384,
    Alg::ES512,
    Alg::EdDSA,
];

impl Alg {
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// A supported algorithm by JOSE name; `None` for `none`, HMAC and unknown names.
    pub fn parse(name: &str) -> Option<Alg> {
        ALL_ALGS.into_iter().find(|a| a.name() == name)
    }

    /// The JWK `kty` and, for curves, `crv` a key must have.
    pub fn key_type(self) -> (&'static str, Option<&'static str>) {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                ("RSA", None)
            }
            Alg::ES256 => ("EC", Some("P-256")),
            Alg::ES384 => ("EC", Some("P-384")),
            Alg::ES512 => ("EC", Some("P-521")),
            Alg::EdDSA => ("OKP", Some("Ed25519")),
        }
    }

    /// WebCrypto import/verify parameters.
    pub fn verify_params(self) -> VerifyParams {
        let (name, hash, named_curve, salt_length) = match self {
            Alg::RS256 => ("RSASSA-PKCS1-v1_5", Some("SHA-256"), None, None),
            Alg::RS384 => ("RSASSA-PKCS1-v1_5", Some("SHA-384"), None, None),
            Alg::RS512 => ("RSASSA-PKCS1-v1_5", Some("SHA-512"), None, None),
            Alg::PS256 => ("RSA-PSS", Some("SHA-256"), None, Some(32)),
            Alg::PS384 => ("RSA-PSS", Some("SHA-384"), None, Some(48)),
            Alg::PS512 => ("RSA-PSS", Some("SHA-512"), None, Some(64)),
            Alg::ES256 => ("ECDSA", Some("SHA-256"), Some("P-256"), None),
            Alg::ES384 => ("ECDSA", Some("SHA-384"), Some("P-384"), None),
            Alg::ES512 => ("ECDSA", Some("SHA-512"), Some("P-521"), None),
            Alg::EdDSA => ("Ed25519", None, None, None),
        };
        VerifyParams {
            name,
            hash,
            named_curve,
            salt_length,
        }
    }
}

/// The provider's advertised algorithms intersected with the supported ones.
pub fn allowed_algs(advertised: &[String]) -> Vec<Alg> {
    advertised.iter().filter_map(|a| Alg::parse(a)).collect()
}

/// A parsed (not yet verified) compact JWS. `Debug` shows the header only.
pub struct Jws {
    /// The header's `alg`, already checked against the allow-list.
    pub alg: Alg,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The payload, parsed.
    pub payload: Value,
    /// The payload as JSON text.
    pub payload_json: String,
}

impl core::fmt::Debug for Jws {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Jws")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn segment_json(seg: &str) -> Result<(Value, String), Error> {
    let bytes = b64url_decode(seg).ok_or(Error::IdTokenInvalidBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::IdTokenInvalidJson)?;
    let v = json::parse(&text).ok_or(Error::IdTokenInvalidJson)?;
    if !matches!(v, Value::Object(_)) {
        return Err(Error::IdTokenInvalidJson);
    }
    Ok((v, text))
}

/// Parses a compact JWS and checks its `alg` against `allowed`.
pub fn parse_jws(token: &str, allowed: &[Alg]) -> Result<Jws, Error> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::IdTokenMalformed);
    };
    if h.is_empty() || p.is_empty() {
        return Err(Error::IdTokenMalformed);
    }
    let (header, _) = segment_json(h)?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Error::IdTokenMalformed)?;
    if header.get("crit").is_some() {
        // No JWS extension is understood, so none may be critical (RFC 7515 §4.1.11).
        return Err(Error::IdTokenMalformed);
    }
    let alg = Alg::parse(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or(Error::IdTokenAlgNotAllowed)?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(Error::IdTokenMalformed),
    };
    let (payload, payload_json) = segment_json(p)?;
    let signature = b64url_decode(s).ok_or(Error::IdTokenInvalidBase64)?;
    if signature.is_empty() {
        return Err(Error::IdTokenSignatureInvalid);
    }
    let mut signing_input = String::with_capacity(h.len() + p.len() + 1);
    signing_input.push_str(h);
    signing_input.push('.');
    signing_input.push_str(p);
    Ok(Jws {
        alg,
        kid,
        signing_input,
        signature,
        payload,
        payload_json,
    })
}

/// A public JWK (only the public members are kept).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jwk {
    /// `kty`
    pub kty: String,
    /// `kid`
    pub kid: Option<String>,
    /// `alg`
    pub alg: Option<String>,
    /// `use`
    pub use_: Option<String>,
    /// `crv`
    pub crv: Option<String>,
    /// RSA modulus.
    pub n: Option<String>,
    /// RSA exponent.
    pub e: Option<String>,
    /// EC / OKP x.
    pub x: Option<String>,
    /// EC y.
    pub y: Option<String>,
}

impl Jwk {
    /// The (name, value) members to import: only public key material.
    pub fn public_members(&self) -> Vec<(&'static str, &str)> {
        let mut m = vec![("kty", self.kty.as_str())];
        for (k, v) in [
            ("crv", &self.crv),
            ("n", &self.n),
            ("e", &self.e),
            ("x", &self.x),
            ("y", &self.y),
        ] {
            if let Some(v) = v {
                m.push((k, v.as_str()));
            }
        }
        m
    }

    fn complete(&self) -> bool {
        match self.kty.as_str() {
            "RSA" => self.n.is_some() && self.e.is_some(),
            "EC" => self.crv.is_some() && self.x.is_some() && self.y.is_some(),
            "OKP" => self.crv.is_some() && self.x.is_some(),
            _ => false,
        }
    }
}

/// Parses a JWKS response; keys of unknown types or with wrong member types are skipped.
pub fn parse_jwks(status: u16, content_type: Option<&str>, body: &str) -> Result<Vec<Jwk>, Error> {
    if !(200..300).contains(&status) || body.len() > MAX_BODY_BYTES {
        return Err(Error::JwksInvalid);
    }
    let ct_ok = is_json_content_type(content_type)
        || content_type.is_some_and(|c| {
            c.to_ascii_lowercase()
                .starts_with("application/jwk-set+json")
        });
    if !ct_ok {
        return Err(Error::JwksInvalid);
    }
    let doc = json::parse(body).ok_or(Error::JwksInvalid)?;
    let Some(Value::Array(keys)) = doc.get("keys") else {
        return Err(Error::JwksInvalid);
    };
    let s = |k: &Value, name: &str| k.get(name).and_then(Value::as_str).map(String::from);
    Ok(keys
        .iter()
        .filter_map(|k| {
            let jwk = Jwk {
                kty: s(k, "kty")?,
                kid: s(k, "kid"),
                alg: s(k, "alg"),
                use_: s(k, "use"),
                crv: s(k, "crv"),
                n: s(k, "n"),
                e: s(k, "e"),
                x: s(k, "x"),
                y: s(k, "y"),
            };
            jwk.complete().then_some(jwk)
        })
        .collect())
}

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3, §3.5).
pub const MIN_RSA_BITS: usize = 2048;

/// The size in bits of a base64url big-endian modulus (leading zero bytes
/// do not count), or `None` when it is not base64url.
pub fn rsa_modulus_bits(n: &str) -> Option<usize> {
    let bytes = crate::core::encoding::b64url_decode(n)?;
    let mut digits = bytes.iter().skip_while(|b| **b == 0);
    let first = *digits.next()?;
    let rest = digits.count();
    Some(rest * 8 + (8 - first.leading_zeros() as usize))
}

/// Picks the one key that may verify a JWS with `alg` and `kid`: matching
/// `kid` (when the header has one), `kty`/`crv` (EC keys only on the curve
/// the `alg` names), `use` absent or `sig`, `alg` absent or equal, and an RSA
/// modulus of at least 2048 bits. None → `jwks_key_not_found`; only weak RSA
/// keys → `jwks_key_weak`; several → `jwks_key_ambiguous`.
pub fn select_key<'a>(keys: &'a [Jwk], alg: Alg, kid: Option<&str>) -> Result<&'a Jwk, Error> {
    let (kty, crv) = alg.key_type();
    let matching = |k: &&Jwk| {
        (kid.is_none() || k.kid.as_deref() == kid)
            && k.kty == kty
            && (crv.is_none() || k.crv.as_deref() == crv)
            && k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == alg.name())
    };
    let strong = |k: &&Jwk| {
        k.kty != "RSA"
            || k.n
                .as_deref()
                .and_then(rsa_modulus_bits)
                .is_some_and(|bits| bits >= MIN_RSA_BITS)
    };
    let mut found = keys.iter().filter(matching).filter(strong);
    match (found.next(), found.next()) {
        (Some(k), None) => Ok(k),
        (None, _) if keys.iter().any(|k| matching(&k)) => Err(Error::JwksKeyWeak),
        (None, _) => Err(Error::JwksKeyNotFound),
        (Some(_), Some(_)) => Err(Error::JwksKeyAmbiguous),
    }
}

/// What the claims are checked against.
#[derive(Clone, Copy)]
pub struct ClaimChecks<'a> {
    /// The issuer identifier (exact match).
    pub issuer: &'a str,
    /// This client's id (must be in `aud`).
    pub client_id: &'a str,
    /// The nonce sent with the login, if any.
    pub nonce: Option<&'a str>,
    /// Now, seconds since the Unix epoch.
    pub now_s: u64,
    /// Allowed clock skew, seconds.
    pub skew_s: u64,
    /// The `max_age` the login sent: then `auth_time` is required and must be recent enough.
    pub max_age: Option<u64>,
    /// The `acr_values` the login sent (space-separated): then `acr` must be one of them.
    pub acr_values: Option<&'a str>,
}

impl core::fmt::Debug for ClaimChecks<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClaimChecks")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("nonce", &redact(&self.nonce))
            .field("now_s", &self.now_s)
            .field("skew_s", &self.skew_s)
            .field("max_age", &self.max_age)
            .field("acr_values", &self.acr_values)
            .finish()
    }
}

/// Validated ID token claims.
#[derive(Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// `sub`
    pub sub: String,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
    /// All claims, as JSON text.
    pub json: String,
}

impl core::fmt::Debug for IdTokenClaims {
    // The claims JSON holds the nonce (and personal data): `sub` and `exp` only.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdTokenClaims")
            .field("sub", &self.sub)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

fn numeric_date(payload: &Value, name: &str) -> Result<u64, Error> {
    payload
        .get(name)
        .and_then(Value::as_u64)
        .ok_or(Error::IdTokenClaimsInvalid)
}

/// Checks `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `sub` (OIDC Core §3.1.3.7 steps 2–4, 9–11).
pub fn validate_claims(
    payload: &Value,
    json: &str,
    c: &ClaimChecks,
) -> Result<IdTokenClaims, Error> {
    let iss = payload
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(Error::IdTokenClaimsInvalid)?;
    if iss != c.issuer {
        return Err(Error::IdTokenIssMismatch);
    }
    let auds: Vec<&str> = match payload.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::IdTokenClaimsInvalid)?,
        _ => return Err(Error::IdTokenClaimsInvalid),
    };
    if !auds.contains(&c.client_id) {
        return Err(Error::IdTokenAudMismatch);
    }
    match payload.get("azp") {
        None if auds.len() > 1 => return Err(Error::IdTokenAzpMismatch),
        None => {}
        Some(Value::String(azp)) if azp == c.client_id => {}
        Some(_) => return Err(Error::IdTokenAzpMismatch),
    }
    let exp = numeric_date(payload, "exp")?;
    if exp.saturating_add(c.skew_s) <= c.now_s {
        return Err(Error::IdTokenExpired);
    }
    let iat = numeric_date(payload, "iat")?;
    if iat > c.now_s.saturating_add(c.skew_s) {
        return Err(Error::IdTokenIssuedInFuture);
    }
    if let Some(max_age) = c.max_age {
        // OIDC Core §3.1.3.7 step 13: the user authenticated within max_age.
        let auth_time = numeric_date(payload, "auth_time")?;
        if auth_time.saturating_add(max_age).saturating_add(c.skew_s) < c.now_s {
            return Err(Error::IdTokenMaxAgeExceeded);
        }
    }
    if let Some(wanted) = c.acr_values {
        // OIDC Core §3.1.3.7 step 12, RFC 9470 §4: the level asked for, or refused.
        let acr = payload.get("acr").and_then(Value::as_str);
        if !acr.is_some_and(|a| wanted.split(' ').any(|w| !w.is_empty() && w == a)) {
            return Err(Error::IdTokenAcrNotSatisfied);
        }
    }
    if let Some(expected) = c.nonce {
        if payload.get("nonce").and_then(Value::as_str) != Some(expected) {
            return Err(Error::IdTokenNonceMismatch);
        }
    }
    let sub = payload
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(Error::IdTokenClaimsInvalid)?;
    Ok(IdTokenClaims {
        sub: String::from(sub),
        exp,
        json: String::from(json),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::encoding::b64url;

    fn jws(header: &str, payload: &str, sig: &[u8]) -> String {
        let mut t = b64url(header.as_bytes());
        t.push('.');
        t.push_str(&b64url(payload.as_bytes()));
        t.push('.');
        t.push_str(&b64url(sig));
        t
    }

    const ALLOWED: &[Alg] = &[Alg::RS256, Alg::ES256];

    #[test]
    fn parses_a_compact_jws() {
        let t = jws(r#"{"alg":"RS256","kid":"k1"}"#, r#"{"sub":"a"}"#, b"sig");
        let j = parse_jws(&t, ALLOWED).unwrap();
        assert_eq!(j.alg, Alg::RS256);
        assert_eq!(j.kid.as_deref(), Some("k1"));
        assert_eq!(j.signature, b"sig");
        assert_eq!(j.payload.get("sub").and_then(Value::as_str), Some("a"));
        assert_eq!(j.signing_input, t.rsplit_once('.').unwrap().0);
    }

    #[test]
    fn rfc7515_appendix_a2_parses() {
        // RFC 7515 A.2 (RS256): header and payload as published; the signature
        // is checked in the browser tests, this checks the parsing.
        let t = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
        let j = parse_jws(t, &[Alg::RS256]).unwrap();
        assert_eq!(j.payload.get("iss").and_then(Value::as_str), Some("joe"));
        assert_eq!(j.signature.len(), 256);
    }

    #[test]
    fn structure_errors_are_typed() {
        let good_h = b64url(br#"{"alg":"RS256"}"#);
        let good_p = b64url(br#"{"sub":"a"}"#);
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "id_token_malformed"),
            ("a.b".into(), "id_token_malformed"),
            ("a.b.c.d.e".into(), "id_token_malformed"),
            (format!(".{good_p}.c2ln"), "id_token_malformed"),
            (format!("{good_h}.{good_p}.c2ln.x"), "id_token_malformed"),
            (
                format!("{good_h}!.{good_p}.c2ln"),
                "id_token_invalid_base64",
            ),
            (
                format!("{good_h}.{good_p}.c2l=n"),
                "id_token_invalid_base64",
            ),
            (
                format!("{}.{good_p}.c2ln", b64url(b"not json")),
                "id_token_invalid_json",
            ),
            (
                format!("{}.{good_p}.c2ln", b64url(b"[1]")),
                "id_token_invalid_json",
            ),
            (
                format!("{good_h}.{}.c2ln", b64url(&[0xff, 0xfe])),
                "id_token_invalid_json",
            ),
            (
                format!("{}.{good_p}.c2ln", b64url(br#"{"kid":"x"}"#)),
                "id_token_malformed",
            ),
            (
                format!("{}.{good_p}.c2ln", b64url(br#"{"alg":"RS256","kid":5}"#)),
                "id_token_malformed",
            ),
            (
                format!(
                    "{}.{good_p}.c2ln",
                    b64url(br#"{"alg":"RS256","crit":["b64"]}"#)
                ),
                "id_token_malformed",
            ),
            (format!("{good_h}.{good_p}."), "id_token_signature_invalid"),
        ];
        for (t, code) in cases {
            assert_eq!(parse_jws(&t, ALLOWED).unwrap_err().code(), code, "{t}");
        }
    }

    #[test]
    fn none_hmac_and_unadvertised_algs_are_refused() {
        for alg in [
            "none", "HS256", "HS384", "HS512", "RS1", "ES256K", "PS256", "rs256", "",
        ] {
            let t = jws(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"sub":"a"}"#, b"s");
            assert_eq!(
                parse_jws(&t, ALLOWED).unwrap_err(),
                Error::IdTokenAlgNotAllowed,
                "{alg}"
            );
        }
        let advertised = vec![
            "none".to_string(),
            "HS256".into(),
            "PS256".into(),
            "EdDSA".into(),
        ];
        assert_eq!(allowed_algs(&advertised), [Alg::PS256, Alg::EdDSA]);
        for a in ALL_ALGS {
            assert_eq!(Alg::parse(a.name()), Some(a));
        }
    }

    /// A base64url modulus of exactly `bits` bits.
    fn modulus(bits: usize) -> String {
        let mut m = vec![0xA5u8; bits.div_ceil(8)];
        m[0] = 0xFF >> ((8 - bits % 8) % 8);
        crate::core::encoding::b64url(&m)
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_refused() {
        assert_eq!(rsa_modulus_bits(&modulus(2048)), Some(2048));
        assert_eq!(rsa_modulus_bits(&modulus(2047)), Some(2047));
        // A leading zero byte does not count.
        let padded = crate::core::encoding::b64url(&[&[0u8][..], &[0x80; 256][..]].concat());
        assert_eq!(rsa_modulus_bits(&padded), Some(2048));
        assert_eq!(rsa_modulus_bits("*"), None);
        let weak = |bits, kid: &str| Jwk {
            n: Some(modulus(bits)),
            ..key("RSA", Some(kid), None)
        };
        for bits in [512, 1024, 2047] {
            assert_eq!(
                select_key(&[weak(bits, "w")], Alg::RS256, Some("w")).unwrap_err(),
                Error::JwksKeyWeak,
                "{bits} bits"
            );
            assert_eq!(
                select_key(&[weak(bits, "w")], Alg::PS256, None).unwrap_err(),
                Error::JwksKeyWeak
            );
        }
        let no_n = Jwk {
            n: Some("*".into()),
            ..key("RSA", Some("w"), None)
        };
        assert_eq!(
            select_key(&[no_n], Alg::RS256, None).unwrap_err(),
            Error::JwksKeyWeak
        );
        // With a strong key beside it, the strong one is chosen (no ambiguity).
        let keys = [weak(1024, "a"), weak(2048, "b"), weak(4096, "c")];
        assert_eq!(
            select_key(&keys[..2], Alg::RS256, None)
                .unwrap()
                .kid
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            select_key(&keys, Alg::RS256, Some("c"))
                .unwrap()
                .kid
                .as_deref(),
            Some("c")
        );
        // EC keys only on the curve the alg names.
        let p384 = key("EC", Some("e"), Some("P-384"));
        assert_eq!(
            select_key(std::slice::from_ref(&p384), Alg::ES256, None).unwrap_err(),
            Error::JwksKeyNotFound
        );
        assert_eq!(
            select_key(&[p384], Alg::ES384, None)
                .unwrap()
                .kid
                .as_deref(),
            Some("e")
        );
        let p256 = key("EC", Some("e"), Some("P-256"));
        assert_eq!(
            select_key(&[p256], Alg::ES384, None).unwrap_err(),
            Error::JwksKeyNotFound
        );
    }

    fn key(kty: &str, kid: Option<&str>, crv: Option<&str>) -> Jwk {
        Jwk {
            kty: kty.into(),
            kid: kid.map(String::from),
            crv: crv.map(String::from),
            n: Some(modulus(2048)),
            e: Some("AQAB".into()),
            x: Some("x".into()),
            y: Some("y".into()),
            ..Default::default()
        }
    }

    #[test]
    fn key_selection() {
        let keys = vec![
            key("RSA", Some("r1"), None),
            key("EC", Some("e1"), Some("P-256")),
            Jwk {
                use_: Some("enc".into()),
                ..key("RSA", Some("r2"), None)
            },
            Jwk {
                alg: Some("RS512".into()),
                ..key("RSA", Some("r3"), None)
            },
        ];
        assert_eq!(
            select_key(&keys, Alg::RS256, Some("r1"))
                .unwrap()
                .kid
                .as_deref(),
            Some("r1")
        );
        assert_eq!(
            select_key(&keys, Alg::ES256, Some("e1"))
                .unwrap()
                .kid
                .as_deref(),
            Some("e1")
        );
        assert_eq!(
            select_key(&keys, Alg::ES384, Some("e1")).unwrap_err(),
            Error::JwksKeyNotFound
        );
        assert_eq!(
            select_key(&keys, Alg::RS256, Some("e1")).unwrap_err(),
            Error::JwksKeyNotFound
        );
        assert_eq!(
            select_key(&keys, Alg::RS256, Some("r2")).unwrap_err(),
            Error::JwksKeyNotFound
        );
        assert_eq!(
            select_key(&keys, Alg::RS256, Some("r3")).unwrap_err(),
            Error::JwksKeyNotFound
        );
        assert_eq!(
            select_key(&keys, Alg::RS256, Some("zz")).unwrap_err(),
            Error::JwksKeyNotFound
        );
        assert_eq!(
            select_key(&keys, Alg::ES256, None).unwrap().kid.as_deref(),
            Some("e1")
        );
        let dup = vec![key("RSA", Some("d"), None), key("RSA", Some("d"), None)];
        assert_eq!(
            select_key(&dup, Alg::RS256, Some("d")).unwrap_err(),
            Error::JwksKeyAmbiguous
        );
        assert_eq!(
            select_key(&keys, Alg::RS256, None).unwrap().kid.as_deref(),
            Some("r1")
        );
    }

    #[test]
    fn jwks_parsing() {
        let ct = Some("application/json");
        let body = r#"{"keys":[{"kty":"RSA","kid":"r","n":"nn","e":"AQAB","d":"PRIVATE"},{"kty":"EC","crv":"P-256","x":"x"},{"kty":"oct","k":"s"},{"kty":5}]}"#;
        let keys = parse_jwks(200, ct, body).unwrap();
        assert_eq!(
            keys.len(),
            1,
            "incomplete, symmetric and malformed keys are skipped"
        );
        assert_eq!(
            keys[0].public_members(),
            [("kty", "RSA"), ("n", "nn"), ("e", "AQAB")]
        );
        assert!(parse_jwks(200, Some("application/jwk-set+json"), body).is_ok());
        for (status, ct, body) in [
            (500, ct, body),
            (200, Some("text/html"), body),
            (200, ct, "{}"),
            (200, ct, r#"{"keys":{}}"#),
            (200, ct, "x"),
        ] {
            assert_eq!(
                parse_jwks(status, ct, body).unwrap_err(),
                Error::JwksInvalid
            );
        }
    }

    fn checks(nonce: Option<&'static str>) -> ClaimChecks<'static> {
        ClaimChecks {
            issuer: "https://idp",
            client_id: "spa",
            nonce,
            now_s: 1_000_000,
            skew_s: 60,
            max_age: None,
            acr_values: None,
        }
    }

    fn claims(extra: &str) -> (Value, String) {
        let mut s = String::from(
            r#"{"iss":"https://idp","aud":"spa","exp":1000100,"iat":1000000,"sub":"alice","nonce":"n1""#,
        );
        s.push_str(extra);
        s.push('}');
        (json::parse(&s).unwrap(), s)
    }

    fn with(base: &str, replace: &str, by: &str) -> (Value, String) {
        let s = base.replace(replace, by);
        (json::parse(&s).unwrap(), s)
    }

    #[test]
    fn valid_claims_pass() {
        let (v, s) = claims("");
        let c = validate_claims(&v, &s, &checks(Some("n1"))).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.exp, 1_000_100);
        let (v, s) = claims(r#","azp":"spa""#);
        let (v2, s2) = with(&s, r#""aud":"spa""#, r#""aud":["spa","api"]"#);
        assert!(validate_claims(&v, &s, &checks(Some("n1"))).is_ok());
        assert!(validate_claims(&v2, &s2, &checks(Some("n1"))).is_ok());
        // within the skew on both sides
        let (v, s) = with(&claims("").1, "1000100", "999950");
        assert!(validate_claims(&v, &s, &checks(Some("n1"))).is_ok());
        let (v, s) = with(&claims("").1, r#""iat":1000000"#, r#""iat":1000050"#);
        assert!(validate_claims(&v, &s, &checks(Some("n1"))).is_ok());
    }

    #[test]
    fn acr_values_require_one_of_them() {
        let mut c = checks(Some("n1"));
        c.acr_values = Some("urn:mfa urn:hwk");
        let (v, s) = claims(r#","acr":"urn:hwk""#);
        assert!(validate_claims(&v, &s, &c).is_ok());
        for extra in [
            "",
            r#","acr":"urn:pwd""#,
            r#","acr":"urn:mfa urn:hwk""#,
            r#","acr":1"#,
        ] {
            let (v, s) = claims(extra);
            assert_eq!(
                validate_claims(&v, &s, &c).unwrap_err(),
                Error::IdTokenAcrNotSatisfied,
                "{extra}"
            );
        }
        c.acr_values = None;
        let (v, s) = claims("");
        assert!(
            validate_claims(&v, &s, &c).is_ok(),
            "not checked unless asked for"
        );
    }

    #[test]
    fn max_age_requires_a_recent_auth_time() {
        let with = |auth_time: Option<u64>| {
            let extra = auth_time.map_or(String::new(), |t| format!(r#","auth_time":{t}"#));
            claims(&extra)
        };
        let mut c = checks(Some("n1"));
        c.max_age = Some(300);
        let (v, s) = with(Some(1_000_000 - 100));
        assert!(validate_claims(&v, &s, &c).is_ok());
        let (v, s) = with(Some(1_000_000 - 300 - 60)); // at the edge of max_age + skew
        assert!(validate_claims(&v, &s, &c).is_ok());
        let (v, s) = with(Some(1_000_000 - 300 - 61));
        assert_eq!(
            validate_claims(&v, &s, &c).unwrap_err(),
            Error::IdTokenMaxAgeExceeded
        );
        let (v, s) = with(None);
        assert_eq!(
            validate_claims(&v, &s, &c).unwrap_err(),
            Error::IdTokenClaimsInvalid,
            "auth_time is then required"
        );
        c.max_age = None;
        assert!(
            validate_claims(&v, &s, &c).is_ok(),
            "not required without max_age"
        );
    }

    #[test]
    fn every_claim_failure_has_its_code() {
        let base = claims("").1;
        let cases: &[(&str, &str, &str)] = &[
            (
                r#""iss":"https://idp""#,
                r#""iss":"https://evil""#,
                "id_token_iss_mismatch",
            ),
            (
                r#""iss":"https://idp""#,
                r#""iss":"https://idp/""#,
                "id_token_iss_mismatch",
            ),
            (
                r#""iss":"https://idp""#,
                r#""iss":1"#,
                "id_token_claims_invalid",
            ),
            (
                r#""aud":"spa""#,
                r#""aud":"other""#,
                "id_token_aud_mismatch",
            ),
            (
                r#""aud":"spa""#,
                r#""aud":["other"]"#,
                "id_token_aud_mismatch",
            ),
            (r#""aud":"spa""#, r#""aud":[]"#, "id_token_claims_invalid"),
            (
                r#""aud":"spa""#,
                r#""aud":["spa",1]"#,
                "id_token_claims_invalid",
            ),
            (
                r#""aud":"spa""#,
                r#""aud":["spa","api"]"#,
                "id_token_azp_mismatch",
            ),
            (
                r#""aud":"spa""#,
                r#""aud":["spa","api"],"azp":"api""#,
                "id_token_azp_mismatch",
            ),
            (
                r#""aud":"spa""#,
                r#""aud":"spa","azp":"api""#,
                "id_token_azp_mismatch",
            ),
            ("1000100", "999900", "id_token_expired"),
            ("1000100", "\"1000100\"", "id_token_claims_invalid"),
            (
                r#""iat":1000000"#,
                r#""iat":1000061"#,
                "id_token_issued_in_future",
            ),
            (r#""iat":1000000"#, r#""iat":-1"#, "id_token_claims_invalid"),
            (
                r#""nonce":"n1""#,
                r#""nonce":"n2""#,
                "id_token_nonce_mismatch",
            ),
            (r#","nonce":"n1""#, "", "id_token_nonce_mismatch"),
            (r#""sub":"alice""#, r#""sub":"""#, "id_token_claims_invalid"),
            (r#""sub":"alice","#, "", "id_token_claims_invalid"),
        ];
        for (from, to, code) in cases {
            let (v, s) = with(&base, from, to);
            assert_ne!(s, base, "{from} not found");
            assert_eq!(
                validate_claims(&v, &s, &checks(Some("n1")))
                    .unwrap_err()
                    .code(),
                *code,
                "{s}"
            );
        }
        // no nonce expected: not required
        let (v, s) = with(&base, r#","nonce":"n1""#, "");
        assert!(validate_claims(&v, &s, &checks(None)).is_ok());
    }
}
