//! The session after login: tokens and validated claims, their storage
//! record, and the requests that keep or end it — refresh (RFC 6749 §6),
//! revocation (RFC 7009), RP-initiated logout (OIDC RP-Initiated Logout 1.0).

use super::challenge::challenge_error;
use super::encoding::{parse_pairs, parse_u64, push_u64, FormBuilder};
use super::id_token::IdTokenClaims;
use super::json::{self, Value};
use super::secret::{AccessToken, IdToken, RefreshToken};
use super::token::{FormPost, TokenResponse};
use super::url::split;

/// Default: refresh when the access token expires within 60 s.
pub const DEFAULT_LEEWAY_MS: u64 = 60_000;

/// Tokens from the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`, as the provider spelt it.
    pub token_type: String,
    /// Expiry, ms since the Unix epoch, when the provider gave `expires_in`.
    pub expires_at_ms: Option<u64>,
    /// The refresh token, if issued.
    pub refresh_token: Option<RefreshToken>,
    /// The ID token, if issued (validated before it is kept).
    pub id_token: Option<IdToken>,
    /// The granted scope (the requested one when the provider omits it, RFC 6749 §5.1).
    pub scope: String,
}

impl Tokens {
    /// Tokens from a token response received at `now_ms`; `scope` is the requested one.
    pub fn from_response(t: TokenResponse, now_ms: u64, requested_scope: &str) -> Self {
        Tokens {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_at_ms: t
                .expires_in
                .map(|s| now_ms.saturating_add(s.saturating_mul(1000))),
            refresh_token: t.refresh_token,
            id_token: t.id_token,
            scope: t.scope.unwrap_or_else(|| String::from(requested_scope)),
        }
    }

    /// After a refresh: the new tokens, keeping the old refresh token when the
    /// provider did not rotate it and the old ID token when it sent none (RFC 6749 §6).
    pub fn refreshed(&self, new: Tokens) -> Tokens {
        Tokens {
            refresh_token: new.refresh_token.or_else(|| self.refresh_token.clone()),
            id_token: new.id_token.or_else(|| self.id_token.clone()),
            ..new
        }
    }
}

/// The API an access token is for (RFC 8707 `resource`) and the scope
/// asked for it (empty: the session's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The resource indicator: an absolute URI without a fragment.
    pub resource: String,
    /// The scope requested for it (space-separated; empty for none).
    pub scope: String,
}

/// An access token for one resource, from the refresh grant with its
/// `resource` (RFC 8707 §2.2): one refresh token serves every API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceToken {
    /// What it is for.
    pub target: Target,
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer` (or `DPoP`), as the provider spelt it.
    pub token_type: String,
    /// Expiry, ms since the Unix epoch.
    pub expires_at_ms: Option<u64>,
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The tokens.
    pub tokens: Tokens,
    /// The validated ID token claims, if an ID token was issued.
    pub claims: Option<IdTokenClaims>,
    /// The DPoP key the tokens are bound to (its IndexedDB id); `None` for
    /// Bearer tokens, and for sessions stored before keys were per login.
    pub dpop_key: Option<String>,
    /// Access tokens for other resources (RFC 8707), one per resource and scope.
    pub resources: Vec<ResourceToken>,
    /// The resources the login's grant covers (the `resource` values it sent):
    /// the only ones the refresh grant may ask for (RFC 8707 §2.2).
    pub granted: Vec<String>,
}

impl Session {
    /// The token for `target` (`None`: the session's own access token) and
    /// its type and expiry, if the session holds one.
    pub fn token_for(&self, target: Option<&Target>) -> Option<(&AccessToken, &str, Option<u64>)> {
        match target {
            None => Some((
                &self.tokens.access_token,
                &self.tokens.token_type,
                self.tokens.expires_at_ms,
            )),
            Some(t) => self
                .resources
                .iter()
                .find(|r| r.target == *t)
                .map(|r| (&r.access_token, r.token_type.as_str(), r.expires_at_ms)),
        }
    }
}

/// True when the access token is expired or expires within `leeway_ms` of
/// `now_ms` (the wall clock at the time of the call: a laptop that slept
/// refreshes on its first call). Unknown expiry never forces a refresh.
pub fn needs_refresh(expires_at_ms: Option<u64>, now_ms: u64, leeway_ms: u64) -> bool {
    expires_at_ms.is_some_and(|exp| exp <= now_ms.saturating_add(leeway_ms))
}

/// What the session key holds: a generation (bumped on every write, by any
/// tab), the logout epoch (bumped by every logout), and the session — or
/// none after a logout (a tombstone that keeps the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Write counter: of two copies of the record, the higher one is newer.
    pub gen: u64,
    /// Logout counter: an operation that started in an older epoch may not write.
    pub epoch: u64,
    /// The session; `None` once logged out.
    pub session: Option<Session>,
}

fn push_num(f: &mut FormBuilder, key: &str, n: u64) {
    let mut v = String::new();
    push_u64(&mut v, n);
    f.pair(key, &v);
}

/// The storage record (version 2). The refresh token is written only when
/// `with_refresh` (the app chose web storage for it).
pub fn encode_record(r: &Record, with_refresh: bool) -> String {
    let mut f = FormBuilder::default();
    f.pair("v", "2");
    push_num(&mut f, "g", r.gen);
    push_num(&mut f, "e", r.epoch);
    let Some(s) = &r.session else {
        f.pair("out", "1");
        return f.finish();
    };
    let t = &s.tokens;
    f.pair("at", t.access_token.secret())
        .pair("tt", &t.token_type)
        .pair("sc", &t.scope);
    if let Some(exp) = t.expires_at_ms {
        push_num(&mut f, "exp", exp);
    }
    if let (true, Some(rt)) = (with_refresh, &t.refresh_token) {
        f.pair("rt", rt.secret());
    }
    if let Some(id) = &t.id_token {
        f.pair("id", id.secret());
    }
    if let Some(c) = &s.claims {
        f.pair("cl", &c.json);
    }
    if let Some(k) = &s.dpop_key {
        f.pair("k", k);
    }
    for g in &s.granted {
        f.pair("gr", g);
    }
    for r in &s.resources {
        let mut e = FormBuilder::default();
        e.pair("r", &r.target.resource)
            .pair("s", &r.target.scope)
            .pair("at", r.access_token.secret())
            .pair("tt", &r.token_type);
        if let Some(exp) = r.expires_at_ms {
            push_num(&mut e, "exp", exp);
        }
        f.pair("res", &e.finish());
    }
    f.finish()
}

fn decode_resource(text: &str) -> Option<ResourceToken> {
    let pairs = parse_pairs(text)?;
    let get = |k: &str| crate::core::encoding::field(&pairs, k);
    Some(ResourceToken {
        target: Target {
            resource: get("r")?,
            scope: get("s").unwrap_or_default(),
        },
        access_token: AccessToken::new(get("at").filter(|a| !a.is_empty())?),
        token_type: get("tt")?,
        expires_at_ms: match get("exp") {
            Some(e) => Some(parse_u64(&e)?),
            None => None,
        },
    })
}

/// Reads a storage record back (version 2, or a version 1 session from an
/// older pkce-wasm as generation 0); `None` for anything damaged.
pub fn decode_record(record: &str) -> Option<Record> {
    let pairs = parse_pairs(record)?;
    let get = |k: &str| crate::core::encoding::field(&pairs, k);
    let num = |k: &str| get(k).as_deref().and_then(parse_u64);
    let (gen, epoch) = match get("v").as_deref() {
        Some("1") => (0, 0),
        Some("2") => (num("g")?, num("e")?),
        _ => return None,
    };
    if get("out").is_some() {
        return Some(Record {
            gen,
            epoch,
            session: None,
        });
    }
    let expires_at_ms = match get("exp") {
        Some(e) => Some(parse_u64(&e)?),
        None => None,
    };
    let claims = match get("cl") {
        Some(json) => Some(claims_from_json(json)?),
        None => None,
    };
    let session = Session {
        tokens: Tokens {
            access_token: AccessToken::new(get("at").filter(|a| !a.is_empty())?),
            token_type: get("tt")?,
            expires_at_ms,
            refresh_token: get("rt").map(RefreshToken::new),
            id_token: get("id").map(IdToken::new),
            scope: get("sc").unwrap_or_default(),
        },
        claims,
        dpop_key: get("k"),
        // A damaged API token is only a token to ask for again: the record stays.
        resources: crate::core::encoding::fields(&pairs, "res")
            .iter()
            .filter_map(|v| decode_resource(v))
            .collect(),
        granted: crate::core::encoding::fields(&pairs, "gr"),
    };
    Some(Record {
        gen,
        epoch,
        session: Some(session),
    })
}

/// A session record at generation 0, epoch 0 (tests, migration).
pub fn encode_session(s: &Session, with_refresh: bool) -> String {
    encode_record(
        &Record {
            gen: 0,
            epoch: 0,
            session: Some(s.clone()),
        },
        with_refresh,
    )
}

/// The session of a storage record, if it holds one.
pub fn decode_session(record: &str) -> Option<Session> {
    decode_record(record)?.session
}

/// Claims that were validated before they were stored.
pub fn claims_from_json(json: String) -> Option<IdTokenClaims> {
    let v = json::parse(&json)?;
    Some(IdTokenClaims {
        sub: String::from(v.get("sub").and_then(Value::as_str)?),
        exp: v.get("exp").and_then(Value::as_u64)?,
        json,
    })
}

/// The refresh grant (RFC 6749 §6) for a public client; for `target`, with
/// its `resource` (RFC 8707 §2.2) and `scope` (downscoping, RFC 6749 §6).
pub fn refresh_request(
    token_endpoint: &str,
    client_id: &str,
    refresh_token: &RefreshToken,
    target: Option<&Target>,
) -> FormPost {
    let mut f = FormBuilder::default();
    f.pair("grant_type", "refresh_token")
        .pair("refresh_token", refresh_token.secret())
        .pair("client_id", client_id);
    if let Some(t) = target {
        f.pair("resource", &t.resource);
        if !t.scope.is_empty() {
            f.pair("scope", &t.scope);
        }
    }
    FormPost {
        url: String::from(token_endpoint),
        body: f.finish(),
    }
}

/// Token revocation (RFC 7009 §2.1) of a refresh token.
pub fn revocation_request(
    endpoint: &str,
    client_id: &str,
    refresh_token: &RefreshToken,
) -> FormPost {
    let mut f = FormBuilder::default();
    f.pair("token", refresh_token.secret())
        .pair("token_type_hint", "refresh_token")
        .pair("client_id", client_id);
    FormPost {
        url: String::from(endpoint),
        body: f.finish(),
    }
}

/// The RP-initiated logout URL (OIDC RP-Initiated Logout 1.0 §2). No
/// `state`: nothing on the way back needs protecting, and a `state` that is
/// sent but never checked would only look like protection.
pub fn end_session_url(
    endpoint: &str,
    client_id: &str,
    id_token_hint: Option<&IdToken>,
    post_logout_redirect_uri: Option<&str>,
) -> String {
    let (base, query, _) = split(endpoint);
    let mut q = FormBuilder::from_encoded(query.unwrap_or(""));
    if let Some(hint) = id_token_hint {
        q.pair("id_token_hint", hint.secret());
    }
    q.pair("client_id", client_id);
    if let Some(uri) = post_logout_redirect_uri {
        q.pair("post_logout_redirect_uri", uri);
    }
    let mut url = String::from(base);
    url.push('?');
    url.push_str(&q.finish());
    url
}

/// A step-up challenge (RFC 9470 §3): a `Bearer` or `DPoP` challenge with
/// `error="insufficient_user_authentication"`, and what it asks for.
pub fn step_up_challenge(www_authenticate: &str) -> Option<super::error::StepUp> {
    super::challenge::parse_challenges(www_authenticate)
        .into_iter()
        .filter(|c| c.scheme == "bearer" || c.scheme == "dpop")
        .find(|c| c.param("error") == Some("insufficient_user_authentication"))
        .map(|c| super::error::StepUp {
            acr_values: c.param("acr_values").map(String::from),
            max_age: c.param("max_age").and_then(parse_u64),
        })
}

/// True when a `WWW-Authenticate` header carries a `Bearer` (RFC 6750 §3.1)
/// or `DPoP` (RFC 9449 §7.1) challenge with `error="invalid_token"`: the
/// token, not the request, is bad.
pub fn is_invalid_token_challenge(www_authenticate: &str) -> bool {
    challenge_error(www_authenticate, &["bearer", "dpop"]).is_some_and(|e| e == "invalid_token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(rt: Option<&str>) -> Tokens {
        Tokens {
            access_token: AccessToken::new("at-1".into()),
            token_type: "Bearer".into(),
            expires_at_ms: Some(1_000_000),
            refresh_token: rt.map(|r| RefreshToken::new(r.into())),
            id_token: Some(IdToken::new("h.p.s".into())),
            scope: "openid offline_access".into(),
        }
    }

    fn session() -> Session {
        Session {
            tokens: tokens(Some("rt-1")),
            claims: Some(IdTokenClaims {
                sub: "alice".into(),
                exp: 99,
                json: r#"{"sub":"alice","exp":99,"name":"A & B"}"#.into(),
            }),
            dpop_key: Some("dpop:ns:1.k&=".into()),
            resources: vec![ResourceToken {
                target: Target {
                    resource: "https://api.example/&=".into(),
                    scope: "read write".into(),
                },
                access_token: AccessToken::new("at-r&".into()),
                token_type: "Bearer".into(),
                expires_at_ms: Some(7),
            }],
            granted: vec!["https://api.example/&=".into()],
        }
    }

    #[test]
    fn step_up_challenges() {
        let up = step_up_challenge(r#"Bearer realm="api", error="insufficient_user_authentication", error_description="more", acr_values="urn:mfa urn:hwk", max_age=300"#).unwrap();
        assert_eq!(up.acr_values.as_deref(), Some("urn:mfa urn:hwk"));
        assert_eq!(up.max_age, Some(300));
        let up = step_up_challenge(
            r#"Basic realm="x", DPoP error="insufficient_user_authentication", max_age=0"#,
        )
        .unwrap();
        assert_eq!((up.acr_values, up.max_age), (None, Some(0)));
        for no in [
            r#"Bearer error="invalid_token""#,
            r#"Bearer error_description="insufficient_user_authentication""#,
            r#"Basic error="insufficient_user_authentication""#,
            "",
        ] {
            assert!(step_up_challenge(no).is_none(), "{no}");
        }
    }

    #[test]
    fn leeway_and_wall_clock() {
        assert!(!needs_refresh(Some(200_000), 100_000, 60_000));
        assert!(needs_refresh(Some(160_000), 100_000, 60_000));
        assert!(
            needs_refresh(Some(50_000), 100_000, 0),
            "expired while asleep"
        );
        assert!(!needs_refresh(None, u64::MAX, 60_000));
    }

    #[test]
    fn record_round_trips_and_keeps_the_refresh_token_out_unless_asked() {
        let s = session();
        assert_eq!(decode_session(&encode_session(&s, true)).unwrap(), s);
        let without = decode_session(&encode_session(&s, false)).unwrap();
        assert!(without.tokens.refresh_token.is_none());
        assert!(!encode_session(&s, false).contains("rt-1"));
        for garbage in [
            "",
            "v=3&at=x&tt=B",
            "v=2&at=x&tt=B",
            "v=1&tt=B",
            "v=1&at=x",
            "v=1&at=x&tt=B&exp=soon",
            "v=1&at=x&tt=B&cl=%7B",
            "%",
        ] {
            assert!(decode_session(garbage).is_none(), "{garbage}");
        }
    }

    #[test]
    fn refresh_keeps_what_was_not_rotated() {
        let old = tokens(Some("rt-1"));
        let mut new = tokens(None);
        new.access_token = AccessToken::new("at-2".into());
        new.id_token = None;
        let merged = old.refreshed(new.clone());
        assert_eq!(merged.access_token.secret(), "at-2");
        assert_eq!(merged.refresh_token.unwrap().secret(), "rt-1");
        assert_eq!(merged.id_token.unwrap().secret(), "h.p.s");
        new.refresh_token = Some(RefreshToken::new("rt-2".into()));
        assert_eq!(
            old.refreshed(new).refresh_token.unwrap().secret(),
            "rt-2",
            "rotation replaces"
        );
    }

    #[test]
    fn requests() {
        let rt = RefreshToken::new("r t+1".into());
        let r = refresh_request("https://idp/token", "spa", &rt, None);
        assert_eq!(
            r.body,
            "grant_type=refresh_token&refresh_token=r%20t%2B1&client_id=spa"
        );
        let r = revocation_request("https://idp/revoke", "spa", &rt);
        assert_eq!(
            r.body,
            "token=r%20t%2B1&token_type_hint=refresh_token&client_id=spa"
        );
        let url = end_session_url(
            "https://idp/end?x=1",
            "spa",
            Some(&IdToken::new("h.p.s".into())),
            Some("https://app/"),
        );
        assert_eq!(url, "https://idp/end?x=1&id_token_hint=h.p.s&client_id=spa&post_logout_redirect_uri=https%3A%2F%2Fapp%2F");
        assert_eq!(
            end_session_url("https://idp/end", "spa", None, None),
            "https://idp/end?client_id=spa"
        );
    }

    #[test]
    fn invalid_token_challenges() {
        assert!(is_invalid_token_challenge(
            r#"Bearer realm="api", error="invalid_token", error_description="expired""#
        ));
        assert!(is_invalid_token_challenge(
            r#"bearer error="invalid_token""#
        ));
        assert!(!is_invalid_token_challenge(r#"Bearer realm="api""#));
        assert!(!is_invalid_token_challenge(
            r#"Bearer error="insufficient_scope""#
        ));
        assert!(!is_invalid_token_challenge(
            r#"Basic realm="x", error="invalid_token""#
        ));
        assert!(!is_invalid_token_challenge(""));
        // One parser (RFC 9110 §11.6.1): any challenge in the list, the error parameter only.
        assert!(is_invalid_token_challenge(
            r#"Basic realm="x", Bearer error="invalid_token""#
        ));
        assert!(is_invalid_token_challenge(
            r#"DPoP algs="ES256", error=invalid_token"#
        ));
        assert!(!is_invalid_token_challenge(
            r#"Bearer error="invalid_request", error_description="error="invalid_token"""#
        ));
    }
}
