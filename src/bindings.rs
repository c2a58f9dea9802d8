//! The `#[wasm_bindgen]` surface: JS values in, typed errors out. No protocol
//! decisions here — only translation to and from [`crate::web::Client`].

use std::rc::Rc;

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::core::{Error, ResponseMode};
use crate::web::{Client, Config, LoginOptions, Tokens};

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn set_opt_str(obj: &Object, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        set(obj, key, &JsValue::from_str(v));
    }
}

/// A core error as a JS `Error` with `name`, `code`, `message` and the
/// provider's fields. The wrapper gives it the `PkceWasmError` prototype.
fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.message());
    err.set_name("PkceWasmError");
    set(&err, "code", &JsValue::from_str(e.code()));
    if let Some(p) = e.provider() {
        set(&err, "error", &JsValue::from_str(&p.error));
        set_opt_str(&err, "errorDescription", p.error_description.as_deref());
        set_opt_str(&err, "errorUri", p.error_uri.as_deref());
    }
    if let Some(s) = e.status() {
        set(&err, "status", &JsValue::from(s));
    }
    err.into()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn opt_string(obj: &JsValue, key: &str, problem: &'static str) -> Result<Option<String>, Error> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or(Error::InvalidConfig(problem))
}

fn string(obj: &JsValue, key: &str, problem: &'static str) -> Result<String, Error> {
    opt_string(obj, key, problem)?.ok_or(Error::InvalidConfig(problem))
}

fn config(options: &JsValue) -> Result<Config, Error> {
    let mut c = Config::new(
        string(
            options,
            "authorizationEndpoint",
            "authorizationEndpoint (string) is required",
        )?,
        string(
            options,
            "tokenEndpoint",
            "tokenEndpoint (string) is required",
        )?,
        string(options, "clientId", "clientId (string) is required")?,
        string(options, "redirectUri", "redirectUri (string) is required")?,
    );
    if let Some(scope) = opt_string(options, "scope", "scope must be a string")? {
        c.scope = scope;
    }
    c.issuer = opt_string(options, "issuer", "issuer must be a string")?;
    c.response_mode = match opt_string(
        options,
        "responseMode",
        "responseMode must be 'query' or 'fragment'",
    )?
    .as_deref()
    {
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some(_) => {
            return Err(Error::InvalidConfig(
                "responseMode must be 'query' or 'fragment'",
            ))
        }
    };
    let ttl = get(options, "transactionTtl");
    if !ttl.is_undefined() {
        match ttl.as_f64() {
            Some(s) if s > 0.0 && s <= 86_400.0 => c.transaction_ttl_ms = (s * 1000.0) as u64,
            _ => {
                return Err(Error::InvalidConfig(
                    "transactionTtl must be seconds between 1 and 86400",
                ))
            }
        }
    }
    Ok(c)
}

fn login_options(options: &JsValue) -> Result<LoginOptions, Error> {
    let mut o = LoginOptions::default();
    let app_state = get(options, "appState");
    if !app_state.is_undefined() {
        let json = JSON::stringify(&app_state)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or(Error::InvalidConfig("appState must be JSON-serialisable"))?;
        o.app_state = Some(json);
    }
    let extra = get(options, "extraParams");
    if extra.is_object() {
        for entry in Object::entries(extra.unchecked_ref()).iter() {
            let pair: Array = entry.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let value = pair.get(1);
            let values: Vec<JsValue> = if Array::is_array(&value) {
                Array::from(&value).iter().collect()
            } else {
                vec![value]
            };
            for v in values {
                if v.is_undefined() || v.is_null() {
                    continue;
                }
                let s = match v.as_string() {
                    Some(s) => s,
                    None if v.as_f64().is_some() || v.as_bool().is_some() => {
                        String::from(js_sys::JsString::from(v))
                    }
                    None => return Err(Error::InvalidConfig(
                        "extraParams values must be strings, numbers, booleans or arrays of them",
                    )),
                };
                o.extra_params.push((key.clone(), s));
            }
        }
    } else if !extra.is_undefined() {
        return Err(Error::InvalidConfig("extraParams must be an object"));
    }
    o.code_verifier = opt_string(options, "codeVerifier", "codeVerifier must be a string")?;
    Ok(o)
}

fn tokens_to_js(t: &Tokens) -> Object {
    let o = Object::new();
    set(
        &o,
        "accessToken",
        &JsValue::from_str(t.access_token.secret()),
    );
    set(&o, "tokenType", &JsValue::from_str(&t.token_type));
    if let Some(at) = t.expires_at_ms {
        set(&o, "expiresAt", &JsValue::from(at as f64));
    }
    set_opt_str(
        &o,
        "refreshToken",
        t.refresh_token.as_ref().map(|r| r.secret()),
    );
    set_opt_str(&o, "idToken", t.id_token.as_ref().map(|r| r.secret()));
    set(&o, "scope", &JsValue::from_str(&t.scope));
    o
}

/// The PKCE client, as JS sees it (wrapped by `js/index.js`).
#[wasm_bindgen(js_name = Client)]
pub struct WasmClient {
    inner: Rc<Client>,
}

#[wasm_bindgen(js_class = Client)]
impl WasmClient {
    /// `new Client(options)`; throws `invalid_config`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<WasmClient, JsValue> {
        let c = config(&options).and_then(Client::new).map_err(to_js)?;
        Ok(WasmClient { inner: Rc::new(c) })
    }

    /// Starts a login and returns the authorization URL (no navigation).
    #[wasm_bindgen(js_name = authorizeUrl)]
    pub fn authorize_url(&self, options: JsValue) -> Result<String, JsValue> {
        login_options(&options)
            .and_then(|o| self.inner.authorize_url(o))
            .map_err(to_js)
    }

    /// Starts a login and navigates to the provider.
    #[wasm_bindgen(js_name = loginWithRedirect)]
    pub fn login_with_redirect(&self, options: JsValue) -> Result<(), JsValue> {
        login_options(&options)
            .and_then(|o| self.inner.login_with_redirect(o))
            .map_err(to_js)
    }

    /// True when `url` carries an authorization response.
    #[wasm_bindgen(js_name = isCallback)]
    pub fn is_callback(&self, url: &str) -> bool {
        self.inner.is_callback(url)
    }

    /// Handles the callback; resolves to `{ appState, tokens }`.
    #[wasm_bindgen(js_name = handleRedirectCallback)]
    pub fn handle_redirect_callback(&self, url: String) -> js_sys::Promise {
        let client = Rc::clone(&self.inner);
        future_to_promise(async move {
            let r = client.handle_redirect_callback(&url).await.map_err(to_js)?;
            let out = Object::new();
            let app_state = match r.app_state {
                Some(json) => JSON::parse(&json).unwrap_or(JsValue::UNDEFINED),
                None => JsValue::UNDEFINED,
            };
            set(&out, "appState", &app_state);
            set(&out, "tokens", &tokens_to_js(&r.tokens));
            Ok(out.into())
        })
    }
}
