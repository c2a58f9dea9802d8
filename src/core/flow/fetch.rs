//! `fetch` with the access token — only for the configured API origins
//! (default: the page's own), never any other origin, and never over an
//! `Authorization` header the app set itself. With DPoP: `Authorization:
//! DPoP` and a fresh proof with `ath`; a `use_dpop_nonce` challenge retries
//! once with the server's nonce. A 401 with `error="invalid_token"`
//! refreshes once and retries. Retries happen only when the request can be
//! replayed (the host cloned it before sending).

use super::call::Proof;
use super::login::Login;
use super::popup::{PopupLogin, DEFAULT_POPUP_TIMEOUT_MS};
use super::refresh::AccessToken;
use super::{unexpected, AppRequest, ClientState, Effect, Host, HttpRequest, Outcome, Step};
use crate::core::config::{resource_for, LoginOptions, StepUpMode};
use crate::core::dpop::retry_nonce;
use crate::core::error::Error;
use crate::core::error::StepUp;
use crate::core::prm::{parse_resource_metadata, resource_metadata_url};
use crate::core::secret::Redacted;
use crate::core::session::{is_invalid_token_challenge, step_up_challenge, Target};
use crate::core::url::check_url;
use crate::core::url::origin;

enum State {
    Start,
    Plain,
    /// Reading the API's protected resource metadata (RFC 9728).
    Metadata,
    /// A step-up (RFC 9470): the popup being opened (its number and the login's options).
    Launching(u32, LoginOptions),
    /// A step-up login in the popup, then the request once more.
    SteppingUp(Box<PopupLogin>),
    /// A step-up login by redirect (the page leaves).
    Redirecting(Box<Login>, Box<StepUp>),
    Token(Box<AccessToken>),
    Proving(Proof, String),
    Sent,
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            State::Start => f.write_str("Start"),
            State::Plain => f.write_str("Plain"),
            State::Metadata => f.write_str("Metadata"),
            State::Launching(..) => f.write_str("Launching"),
            State::SteppingUp(p) => f.debug_tuple("SteppingUp").field(p).finish(),
            State::Redirecting(l, _) => f.debug_tuple("Redirecting").field(l).finish(),
            State::Token(t) => f.debug_tuple("Token").field(t).finish(),
            State::Proving(p, _) => f.debug_tuple("Proving").field(p).field(&Redacted).finish(),
            State::Sent => f.write_str("Sent"),
        }
    }
}

/// The app's request, sent with the token when its origin is allowed.
pub struct Fetch {
    url: String,
    method: String,
    allowed: Option<String>,
    can_replay: bool,
    replay: bool,
    token: String,
    /// The API's own token (RFC 8707), when a `resources` rule covers the URL.
    target: Option<Target>,
    /// A step-up login was made for this request (it is not made twice).
    stepped_up: bool,
    state: State,
}

impl core::fmt::Debug for Fetch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fetch")
            .field("url", &self.url)
            .field("method", &self.method)
            .field("allowed", &self.allowed)
            .field("can_replay", &self.can_replay)
            .field("replay", &self.replay)
            .field("token", &Redacted)
            .field("state", &self.state)
            .finish()
    }
}

impl Fetch {
    /// `url` is the request's absolute URL; `has_authorization` whether the
    /// app set that header; `can_replay` whether a copy was kept for a retry.
    pub fn start(url: &str, method: &str, has_authorization: bool, can_replay: bool) -> Self {
        Fetch {
            url: String::from(url),
            method: String::from(method),
            allowed: (!has_authorization).then(|| origin(url)).flatten(),
            can_replay,
            replay: false,
            token: String::new(),
            target: None,
            stepped_up: false,
            state: State::Start,
        }
    }

    fn send(&mut self, token: &str, proof: Option<String>) -> Step<()> {
        let mut auth = String::from(if proof.is_some() { "DPoP " } else { "Bearer " });
        auth.push_str(token);
        self.token = String::from(token);
        self.state = State::Sent;
        // A request that carries our token is never followed elsewhere.
        Step::Effect(Effect::AppFetch(AppRequest {
            authorization: Some(auth),
            dpop: proof,
            replay: self.replay,
            follow_redirects: false,
        }))
    }

    fn with_token(&mut self, st: &mut ClientState, host: &dyn Host, token: String) -> Step<()> {
        if !(cfg!(feature = "dpop") && st.config.dpop) {
            return self.send(&token, None);
        }
        self.state = State::Proving(Proof::new(&self.method, &self.url, Some(&token)), token);
        self.resume(st, host, Outcome::Start)
    }

    /// An API asked for a step-up: fail typed, or (`stepUp`) log in again
    /// with its `acr_values` / `max_age` — once per request.
    fn step_up(&mut self, st: &mut ClientState, host: &dyn Host, up: StepUp) -> Step<()> {
        let mode = st.config.step_up;
        // (A request already sent again has no copy left to send a third time.)
        let resendable = self.can_replay && !self.replay;
        if mode == StepUpMode::Fail || self.stepped_up || (mode == StepUpMode::Popup && !resendable)
        {
            return Step::Done(Err(Error::StepUpRequired(Box::new(up))));
        }
        self.stepped_up = true;
        self.replay = true;
        let mut options = LoginOptions::default();
        if let Some(a) = &up.acr_values {
            options
                .extra_params
                .push((String::from("acr_values"), a.clone()));
        }
        if let Some(m) = up.max_age {
            let mut v = String::new();
            crate::core::encoding::push_u64(&mut v, m);
            options.extra_params.push((String::from("max_age"), v));
        }
        if mode == StepUpMode::Redirect {
            // The callback hands this back: the app sends the request again.
            let mut state = String::from(r#"{"pkceWasmStepUp":{"url":"#);
            crate::core::json::push_string(&mut state, &self.url);
            state.push_str("}}");
            options.app_state = Some(state);
            let mut login = Login::start(options, true);
            let first = login.resume(st, host, Outcome::Start);
            self.state = State::Redirecting(Box::new(login), Box::new(up));
            return match first {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(r) => {
                    let State::Redirecting(_, up) = &self.state else {
                        return unexpected();
                    };
                    Step::Done(r.and(Err(Error::StepUpRequired(up.clone()))))
                }
            };
        }
        let n = st.claim_popup();
        self.state = State::Launching(n, options);
        Step::Effect(Effect::PopupLaunch(st.popup_window()))
    }

    /// Drives the request; the response itself stays with the host.
    pub fn resume(&mut self, st: &mut ClientState, host: &dyn Host, input: Outcome) -> Step<()> {
        match (&mut self.state, input) {
            (State::Start, Outcome::Start) => {
                // An API with its own tokens (RFC 8707) gets those, and only those.
                let target = self
                    .allowed
                    .as_ref()
                    .and_then(|_| {
                        resource_for(&st.config.resources, &self.url)
                            .or_else(|| resource_for(&st.learned, &self.url))
                    })
                    .map(|r| r.target.clone());
                let allowed = target.is_some()
                    || self
                        .allowed
                        .as_ref()
                        .is_some_and(|o| st.api_origins.contains(o));
                if !allowed {
                    self.state = State::Plain;
                    return Step::Effect(Effect::AppFetch(AppRequest {
                        authorization: None,
                        dpop: None,
                        replay: false,
                        follow_redirects: true,
                    }));
                }
                self.target.clone_from(&target);
                self.state = State::Token(Box::new(AccessToken::for_target(false, target)));
                self.resume(st, host, Outcome::Start)
            }
            (State::Plain, Outcome::App(r)) => Step::Done(r.map(|_| ())),
            (State::Launching(n, options), Outcome::Done(opened)) => {
                let (n, options) = (*n, core::mem::take(options));
                if let Err(e) = opened {
                    st.release_popup(n);
                    return Step::Done(Err(e));
                }
                let op = PopupLogin::start(n, options, DEFAULT_POPUP_TIMEOUT_MS);
                self.state = State::SteppingUp(Box::new(op));
                self.resume(st, host, Outcome::Start)
            }
            (State::SteppingUp(op), input) => match op.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(Err(e)) => Step::Done(Err(e)),
                // Logged in as asked (acr and auth_time checked): the request once more.
                Step::Done(Ok(_)) => {
                    let target = self.target.clone();
                    self.state = State::Token(Box::new(AccessToken::for_target(false, target)));
                    self.resume(st, host, Outcome::Start)
                }
            },
            (State::Redirecting(login, up), input) => match login.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(Err(e)) => Step::Done(Err(e)),
                // The page is on its way to the provider.
                Step::Done(Ok(_)) => Step::Done(Err(Error::StepUpRequired(up.clone()))),
            },
            (State::Metadata, Outcome::Http(r)) => {
                let issuer = st.config.issuer.clone().unwrap_or_default();
                let rule =
                    r.and_then(|r| parse_resource_metadata(r.status, &r.body, &self.url, &issuer));
                match rule {
                    Err(e) => Step::Done(Err(e)),
                    Ok(rule) => {
                        let target = rule.target.clone();
                        st.learned.retain(|l| l.prefix != rule.prefix);
                        st.learned.push(rule);
                        self.target = Some(target.clone());
                        let token = AccessToken::for_target(false, Some(target));
                        self.state = State::Token(Box::new(token));
                        self.resume(st, host, Outcome::Start)
                    }
                }
            }
            (State::Token(t), input) => match t.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(Err(e)) => Step::Done(Err(e)),
                Step::Done(Ok(s)) => match s.token_for(self.target.as_ref()) {
                    Some((token, ..)) => {
                        let token = String::from(token.secret());
                        self.with_token(st, host, token)
                    }
                    None => Step::Done(Err(Error::LoginRequired)),
                },
            },
            (State::Proving(p, token), input) => match p.resume(st, host, input) {
                Step::Effect(e) => Step::Effect(e),
                Step::Done(Err(e)) => Step::Done(Err(e)),
                Step::Done(Ok(proof)) => {
                    let token = core::mem::take(token);
                    self.send(&token, Some(proof))
                }
            },
            (State::Sent, Outcome::App(r)) => {
                let r = match r {
                    Ok(r) => r,
                    Err(e) => return Step::Done(Err(e)),
                };
                // The API redirected: not followed, so the token went nowhere else.
                if r.redirected {
                    return Step::Done(Err(Error::ApiRedirectRefused));
                }
                // RFC 9470: the API wants a stronger or fresher login.
                if let Some(up) = (r.status == 401)
                    .then_some(r.www_authenticate.as_deref())
                    .flatten()
                    .and_then(step_up_challenge)
                {
                    return self.step_up(st, host, up);
                }
                // RFC 9728: the API says which resource it is; checked, then
                // a token for it, and the request once more.
                let metadata = (r.status == 401 && self.target.is_none())
                    .then_some(r.www_authenticate.as_deref())
                    .flatten()
                    .and_then(resource_metadata_url);
                if let (Some(url), true) = (metadata, self.can_replay && !self.replay) {
                    if check_url(&url, "").is_err() {
                        return Step::Done(Err(Error::ResourceMetadataInvalid(
                            "its resource_metadata URL is not https",
                        )));
                    }
                    self.replay = true;
                    self.state = State::Metadata;
                    return Step::Effect(Effect::Http(HttpRequest {
                        method: "GET",
                        url,
                        body: None,
                        authorization: None,
                        dpop: None,
                        timeout_ms: st.config.timeout_ms,
                    }));
                }
                let dpop = cfg!(feature = "dpop") && st.config.dpop;
                let origin = self.allowed.clone().unwrap_or_default();
                if dpop {
                    st.remember_nonce(&origin, r.dpop_nonce.as_deref());
                }
                let nonce_retry = dpop
                    && retry_nonce(
                        0,
                        r.status,
                        None,
                        r.www_authenticate.as_deref(),
                        r.dpop_nonce.as_deref(),
                    )
                    .is_some();
                let token_retry = r.status == 401
                    && r.www_authenticate
                        .as_deref()
                        .is_some_and(is_invalid_token_challenge);
                if self.replay || !self.can_replay || !(nonce_retry || token_retry) {
                    return Step::Done(Ok(()));
                }
                self.replay = true;
                if token_retry {
                    let target = self.target.clone();
                    self.state = State::Token(Box::new(AccessToken::for_target(true, target)));
                    return self.resume(st, host, Outcome::Start);
                }
                // The nonce changed: a new proof for the same token.
                let token = core::mem::take(&mut self.token);
                self.with_token(st, host, token)
            }
            _ => unexpected(),
        }
    }
}
