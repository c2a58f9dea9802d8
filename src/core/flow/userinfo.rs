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
                    let mut call =
                        Call::new("GET", &endpoint, None, Some(s.tokens.access_token.secret()));
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

/// The validated ID token claims merged with UserInfo claims (JSON texts),
/// as one JSON object: UserInfo's members override the ID token's.
pub fn merged_claims(id_token_claims: Option<&str>, userinfo: &str) -> String {
    let mut members = match id_token_claims.and_then(json::parse) {
        Some(Value::Object(m)) => m,
        _ => Vec::new(),
    };
    if let Some(Value::Object(extra)) = json::parse(userinfo) {
        for (k, v) in extra {
            members.retain(|(name, _)| *name != k);
            members.push((k, v));
        }
    }
    Value::Object(members).to_json()
}
