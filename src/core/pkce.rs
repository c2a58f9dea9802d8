//! PKCE, S256 only (RFC 7636). `plain` is deliberately not offered.

use sha2::{Digest, Sha256};

use super::encoding::{b64url, is_unreserved};
use super::error::Error;
use super::secret::CodeVerifier;

/// Random bytes behind a generated verifier: 32 bytes → 43 base64url characters (256 bits).
pub const VERIFIER_ENTROPY_BYTES: usize = 32;

impl CodeVerifier {
    /// A verifier from 32 CSPRNG bytes (RFC 7636 §4.1 recommends exactly this).
    pub fn from_entropy(bytes: &[u8; VERIFIER_ENTROPY_BYTES]) -> Self {
        CodeVerifier::new(b64url(bytes))
    }

    /// A caller-supplied verifier, checked: 43–128 characters of `[A-Za-z0-9-._~]`.
    pub fn parse(value: String) -> Result<Self, Error> {
        let ok = (43..=128).contains(&value.len()) && value.bytes().all(is_unreserved);
        if ok {
            Ok(CodeVerifier::new(value))
        } else {
            Err(Error::InvalidCodeVerifier)
        }
    }

    /// The S256 `code_challenge`: base64url(SHA-256(ASCII(verifier))).
    pub fn challenge(&self) -> String {
        b64url(&Sha256::digest(self.secret().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        // The octets of the random source listed in RFC 7636 Appendix B.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let v = CodeVerifier::from_entropy(&octets);
        assert_eq!(v.secret(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn caller_supplied_verifier_is_checked() {
        let ok = "a".repeat(43);
        assert!(CodeVerifier::parse(ok).is_ok());
        assert!(CodeVerifier::parse("a-._~".repeat(25) + "abc").is_ok()); // 128
        assert_eq!(
            CodeVerifier::parse("a".repeat(42)).unwrap_err(),
            Error::InvalidCodeVerifier
        );
        assert_eq!(
            CodeVerifier::parse("a".repeat(129)).unwrap_err(),
            Error::InvalidCodeVerifier
        );
        let with_space = "a".repeat(42) + " ";
        assert!(CodeVerifier::parse(with_space).is_err());
        let with_plus = "a".repeat(42) + "+";
        assert!(CodeVerifier::parse(with_plus).is_err());
        let unicode = "a".repeat(41) + "é";
        assert!(CodeVerifier::parse(unicode).is_err());
    }

    #[test]
    fn generated_verifiers_are_43_chars_and_distinct() {
        let a = CodeVerifier::from_entropy(&[1; 32]);
        let b = CodeVerifier::from_entropy(&[2; 32]);
        assert_eq!(a.secret().len(), 43);
        assert_ne!(a.secret(), b.secret());
        assert_ne!(a.challenge(), b.challenge());
    }
}
