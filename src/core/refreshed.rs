//! A refreshed ID token against the one the session began with (OIDC Core
//! §12.2): the same `iss`, `sub` and `aud` set, the same presence and value
//! of `azp`, an unchanged `auth_time` when the original had one, and a
//! `nonce` that is absent or the original's. (Signature and the usual claim
//! checks come first, as for any ID token.)

use super::error::Error;
use super::id_token::IdTokenClaims;
use super::json::{self, Value};

/// `aud` as a list (a string is a list of one).
fn audiences(v: &Value) -> Option<Vec<&str>> {
    match v.get("aud")? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// The same audiences, in any order (lists are short: no sort is linked in).
fn same_audiences(a: Option<Vec<&str>>, b: Option<Vec<&str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)),
        _ => false,
    }
}

/// Checks `now` (the refreshed token's validated claims) against `was`.
pub fn check_refreshed(was: &IdTokenClaims, now: &IdTokenClaims) -> Result<(), Error> {
    if was.sub != now.sub {
        return Err(Error::IdTokenSubMismatch);
    }
    let (Some(w), Some(n)) = (json::parse(&was.json), json::parse(&now.json)) else {
        return Err(Error::IdTokenClaimsInvalid);
    };
    let text = |v: &Value, k: &str| v.get(k).map(|x| x.as_str().map(String::from));
    let same = text(&w, "iss") == text(&n, "iss")
        && same_audiences(audiences(&w), audiences(&n))
        && text(&w, "azp") == text(&n, "azp")
        && w.get("auth_time")
            .is_none_or(|t| n.get("auth_time").and_then(Value::as_u64) == t.as_u64())
        && n.get("nonce").is_none_or(|x| {
            x.as_str().is_some() && text(&w, "nonce") == Some(x.as_str().map(String::from))
        });
    if same {
        Ok(())
    } else {
        Err(Error::IdTokenRefreshMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> IdTokenClaims {
        IdTokenClaims {
            sub: String::from(if json.contains(r#""sub":"bob""#) {
                "bob"
            } else {
                "alice"
            }),
            exp: 2,
            json: String::from(json),
        }
    }

    const WAS: &str = r#"{"iss":"https://idp","sub":"alice","aud":["spa","api"],"azp":"spa","auth_time":100,"nonce":"n-1","exp":2,"iat":1}"#;

    #[test]
    fn a_refreshed_id_token_must_match_the_original() {
        let was = claims(WAS);
        // Accepted: the same claims, a later exp/iat, the aud list reordered,
        // the nonce left out (or repeated), new claims added.
        for ok in [
            WAS,
            r#"{"iss":"https://idp","sub":"alice","aud":["api","spa"],"azp":"spa","auth_time":100,"exp":9,"iat":5,"acr":"1"}"#,
            r#"{"iss":"https://idp","sub":"alice","aud":["spa","api"],"azp":"spa","auth_time":100,"nonce":"n-1","exp":9,"iat":5}"#,
        ] {
            assert_eq!(check_refreshed(&was, &claims(ok)), Ok(()), "{ok}");
        }
        let edits: [(&str, &str, Error); 9] = [
            (
                r#""sub":"alice""#,
                r#""sub":"bob""#,
                Error::IdTokenSubMismatch,
            ),
            (
                r#""iss":"https://idp""#,
                r#""iss":"https://other""#,
                Error::IdTokenRefreshMismatch,
            ),
            (
                r#"["spa","api"]"#,
                r#"["spa"]"#,
                Error::IdTokenRefreshMismatch,
            ),
            (
                r#"["spa","api"]"#,
                r#"["spa","api","evil"]"#,
                Error::IdTokenRefreshMismatch,
            ),
            (r#","azp":"spa""#, "", Error::IdTokenRefreshMismatch),
            (
                r#""azp":"spa""#,
                r#""azp":"api""#,
                Error::IdTokenRefreshMismatch,
            ),
            (
                r#""auth_time":100"#,
                r#""auth_time":101"#,
                Error::IdTokenRefreshMismatch,
            ),
            (r#","auth_time":100"#, "", Error::IdTokenRefreshMismatch),
            (
                r#""nonce":"n-1""#,
                r#""nonce":"n-2""#,
                Error::IdTokenRefreshMismatch,
            ),
        ];
        for (from, to, want) in edits {
            let now = WAS.replace(from, to);
            assert_ne!(now, WAS);
            assert_eq!(check_refreshed(&was, &claims(&now)), Err(want), "{now}");
        }
        // Without auth_time or azp in the original, the refreshed one may add them.
        let bare = claims(r#"{"iss":"https://idp","sub":"alice","aud":"spa","exp":2,"iat":1}"#);
        let more = claims(
            r#"{"iss":"https://idp","sub":"alice","aud":["spa"],"auth_time":7,"exp":3,"iat":2}"#,
        );
        assert_eq!(check_refreshed(&bare, &more), Ok(()));
        // A nonce where the original had none is not the original's.
        let nonce = claims(
            r#"{"iss":"https://idp","sub":"alice","aud":"spa","nonce":"x","exp":3,"iat":2}"#,
        );
        assert_eq!(
            check_refreshed(&bare, &nonce),
            Err(Error::IdTokenRefreshMismatch)
        );
    }
}
