//! Starting a login: fresh verifier, state and nonce; the transaction stored
//! in sessionStorage (read back before anything leaves the page); PAR when
//! the provider offers or requires it; with DPoP, a new key for this login
//! (`dpop_jkt`), the transaction naming it, and keys beyond the newest
//! [`KEPT_DPOP_KEYS`] of this client let go (sessions whose tab closed
//! without a logout leave theirs behind).

use super::{unexpected, ClientState, Effect, Host, HttpRequest, Outcome, Step};
use crate::core::authorize::{
    authorize, authorize_params, par_redirect_url, par_request, parse_par_response,
    AuthorizeRequest, Entropy, PendingAuthorization, POPUP_STATE_PREFIX, SILENT_STATE_PREFIX,
};
use crate::core::config::{LoginOptions, ParMode};
use crate::core::error::Error;
use crate::core::secret::CodeVerifier;

const PAR_MISSING: &str =
    "pushedAuthorizationRequests is true but the provider has no pushed_authorization_request_endpoint";

/// How many DPoP keys of one client are kept (the newest; the current
/// session's always): one per live session, in as many tabs.
pub const KEPT_DPOP_KEYS: usize = 32;

#[derive(Debug)]
enum State {
    Start,
    Key,
    Keys,
    Pruned,
    Pushed(Box<PendingAuthorization>, u64),
}

/// Starts a login; the result is the URL to visit (or, with `navigate`, the page goes there).
#[derive(Debug)]
pub struct Login {
    options: LoginOptions,
    navigate: bool,
    /// This login's DPoP key (its id), with DPoP.
    key: Option<String>,
    /// What its `state` starts with (a popup's or a silent login's mark).
    prefix: &'static str,
    /// A silent login: `prompt=none`, to the silent redirect URI.
    silent: bool,
    /// The `state` of the transaction stored, once it is.
    started: Option<crate::core::secret::State>,
    state: State,
}

/// Of `ids` (every key stored, oldest first: IndexedDB lists keys in order,
/// and ours sort by their creation time), this client's to let go: all but
/// the newest [`KEPT_DPOP_KEYS`], never one in `keep`.
fn stale_keys(prefix: &str, ids: Vec<String>, keep: &[&str]) -> Vec<String> {
    let (pinned, mut old): (Vec<String>, Vec<String>) = ids
        .into_iter()
        .filter(|id| id.starts_with(prefix))
        .partition(|id| keep.contains(&id.as_str()));
    let room = KEPT_DPOP_KEYS.saturating_sub(pinned.len());
    old.truncate(old.len().saturating_sub(room));
    old
}

impl Login {
    /// A login with `options`; `navigate` sends the page to the provider at the end.
    pub fn start(options: LoginOptions, navigate: bool) -> Self {
        Login {
            options,
            navigate,
            key: None,
            prefix: "",
            silent: false,
            started: None,
            state: State::Start,
        }
    }

    /// The same login, in a popup: its `state` tells the popup's callback
    /// page to hand the response to the page that opened it.
    pub fn in_popup(mut self) -> Self {
        self.prefix = POPUP_STATE_PREFIX;
        self
    }

    /// The same login, silent: `prompt=none`, sent to the silent redirect
    /// URI in a hidden iframe, whose callback page hands the response to
    /// this page (its `state` says so). The caller's own `prompt` is refused.
    pub fn in_silent(mut self) -> Self {
        self.prefix = SILENT_STATE_PREFIX;
        self.silent = true;
        self
    }

    /// The `state` of the login's stored transaction, once stored.
    pub fn started_state(&self) -> Option<&crate::core::secret::State> {
        self.started.as_ref()
    }

    fn done(&self, host: &dyn Host, url: Result<String, Error>) -> Step<String> {
        if let (true, Ok(u)) = (self.navigate, &url) {
            if let Err(e) = host.navigate(u) {
                return Step::Done(Err(e));
            }
        }
        Step::Done(url)
    }

    /// Drives the login.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<String> {
        match (&self.state, input) {
            (State::Start, Outcome::Start) => {
                if cfg!(feature = "dpop") && st.config.dpop {
                    let id = match st.new_dpop_key_id(host) {
                        Ok(id) => id,
                        Err(e) => return Step::Done(Err(e)),
                    };
                    self.key = Some(id.clone());
                    self.state = State::Key;
                    return Step::Effect(Effect::LoadDpopKey { id, create: true });
                }
            }
            (State::Key, Outcome::DpopKey(r)) => match (r, self.key.clone()) {
                (Ok(jwk), Some(id)) => {
                    st.dpop_key = Some((id, jwk));
                    self.state = State::Keys;
                    return Step::Effect(Effect::DpopKeyIds);
                }
                (Err(e), _) => return Step::Done(Err(e)),
                (Ok(_), None) => return unexpected(),
            },
            (State::Keys, Outcome::Names(ids)) => {
                let session = st.session_dpop_key();
                let new = self.key.clone().unwrap_or_default();
                let stale = stale_keys(&st.dpop_key_prefix(), ids, &[&new, &session]);
                if !stale.is_empty() {
                    self.state = State::Pruned;
                    return Step::Effect(Effect::DiscardDpopKeys(stale));
                }
            }
            // A key that could not be let go is only space.
            (State::Pruned, Outcome::Done(_)) => {}
            (State::Pushed(..), Outcome::Http(r)) => {
                let State::Pushed(pending, sent_at) =
                    core::mem::replace(&mut self.state, State::Start)
                else {
                    return unexpected();
                };
                let pushed = r
                    .and_then(|r| parse_par_response(r.status, r.content_type.as_deref(), &r.body));
                // A device that slept through the request must not send a dead request_uri.
                let pushed = pushed.and_then(|p| {
                    if p.expired(host.now_ms().saturating_sub(sent_at)) {
                        Err(Error::ParRequestExpired)
                    } else {
                        Ok(p)
                    }
                });
                let url = pushed.map(|p| {
                    par_redirect_url(
                        &st.meta.authorization_endpoint,
                        &st.config.client_id,
                        &p.request_uri,
                    )
                });
                if url.is_err() {
                    st.transactions(host).abandon(&pending.state);
                }
                return self.done(host, url);
            }
            _ => return unexpected(),
        }
        match self.build(st, host) {
            Ok(Ok(url)) => self.done(host, Ok(url)),
            Ok(Err(request)) => Step::Effect(Effect::Http(request)),
            Err(e) => Step::Done(Err(e)),
        }
    }

    /// The authorization URL, or the PAR request to send first.
    fn build(
        &mut self,
        st: &ClientState,
        host: &dyn Host,
    ) -> Result<Result<String, HttpRequest>, Error> {
        let verifier = self
            .options
            .code_verifier
            .take()
            .map(CodeVerifier::parse)
            .transpose()?;
        let mut e = Entropy {
            verifier: [0; 32],
            state: [0; 32],
            nonce: [0; 32],
        };
        // One call to the browser's generator for the three (each call costs
        // more than the bytes).
        let mut all = [0u8; 96];
        host.random(&mut all)?;
        for (buf, chunk) in [&mut e.verifier, &mut e.state, &mut e.nonce]
            .into_iter()
            .zip(all.chunks_exact(32))
        {
            for (d, s) in buf.iter_mut().zip(chunk) {
                *d = *s;
            }
        }
        let meta = &st.meta;
        // Built without the `par` feature, the mode is constantly `Never` and PAR compiles away.
        let mode = if cfg!(feature = "par") {
            st.config.par
        } else {
            ParMode::Never
        };
        let par_endpoint = match (mode, &meta.pushed_authorization_request_endpoint) {
            (ParMode::Never, _) if meta.require_pushed_authorization_requests => {
                return Err(Error::ParRequired)
            }
            (ParMode::Never, _) | (ParMode::Auto, None) => None,
            (ParMode::Always, None) => return Err(Error::InvalidConfig(PAR_MISSING)),
            (_, Some(endpoint)) => Some(endpoint),
        };
        if self.silent {
            if self.options.extra_params.iter().any(|(k, _)| k == "prompt") {
                return Err(Error::InvalidConfig(
                    "checkSession sends prompt=none itself: leave prompt out of extraParams",
                ));
            }
            self.options
                .extra_params
                .push((String::from("prompt"), String::from("none")));
        }
        // RFC 8707: the grant covers every configured API (each `resource`,
        // and its scopes), every resource the current grant covers, and the
        // caller's own: one refresh token serves them all, and a new login
        // (a step-up, a resource learned later) never narrows the grant.
        let mut scope = st.config.scope.clone();
        let granted = st
            .mem
            .as_ref()
            .and_then(|r| r.session.as_ref())
            .map(|s| s.granted.clone())
            .unwrap_or_default();
        let wanted: Vec<(String, String)> = st
            .config
            .resources
            .iter()
            .map(|r| (r.target.resource.clone(), r.target.scope.clone()))
            .chain(granted.into_iter().map(|g| (g, String::new())))
            .collect();
        for (resource, words) in wanted {
            let r = (String::from("resource"), resource);
            if !self.options.extra_params.contains(&r) {
                self.options.extra_params.push(r);
            }
            for word in words.split(' ').filter(|w| !w.is_empty()) {
                if !scope.split(' ').any(|s| s == word) {
                    scope.push(' ');
                    scope.push_str(word);
                }
            }
        }
        let jkt = st
            .dpop_key
            .as_ref()
            .filter(|(id, _)| st.config.dpop && Some(id) == self.key.as_ref())
            .map(|(_, k)| k.thumbprint());
        let request = AuthorizeRequest {
            authorization_endpoint: &meta.authorization_endpoint,
            client_id: &st.config.client_id,
            redirect_uri: match (&st.config.silent_redirect_uri, self.silent) {
                (Some(uri), true) => uri,
                _ => &st.config.redirect_uri,
            },
            scope: &scope,
            response_mode: st.config.response_mode,
            extra_params: &self.options.extra_params,
            dpop_jkt: jkt.as_deref(),
            state_prefix: self.prefix,
        };
        let now = host.now_ms();
        let app_state = self.options.app_state.take();
        let txs = st.transactions(host);
        let Some(endpoint) = par_endpoint else {
            let (url, mut pending) = authorize(&request, &e, verifier, now, app_state)?;
            pending.dpop_key.clone_from(&self.key);
            txs.begin(&pending, now)?;
            self.started = Some(pending.state.clone());
            return Ok(Ok(url));
        };
        let (params, mut pending) = authorize_params(&request, &e, verifier, now, app_state)?;
        pending.dpop_key.clone_from(&self.key);
        // Storage is checked before the network, and the record dropped if PAR fails.
        txs.begin(&pending, now)?;
        self.started = Some(pending.state.clone());
        let post = par_request(endpoint, &params);
        self.state = State::Pushed(Box::new(pending), now);
        Ok(Err(HttpRequest {
            method: "POST",
            url: post.url,
            body: Some(post.body),
            authorization: None,
            dpop: None,
            timeout_ms: st.config.timeout_ms,
        }))
    }
}
