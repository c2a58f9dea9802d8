//! Per-call options (`loginWithRedirect`, `loginWithPopup`, `logout`,
//! `getAccessToken`) from their JSON text, checked here like the
//! configuration.

use super::config::opt_str;
use super::error::Error;
use super::json::{self, Value};
use super::resource::{is_resource_indicator, ResourceRule};
use crate::core::secret::redact;

/// Per-login options.
#[derive(Default, Clone)]
pub struct LoginOptions {
    /// Application state (JSON text) handed back by the callback.
    pub app_state: Option<String>,
    /// Extra authorization parameters; protocol parameters are refused.
    pub extra_params: Vec<(String, String)>,
    /// A caller-supplied code verifier (checked); normally left `None`.
    pub code_verifier: Option<String>,
}

impl core::fmt::Debug for LoginOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoginOptions")
            .field("app_state", &self.app_state)
            .field("extra_params", &self.extra_params)
            .field("code_verifier", &redact(&self.code_verifier))
            .finish()
    }
}

const EXTRA_PROBLEM: &str =
    "extraParams values must be strings, numbers, booleans or arrays of them";

fn param_text(v: &Value) -> Result<Option<String>, Error> {
    Ok(match v {
        Value::Null => None,
        Value::String(s) | Value::Number(s) => Some(s.clone()),
        Value::Bool(b) => Some(String::from(if *b { "true" } else { "false" })),
        _ => return Err(Error::InvalidConfig(EXTRA_PROBLEM)),
    })
}

/// `loginWithRedirect` / `authorizeUrl` options from their JSON text
/// (`undefined` options arrive as `null`).
pub fn login_options_from_json(text: &str) -> Result<LoginOptions, Error> {
    let o = match json::parse(text) {
        Some(Value::Null) => return Ok(LoginOptions::default()),
        Some(o @ Value::Object(_)) => o,
        _ => return Err(Error::InvalidConfig("login options must be an object")),
    };
    let mut out = LoginOptions {
        app_state: o.get("appState").map(Value::to_json),
        code_verifier: opt_str(&o, "codeVerifier", "codeVerifier must be a string")?,
        ..LoginOptions::default()
    };
    match o.get("extraParams") {
        None | Some(Value::Null) => {}
        Some(Value::Object(members)) => {
            for (k, v) in members {
                let values = match v {
                    Value::Array(items) => items.as_slice(),
                    one => core::slice::from_ref(one),
                };
                for item in values {
                    if let Some(s) = param_text(item)? {
                        out.extra_params.push((k.clone(), s));
                    }
                }
            }
        }
        Some(_) => return Err(Error::InvalidConfig("extraParams must be an object")),
    }
    Ok(out)
}

/// A popup login's `popupTimeout` (whole seconds, 1 to 3600; default 300)
/// from the options' JSON text, in milliseconds.
pub fn popup_timeout_from_json(text: &str) -> Result<u64, Error> {
    let seconds = match json::parse(text) {
        Some(o @ Value::Object(_)) => match o.get("popupTimeout") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|s| (1..=3600).contains(s)).ok_or(
                Error::InvalidConfig("popupTimeout must be whole seconds, 1 to 3600"),
            )?),
        },
        _ => None,
    };
    Ok(seconds.map_or(crate::core::flow::DEFAULT_POPUP_TIMEOUT_MS, |s| s * 1000))
}

/// `logout` options from their JSON text: `returnTo` (a string, or a `URL`,
/// which serialises to its href) and `localOnly`.
pub fn logout_options_from_json(text: &str) -> Result<(Option<String>, bool), Error> {
    const PROBLEM: &str = "returnTo must be an http(s) URL";
    match json::parse(text) {
        Some(Value::Null) => Ok((None, false)),
        Some(o @ Value::Object(_)) => Ok((
            opt_str(&o, "returnTo", PROBLEM)?,
            o.get("localOnly").and_then(Value::as_bool) == Some(true),
        )),
        _ => Err(Error::InvalidConfig("logout options must be an object")),
    }
}

/// `getAccessToken` options from their JSON text: `forceRefresh`, and
/// `resource` with its `scope` (default: the scope `resources` gives that
/// resource, else none). Anything but an object means none.
pub fn token_options_from_json(
    text: &str,
    rules: &[ResourceRule],
) -> Result<(bool, Option<crate::core::session::Target>), Error> {
    const PROBLEM: &str =
        "getAccessToken: resource must be an absolute URI without a fragment, scope a string";
    let Some(o @ Value::Object(_)) = json::parse(text) else {
        return Ok((false, None));
    };
    let force = o.get("forceRefresh").and_then(Value::as_bool) == Some(true);
    let scope = opt_str(&o, "scope", PROBLEM)?;
    let Some(resource) = opt_str(&o, "resource", PROBLEM)? else {
        return match scope {
            Some(_) => Err(Error::InvalidConfig(
                "getAccessToken: scope goes with resource",
            )),
            None => Ok((force, None)),
        };
    };
    let scope = scope.unwrap_or_else(|| {
        rules
            .iter()
            .find(|r| r.target.resource == resource)
            .map(|r| r.target.scope.clone())
            .unwrap_or_default()
    });
    if !is_resource_indicator(&resource) {
        return Err(Error::InvalidConfig(PROBLEM));
    }
    Ok((
        force,
        Some(crate::core::session::Target { resource, scope }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_options() {
        assert_eq!(logout_options_from_json("null").unwrap(), (None, false));
        assert_eq!(
            logout_options_from_json(r#"{"returnTo":"https://app/","localOnly":true}"#).unwrap(),
            (Some("https://app/".into()), true)
        );
        assert_eq!(
            logout_options_from_json(r#"{"returnTo":42}"#)
                .unwrap_err()
                .code(),
            "invalid_config"
        );
    }

    #[test]
    fn login_options() {
        let o = login_options_from_json(
            r#"{"appState":{"returnTo":"/x","n":[1,true,null]},"extraParams":{"prompt":"login","max_age":0,"x":["a","b"],"f":true,"skip":null}}"#,
        )
        .unwrap();
        assert_eq!(
            o.app_state.as_deref(),
            Some(r#"{"returnTo":"/x","n":[1,true,null]}"#)
        );
        let p: Vec<(&str, &str)> = o
            .extra_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            p,
            [
                ("prompt", "login"),
                ("max_age", "0"),
                ("x", "a"),
                ("x", "b"),
                ("f", "true")
            ]
        );
        assert!(login_options_from_json("null").unwrap().app_state.is_none());
        for bad in [
            "5",
            r#"{"extraParams":"a"}"#,
            r#"{"extraParams":{"claims":{"a":1}}}"#,
            r#"{"codeVerifier":12}"#,
        ] {
            assert_eq!(
                login_options_from_json(bad).unwrap_err().code(),
                "invalid_config",
                "{bad}"
            );
        }
    }
}
