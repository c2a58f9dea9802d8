//! The callback's write-ahead record: tokens from a code exchange whose ID
//! token is not validated yet, kept (under `pkce-wasm.pending.<ns>`) so that
//! handling the same callback again completes the login without another
//! redirect (see `callback.rs`).

use sha2::{Digest, Sha256};

use crate::core::encoding::{b64url, parse_pairs, parse_u64, push_u64, FormBuilder};
use crate::core::secret::redact;
use crate::core::secret::{AccessToken, IdToken, RefreshToken};
use crate::core::session::Tokens;

/// Tokens from a code exchange whose ID token is not validated yet.
#[derive(Clone)]
pub(super) struct Pending {
    pub(super) state_hash: String,
    pub(super) tokens: Tokens,
    pub(super) nonce: Option<String>,
    pub(super) max_age: Option<u64>,
    pub(super) acr_values: Option<String>,
    pub(super) resources: Vec<String>,
    pub(super) app_state: Option<String>,
    pub(super) epoch: u64,
    pub(super) dpop_key: Option<String>,
}

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pending")
            .field("tokens", &self.tokens)
            .field("nonce", &redact(&self.nonce))
            .field("max_age", &self.max_age)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

pub(super) fn state_hash(state: &str) -> String {
    b64url(&Sha256::digest(state.as_bytes()))
}

pub(super) fn encode(p: &Pending) -> String {
    let t = &p.tokens;
    let mut f = FormBuilder::default();
    let num = |f: &mut FormBuilder, k: &str, n: u64| {
        let mut v = String::new();
        push_u64(&mut v, n);
        f.pair(k, &v);
    };
    f.pair("v", "1")
        .pair("sh", &p.state_hash)
        .pair("at", t.access_token.secret())
        .pair("tt", &t.token_type)
        .pair("sc", &t.scope);
    num(&mut f, "e", p.epoch);
    for (k, v) in [
        ("rt", t.refresh_token.as_ref().map(|r| r.secret())),
        ("id", t.id_token.as_ref().map(|r| r.secret())),
        ("n", p.nonce.as_deref()),
        ("as", p.app_state.as_deref()),
        ("k", p.dpop_key.as_deref()),
        ("acr", p.acr_values.as_deref()),
    ] {
        if let Some(v) = v {
            f.pair(k, v);
        }
    }
    for r in &p.resources {
        f.pair("res", r);
    }
    for (k, v) in [("exp", t.expires_at_ms), ("ma", p.max_age)] {
        if let Some(v) = v {
            num(&mut f, k, v);
        }
    }
    f.finish()
}

pub(super) fn decode(text: &str) -> Option<Pending> {
    let pairs = parse_pairs(text)?;
    let get = |k: &str| crate::core::encoding::field(&pairs, k);
    let num = |k: &str| get(k).map(|v| parse_u64(&v));
    if get("v").as_deref() != Some("1") {
        return None;
    }
    Some(Pending {
        state_hash: get("sh")?,
        tokens: Tokens {
            access_token: AccessToken::new(get("at")?),
            token_type: get("tt")?,
            expires_at_ms: num("exp").map_or(Some(None), |n| n.map(Some))?,
            refresh_token: get("rt").map(RefreshToken::new),
            id_token: get("id").map(IdToken::new),
            scope: get("sc").unwrap_or_default(),
        },
        nonce: get("n"),
        max_age: num("ma").map_or(Some(None), |n| n.map(Some))?,
        acr_values: get("acr"),
        resources: crate::core::encoding::fields(&pairs, "res"),
        app_state: get("as"),
        epoch: num("e")??,
        dpop_key: get("k"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_round_trips() {
        let p = Pending {
            state_hash: state_hash("s"),
            tokens: Tokens {
                access_token: AccessToken::new("at".into()),
                token_type: "Bearer".into(),
                expires_at_ms: Some(5),
                refresh_token: Some(RefreshToken::new("r&t".into())),
                id_token: Some(IdToken::new("a.b.c".into())),
                scope: "openid x".into(),
            },
            nonce: Some("n".into()),
            max_age: None,
            acr_values: Some("urn:mfa pwd".into()),
            resources: vec!["urn:a".into(), "https://b/&".into()],
            app_state: Some(r#"{"a":"&="}"#.into()),
            epoch: 3,
            dpop_key: Some("dpop:ns:1.k".into()),
        };
        let back = decode(&encode(&p)).unwrap();
        assert_eq!(back.tokens, p.tokens);
        assert_eq!(back.app_state, p.app_state);
        assert_eq!((back.epoch, back.max_age, back.nonce), (3, None, p.nonce));
        assert_eq!(back.dpop_key.as_deref(), Some("dpop:ns:1.k"));
        assert_eq!(back.acr_values.as_deref(), Some("urn:mfa pwd"));
        assert_eq!(back.resources, ["urn:a", "https://b/&"]);
        assert!(decode("v=1&sh=x").is_none());
        assert!(decode("v=1&sh=x&at=a&tt=b&e=x").is_none());
    }
}
