//! DPoP (RFC 9449): proof JWTs, the JWK thumbprint (RFC 7638) for
//! `dpop_jkt`, `ath`, `htu`, and the nonce rule. The host only signs the
//! bytes [`proof_signing_input`] returns, with a non-extractable P-256 key.

use super::challenge::challenge_error;
use sha2::{Digest, Sha256};

use super::encoding::{b64url, push_u64};
use super::url::split;
use crate::core::secret::redact;

/// The public half of the DPoP key (P-256), as base64url coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// `x`
    pub x: String,
    /// `y`
    pub y: String,
}

pub use super::json::push_string as push_json_string;

impl PublicJwk {
    /// The JWK as JSON, members in the lexicographic order RFC 7638 requires.
    fn json(&self) -> String {
        let mut j = String::from("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":");
        push_json_string(&mut j, &self.x);
        j.push_str(",\"y\":");
        push_json_string(&mut j, &self.y);
        j.push('}');
        j
    }

    /// The JWK SHA-256 thumbprint (RFC 7638 §3): the `dpop_jkt` value and the
    /// token's `cnf.jkt` (RFC 9449 §6.1).
    pub fn thumbprint(&self) -> String {
        b64url(&Sha256::digest(self.json().as_bytes()))
    }
}

/// `ath`: base64url(SHA-256(access token)) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    b64url(&Sha256::digest(access_token.as_bytes()))
}

/// `htu`: the request URI without query and fragment (RFC 9449 §4.2), with
/// the scheme and host lowercased.
pub fn htu(url: &str) -> String {
    let (base, _, _) = split(url);
    match super::encoding::find_str(base, "://") {
        Some(i) => {
            let rest = base.get(i + 3..).unwrap_or("");
            let host_end = rest.find('/').unwrap_or(rest.len());
            let mut out = base.get(..i + 3).unwrap_or("").to_ascii_lowercase();
            out.push_str(&rest.get(..host_end).unwrap_or("").to_ascii_lowercase());
            out.push_str(rest.get(host_end..).unwrap_or(""));
            out
        }
        None => String::from(base),
    }
}

/// What one proof asserts.
#[derive(Clone, Copy)]
pub struct ProofClaims<'a> {
    /// `htm`, e.g. `POST`.
    pub htm: &'a str,
    /// The full request URL (`htu` is derived from it).
    pub url: &'a str,
    /// `iat`, seconds since the epoch.
    pub iat: u64,
    /// `jti`: a fresh CSPRNG value per proof.
    pub jti: &'a str,
    /// `nonce`, when the server asked for one.
    pub nonce: Option<&'a str>,
    /// The access token, for resource requests (gives `ath`).
    pub access_token: Option<&'a str>,
}

impl core::fmt::Debug for ProofClaims<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProofClaims")
            .field("htm", &self.htm)
            .field("url", &self.url)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .field("nonce", &self.nonce)
            .field("access_token", &redact(&self.access_token))
            .finish()
    }
}

/// `BASE64URL(header).BASE64URL(payload)` of a proof: `typ: dpop+jwt`,
/// `alg: ES256`, `jwk` = the public key (RFC 9449 §4.2).
pub fn proof_signing_input(key: &PublicJwk, c: &ProofClaims) -> String {
    let mut header = String::from("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":");
    header.push_str(&key.json());
    header.push('}');
    let mut p = String::from("{\"jti\":");
    push_json_string(&mut p, c.jti);
    p.push_str(",\"htm\":");
    push_json_string(&mut p, c.htm);
    p.push_str(",\"htu\":");
    push_json_string(&mut p, &htu(c.url));
    p.push_str(",\"iat\":");
    push_u64(&mut p, c.iat);
    if let Some(n) = c.nonce {
        p.push_str(",\"nonce\":");
        push_json_string(&mut p, n);
    }
    if let Some(t) = c.access_token {
        p.push_str(",\"ath\":");
        push_json_string(&mut p, &ath(t));
    }
    p.push('}');
    let mut out = b64url(header.as_bytes());
    out.push('.');
    out.push_str(&b64url(p.as_bytes()));
    out
}

/// The compact proof from its signing input and the 64-byte ES256 signature.
pub fn finish_proof(signing_input: &str, signature: &[u8]) -> String {
    let mut out = String::from(signing_input);
    out.push('.');
    out.push_str(&b64url(signature));
    out
}

/// The nonce rule (RFC 9449 §8, §9): after an answer, the nonce to retry with
/// — only on the first attempt, only when the server said `use_dpop_nonce`
/// (token endpoint: 400 `error`; resource server: 401 `WWW-Authenticate:
/// DPoP error="use_dpop_nonce"`) and sent a `DPoP-Nonce`.
pub fn retry_nonce<'a>(
    attempt: u8,
    status: u16,
    oauth_error: Option<&str>,
    www_authenticate: Option<&str>,
    dpop_nonce: Option<&'a str>,
) -> Option<&'a str> {
    let asked = match status {
        400 => oauth_error == Some("use_dpop_nonce"),
        401 => www_authenticate
            .and_then(|w| challenge_error(w, &["dpop"]))
            .is_some_and(|e| e == "use_dpop_nonce"),
        _ => false,
    };
    if attempt == 0 && asked {
        dpop_nonce.filter(|n| !n.is_empty())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::encoding::b64url_decode;
    use crate::core::json;

    // The public key of RFC 9449's examples (§4.1).
    fn rfc_key() -> PublicJwk {
        PublicJwk {
            x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
            y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
        }
    }

    #[test]
    fn thumbprint_matches_rfc9449() {
        // RFC 9449 §6.1: the jkt of the example key.
        assert_eq!(
            rfc_key().thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn ath_matches_rfc9449() {
        // RFC 9449 §7.1: the example access token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn htu_drops_query_and_fragment() {
        assert_eq!(
            htu("https://Server.Example.com/token?x=1#f"),
            "https://server.example.com/token"
        );
        assert_eq!(
            htu("https://api.example.com/Res/A?b"),
            "https://api.example.com/Res/A"
        );
        assert_eq!(htu("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }

    #[test]
    fn proof_header_and_claims() {
        let c = ProofClaims {
            htm: "POST",
            url: "https://server.example.com/token?q#f",
            iat: 1562262616,
            jti: "e1j3V_bKic8-LAEB",
            nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
            access_token: Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        };
        let input = proof_signing_input(&rfc_key(), &c);
        let (h, p) = input.split_once('.').unwrap();
        let header = json::parse(&String::from_utf8(b64url_decode(h).unwrap()).unwrap()).unwrap();
        assert_eq!(
            header.get("typ").and_then(json::Value::as_str),
            Some("dpop+jwt")
        );
        assert_eq!(
            header.get("alg").and_then(json::Value::as_str),
            Some("ES256")
        );
        let jwk = header.get("jwk").unwrap();
        assert_eq!(jwk.get("kty").and_then(json::Value::as_str), Some("EC"));
        assert_eq!(
            jwk.get("x").and_then(json::Value::as_str),
            Some(rfc_key().x.as_str())
        );
        assert!(jwk.get("d").is_none(), "never the private key");
        let claims = json::parse(&String::from_utf8(b64url_decode(p).unwrap()).unwrap()).unwrap();
        let get = |k: &str| {
            claims
                .get(k)
                .and_then(json::Value::as_str)
                .map(String::from)
        };
        assert_eq!(get("htm").as_deref(), Some("POST"));
        assert_eq!(
            get("htu").as_deref(),
            Some("https://server.example.com/token")
        );
        assert_eq!(get("jti").as_deref(), Some("e1j3V_bKic8-LAEB"));
        assert_eq!(get("nonce").as_deref(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        assert_eq!(
            get("ath").as_deref(),
            Some("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")
        );
        assert_eq!(
            claims.get("iat").and_then(json::Value::as_u64),
            Some(1562262616)
        );
        let plain = proof_signing_input(
            &rfc_key(),
            &ProofClaims {
                nonce: None,
                access_token: None,
                ..c
            },
        );
        let claims = json::parse(
            &String::from_utf8(b64url_decode(plain.split_once('.').unwrap().1).unwrap()).unwrap(),
        )
        .unwrap();
        assert!(claims.get("nonce").is_none() && claims.get("ath").is_none());
        assert_eq!(finish_proof("a.b", &[0xfb, 0xff]), "a.b.-_8");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\u000a\\u0001é\"");
        assert_eq!(json::parse(&s).unwrap().as_str(), Some("a\"b\\c\n\u{1}é"));
    }

    #[test]
    fn nonce_retry_state_machine() {
        // token endpoint: 400 use_dpop_nonce with a nonce → one retry
        assert_eq!(
            retry_nonce(0, 400, Some("use_dpop_nonce"), None, Some("n1")),
            Some("n1")
        );
        assert_eq!(
            retry_nonce(1, 400, Some("use_dpop_nonce"), None, Some("n2")),
            None,
            "only once"
        );
        assert_eq!(
            retry_nonce(0, 400, Some("invalid_grant"), None, Some("n1")),
            None
        );
        assert_eq!(
            retry_nonce(0, 400, Some("use_dpop_nonce"), None, None),
            None,
            "no nonce, no retry"
        );
        // resource server: 401 with a DPoP challenge
        let ch = r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#;
        assert_eq!(retry_nonce(0, 401, None, Some(ch), Some("n3")), Some("n3"));
        // The words of a description are not the error; a DPoP challenge after another counts.
        for (ch, want) in [
            (
                r#"DPoP error="invalid_token", error_description="send use_dpop_nonce""#,
                None,
            ),
            (r#"DPoP error_description="use_dpop_nonce""#, None),
            (
                r#"Bearer realm="api", DPoP algs="ES256", error="use_dpop_nonce""#,
                Some("n3"),
            ),
        ] {
            assert_eq!(
                retry_nonce(0, 401, None, Some(ch), Some("n3")),
                want,
                "{ch}"
            );
        }
        assert_eq!(
            retry_nonce(
                0,
                401,
                None,
                Some(r#"Bearer error="use_dpop_nonce""#),
                Some("n3")
            ),
            None
        );
        assert_eq!(
            retry_nonce(
                0,
                401,
                None,
                Some(r#"DPoP error="invalid_token""#),
                Some("n3")
            ),
            None
        );
        assert_eq!(
            retry_nonce(0, 200, None, None, Some("n4")),
            None,
            "a nonce on success is remembered, not retried"
        );
    }
}
