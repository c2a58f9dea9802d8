//! The `#[wasm_bindgen]` surface: JS values in, typed errors out. No protocol
//! decisions here — only translation to and from [`crate::web::Client`].

use std::rc::Rc;

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::core::discovery::metadata_from_json;
use crate::core::json;
use crate::core::{Error, ResponseMode};
use crate::web::{CacheLocation, Client, Config, Endpoints, Event, LoginOptions, ParMode, Tokens};

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

fn opt_bool(obj: &JsValue, key: &str, problem: &'static str) -> Result<Option<bool>, Error> {
    let v = get(obj, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_bool().map(Some).ok_or(Error::InvalidConfig(problem))
}

fn seconds(
    options: &JsValue,
    key: &str,
    max: f64,
    problem: &'static str,
) -> Result<Option<u64>, Error> {
    let v = get(options, key);
    if v.is_undefined() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(s) if (0.0..=max).contains(&s) => Ok(Some(s as u64)),
        _ => Err(Error::InvalidConfig(problem)),
    }
}

const CACHE_PROBLEM: &str = "cacheLocation must be 'memory', 'sessionStorage' or 'localStorage'";

fn config(options: &JsValue) -> Result<Config, Error> {
    let issuer = opt_string(options, "issuer", "issuer must be a string")?;
    let client_id = string(options, "clientId", "clientId (string) is required")?;
    let redirect_uri = string(options, "redirectUri", "redirectUri (string) is required")?;
    let authorization_endpoint = opt_string(
        options,
        "authorizationEndpoint",
        "authorizationEndpoint must be a string",
    )?;
    let token_endpoint = opt_string(options, "tokenEndpoint", "tokenEndpoint must be a string")?;
    let metadata = get(options, "metadata");
    let mut c = if authorization_endpoint.is_some() || token_endpoint.is_some() {
        let mut c = Config::explicit(
            authorization_endpoint.ok_or(Error::InvalidConfig(
                "authorizationEndpoint (string) is required with tokenEndpoint",
            ))?,
            token_endpoint.ok_or(Error::InvalidConfig(
                "tokenEndpoint (string) is required with authorizationEndpoint",
            ))?,
            client_id,
            redirect_uri,
        );
        if let Endpoints::Given(m) = &mut c.endpoints {
            m.jwks_uri = opt_string(options, "jwksUri", "jwksUri must be a string")?;
            m.userinfo_endpoint = opt_string(
                options,
                "userinfoEndpoint",
                "userinfoEndpoint must be a string",
            )?;
        }
        c.issuer = issuer;
        c
    } else if metadata.is_object() {
        // Supplied metadata goes through the same validation as a fetched document.
        let iss = issuer.ok_or(Error::InvalidConfig("issuer is required with metadata"))?;
        let text = JSON::stringify(&metadata)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or(Error::InvalidConfig("metadata must be a JSON object"))?;
        let doc =
            json::parse(&text).ok_or(Error::InvalidConfig("metadata must be a JSON object"))?;
        let meta = metadata_from_json(&iss, &doc)?;
        let mut c = Config::discover(iss, client_id, redirect_uri);
        c.endpoints = Endpoints::Given(meta);
        c
    } else {
        let iss = issuer.ok_or(Error::InvalidConfig(
            "issuer, or authorizationEndpoint and tokenEndpoint, is required",
        ))?;
        Config::discover(iss, client_id, redirect_uri)
    };
    if let Some(scope) = opt_string(options, "scope", "scope must be a string")? {
        c.scope = scope;
    }
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
    if let Some(ttl) = seconds(
        options,
        "transactionTtl",
        86_400.0,
        "transactionTtl must be seconds between 1 and 86400",
    )? {
        if ttl == 0 {
            return Err(Error::InvalidConfig(
                "transactionTtl must be seconds between 1 and 86400",
            ));
        }
        c.transaction_ttl_ms = ttl * 1000;
    }
    if let Some(skew) = seconds(
        options,
        "clockSkew",
        600.0,
        "clockSkew must be seconds between 0 and 600",
    )? {
        c.clock_skew_s = skew;
    }
    c.cache_location = match opt_string(options, "cacheLocation", CACHE_PROBLEM)?.as_deref() {
        None | Some("memory") => CacheLocation::Memory,
        Some("sessionStorage") => CacheLocation::SessionStorage,
        Some("localStorage") => CacheLocation::LocalStorage,
        Some(_) => return Err(Error::InvalidConfig(CACHE_PROBLEM)),
    };
    if let Some(leeway) = seconds(
        options,
        "refreshLeeway",
        3600.0,
        "refreshLeeway must be seconds between 0 and 3600",
    )? {
        c.refresh_leeway_ms = leeway * 1000;
    }
    c.auto_refresh =
        opt_bool(options, "autoRefresh", "autoRefresh must be a boolean")?.unwrap_or(false);
    c.dpop = opt_bool(options, "dpop", "dpop must be a boolean")?.unwrap_or(false);
    if c.dpop && !cfg!(feature = "dpop") {
        return Err(Error::InvalidConfig(
            "this build of pkce-wasm has no DPoP support (the `dpop` feature)",
        ));
    }
    let par = get(options, "pushedAuthorizationRequests");
    c.par = match (par.as_bool(), par.as_string().as_deref()) {
        (Some(true), _) => ParMode::Always,
        (Some(false), _) => ParMode::Never,
        (_, Some("auto")) => ParMode::Auto,
        _ if par.is_undefined() => ParMode::Auto,
        _ => {
            return Err(Error::InvalidConfig(
                "pushedAuthorizationRequests must be 'auto', true or false",
            ))
        }
    };
    let timeout = get(options, "timeout");
    if !timeout.is_undefined() {
        match timeout.as_f64() {
            Some(t) if t > 0.0 && t <= 600.0 => c.timeout_ms = (t * 1000.0) as u32,
            _ => {
                return Err(Error::InvalidConfig(
                    "timeout must be seconds between 0 and 600",
                ))
            }
        }
    }
    let origins = get(options, "apiOrigins");
    if !origins.is_undefined() {
        let list = Array::is_array(&origins)
            .then(|| {
                Array::from(&origins)
                    .iter()
                    .map(|o| o.as_string())
                    .collect::<Option<Vec<_>>>()
            })
            .flatten()
            .ok_or(Error::InvalidConfig(
                "apiOrigins must be an array of origins",
            ))?;
        c.api_origins = Some(list);
    }
    Ok(c)
}

fn login_options(options: &JsValue) -> Result<LoginOptions, Error> {
    if !(options.is_undefined() || options.is_null() || options.is_object()) {
        return Err(Error::InvalidConfig("login options must be an object"));
    }
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
                    None if v.as_f64().is_some() || v.as_bool().is_some() => js_string(&v)
                        .ok_or(Error::InvalidConfig("extraParams: unreadable value"))?,
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

/// Makes a client: validates the options and, for an `issuer` without
/// explicit endpoints or `metadata`, fetches the discovery document (cached).
#[wasm_bindgen(js_name = createClient)]
pub fn create_client(options: JsValue) -> js_sys::Promise {
    future_to_promise(async move {
        let config = config(&options).map_err(to_js)?;
        let client = Client::create(config).await.map_err(to_js)?;
        Ok(WasmClient { inner: client }.into())
    })
}

/// JavaScript's `String(value)`: a number, boolean or URL as text. (A cast to
/// `JsString` would not convert, and reading it back would throw.)
fn js_string(value: &JsValue) -> Option<String> {
    if let Some(s) = value.as_string() {
        return Some(s);
    }
    let to_string: js_sys::Function = Reflect::get(&js_sys::global(), &"String".into())
        .ok()?
        .dyn_into()
        .ok()?;
    to_string
        .call1(&JsValue::UNDEFINED, value)
        .ok()?
        .as_string()
}

/// `new Request(input, init)`; a TypeError from the constructor is `invalid_config`.
fn request_from(input: &JsValue, init: &JsValue) -> Result<web_sys::Request, Error> {
    let init: &web_sys::RequestInit = if init.is_object() {
        init.unchecked_ref()
    } else {
        &web_sys::RequestInit::new()
    };
    let r = match input.as_string() {
        Some(url) => web_sys::Request::new_with_str_and_init(&url, init),
        None => match input.dyn_ref::<web_sys::Request>() {
            Some(req) => web_sys::Request::new_with_request_and_init(req, init),
            // A URL object (or anything else with a string form), as fetch() accepts.
            None => match js_string(input) {
                Some(url) => web_sys::Request::new_with_str_and_init(&url, init),
                None => return Err(Error::InvalidConfig("fetch: invalid request")),
            },
        },
    };
    r.map_err(|_| Error::InvalidConfig("fetch: invalid request"))
}

fn parse_json(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// The PKCE client, as JS sees it (wrapped by `js/index.js`).
#[wasm_bindgen(js_name = Client)]
pub struct WasmClient {
    inner: Client,
}

#[wasm_bindgen(js_class = Client)]
impl WasmClient {
    /// Starts a login and resolves to the authorization URL (no navigation).
    #[wasm_bindgen(js_name = authorizeUrl)]
    pub fn authorize_url(&self, options: JsValue) -> js_sys::Promise {
        let client = self.inner.clone();
        let options = login_options(&options);
        future_to_promise(async move {
            let url = client
                .authorize_url(options.map_err(to_js)?)
                .await
                .map_err(to_js)?;
            Ok(JsValue::from_str(&url))
        })
    }

    /// Starts a login and navigates to the provider.
    #[wasm_bindgen(js_name = loginWithRedirect)]
    pub fn login_with_redirect(&self, options: JsValue) -> js_sys::Promise {
        let client = self.inner.clone();
        let options = login_options(&options);
        future_to_promise(async move {
            client
                .login_with_redirect(options.map_err(to_js)?)
                .await
                .map_err(to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// True when `url` carries an authorization response.
    #[wasm_bindgen(js_name = isCallback)]
    pub fn is_callback(&self, url: &str) -> bool {
        self.inner.is_callback(url)
    }

    /// Handles the callback; resolves to `{ appState, tokens }`.
    #[wasm_bindgen(js_name = handleRedirectCallback)]
    pub fn handle_redirect_callback(&self, url: String) -> js_sys::Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let r = client.handle_redirect_callback(&url).await.map_err(to_js)?;
            let out = Object::new();
            let app_state = match r.app_state {
                Some(json) => parse_json(&json),
                None => JsValue::UNDEFINED,
            };
            set(&out, "appState", &app_state);
            set(&out, "tokens", &tokens_to_js(&r.tokens));
            if let Some(c) = &r.claims {
                set(&out, "claims", &parse_json(&c.json));
            }
            Ok(out.into())
        })
    }

    /// The validated ID token claims of the current session, or `undefined`.
    #[wasm_bindgen(js_name = getIdTokenClaims)]
    pub fn get_id_token_claims(&self) -> JsValue {
        self.inner
            .id_token_claims()
            .map_or(JsValue::UNDEFINED, |c| parse_json(&c.json))
    }

    /// A valid access token, refreshed when it expires within the leeway.
    #[wasm_bindgen(js_name = getAccessToken)]
    pub fn get_access_token(&self, options: JsValue) -> js_sys::Promise {
        let client = self.inner.clone();
        let force = get(&options, "forceRefresh").as_bool() == Some(true);
        future_to_promise(async move {
            let token = client.access_token(force).await.map_err(to_js)?;
            Ok(JsValue::from_str(&token))
        })
    }

    /// The current session's tokens, or `undefined`.
    #[wasm_bindgen(js_name = getTokens)]
    pub fn get_tokens(&self) -> JsValue {
        self.inner
            .tokens()
            .map_or(JsValue::UNDEFINED, |t| tokens_to_js(&t).into())
    }

    /// True when there is a session whose access token is valid or refreshable.
    #[wasm_bindgen(js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.inner.is_authenticated()
    }

    /// The validated ID token claims, merged with UserInfo when `{ userInfo: true }`.
    #[wasm_bindgen(js_name = getUser)]
    pub fn get_user(&self, options: JsValue) -> js_sys::Promise {
        let client = self.inner.clone();
        let with_userinfo = get(&options, "userInfo").as_bool() == Some(true);
        future_to_promise(async move {
            let claims = client.id_token_claims().map(|c| parse_json(&c.json));
            if !with_userinfo {
                return Ok(claims.unwrap_or(JsValue::UNDEFINED));
            }
            let info = parse_json(&client.user_info().await.map_err(to_js)?);
            let merged = Object::new();
            if let Some(c) = claims {
                Object::assign(&merged, c.unchecked_ref());
            }
            Ok(Object::assign(&merged, info.unchecked_ref()).into())
        })
    }

    /// Ends the session: `{ returnTo, localOnly }`.
    pub fn logout(&self, options: JsValue) -> js_sys::Promise {
        let client = self.inner.clone();
        // A string or a URL object; the client checks it is http(s).
        let v = get(&options, "returnTo");
        let return_to = match v.dyn_ref::<web_sys::Url>() {
            Some(url) => Ok(Some(url.href())),
            None => opt_string(&options, "returnTo", "returnTo must be an http(s) URL"),
        };
        let local_only = get(&options, "localOnly").as_bool() == Some(true);
        future_to_promise(async move {
            let return_to = return_to.map_err(to_js)?;
            client.logout(return_to, local_only).await.map_err(to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `fetch(input, init)` with the bearer token for the configured API origins only.
    pub fn fetch(&self, input: JsValue, init: JsValue) -> js_sys::Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let request = request_from(&input, &init).map_err(to_js)?;
            Ok(client.fetch(request).await.map_err(to_js)?.into())
        })
    }

    /// Subscribes to `tokensRefreshed`, `sessionExpired`, `loggedOut` or `error`; returns an id for `off`.
    pub fn on(&self, event: &str, handler: js_sys::Function) -> Result<u32, JsValue> {
        let listener = Rc::new(move |e: &Event| {
            let payload = match e {
                Event::Error(err) => to_js(err.clone()),
                _ => JsValue::UNDEFINED,
            };
            let _ = handler.call1(&JsValue::NULL, &payload);
        });
        self.inner.on(event, listener).map_err(to_js)
    }

    /// Unsubscribes.
    pub fn off(&self, id: u32) {
        self.inner.off(id);
    }

    /// UserInfo claims (bearer GET); its `sub` must equal the ID token's.
    #[wasm_bindgen(js_name = getUserInfo)]
    pub fn get_user_info(&self) -> js_sys::Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let body = client.user_info().await.map_err(to_js)?;
            Ok(parse_json(&body))
        })
    }
}
