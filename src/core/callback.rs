//! The authorization response on the redirect (RFC 6749 §4.1.2, §4.1.2.1;
//! RFC 9207 `iss`), parsed from the callback URL and validated against the
//! pending record.

use super::authorize::{PendingAuthorization, ResponseMode};
use super::encoding::parse_pairs;
use super::error::{Error, ErrorSource, ProviderError};
use super::secret::{AuthorizationCode, State};
use super::url::split;

/// Largest response component accepted (query or fragment). Authorization
/// codes and state are short; anything near this is hostile or broken.
pub const MAX_CALLBACK_BYTES: usize = 16 * 1024;

/// Parameters the authorization response may carry; each at most once.
const RESPONSE_PARAMS: &[&str] = &[
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
];

/// Parameters removed from the address bar after a callback.
const CLEANED_PARAMS: &[&str] = &[
    "code",
    "state",
    "iss",
    "session_state",
    "error",
    "error_description",
    "error_uri",
];

/// What the provider said, before it is matched to a login.
#[derive(Debug)]
pub struct CallbackResponse {
    /// The `state` echoed back.
    pub state: State,
    /// The `iss` parameter (RFC 9207), if present.
    pub iss: Option<String>,
    outcome: Outcome,
}

#[derive(Debug)]
enum Outcome {
    Code(AuthorizationCode),
    Error(ProviderError),
}

/// A callback matched to its login and checked: the only thing that can be
/// exchanged for tokens.
#[derive(Debug)]
pub struct ValidatedCallback {
    /// The authorization code.
    pub code: AuthorizationCode,
    /// The login it belongs to (verifier, nonce, redirect URI, app state).
    pub pending: PendingAuthorization,
}

fn component(url: &str, mode: ResponseMode) -> Option<&str> {
    let (_, query, fragment) = split(url);
    match mode {
        ResponseMode::Query => query,
        ResponseMode::Fragment => fragment,
    }
}

/// True when the URL's response component carries `code` or `error`: every
/// authorization response has one of them. (`state` alone is not enough: a
/// provider's post-logout redirect carries `state` too.) Cheap: it validates nothing.
pub fn is_callback(url: &str, mode: ResponseMode) -> bool {
    component(url, mode).is_some_and(|c| {
        c.split('&').any(|seg| {
            let key = seg.split('=').next().unwrap_or("");
            key == "code" || key == "error"
        })
    })
}

/// Parses the callback URL. Rejects: neither `code` nor `error` (`not_a_callback`),
/// broken encoding (`invalid_callback`), a repeated response parameter
/// (`duplicate_parameter`), no `state` (`missing_state`), `code` with `error`
/// (`code_and_error`), neither (`missing_code`).
pub fn parse_callback(url: &str, mode: ResponseMode) -> Result<CallbackResponse, Error> {
    if !is_callback(url, mode) {
        return Err(Error::NotACallback);
    }
    let raw = component(url, mode).unwrap_or("");
    if raw.len() > MAX_CALLBACK_BYTES {
        return Err(Error::InvalidCallback);
    }
    let pairs = parse_pairs(raw).ok_or(Error::InvalidCallback)?;
    let mut found: [Option<String>; 6] = Default::default();
    for (k, v) in pairs {
        if let Some(i) = RESPONSE_PARAMS.iter().position(|p| *p == k) {
            let slot = found.get_mut(i).ok_or(Error::InvalidCallback)?;
            if slot.is_some() {
                return Err(Error::DuplicateParameter(k));
            }
            *slot = Some(v);
        }
    }
    let [code, state, iss, error, error_description, error_uri] = found;
    let state = match state {
        Some(s) if !s.is_empty() => State::new(s),
        _ => return Err(Error::MissingState),
    };
    let outcome = match (code, error) {
        (Some(_), Some(_)) => return Err(Error::CodeAndError),
        (Some(c), None) if !c.is_empty() => Outcome::Code(AuthorizationCode::new(c)),
        (None, Some(e)) => Outcome::Error(ProviderError::new(
            &e,
            error_description.as_deref(),
            error_uri.as_deref(),
            None,
            ErrorSource::Authorization,
        )),
        _ => return Err(Error::MissingCode),
    };
    Ok(CallbackResponse {
        state,
        iss,
        outcome,
    })
}

impl CallbackResponse {
    /// Matches the response to its pending login and checks it: `state`
    /// equality, `iss` against the configured issuer (RFC 9207) when both are
    /// known, then the provider's error if it sent one. The state check comes
    /// first so a forged link cannot even make the app show an error.
    /// `require_iss` is the provider's `authorization_response_iss_parameter_supported`.
    pub fn validate(
        self,
        pending: PendingAuthorization,
        issuer: Option<&str>,
        require_iss: bool,
    ) -> Result<ValidatedCallback, Error> {
        if pending.state != self.state {
            return Err(Error::StateMismatch);
        }
        match (issuer, self.iss.as_deref()) {
            (Some(expected), Some(got)) if expected != got => return Err(Error::IssuerMismatch),
            (_, None) if require_iss => return Err(Error::IssuerMissing),
            _ => {}
        }
        match self.outcome {
            Outcome::Error(e) => Err(Error::Provider(Box::new(e))),
            Outcome::Code(code) => Ok(ValidatedCallback { code, pending }),
        }
    }
}

/// The URL with the authorization response parameters removed from its
/// response component (the rest of the URL is kept byte for byte). Returns
/// `None` when there is nothing to remove.
pub fn clean_callback_url(url: &str, mode: ResponseMode) -> Option<String> {
    let (base, query, fragment) = split(url);
    let target = component(url, mode)?;
    let mut cleaned = String::new();
    for seg in target.split('&') {
        let key = seg.split('=').next().unwrap_or("");
        if !seg.is_empty() && !CLEANED_PARAMS.contains(&key) {
            if !cleaned.is_empty() {
                cleaned.push('&');
            }
            cleaned.push_str(seg);
        }
    }
    if cleaned.len() == target.len() {
        return None;
    }
    let (query, fragment) = match mode {
        ResponseMode::Query => (Some(cleaned.as_str()), fragment),
        ResponseMode::Fragment => (query, Some(cleaned.as_str())),
    };
    let mut out = String::from(base);
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = fragment.filter(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::secret::{CodeVerifier, Nonce};

    const Q: ResponseMode = ResponseMode::Query;
    const F: ResponseMode = ResponseMode::Fragment;

    fn pending(state: &str) -> PendingAuthorization {
        PendingAuthorization {
            state: State::new(state.into()),
            nonce: Some(Nonce::new("n".into())),
            code_verifier: CodeVerifier::new("v".repeat(43)),
            redirect_uri: "https://app/cb".into(),
            created_at_ms: 0,
            app_state: None,
            max_age: None,
            acr_values: None,
            resources: Vec::new(),
            dpop_key: None,
        }
    }

    #[test]
    fn parses_a_code_response() {
        let r = parse_callback(
            "https://app/cb?code=abc%2B1&state=s1&iss=https%3A%2F%2Fidp",
            Q,
        )
        .unwrap();
        assert_eq!(r.state.secret(), "s1");
        assert_eq!(r.iss.as_deref(), Some("https://idp"));
        let v = r
            .validate(pending("s1"), Some("https://idp"), false)
            .unwrap();
        assert_eq!(v.code.secret(), "abc+1");
    }

    #[test]
    fn parses_the_fragment_mode() {
        let url = "https://app/cb?keep=1#code=c&state=s";
        assert!(is_callback(url, F));
        assert!(!is_callback(url, Q));
        assert_eq!(parse_callback(url, Q).unwrap_err(), Error::NotACallback);
        let r = parse_callback(url, F).unwrap();
        assert_eq!(
            r.validate(pending("s"), None, false).unwrap().code.secret(),
            "c"
        );
    }

    #[test]
    fn rejections_have_distinct_codes() {
        let cases: &[(&str, Error)] = &[
            ("https://app/cb", Error::NotACallback),
            ("https://app/cb?page=2", Error::NotACallback),
            ("https://app/cb?code=c", Error::MissingState),
            ("https://app/cb?code=c&state=", Error::MissingState),
            ("https://app/cb?state=s", Error::NotACallback), // e.g. a post-logout redirect
            ("https://app/cb?state=s&code=", Error::MissingCode),
            (
                "https://app/cb?state=s&code=c&error=access_denied",
                Error::CodeAndError,
            ),
            (
                "https://app/cb?state=s&state=t&code=c",
                Error::DuplicateParameter("state".into()),
            ),
            (
                "https://app/cb?state=s&code=c&code=d",
                Error::DuplicateParameter("code".into()),
            ),
            (
                "https://app/cb?state=s&code=c&iss=a&iss=b",
                Error::DuplicateParameter("iss".into()),
            ),
            ("https://app/cb?state=s&code=%zz", Error::InvalidCallback),
            ("https://app/cb?state=s&code=%C3", Error::InvalidCallback),
        ];
        for (url, want) in cases {
            assert_eq!(&parse_callback(url, Q).unwrap_err(), want, "{url}");
        }
        let huge = format!(
            "https://app/cb?state=s&code={}",
            "a".repeat(MAX_CALLBACK_BYTES)
        );
        assert_eq!(
            parse_callback(&huge, Q).unwrap_err(),
            Error::InvalidCallback
        );
        // unrelated parameters may repeat
        assert!(parse_callback("https://app/cb?tab=1&tab=2&code=c&state=s", Q).is_ok());
    }

    #[test]
    fn provider_errors_surface_after_the_state_check() {
        let url = "https://app/cb?error=access_denied&error_description=End-User+aborted+%3Cb%3E&error_uri=https%3A%2F%2Fidp%2Fe&state=s";
        let err = parse_callback(url, Q)
            .unwrap()
            .validate(pending("s"), None, false)
            .unwrap_err();
        let p = err.provider().unwrap();
        assert_eq!(err.code(), "access_denied");
        assert_eq!(p.error_description.as_deref(), Some("End-User aborted <b>"));
        assert_eq!(p.error_uri.as_deref(), Some("https://idp/e"));
        // a forged error with another state is a state mismatch, not a provider error
        let err = parse_callback(url, Q)
            .unwrap()
            .validate(pending("other"), None, false)
            .unwrap_err();
        assert_eq!(err, Error::StateMismatch);
    }

    #[test]
    fn iss_must_match_when_known() {
        let r = parse_callback("https://app/cb?code=c&state=s&iss=https%3A%2F%2Fevil", Q).unwrap();
        assert_eq!(
            r.validate(pending("s"), Some("https://idp"), false)
                .unwrap_err(),
            Error::IssuerMismatch
        );
        let r = parse_callback("https://app/cb?error=x&state=s&iss=https%3A%2F%2Fevil", Q).unwrap();
        assert_eq!(
            r.validate(pending("s"), Some("https://idp"), false)
                .unwrap_err(),
            Error::IssuerMismatch
        );
        let r = parse_callback("https://app/cb?code=c&state=s", Q).unwrap();
        assert!(r.validate(pending("s"), Some("https://idp"), false).is_ok());
        // RFC 9207 §2.4: when the provider advertises iss, its absence is an error
        let r = parse_callback("https://app/cb?code=c&state=s", Q).unwrap();
        assert_eq!(
            r.validate(pending("s"), Some("https://idp"), true)
                .unwrap_err(),
            Error::IssuerMissing
        );
        let r = parse_callback("https://app/cb?code=c&state=s&iss=https%3A%2F%2Fidp", Q).unwrap();
        assert!(r.validate(pending("s"), Some("https://idp"), true).is_ok());
    }

    #[test]
    fn cleans_only_response_parameters() {
        assert_eq!(
            clean_callback_url(
                "https://app/cb?x=1&code=c&state=s&iss=i&session_state=z&y=%20#top",
                Q
            )
            .as_deref(),
            Some("https://app/cb?x=1&y=%20#top")
        );
        assert_eq!(
            clean_callback_url("https://app/cb?code=c&state=s", Q).as_deref(),
            Some("https://app/cb")
        );
        assert_eq!(
            clean_callback_url(
                "https://app/cb?error=e&error_description=d&error_uri=u&state=s",
                Q
            )
            .as_deref(),
            Some("https://app/cb")
        );
        assert_eq!(
            clean_callback_url("https://app/cb?keep=1#code=c&state=s", F).as_deref(),
            Some("https://app/cb?keep=1")
        );
        assert_eq!(clean_callback_url("https://app/cb?x=1", Q), None);
        assert_eq!(clean_callback_url("https://app/cb", Q), None);
    }
}
