//! The `Client` class: each method validates its options in the core and
//! returns an [`Op`] (or a plain value for the synchronous getters).

use std::rc::Rc;

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;

use super::{flag, json, parse, set, to_js, tokens_to_js, Op};
use crate::core::config::{
    login_options_from_json, logout_options_from_json, popup_timeout_from_json,
    token_options_from_json,
};
use crate::core::flow::{
    merged_claims, Callback, CallbackResult, ClientState, Event, Fetch, Host, Login, Logout,
    PopupLogin, SilentLogin, Step, TokenOrSilent, UserInfo,
};
use crate::core::Error;
use crate::web::Shared;
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

/// A callback's result as JS sees it: `{ appState, tokens, claims? }`.
fn callback_to_js(r: CallbackResult) -> JsValue {
    let out = Object::new();
    let app_state = r.app_state.as_deref().map_or(JsValue::UNDEFINED, parse);
    set(&out, "appState", &app_state);
    set(&out, "tokens", &tokens_to_js(&r.tokens));
    if let Some(c) = &r.claims {
        set(&out, "claims", &parse(&c.json));
    }
    out.into()
}

/// A logout as an [`Op`] (one instance of its driver, for `logout()` and for
/// another tab's logout alike).
pub(super) fn logout_op(shared: &Rc<Shared>, mut op: Logout) -> Op {
    Op::running(
        shared,
        move |st, h, i| op.resume(st, h, i),
        JsValue::from_bool,
    )
}

/// The PKCE client, as JS sees it (wrapped by `js/index.js`).
#[wasm_bindgen(js_name = Client)]
pub struct WasmClient {
    pub(super) shared: Rc<Shared>,
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

    /// Opens the login popup now (in the caller's click: nothing is awaited
    /// before `window.open`), then logs in through it; the result is the
    /// callback's, `{ appState, tokens, claims? }`.
    #[wasm_bindgen(js_name = loginWithPopup)]
    pub fn login_with_popup(&self, options: JsValue) -> Op {
        let text = json(&options);
        let (o, timeout_ms) = match (
            login_options_from_json(&text),
            popup_timeout_from_json(&text),
        ) {
            (Ok(o), Ok(t)) => (o, t),
            (Err(e), _) | (_, Err(e)) => return Op::failed(e),
        };
        let Some((n, name)) = self.with(|st, _| (st.claim_popup(), st.popup_window())) else {
            return Op::failed(Error::PopupReplaced);
        };
        // A popup login still waiting ends now (popup_replaced): this one takes its window.
        if let Some(cancel) = self.shared.host.popup_cancel.take() {
            let _ = cancel.call0(&JsValue::UNDEFINED);
        }
        let Some(popup) = crate::web::open_popup(&name) else {
            self.with(|st, _| st.release_popup(n));
            return Op::failed(Error::PopupBlocked);
        };
        self.shared.host.popup.set(Some(popup));
        let mut op = PopupLogin::start(n, o, timeout_ms);
        Op::running(
            &self.shared,
            move |st, h, i| op.resume(st, h, i),
            callback_to_js,
        )
    }

    /// Asks the provider, in a hidden iframe with `prompt=none`, whether the
    /// user has a session there; the result is the callback's, `{ appState,
    /// tokens, claims? }`.
    #[wasm_bindgen(js_name = checkSession)]
    pub fn check_session(&self, options: JsValue) -> Op {
        match login_options_from_json(&json(&options)) {
            Ok(o) => {
                let mut op = SilentLogin::start(o);
                Op::running(
                    &self.shared,
                    move |st, h, i| op.resume(st, h, i),
                    callback_to_js,
                )
            }
            Err(e) => Op::failed(e),
        }
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
            callback_to_js,
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
        let text = json(&options);
        let parsed = self.with(|st, _| token_options_from_json(&text, &st.config.resources));
        let (force, target) = match parsed {
            Some(Ok(o)) => o,
            Some(Err(e)) => return Op::failed(e),
            None => {
                return Op::failed(Error::InvalidConfig(
                    "pkce-wasm was called from inside one of its own steps",
                ))
            }
        };
        let wanted = target.clone();
        let mut op = TokenOrSilent::for_target(force, target);
        Op::running(
            &self.shared,
            move |st, h, i| match op.resume(st, h, i) {
                Step::Done(Ok(s)) => Step::Done(
                    s.token_for(wanted.as_ref())
                        .map(|(t, ..)| String::from(t.secret()))
                        .ok_or(Error::LoginRequired),
                ),
                Step::Done(Err(e)) => Step::Done(Err(e)),
                Step::Effect(e) => Step::Effect(e),
            },
            |t: String| JsValue::from(t),
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
        logout_op(&self.shared, Logout::start(return_to, local_only))
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
