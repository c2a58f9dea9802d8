//! The native simulation tier: the core's state machines driven by a fake
//! browser. A fake provider (rotating refresh tokens with reuse detection:
//! replaying a rotated token revokes the whole grant, as oidc-provider
//! does), storage shared by simulated tabs (localStorage reaching other tabs
//! late, like Chromium's), a lock manager, a clock, and a fault injectable at
//! every effect. Deterministic: the test decides which effect completes next.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use pkce_wasm::core::config::{CacheLocation, Config, Endpoints, LoginOptions, ParMode};
use pkce_wasm::core::discovery::ProviderMetadata;
use pkce_wasm::core::dpop::PublicJwk;
use pkce_wasm::core::encoding::{b64url, b64url_decode, parse_pairs};
use pkce_wasm::core::flow::{
    AccessToken, AppResponse, Area, Callback, CallbackResult, ClientState, Create, Effect, Event,
    Fetch, Host, HttpRequest, HttpResponse, Login, Logout, Outcome, PopupLogin, SilentLogin, Step,
    TabAction, TokenOrSilent, UserInfo, Wake,
};
use pkce_wasm::core::session::Session;
use pkce_wasm::core::url::split;
use pkce_wasm::core::Error;
use sha2::{Digest, Sha256};

pub const ISS: &str = "https://idp.example.com";
pub const APP: &str = "https://app.example.com";
pub const TOKEN: &str = "https://idp.example.com/token";
pub const JWKS: &str = "https://idp.example.com/jwks";
pub const REVOKE: &str = "https://idp.example.com/revoke";
pub const USERINFO: &str = "https://idp.example.com/me";
pub const AT_TTL_S: u64 = 300;

/// A fault for the next request matching `url` (any, when `None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Never reaches the provider: `network_error`.
    Unreachable,
    /// Never reaches the provider within the timeout: `timeout`.
    Timeout,
    /// The provider processes it, then the body is replaced by HTML.
    Html,
    /// The provider processes it; its JSON keeps the tokens but `expires_in` becomes a string.
    StringExpiry,
    /// The provider processes it, then answers 500 (its result is lost).
    ServerError,
}

#[derive(Debug, Default)]
pub struct Provider {
    pub codes: BTreeMap<String, (String, String, String)>, // code -> (challenge, nonce, issuer)
    pub grant_issuer: BTreeMap<u32, String>,
    /// code -> the grant its exchange created
    pub code_grant: BTreeMap<String, u32>,
    /// grant -> when its user authenticated (`auth_time`)
    pub grant_auth: BTreeMap<u32, u64>,
    /// refresh token -> (grant id, still the live one)
    pub refresh_tokens: BTreeMap<String, (u32, bool)>,
    pub revoked_grants: Vec<u32>,
    pub presented: Vec<String>,
    pub invalid_grant_answers: u32,
    pub reuse_detected: u32,
    pub token_requests: u32,
    pub requests: Vec<String>,
    pub seq: u32,
    pub faults: Vec<(Option<String>, Fault)>,
    pub sub: String,
    /// Answer `token_type: DPoP` (the client asked for DPoP).
    pub dpop: bool,
    /// Edits the claims of the ID tokens the refresh grant returns.
    pub refresh_claims: Option<fn(String) -> String>,
    /// Edits the ID token claims of a login (not a refresh), e.g. to add `acr`.
    pub login_claims: Option<fn(String) -> String>,
    /// The refresh grant returns no ID token.
    pub refresh_without_id_token: bool,
    /// Token answers carry no refresh token.
    pub no_refresh_token: bool,
    /// Refresh grants with a `resource` (RFC 8707): it and the `scope` asked for.
    pub resource_requests: Vec<(String, Option<String>)>,
    /// Every secret that went by: codes, tokens, verifiers, states, nonces, proofs.
    pub secrets: Vec<String>,
    /// grant -> the thumbprint of the DPoP key its tokens are bound to
    pub grant_jkt: BTreeMap<u32, String>,
    /// Refresh requests proven with another key than the grant's (refused).
    pub wrong_key: u32,
}

fn json(status: u16, body: &str) -> Result<HttpResponse, Error> {
    Ok(HttpResponse {
        status,
        content_type: Some("application/json".into()),
        body: body.into(),
        dpop_nonce: None,
        www_authenticate: None,
    })
}

/// The thumbprint of the key in a request's DPoP proof header.
fn proof_jkt(req: &HttpRequest) -> Option<String> {
    let header = req.dpop.as_deref()?.split('.').next()?;
    let v = pkce_wasm::core::json::parse(&String::from_utf8(b64url_decode(header)?).ok()?)?;
    let jwk = v.get("jwk")?;
    let text = |k: &str| jwk.get(k)?.as_str().map(String::from);
    Some(
        PublicJwk {
            x: text("x")?,
            y: text("y")?,
        }
        .thumbprint(),
    )
}

pub fn sign(input: &str) -> String {
    b64url(&Sha256::digest(input.as_bytes()))
}

pub fn id_token(iss: &str, sub: &str, nonce: Option<&str>, now_s: u64) -> String {
    id_token_edited(iss, sub, nonce, now_s, now_s, None)
}

/// An ID token for a login at `auth_s`, issued at `now_s`, whose claims JSON
/// `edit` changed before signing.
pub fn id_token_edited(
    iss: &str,
    sub: &str,
    nonce: Option<&str>,
    now_s: u64,
    auth_s: u64,
    edit: Option<fn(String) -> String>,
) -> String {
    let header = b64url(br#"{"alg":"ES256","kid":"k1"}"#);
    let nonce = nonce
        .map(|n| format!(r#","nonce":"{n}""#))
        .unwrap_or_default();
    let claims = format!(
        r#"{{"iss":"{iss}","aud":"spa","sub":"{sub}","iat":{now_s},"exp":{},"auth_time":{auth_s}{nonce}}}"#,
        now_s + 3600
    );
    let claims = edit.map_or(claims.clone(), |f| f(claims));
    let input = format!("{header}.{}", b64url(claims.as_bytes()));
    format!("{input}.{}", sign(&input))
}

impl Provider {
    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}-{}", self.seq)
    }

    /// The authorization endpoint: a code for the request's challenge and nonce.
    pub fn authorize(&mut self, url: &str) -> String {
        self.authorize_as(url, ISS)
    }

    /// The same, for a provider with another issuer identifier.
    pub fn authorize_as(&mut self, url: &str, issuer: &str) -> String {
        let q = parse_pairs(split(url).1.unwrap()).unwrap();
        let get = |k: &str| {
            q.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let code = self.next("code");
        self.secrets.extend(
            [code.clone(), get("state"), get("nonce")]
                .into_iter()
                .filter(|s| !s.is_empty()),
        );
        self.codes.insert(
            code.clone(),
            (get("code_challenge"), get("nonce"), issuer.to_string()),
        );
        format!(
            "{APP}/cb?code={code}&state={}&iss=https%3A%2F%2Fidp.example.com",
            get("state")
        )
    }

    fn tokens(&mut self, grant: u32, nonce: Option<&str>, now_s: u64) -> String {
        let iss = self
            .grant_issuer
            .get(&grant)
            .cloned()
            .unwrap_or_else(|| ISS.into());
        let sub = self.sub.clone();
        let at = self.next("at");
        let rt = self.next("rt");
        self.refresh_tokens.insert(rt.clone(), (grant, true));
        // The refresh grant's ID token: the login's auth_time, no nonce.
        let refresh = nonce.is_none();
        let edit = if refresh {
            self.refresh_claims
        } else {
            self.login_claims
        };
        let auth_s = *self.grant_auth.entry(grant).or_insert(now_s);
        let id = id_token_edited(&iss, &sub, nonce, now_s, auth_s, edit);
        self.secrets.extend([at.clone(), rt.clone(), id.clone()]);
        let token_type = if self.dpop { "DPoP" } else { "Bearer" };
        let id = if refresh && self.refresh_without_id_token {
            String::new()
        } else {
            format!(r#","id_token":"{id}""#)
        };
        format!(
            r#"{{"access_token":"{at}","token_type":"{token_type}","expires_in":{AT_TTL_S}{rt}{id},"scope":"openid offline_access"}}"#,
            rt = if self.no_refresh_token {
                String::new()
            } else {
                format!(r#","refresh_token":"{rt}""#)
            }
        )
    }

    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.refresh_tokens
            .iter()
            .filter(|(_, (g, live))| *live && !self.revoked_grants.contains(g))
            .map(|(rt, _)| rt.clone())
            .collect()
    }

    fn take_fault(&mut self, url: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|(u, _)| u.as_deref().is_none_or(|u| u == url))?;
        Some(self.faults.remove(i).1)
    }

    pub fn handle(&mut self, req: &HttpRequest, now_ms: u64) -> Result<HttpResponse, Error> {
        self.requests.push(format!("{} {}", req.method, req.url));
        let form = req.body.as_deref().map(|b| parse_pairs(b).unwrap());
        for (k, v) in form.into_iter().flatten() {
            if ["code", "code_verifier", "refresh_token", "token"].contains(&k.as_str()) {
                self.secrets.push(v);
            }
        }
        self.secrets
            .extend(req.authorization.iter().chain(&req.dpop).cloned());
        let fault = self.take_fault(&req.url);
        match fault {
            Some(Fault::Unreachable) => return Err(Error::Network),
            Some(Fault::Timeout) => return Err(Error::Timeout),
            _ => {}
        }
        let answer = self.answer(req, now_ms / 1000);
        match (fault, answer) {
            (Some(Fault::Html), Ok(_)) => Ok(HttpResponse {
                status: 200,
                content_type: Some("text/html".into()),
                body: "<html>".into(),
                dpop_nonce: None,
                www_authenticate: None,
            }),
            (Some(Fault::StringExpiry), Ok(mut r)) => {
                r.body = r.body.replace(
                    &format!(r#""expires_in":{AT_TTL_S}"#),
                    r#""expires_in":"300""#,
                );
                Ok(r)
            }
            (Some(Fault::ServerError), Ok(_)) => json(500, r#"{"error":"server_error"}"#),
            (_, a) => a,
        }
    }

    fn answer(&mut self, req: &HttpRequest, now_s: u64) -> Result<HttpResponse, Error> {
        let form: Vec<(String, String)> = req
            .body
            .as_deref()
            .map(|b| parse_pairs(b).unwrap())
            .unwrap_or_default();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if req.url == format!("{ISS}/.well-known/openid-configuration") {
            return json(200, &discovery_document(ISS));
        }
        match req.url.as_str() {
            JWKS => json(
                200,
                r#"{"keys":[{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","kid":"k1","alg":"ES256","use":"sig"}]}"#,
            ),
            TOKEN if get("grant_type").as_deref() == Some("authorization_code") => {
                self.token_requests += 1;
                let Some((challenge, nonce, issuer)) =
                    self.codes.remove(&get("code").unwrap_or_default())
                else {
                    self.invalid_grant_answers += 1;
                    return json(400, r#"{"error":"invalid_grant"}"#);
                };
                let verifier = get("code_verifier").unwrap_or_default();
                assert_eq!(
                    b64url(&Sha256::digest(verifier.as_bytes())),
                    challenge,
                    "PKCE"
                );
                self.seq += 1;
                let grant = self.seq;
                self.grant_issuer.insert(grant, issuer);
                if let Some(jkt) = proof_jkt(req) {
                    self.grant_jkt.insert(grant, jkt);
                }
                self.code_grant
                    .insert(get("code").unwrap_or_default(), grant);
                let body = self.tokens(grant, Some(&nonce), now_s);
                json(200, &body)
            }
            TOKEN => {
                self.token_requests += 1;
                let rt = get("refresh_token").unwrap_or_default();
                self.presented.push(rt.clone());
                let bound = |g: u32| self.grant_jkt.get(&g).cloned();
                if let Some((grant, _)) = self.refresh_tokens.get(&rt).copied() {
                    // DPoP-bound: the proof must come from the grant's key (RFC 9449 §5).
                    if bound(grant).is_some() && bound(grant) != proof_jkt(req) {
                        self.wrong_key += 1;
                        self.invalid_grant_answers += 1;
                        return json(400, r#"{"error":"invalid_grant"}"#);
                    }
                }
                match self.refresh_tokens.get(&rt).copied() {
                    Some((grant, true)) if !self.revoked_grants.contains(&grant) => {
                        self.refresh_tokens.insert(rt, (grant, false));
                        let body = self.tokens(grant, None, now_s);
                        // RFC 8707: a token for the resource asked for, marked with it.
                        let body = match get("resource") {
                            Some(res) => {
                                self.resource_requests.push((res.clone(), get("scope")));
                                let tagged = format!(r#""access_token":"{res}#"#);
                                body.replacen(r#""access_token":""#, &tagged, 1)
                            }
                            None => body,
                        };
                        json(200, &body)
                    }
                    Some((grant, false)) => {
                        // Reuse detection: a rotated-out token revokes the whole grant.
                        self.reuse_detected += 1;
                        self.revoked_grants.push(grant);
                        self.invalid_grant_answers += 1;
                        json(400, r#"{"error":"invalid_grant"}"#)
                    }
                    _ => {
                        self.invalid_grant_answers += 1;
                        json(400, r#"{"error":"invalid_grant"}"#)
                    }
                }
            }
            REVOKE => {
                let rt = get("token").unwrap_or_default();
                if let Some((grant, _)) = self.refresh_tokens.get(&rt).copied() {
                    self.revoked_grants.push(grant);
                }
                json(200, "")
            }
            USERINFO => json(200, &format!(r#"{{"sub":"{}"}}"#, self.sub)),
            _ => Err(Error::Network),
        }
    }
}

#[derive(Debug, Default)]
pub struct TabData {
    pub local_view: BTreeMap<String, String>,
    pub session: BTreeMap<String, String>,
    pub page: BTreeMap<String, String>,
    pub url: String,
    pub events: Vec<String>,
    /// `setItem` throws (a full quota): writes fail, reads and removals work.
    pub storage_broken: bool,
    pub notified: Vec<u32>,
    pub timer: Option<u64>,
    pub navigated: Vec<String>,

    pub closed: bool,
    /// Marker locks this page holds.
    pub marks: Vec<String>,
    /// The place in the global write order of this tab's last write, by key.
    pub own: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct Locks {
    /// name -> holder (tab, op id)
    pub held: BTreeMap<String, (usize, u64)>,
    pub markers: Vec<(String, u64)>,
}

#[derive(Debug, Default)]
pub struct World {
    pub now: u64,
    pub local: BTreeMap<String, String>,
    /// Tabs see localStorage writes of other tabs `LAG_MS` later (or when propagated).
    pub lag: bool,
    /// Writes on their way to other tabs: (visible at, writer, key, value).
    /// Writes on their way: (visible at, place in the global order, writer, key, value).
    pub in_flight: Vec<(u64, u64, usize, String, Option<String>)>,
    /// Writes so far (the browser serialises them: one global order).
    pub writes: u64,
    pub tabs: Vec<TabData>,
    pub provider: Provider,
    pub locks: Locks,
    pub random: u64,
    /// The app's API answers with a redirect.
    pub api_redirects: bool,
    /// IndexedDB (one per origin): DPoP keys by id.
    pub idb: BTreeMap<String, PublicJwk>,
    /// DPoP keys made so far.
    pub keys_made: u32,
    /// The app's requests: (with our Authorization, redirects followed).
    pub app_requests: Vec<(bool, bool)>,
    /// Their Authorization headers.
    pub app_auths: Vec<Option<String>>,
    /// How the API answers the next requests (status, WWW-Authenticate); then 200.
    pub api_answers: Vec<(u16, Option<String>)>,
    /// Messages between tabs on their way: (sender tab, channel, message).
    pub broadcasts: Vec<(usize, String, String)>,
    /// The login popup: where it was sent (None once closed).
    pub popup_url: Option<String>,
    /// The user closed the popup.
    pub popup_closed: bool,
    /// Responses popups sent their openers: (channel, state, callback URL).
    pub popup_messages: Vec<(String, String, String)>,
    /// The browser refuses to open a popup (no user activation left).
    pub popup_refused: bool,
    /// The silent login's hidden iframe: where it was sent (None once removed).
    pub frame_url: Option<String>,
    /// The provider never answers in the iframe: a silent wait times out.
    pub frame_silent: bool,
    /// The provider answers every silent login's iframe at once with a code
    /// (the user has a session there), handed over as the iframe's page does.
    pub frame_auto: bool,
    /// The codes those answers carried.
    pub frame_codes: Vec<String>,
}

pub type Shared = Rc<RefCell<World>>;

/// How late a localStorage write reaches the other tabs, with `lag` on.
pub const LAG_MS: u64 = 30;

impl World {
    /// Delivers the localStorage writes due by now (all of them with `all`).
    pub fn deliver(&mut self, all: bool) {
        let now = self.now;
        let due: Vec<_> = self
            .in_flight
            .iter()
            .filter(|w| all || w.0 <= now)
            .cloned()
            .collect();
        self.in_flight.retain(|w| !(all || w.0 <= now));
        for (_, seq, writer, key, value) in due {
            for (i, t) in self.tabs.iter_mut().enumerate() {
                // A tab's own later write of the key stays: in the browser's
                // order it comes after this one (Chromium's storage cache
                // keeps a tab's pending writes over older remote ones).
                if i == writer || t.own.get(&key).is_some_and(|&own| own > seq) {
                    continue;
                }
                match &value {
                    Some(v) => t.local_view.insert(key.clone(), v.clone()),
                    None => t.local_view.remove(&key),
                };
            }
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.deliver(false);
    }

    fn write_local(&mut self, writer: usize, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.local.insert(key.into(), v.into()),
            None => self.local.remove(key),
        };
        self.writes += 1;
        self.tabs[writer].own.insert(key.into(), self.writes);
        if self.lag {
            let at = self.now + LAG_MS;
            self.in_flight
                .push((at, self.writes, writer, key.into(), value.map(String::from)));
        } else {
            for t in self.tabs.iter_mut() {
                match value {
                    Some(v) => t.local_view.insert(key.into(), v.into()),
                    None => t.local_view.remove(key),
                };
            }
        }
    }
}

/// One simulated tab's synchronous browser.
pub struct TabHost {
    pub world: Shared,
    pub tab: usize,
}

impl TabHost {
    fn with<T>(&self, f: impl FnOnce(&mut World, usize) -> T) -> T {
        f(&mut self.world.borrow_mut(), self.tab)
    }
}

fn map(w: &mut World, tab: usize, area: Area) -> &mut BTreeMap<String, String> {
    let t = &mut w.tabs[tab];
    match area {
        Area::Page => &mut t.page,
        Area::Session => &mut t.session,
        Area::Local => &mut t.local_view,
    }
}

impl Host for TabHost {
    fn now_ms(&self) -> u64 {
        self.world.borrow().now
    }
    fn random(&self, buf: &mut [u8]) -> Result<(), Error> {
        self.with(|w, _| {
            for b in buf.iter_mut() {
                w.random = w
                    .random
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (w.random >> 33) as u8;
            }
        });
        Ok(())
    }
    fn get(&self, area: Area, key: &str) -> Result<Option<String>, Error> {
        Ok(self.with(|w, t| map(w, t, area).get(key).cloned()))
    }
    fn set(&self, area: Area, key: &str, value: &str) -> Result<(), Error> {
        self.with(|w, t| {
            if w.tabs[t].storage_broken && area != Area::Page {
                return Err(Error::StorageUnavailable);
            }
            map(w, t, area).insert(key.into(), value.into());
            if area == Area::Local {
                w.write_local(t, key, Some(value));
            }
            Ok(())
        })
    }
    fn remove(&self, area: Area, key: &str) -> Result<(), Error> {
        self.with(|w, t| {
            map(w, t, area).remove(key);
            if area == Area::Local {
                w.write_local(t, key, None);
            }
            Ok(())
        })
    }
    fn keys(&self, area: Area) -> Result<Vec<String>, Error> {
        Ok(self.with(|w, t| map(w, t, area).keys().cloned().collect()))
    }
    fn emit(&self, event: Event) {
        let name = match &event {
            Event::Error(e) => format!("error:{}", e.code()),
            e => e.name().to_string(),
        };
        self.with(|w, t| w.tabs[t].events.push(name));
    }
    fn current_url(&self) -> Option<String> {
        Some(self.with(|w, t| w.tabs[t].url.clone()))
    }
    fn replace_url(&self, url: &str) {
        self.with(|w, t| w.tabs[t].url = url.into());
    }
    fn navigate(&self, url: &str) -> Result<(), Error> {
        self.with(|w, t| w.tabs[t].navigated.push(url.into()));
        Ok(())
    }
    fn locks_available(&self) -> bool {
        true
    }
    fn unlock(&self, name: &str) {
        self.with(|w, t| {
            if w.locks
                .held
                .get(name)
                .is_some_and(|(holder, _)| *holder == t)
            {
                w.locks.held.remove(name);
            }
        });
    }
    fn notify(&self, signal: u32) {
        self.with(|w, t| w.tabs[t].notified.push(signal));
    }
    fn set_timer(&self, delay_ms: u64) {
        self.with(|w, t| w.tabs[t].timer = Some(w.now + delay_ms));
    }
    fn clear_timer(&self) {
        self.with(|w, t| w.tabs[t].timer = None);
    }
    fn page_hidden(&self) -> bool {
        false
    }
    fn watch_wake(&self) {}
    fn watch_tabs(&self, _channel: &str) {}
    fn close_popup(&self) {
        self.with(|w, _| w.popup_url = None);
    }
    fn close_frame(&self, _id: u32) {
        self.with(|w, _| w.frame_url = None);
    }
    fn broadcast(&self, channel: &str, message: &str) {
        self.with(|w, t| w.broadcasts.push((t, channel.into(), message.into())));
    }
}

/// An operation in progress in a tab, type-erased to what the simulator needs.
#[derive(Debug)]
pub enum Op {
    Token(AccessToken),
    Logout(Logout),
    Callback(Callback),
    Popup(PopupLogin),
    Silent(SilentLogin),
    TokenOrSilent(TokenOrSilent),
    Login(Login),
    UserInfo(UserInfo),
    Wake(Wake),
    Fetch(Fetch),
}

/// What a finished operation gave.
#[derive(Debug)]
pub enum Done {
    Session(Result<Session, Error>),
    Unit(Result<(), Error>),
    Callback(Result<CallbackResult, Error>),
    Url(Result<String, Error>),
    Text(Result<String, Error>),
}

impl Done {
    pub fn err(&self) -> Option<&Error> {
        match self {
            Done::Session(Err(e))
            | Done::Unit(Err(e))
            | Done::Callback(Err(e))
            | Done::Url(Err(e))
            | Done::Text(Err(e)) => Some(e),
            _ => None,
        }
    }
}

enum Stepped {
    Effect(Effect),
    Done(Done),
}

fn lift<T>(s: Step<T>, f: impl FnOnce(Result<T, Error>) -> Done) -> Stepped {
    match s {
        Step::Effect(e) => Stepped::Effect(e),
        Step::Done(r) => Stepped::Done(f(r)),
    }
}

impl Op {
    fn resume(&mut self, st: &mut ClientState, host: &dyn Host, o: Outcome) -> Stepped {
        match self {
            Op::Token(m) => lift(m.resume(st, host, o), Done::Session),
            Op::Logout(m) => lift(m.resume(st, host, o), |r| Done::Unit(r.map(drop))),
            Op::Callback(m) => lift(m.resume(st, host, o), Done::Callback),
            Op::Popup(m) => lift(m.resume(st, host, o), Done::Callback),
            Op::Silent(m) => lift(m.resume(st, host, o), Done::Callback),
            Op::TokenOrSilent(m) => lift(m.resume(st, host, o), Done::Session),
            Op::Login(m) => lift(m.resume(st, host, o), Done::Url),
            Op::UserInfo(m) => lift(m.resume(st, host, o), Done::Text),
            Op::Wake(m) => lift(m.resume(st, host, o), Done::Unit),
            Op::Fetch(m) => lift(m.resume(st, host, o), Done::Unit),
        }
    }
}

/// An operation waiting on an effect.
pub struct Running {
    pub id: u64,
    pub client: usize,
    pub tab: usize,
    pub op: Op,
    pub effect: Effect,
    pub label: &'static str,
    /// Lock requests: whether the lock was busy when asked for.
    pub contended: bool,
}

/// The simulator: tabs, their client state, and the operations in flight.
pub struct Sim {
    pub world: Shared,
    pub clients: Vec<ClientState>,
    /// The tab each client lives in.
    pub client_tab: Vec<usize>,
    pub running: Vec<Running>,
    pub finished: Vec<(u64, usize, &'static str, Done)>,
    pub next_id: u64,
    pub cache: CacheLocation,
    /// With `Some`, every step's input, operation, effect and client state as `{:?}`.
    pub debug_lines: Option<Vec<String>>,
}

pub fn metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: ISS.into(),
        authorization_endpoint: format!("{ISS}/auth"),
        token_endpoint: TOKEN.into(),
        jwks_uri: Some(JWKS.into()),
        userinfo_endpoint: Some(USERINFO.into()),
        end_session_endpoint: None,
        revocation_endpoint: Some(REVOKE.into()),
        id_token_signing_alg_values_supported: vec!["ES256".into()],
        authorization_response_iss_parameter_supported: true,
        pushed_authorization_request_endpoint: None,
        require_pushed_authorization_requests: false,
    }
}

/// The provider's discovery document (as `metadata()`), naming `issuer`.
pub fn discovery_document(issuer: &str) -> String {
    format!(
        r#"{{"issuer":"{issuer}","authorization_endpoint":"{ISS}/auth","token_endpoint":"{TOKEN}","jwks_uri":"{JWKS}","userinfo_endpoint":"{USERINFO}","revocation_endpoint":"{REVOKE}","id_token_signing_alg_values_supported":["ES256"],"authorization_response_iss_parameter_supported":true,"response_types_supported":["code"],"code_challenge_methods_supported":["S256"]}}"#
    )
}

pub fn config(cache: CacheLocation) -> Config {
    let mut c = Config::discover(ISS.into(), "spa".into(), format!("{APP}/cb"));
    c.endpoints = Endpoints::Given(metadata());
    c.scope = "openid offline_access".into();
    c.cache_location = cache;
    c.par = ParMode::Never;
    c
}

impl Sim {
    pub fn new(tabs: usize, cache: CacheLocation) -> Self {
        Self::with_config(tabs, config(cache))
    }

    pub fn with_config(tabs: usize, config: Config) -> Self {
        let world = Rc::new(RefCell::new(World {
            now: 1_700_000_000_000,
            random: 7,
            ..World::default()
        }));
        world.borrow_mut().provider.sub = "alice".into();
        let cache = config.cache_location;
        let mut sim = Sim {
            world,
            clients: Vec::new(),
            client_tab: Vec::new(),
            running: Vec::new(),
            finished: Vec::new(),
            next_id: 1,
            cache,
            debug_lines: None,
        };
        for _ in 0..tabs {
            sim.world.borrow_mut().tabs.push(TabData {
                url: format!("{APP}/"),
                ..TabData::default()
            });
            let tab = sim.clients.len();
            let st = sim.create(tab, config.clone()).expect("client");
            sim.clients.push(st);
            sim.client_tab.push(tab);
        }
        sim
    }

    /// Another client in `tab` (e.g. for a second provider); returns its index.
    pub fn add_client(&mut self, tab: usize, config: Config) -> Result<usize, Error> {
        let mut st = self.create(tab, config)?;
        // Signals are per client in a browser (each has its own host); here
        // a tab's are shared, so clients of one tab number theirs apart.
        st.refresh.seq = 1_000_000 * self.clients.len() as u32;
        self.clients.push(st);
        self.client_tab.push(tab);
        Ok(self.clients.len() - 1)
    }

    pub fn host(&self, tab: usize) -> TabHost {
        TabHost {
            world: Rc::clone(&self.world),
            tab,
        }
    }

    pub fn create(&self, tab: usize, config: Config) -> Result<ClientState, Error> {
        let host = self.host(tab);
        let mut c = Create::start(config);
        let mut input = Outcome::Start;
        loop {
            match c.resume(&host, input) {
                Step::Done(r) => return r,
                Step::Effect(Effect::Http(req)) => {
                    let now = host.now_ms();
                    input = Outcome::Http(self.world.borrow_mut().provider.handle(&req, now));
                }
                Step::Effect(e) => panic!("create: {e:?}"),
            }
        }
    }

    /// A page reload: this tab's memory is gone, its operations are dropped
    /// (their locks released), and a new client is made.
    /// The page's locks (markers too) go with it. A navigation takes longer
    /// than localStorage takes to reach other tabs: writes in flight arrive.
    pub fn reload(&mut self, tab: usize) {
        self.running.retain(|r| r.tab != tab);
        {
            let mut w = self.world.borrow_mut();
            w.advance(LAG_MS);
            let mine: Vec<String> = w.tabs[tab].marks.drain(..).collect();
            w.locks.markers.retain(|(n, _)| !mine.contains(n));
            w.tabs[tab].page.clear();
            w.tabs[tab].notified.clear();
            w.locks.held.retain(|_, (t, _)| *t != tab);
            w.tabs[tab].url = format!("{APP}/");
        }
        for c in 0..self.clients.len() {
            if self.client_tab[c] == tab {
                let config = self.clients[c].config.clone();
                self.clients[c] = self.create(tab, config).expect("client after reload");
            }
        }
    }

    /// Starts an operation of `client`; it runs until its first effect.
    pub fn start(&mut self, client: usize, op: Op, label: &'static str) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.advance(id, client, op, label, Outcome::Start);
        id
    }

    /// `op.resume`, with every value involved written down as `{:?}` when asked.
    fn resume_logged(&mut self, client: usize, op: &mut Op, input: Outcome) -> Stepped {
        let host = self.host(self.client_tab[client]);
        let shown = self.debug_lines.is_some().then(|| format!("{input:?}"));
        let stepped = op.resume(&mut self.clients[client], &host, input);
        if let (Some(lines), Some(shown)) = (self.debug_lines.as_mut(), shown) {
            lines.push(shown);
            lines.push(format!("{op:?}"));
            lines.push(match &stepped {
                Stepped::Effect(e) => format!("{e:?}"),
                Stepped::Done(d) => format!("{d:?}"),
            });
            lines.push(format!("{:?}", self.clients[client]));
        }
        stepped
    }

    fn advance(&mut self, id: u64, client: usize, mut op: Op, label: &'static str, input: Outcome) {
        let tab = self.client_tab[client];
        let stepped = self.resume_logged(client, &mut op, input);
        match stepped {
            Stepped::Done(d) => self.finished.push((id, tab, label, d)),
            Stepped::Effect(effect) => {
                let mut contended = false;
                let mut effect = effect;
                // Effects that complete at once in a browser too.
                loop {
                    let instant = match &effect {
                        Effect::QueryLocks(prefix) => {
                            let w = self.world.borrow();
                            let names = w
                                .locks
                                .held
                                .keys()
                                .cloned()
                                .chain(
                                    w.locks
                                        .markers
                                        .iter()
                                        .filter(|(_, until)| *until > w.now)
                                        .map(|(n, _)| n.clone()),
                                )
                                .filter(|n| n.starts_with(prefix.as_str()))
                                .collect();
                            Some(Outcome::Names(names))
                        }
                        Effect::Mark(name, ms) => {
                            let mut w = self.world.borrow_mut();
                            let until = w.now + u64::from(*ms);
                            w.locks.markers.push((name.clone(), until));
                            w.tabs[tab].marks.push(name.clone());
                            Some(Outcome::Done(Ok(())))
                        }
                        Effect::Lock(name) => {
                            let busy = self.world.borrow().locks.held.contains_key(name);
                            contended = busy;
                            None
                        }
                        _ => None,
                    };
                    match instant {
                        Some(o) => match self.resume_logged(client, &mut op, o) {
                            Stepped::Done(d) => {
                                self.finished.push((id, tab, label, d));
                                return;
                            }
                            Stepped::Effect(e) => effect = e,
                        },
                        None => break,
                    }
                }
                self.running.push(Running {
                    id,
                    client,
                    tab,
                    op,
                    effect,
                    label,
                    contended,
                });
            }
        }
    }

    /// Whether the effect of running operation `i` can complete now.
    pub fn ready(&self, i: usize) -> bool {
        let r = &self.running[i];
        let w = self.world.borrow();
        match &r.effect {
            Effect::Lock(name) => !w.locks.held.contains_key(name),
            Effect::Wait(signal) => w.tabs[r.tab].notified.contains(signal),
            Effect::PopupWait {
                channel,
                state,
                watch,
                ..
            } => {
                (if *watch {
                    w.popup_closed
                } else {
                    w.frame_silent
                }) || w
                    .popup_messages
                    .iter()
                    .any(|(c, s, _)| c == channel && s == state)
            }
            _ => true,
        }
    }

    pub fn ready_list(&self) -> Vec<usize> {
        (0..self.running.len()).filter(|&i| self.ready(i)).collect()
    }

    /// Completes the effect of running operation `i`.
    pub fn complete(&mut self, i: usize) {
        let r = self.running.remove(i);
        let tab = r.tab;
        let now = self.world.borrow().now;
        let outcome = match r.effect {
            Effect::Http(req) => Outcome::Http(self.world.borrow_mut().provider.handle(&req, now)),
            Effect::HttpPair(a, b) => {
                let mut w = self.world.borrow_mut();
                let ra = w.provider.handle(&a, now);
                let rb = w.provider.handle(&b, now);
                Outcome::HttpPair(ra, rb)
            }
            Effect::Verify {
                input, signature, ..
            } => Outcome::Verified(Ok(b64url(&signature) == sign(&input))),
            Effect::LoadDpopKey { id, create } => {
                let mut w = self.world.borrow_mut();
                w.keys_made += u32::from(create && !w.idb.contains_key(&id));
                let n = w.keys_made;
                match (w.idb.get(&id).cloned(), create) {
                    (Some(k), _) => Outcome::DpopKey(Ok(k)),
                    (None, true) => {
                        let k = PublicJwk {
                            x: format!("x{n}"),
                            y: format!("y{n}"),
                        };
                        w.idb.insert(id, k.clone());
                        Outcome::DpopKey(Ok(k))
                    }
                    (None, false) => Outcome::DpopKey(Err(Error::DpopKeyUnavailable)),
                }
            }
            // IndexedDB lists keys in order (a BTreeMap's too).
            Effect::DpopKeyIds => Outcome::Names(self.world.borrow().idb.keys().cloned().collect()),
            Effect::DiscardDpopKeys(ids) => {
                let mut w = self.world.borrow_mut();
                for id in ids {
                    w.idb.remove(&id);
                }
                Outcome::Done(Ok(()))
            }
            Effect::Sign { key, input } => match self.world.borrow().idb.contains_key(&key) {
                true => Outcome::Signature(Ok(Sha256::digest(input.as_bytes()).to_vec())),
                false => Outcome::Signature(Err(Error::DpopKeyUnavailable)),
            },
            Effect::Lock(name) => {
                self.world.borrow_mut().locks.held.insert(name, (tab, r.id));
                Outcome::Locked {
                    contended: r.contended,
                }
            }
            Effect::Sleep(ms) => {
                self.world.borrow_mut().advance(u64::from(ms));
                Outcome::Done(Ok(()))
            }
            Effect::Wait(_) => Outcome::Done(Ok(())),
            Effect::AppFetch(req) => Outcome::App(Ok({
                let mut w = self.world.borrow_mut();
                w.provider
                    .secrets
                    .extend(req.authorization.iter().chain(&req.dpop).cloned());
                w.app_requests
                    .push((req.authorization.is_some(), req.follow_redirects));
                w.app_auths.push(req.authorization.clone());
                let (status, www_authenticate) = match w.api_answers.is_empty() {
                    true => (200, None),
                    false => w.api_answers.remove(0),
                };
                AppResponse {
                    status,
                    www_authenticate,
                    dpop_nonce: None,
                    // A redirecting API: followed only when asked to (then it answers 200).
                    redirected: w.api_redirects && !req.follow_redirects,
                }
            })),
            Effect::PopupOpen(url) => {
                self.world.borrow_mut().popup_url = Some(url);
                Outcome::Done(Ok(()))
            }
            Effect::PopupLaunch(_) => Outcome::Done(match self.world.borrow().popup_refused {
                true => Err(Error::PopupBlocked),
                false => Ok(()),
            }),
            Effect::FrameOpen(url, _) => {
                let mut w = self.world.borrow_mut();
                if w.frame_auto {
                    let cb = w.provider.authorize(&url);
                    let get = |k: &str| {
                        let v = cb.split(['?', '&']).find_map(|p| p.strip_prefix(k));
                        v.unwrap_or_default().to_string()
                    };
                    let channel = format!("pkce-wasm.popup.{}", self.clients[r.client].ns);
                    w.popup_messages.push((channel, get("state="), cb.clone()));
                    w.frame_codes.push(get("code="));
                } else {
                    w.frame_url = Some(url);
                }
                Outcome::Done(Ok(()))
            }
            Effect::PopupWait {
                channel,
                state,
                watch,
                timeout_ms,
            } => {
                let mut w = self.world.borrow_mut();
                let found = w
                    .popup_messages
                    .iter()
                    .find(|(c, s, _)| *c == channel && *s == state)
                    .map(|(_, _, url)| url.clone());
                match found {
                    Some(url) => Outcome::Popup(Ok(url)),
                    None if watch => Outcome::Popup(Err(Error::PopupClosed)),
                    None => {
                        w.advance(timeout_ms);
                        Outcome::Popup(Err(Error::Timeout))
                    }
                }
            }
            Effect::PopupRelay {
                channel,
                state,
                url,
            } => {
                self.world
                    .borrow_mut()
                    .popup_messages
                    .push((channel, state, url));
                Outcome::Done(Ok(()))
            }
            Effect::QueryLocks(_) | Effect::Mark(..) => unreachable!("instant"),
        };
        self.advance(r.id, r.client, r.op, r.label, outcome);
    }

    /// Delivers every message between tabs sent so far, as `BroadcastChannel`
    /// does (not to the sender's tab); a client told to end its session runs
    /// a local logout. Returns how many were delivered.
    pub fn deliver_broadcasts(&mut self) -> usize {
        let mut n = 0;
        loop {
            let pending: Vec<_> = self.world.borrow_mut().broadcasts.drain(..).collect();
            if pending.is_empty() {
                return n;
            }
            for (from, channel, message) in pending {
                for c in 0..self.clients.len() {
                    let tab = self.client_tab[c];
                    if tab == from || self.clients[c].channel() != channel {
                        continue;
                    }
                    n += 1;
                    let host = self.host(tab);
                    if self.clients[c].tab_message(&host, &message) == TabAction::Logout {
                        let _ = self.run(c, Op::Logout(Logout::start(None, true)), "tab logout");
                    }
                }
            }
        }
    }

    /// Runs every operation to its end (first ready first).
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let ready = self.ready_list();
            let Some(&i) = ready.first() else {
                assert!(
                    self.running.is_empty(),
                    "deadlock: {:?}",
                    self.running
                        .iter()
                        .map(|r| (r.tab, r.label, format!("{:?}", r.effect)))
                        .collect::<Vec<_>>()
                );
                return;
            };
            self.complete(i);
        }
        panic!("no progress");
    }

    /// Runs one operation to its end and returns its result.
    pub fn run(&mut self, client: usize, op: Op, label: &'static str) -> Done {
        let id = self.start(client, op, label);
        loop {
            if let Some(pos) = self.finished.iter().position(|(i, ..)| *i == id) {
                return self.finished.remove(pos).3;
            }
            let i = self
                .running
                .iter()
                .position(|r| r.id == id)
                .expect("operation vanished");
            assert!(
                self.ready(i),
                "{label} blocked on {:?}",
                self.running[i].effect
            );
            self.complete(i);
        }
    }

    /// A full login in `tab`: authorize, the provider's code, the callback.
    pub fn login(&mut self, client: usize) -> Done {
        let url = self.begin_login(client);
        let cb = self.world.borrow_mut().provider.authorize(&url);
        self.callback(client, &cb)
    }

    /// The authorization URL of a new login.
    pub fn begin_login(&mut self, client: usize) -> String {
        match self.run(
            client,
            Op::Login(Login::start(LoginOptions::default(), false)),
            "login",
        ) {
            Done::Url(Ok(u)) => u,
            other => panic!("login: {other:?}"),
        }
    }

    pub fn callback(&mut self, client: usize, url: &str) -> Done {
        let tab = self.client_tab[client];
        self.world.borrow_mut().tabs[tab].url = url.into();
        self.run(client, Op::Callback(Callback::start(url)), "callback")
    }

    pub fn token(&mut self, client: usize, force: bool) -> Done {
        self.run(client, Op::Token(AccessToken::start(force)), "token")
    }

    pub fn logout(&mut self, client: usize) -> Done {
        self.run(client, Op::Logout(Logout::start(None, true)), "logout")
    }

    pub fn session(&mut self, client: usize) -> Option<Session> {
        let host = self.host(self.client_tab[client]);
        self.clients[client].session(&host)
    }

    pub fn authenticated(&mut self, client: usize) -> bool {
        let host = self.host(self.client_tab[client]);
        self.clients[client].is_authenticated(&host)
    }

    /// Makes every tab see localStorage as it is.
    pub fn propagate(&mut self) {
        self.world.borrow_mut().deliver(true);
    }

    /// Lets the writes already on their way arrive (as if `LAG_MS` passed).
    pub fn propagate_to(&mut self, _tab: usize) {
        let mut w = self.world.borrow_mut();
        w.now += LAG_MS;
        w.deliver(false);
    }

    pub fn fault(&mut self, url: Option<&str>, f: Fault) {
        self.world
            .borrow_mut()
            .provider
            .faults
            .push((url.map(String::from), f));
    }

    pub fn advance_time(&mut self, ms: u64) {
        self.world.borrow_mut().advance(ms);
    }

    pub fn events(&self, tab: usize) -> Vec<String> {
        self.world.borrow().tabs[tab].events.clone()
    }

    /// Refresh tokens presented to the provider more than once.
    pub fn presented_twice(&self) -> Vec<String> {
        let w = self.world.borrow();
        let mut seen = Vec::new();
        let mut twice = Vec::new();
        for rt in &w.provider.presented {
            if seen.contains(rt) {
                twice.push(rt.clone());
            }
            seen.push(rt.clone());
        }
        twice
    }

    pub fn running_labels(&self) -> VecDeque<(usize, &'static str)> {
        self.running.iter().map(|r| (r.tab, r.label)).collect()
    }
}
