//! The `#[wasm_bindgen]` surface: the step API the JS await loop drives.
//! Every method that does I/O returns an [`Op`]; `js/index.js` calls
//! `op.next(value, ok)` until it returns `undefined`, awaiting each promise
//! it hands back, then `op.result()`. No protocol decisions here: options
//! cross as JSON text (validated by the core), results as JS values.

use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Reflect, JSON};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::config::{config_from_json, login_options_from_json, logout_options_from_json};
use crate::core::flow::{
    merged_claims, AccessToken, Callback, ClientState, Create, Event, Fetch, Host, Login, Logout,
    Outcome, Step, UserInfo, Wake,
};
use crate::core::session::Tokens;
use crate::core::Error;
use crate::web::{perform, run, settle, Pending, Performed, Run, Shared, Slots, WebHost};

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A core error as a JS `Error` with `name`, `code`, `message` and the
/// provider's fields. The wrapper gives it the `PkceWasmError` prototype.
fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.message());
    err.set_name("PkceWasmError");
    set(&err, "code", &JsValue::from_str(e.code()));
    if let Some(p) = e.provider() {
        set(&err, "error", &JsValue::from_str(&p.error));
        for (k, v) in [
            ("errorDescription", &p.error_description),
            ("errorUri", &p.error_uri),
        ] {
            if let Some(v) = v {
                set(&err, k, &JsValue::from_str(v));
            }
        }
    }
    if let Some(s) = e.status() {
        set(&err, "status", &JsValue::from(s));
    }
    err.into()
}

/// `JSON.stringify(value)` (`undefined` → `null`); what cannot be serialised
/// (a cycle, a BigInt) becomes text the core refuses as `invalid_config`.
fn json(value: &JsValue) -> String {
    if value.is_undefined() {
        return String::from("null");
    }
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

fn parse(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

fn flag(options: &JsValue, key: &str) -> bool {
    options.is_object() && crate::web::get(options, key).as_bool() == Some(true)
}

/// The tokens as the JS API shows them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokensJs<'a> {
    access_token: &'a str,
    token_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    scope: &'a str,
}

fn tokens_to_js(t: &Tokens) -> JsValue {
    let js = TokensJs {
        access_token: t.access_token.secret(),
        token_type: &t.token_type,
        expires_at: t.expires_at_ms.map(|e| e as f64),
        refresh_token: t.refresh_token.as_ref().map(|r| r.secret()),
        id_token: t.id_token.as_ref().map(|r| r.secret()),
        scope: &t.scope,
    };
    serde_wasm_bindgen::to_value(&js).unwrap_or(JsValue::UNDEFINED)
}

type Resume = Box<dyn FnMut(&mut ClientState, &dyn Host, Outcome) -> Step<JsValue>>;

enum Inner {
    Create(Box<Create>, Option<WebHost>, Function),
    Run(Rc<Shared>, Resume),
    Failed,
}

/// One operation in flight, driven by the JS await loop.
#[wasm_bindgen]
pub struct Op {
    inner: Inner,
    slots: Slots,
    pending: Option<Pending>,
    result: Option<Result<JsValue, JsValue>>,
    /// A `fetch`: the result is the app's response.
    fetching: bool,
}

impl Op {
    fn new(inner: Inner) -> Op {
        Op {
            inner,
            slots: Slots::new(),
            pending: None,
            result: None,
            fetching: false,
        }
    }

    fn failed(e: Error) -> Op {
        let mut op = Op::new(Inner::Failed);
        op.result = Some(Err(to_js(e)));
        op
    }

    fn running<T: 'static>(
        shared: &Rc<Shared>,
        mut resume: impl FnMut(&mut ClientState, &dyn Host, Outcome) -> Step<T> + 'static,
        out: impl Fn(T) -> JsValue + 'static,
    ) -> Op {
        let erased: Resume = Box::new(move |st, h, o| match resume(st, h, o) {
            Step::Effect(e) => Step::Effect(e),
            Step::Done(r) => Step::Done(r.map(&out)),
        });
        Op::new(Inner::Run(Rc::clone(shared), erased))
    }
}

#[wasm_bindgen]
impl Op {
    /// Resumes with the settled value of the promise the last call returned
    /// (`ok` false when it rejected); returns the next promise to await, or
    /// `undefined` when the operation is over (then call `result`).
    pub fn next(&mut self, value: JsValue, ok: bool) -> JsValue {
        let settled = if ok { Ok(value) } else { Err(value) };
        let input = match (self.pending.take(), &self.inner) {
            (Some(p), Inner::Create(_, Some(h), _)) => settle(p, settled, h, &mut self.slots),
            (Some(p), Inner::Run(shared, _)) => settle(p, settled, &shared.host, &mut self.slots),
            _ => Outcome::Start,
        };
        let step: Run<JsValue> = match &mut self.inner {
            Inner::Failed | Inner::Create(_, None, _) => return JsValue::UNDEFINED,
            Inner::Run(shared, resume) => run(shared, &mut self.slots, input, resume.as_mut()),
            Inner::Create(create, host, spawn) => {
                let made = match host.as_ref() {
                    Some(h) => drive_create(create, h, &mut self.slots, input),
                    None => Run::Done(Err(Error::NotAuthenticated)),
                };
                match (made, host.take()) {
                    (Run::Done(Ok(state)), Some(h)) => {
                        Run::Done(Ok(client(state, h, spawn.clone())))
                    }
                    (Run::Done(r), _) => Run::Done(r.map(|_| JsValue::UNDEFINED)),
                    (Run::Wait(p, pending), h) => {
                        *host = h;
                        Run::Wait(p, pending)
                    }
                }
            }
        };
        match step {
            Run::Done(r) => {
                let r = match (r, self.fetching) {
                    (Ok(_), true) => self
                        .slots
                        .response
                        .take()
                        .map(JsValue::from)
                        .ok_or(Error::Network),
                    (r, _) => r,
                };
                self.result = Some(r.map_err(to_js));
                JsValue::UNDEFINED
            }
            Run::Wait(p, pending) => {
                self.pending = Some(pending);
                p.into()
            }
        }
    }

    /// The operation's result (throws its `PkceWasmError`).
    pub fn result(&mut self) -> Result<JsValue, JsValue> {
        self.result.take().unwrap_or_else(|| {
            Err(to_js(Error::InvalidConfig(
                "pkce-wasm internal error: the operation has not finished",
            )))
        })
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        if let Inner::Run(shared, _) = &self.inner {
            self.slots.release(&shared.host);
        }
    }
}

/// Runs the creation until it waits on a promise.
fn drive_create(
    create: &mut Create,
    host: &WebHost,
    slots: &mut Slots,
    mut input: Outcome,
) -> Run<ClientState> {
    loop {
        match create.resume(host, input) {
            Step::Done(r) => return Run::Done(r),
            Step::Effect(e) => match perform(e, host, slots) {
                Performed::Now(o) => input = o,
                Performed::Later(p, pending) => return Run::Wait(p, pending),
            },
        }
    }
}

fn client(state: ClientState, host: WebHost, spawn: Function) -> JsValue {
    let shared = Rc::new_cyclic(|me: &Weak<Shared>| {
        let me = me.clone();
        // Background refreshes (timer, visibility, online): a Wake operation for the JS loop.
        host.spawn.replace(Some(Rc::new(move || {
            if let Some(shared) = me.upgrade() {
                let mut op = Wake::start();
                let op = Op::running(
                    &shared,
                    move |st, h, o| op.resume(st, h, o),
                    |()| JsValue::UNDEFINED,
                );
                let _ = spawn.call1(&JsValue::UNDEFINED, &JsValue::from(op));
            }
        })));
        Shared {
            state: std::cell::RefCell::new(state),
            host,
        }
    });
    WasmClient { shared }.into()
}

/// Makes a client from `options` (see the README): an [`Op`] whose result is
/// the client. `spawn(op)` runs background operations (auto refresh).
#[wasm_bindgen(js_name = createClient)]
pub fn create_client(options: JsValue, spawn: Function) -> Op {
    match config_from_json(&json(&options)) {
        Ok(config) => Op::new(Inner::Create(
            Box::new(Create::start(config)),
            Some(WebHost::default()),
            spawn,
        )),
        Err(e) => Op::failed(e),
    }
}

/// `new Request(input, init)`; a TypeError from the constructor is `invalid_config`.
fn request_from(input: &JsValue, init: &JsValue) -> Result<web_sys::Request, Error> {
    let init: &web_sys::RequestInit = if init.is_object() {
        init.unchecked_ref()
    } else {
        &web_sys::RequestInit::new()
    };
    let r = match input.dyn_ref::<web_sys::Request>() {
        Some(req) => web_sys::Request::new_with_request_and_init(req, init),
        // A string, a URL object, or anything else with a string form, as fetch() accepts.
        None => match input.as_string().or_else(|| js_string(input)) {
            Some(url) => web_sys::Request::new_with_str_and_init(&url, init),
            None => return Err(Error::InvalidConfig("fetch: invalid request")),
        },
    };
    r.map_err(|_| Error::InvalidConfig("fetch: invalid request"))
}

/// JavaScript's `String(value)`.
fn js_string(value: &JsValue) -> Option<String> {
    let to_string: Function = crate::web::get(&js_sys::global(), "String")
        .dyn_into()
        .ok()?;
    to_string
        .call1(&JsValue::UNDEFINED, value)
        .ok()?
        .as_string()
}

/// The PKCE client, as JS sees it (wrapped by `js/index.js`).
#[wasm_bindgen(js_name = Client)]
pub struct WasmClient {
    shared: Rc<Shared>,
}

#[wasm_bindgen(js_class = Client)]
impl WasmClient {
    fn with<T>(&self, f: impl FnOnce(&mut ClientState, &dyn Host) -> T) -> Option<T> {
        let r = f(
            &mut *self.shared.state.try_borrow_mut().ok()?,
            &self.shared.host,
        );
        self.shared.host.flush();
        Some(r)
    }

    fn login(&self, options: &JsValue, navigate: bool) -> Op {
        match login_options_from_json(&json(options)) {
            Ok(o) => {
                let mut op = Login::start(o, navigate);
                Op::running(
                    &self.shared,
                    move |st, h, i| op.resume(st, h, i),
                    move |url: String| {
                        if navigate {
                            JsValue::UNDEFINED
                        } else {
                            JsValue::from(url)
                        }
                    },
                )
            }
            Err(e) => Op::failed(e),
        }
    }

    /// Starts a login; the result is the authorization URL (no navigation).
    #[wasm_bindgen(js_name = authorizeUrl)]
    pub fn authorize_url(&self, options: JsValue) -> Op {
        self.login(&options, false)
    }

    /// Starts a login and navigates to the provider.
    #[wasm_bindgen(js_name = loginWithRedirect)]
    pub fn login_with_redirect(&self, options: JsValue) -> Op {
        self.login(&options, true)
    }

    /// True when `url` carries an authorization response.
    #[wasm_bindgen(js_name = isCallback)]
    pub fn is_callback(&self, url: &str) -> bool {
        self.with(|st, _| crate::core::is_callback(url, st.config.response_mode)) == Some(true)
    }

    /// Handles the callback; the result is `{ appState, tokens, claims? }`.
    #[wasm_bindgen(js_name = handleRedirectCallback)]
    pub fn handle_redirect_callback(&self, url: String) -> Op {
        let mut op = Callback::start(&url);
        Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            |r| {
                let out = Object::new();
                let app_state = r.app_state.as_deref().map_or(JsValue::UNDEFINED, parse);
                set(&out, "appState", &app_state);
                set(&out, "tokens", &tokens_to_js(&r.tokens));
                if let Some(c) = &r.claims {
                    set(&out, "claims", &parse(&c.json));
                }
                out.into()
            },
        )
    }

    /// The validated ID token claims of the current session, or `undefined`.
    #[wasm_bindgen(js_name = getIdTokenClaims)]
    pub fn get_id_token_claims(&self) -> JsValue {
        self.with(|st, h| st.session(h).and_then(|s| s.claims))
            .flatten()
            .map_or(JsValue::UNDEFINED, |c| parse(&c.json))
    }

    /// A valid access token, refreshed when it expires within the leeway (`{ forceRefresh }`).
    #[wasm_bindgen(js_name = getAccessToken)]
    pub fn get_access_token(&self, options: JsValue) -> Op {
        let mut op = AccessToken::start(flag(&options, "forceRefresh"));
        Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            |s| JsValue::from_str(s.tokens.access_token.secret()),
        )
    }

    /// The current session's tokens, or `undefined`.
    #[wasm_bindgen(js_name = getTokens)]
    pub fn get_tokens(&self) -> JsValue {
        self.with(|st, h| st.session(h))
            .flatten()
            .map_or(JsValue::UNDEFINED, |s| tokens_to_js(&s.tokens))
    }

    /// True when there is a session whose access token is valid or refreshable.
    #[wasm_bindgen(js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.with(|st, h| st.is_authenticated(h)) == Some(true)
    }

    /// The validated ID token claims; `{ userInfo: true }` merges in UserInfo.
    #[wasm_bindgen(js_name = getUser)]
    pub fn get_user(&self, options: JsValue) -> Op {
        let claims = self
            .with(|st, h| st.session(h).and_then(|s| s.claims))
            .flatten()
            .map(|c| c.json);
        if !flag(&options, "userInfo") {
            let mut done = Some(claims.as_deref().map_or(JsValue::UNDEFINED, parse));
            return Op::running(
                &self.shared,
                move |_, _, _| Step::Done(Ok(done.take())),
                |v| v.unwrap_or(JsValue::UNDEFINED),
            );
        }
        let mut op = UserInfo::start();
        Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            move |info| parse(&merged_claims(claims.as_deref(), &info)),
        )
    }

    /// UserInfo claims (bearer GET); its `sub` must equal the ID token's.
    #[wasm_bindgen(js_name = getUserInfo)]
    pub fn get_user_info(&self) -> Op {
        let mut op = UserInfo::start();
        Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            |body| parse(&body),
        )
    }

    /// Ends the session: `{ returnTo, localOnly }`.
    pub fn logout(&self, options: JsValue) -> Op {
        let (return_to, local_only) = match logout_options_from_json(&json(&options)) {
            Ok(o) => o,
            Err(e) => return Op::failed(e),
        };
        // A relative returnTo is resolved against the page (the core then insists on http(s)).
        let base = self.shared.host.current_url().unwrap_or_default();
        let return_to =
            return_to.map(|u| web_sys::Url::new_with_base(&u, &base).map_or(u, |u| u.href()));
        let mut op = Logout::start(return_to, local_only);
        Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            |()| JsValue::UNDEFINED,
        )
    }

    /// `fetch(input, init)` with the access token for the configured API origins only.
    pub fn fetch(&self, input: JsValue, init: JsValue) -> Op {
        let request = match request_from(&input, &init) {
            Ok(r) => r,
            Err(e) => return Op::failed(e),
        };
        let replay = request.clone().ok();
        let has_auth = request.headers().has("authorization").unwrap_or(false);
        let mut op = Fetch::start(
            &request.url(),
            &request.method(),
            has_auth,
            replay.is_some(),
        );
        let mut result = Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            |()| JsValue::UNDEFINED,
        );
        result.slots.request = Some(request);
        result.slots.replay = replay;
        result.fetching = true;
        result
    }

    /// Subscribes to `tokensRefreshed`, `sessionExpired`, `loggedOut` or `error`; returns an id for `off`.
    pub fn on(&self, event: &str, handler: Function) -> Result<u32, JsValue> {
        let listener = Rc::new(move |e: &Event| {
            let payload = match e {
                Event::Error(err) => to_js(err.clone()),
                _ => JsValue::UNDEFINED,
            };
            let _ = handler.call1(&JsValue::NULL, &payload);
        });
        self.shared.host.on(event, listener).map_err(to_js)
    }

    /// Unsubscribes.
    pub fn off(&self, id: u32) {
        self.shared.host.off(id);
    }
}
