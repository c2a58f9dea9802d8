//! UserInfo (OIDC Core §5.3): a bearer (or DPoP) GET with a valid access
//! token; its `sub` must equal the ID token's (§5.3.2).

use super::call::Call;
use super::refresh::AccessToken;
use super::{unexpected, ClientState, Host, Outcome, Step};
use crate::core::error::Error;
use crate::core::json::{self, Value};
use crate::core::token::is_json_content_type;

#[derive(Debug)]
enum State {
    Token(Box<AccessToken>),
    Calling(Box<Call>, Option<String>),
}

/// Fetches the UserInfo claims; the result is their JSON text.
#[derive(Debug)]
pub struct UserInfo {
    state: State,
}

impl UserInfo {
    /// A UserInfo request (the access token refreshed first when due).
    pub fn start() -> Self {
        UserInfo {
            state: State::Token(Box::new(AccessToken::start(false))),
        }
    }

    /// Drives it.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<String> {
        let Some(endpoint) = st.meta.userinfo_endpoint.clone() else {
            return Step::Done(Err(Error::InvalidConfig(
                "the provider has no userinfo_endpoint",
            )));
        };
        let r = match &mut self.state {
            State::Token(t) => match t.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(Err(e)) => return Step::Done(Err(e)),
                Step::Done(Ok(s)) => {
                    let key = st.dpop_key_of(Some(&s));
                    let mut call =
                        Call::new("GET", &endpoint, None, Some(s.tokens.access_token.secret()))
                            .with_dpop_key(Some(key));
                    let first = call.resume(st, host, Outcome::Start);
                    self.state = State::Calling(Box::new(call), s.claims.map(|c| c.sub));
                    match first {
                        Step::Effect(e) => return Step::Effect(e),
                        Step::Done(r) => r,
                    }
                }
            },
            State::Calling(call, _) => match call.resume(st, host, input) {
                Step::Effect(e) => return Step::Effect(e),
                Step::Done(r) => r,
            },
        };
        let State::Calling(_, sub) = &self.state else {
            return unexpected();
        };
        Step::Done(r.and_then(|r| check(&r, sub.as_deref())))
    }
}

fn check(r: &super::HttpResponse, sub: Option<&str>) -> Result<String, Error> {
    if !(200..300).contains(&r.status) {
        return Err(Error::UserinfoHttpError(r.status));
    }
    if !is_json_content_type(r.content_type.as_deref()) {
        return Err(Error::UserinfoInvalid);
    }
    let v = json::parse(&r.body).ok_or(Error::UserinfoInvalid)?;
    let got = v
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(Error::UserinfoInvalid)?;
    if sub.is_some_and(|s| s != got) {
        return Err(Error::UserinfoSubMismatch);
    }
    Ok(r.body.clone())
}

/// Claims that only the validated ID token may give: UserInfo's are dropped.
const ID_TOKEN_ONLY: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nonce",
    "azp",
    "auth_time",
    "acr",
];

/// Member names that mean something to JavaScript objects: never passed on.
const RESERVED: [&str; 3] = ["__proto__", "constructor", "prototype"];

/// The validated ID token claims merged with UserInfo claims (JSON texts),
/// as one JSON object: UserInfo adds and updates profile claims, but with an
/// ID token never its protocol claims (`iss`, `sub`, `aud`, `exp`, `iat`,
/// `nonce`, `azp`, `auth_time`, `acr`, even those it lacks), and
/// `__proto__`, `constructor` and `prototype` members are dropped from both.
pub fn merged_claims(id_token_claims: Option<&str>, userinfo: &str) -> String {
    let (mut members, validated) = match id_token_claims.and_then(json::parse) {
        Some(Value::Object(m)) => (m, true),
        _ => (Vec::new(), false),
    };
    if let Some(Value::Object(extra)) = json::parse(userinfo) {
        for (k, v) in extra {
            if validated && ID_TOKEN_ONLY.contains(&k.as_str()) {
                continue;
            }
            members.retain(|(name, _)| *name != k);
            members.push((k, v));
        }
    }
    members.retain(|(name, _)| !RESERVED.contains(&name.as_str()));
    Value::Object(members).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_adds_profile_claims_but_never_protocol_claims_or_prototype_keys() {
        let id = r#"{"iss":"https://idp","sub":"alice","aud":"spa","exp":9,"iat":1,"nonce":"n","auth_time":1,"name":"Alice","__proto__":{"x":1}}"#;
        let info = r#"{"sub":"alice","iss":"https://evil","aud":"other","exp":99999,"iat":0,"nonce":"m","azp":"evil","auth_time":5,"acr":"urn:mfa","name":"Mallory","email":"a@example.com","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"prototype":{"admin":true}}"#;
        let merged = json::parse(&merged_claims(Some(id), info)).unwrap();
        let text = |k: &str| merged.get(k).and_then(Value::as_str).map(String::from);
        let num = |k: &str| merged.get(k).and_then(Value::as_u64);
        assert_eq!(text("iss").as_deref(), Some("https://idp"));
        assert_eq!(text("sub").as_deref(), Some("alice"));
        assert_eq!(text("aud").as_deref(), Some("spa"));
        assert_eq!(
            (num("exp"), num("iat"), num("auth_time")),
            (Some(9), Some(1), Some(1))
        );
        assert_eq!(text("nonce").as_deref(), Some("n"));
        // Not in the ID token: still not taken from UserInfo.
        assert_eq!(merged.get("azp"), None);
        assert_eq!(merged.get("acr"), None);
        // Profile claims: UserInfo's win, new ones are added.
        assert_eq!(text("name").as_deref(), Some("Mallory"));
        assert_eq!(text("email").as_deref(), Some("a@example.com"));
        for k in RESERVED {
            assert_eq!(merged.get(k), None, "{k}");
        }
        // Without an ID token (plain OAuth): UserInfo's claims as they are, nothing reserved.
        let alone = json::parse(&merged_claims(None, info)).unwrap();
        assert_eq!(alone.get("sub").and_then(Value::as_str), Some("alice"));
        assert_eq!(alone.get("name").and_then(Value::as_str), Some("Mallory"));
        assert_eq!(alone.get("__proto__"), None);
        assert_eq!(alone.get("constructor"), None);
    }
}
