//! Secrets as newtypes: a redacted `Debug`, no `Display`, and an explicit
//! `secret()` accessor so every place that reads the raw value is greppable.

/// Stands in for a secret (or text that may carry one) in a `Debug` impl.
pub(crate) struct Redacted;

impl core::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `Some([redacted])` or `None`: whether there is a value, not what it is.
pub(crate) fn redact<T>(v: &Option<T>) -> Option<Redacted> {
    v.as_ref().map(|_| Redacted)
}

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: String) -> Self {
                Self(value)
            }

            /// The raw value.
            ///
            /// Security: never log it, never put it in an error message or a URL
            /// other than the one the protocol prescribes.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// The PKCE `code_verifier` (RFC 7636 §4.1). Not `Clone`: it is used once.
    CodeVerifier
);
secret_type!(
    /// The `state` value binding a callback to the login that started it (RFC 6749 §10.12).
    #[derive(Clone, PartialEq, Eq)]
    State
);
secret_type!(
    /// The OpenID Connect `nonce` (OIDC Core §3.1.2.1).
    #[derive(Clone, PartialEq, Eq)]
    Nonce
);
secret_type!(
    /// The authorization code from the callback (RFC 6749 §4.1.2).
    AuthorizationCode
);
secret_type!(
    /// An access token (RFC 6749 §1.4).
    #[derive(Clone, PartialEq, Eq)]
    AccessToken
);
secret_type!(
    /// A refresh token (RFC 6749 §1.5).
    #[derive(Clone, PartialEq, Eq)]
    RefreshToken
);
secret_type!(
    /// An ID token, the compact JWS (OIDC Core §2).
    #[derive(Clone, PartialEq, Eq)]
    IdToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let v = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(format!("{v:?}"), "CodeVerifier([redacted])");
        let t = AccessToken::new("abc".into());
        assert!(!format!("{t:?}").contains("abc"));
    }
}
