//! fetch, carefully: `credentials: 'omit'`, `redirect: 'error'`, `Accept:
//! application/json`, status and content type handed back for the core to
//! judge, a bounded body.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, RequestRedirect, Response};

use crate::core::token::MAX_BODY_BYTES;
use crate::core::{Error, FormPost};

use super::browser;

/// What came back, before any protocol interpretation.
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body text.
    pub body: String,
    /// The `DPoP-Nonce` header (RFC 9449 §8).
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    pub dpop_nonce: Option<String>,
    /// The `WWW-Authenticate` header.
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    pub www_authenticate: Option<String>,
}

fn global_fetch(
    input: &wasm_bindgen::JsValue,
    init: &wasm_bindgen::JsValue,
) -> Result<Promise, Error> {
    // Works in windows and workers: call the global `fetch`.
    let global = js_sys::global();
    let f = js_sys::Reflect::get(&global, &"fetch".into()).map_err(|_| Error::Network)?;
    let f: js_sys::Function = f.dyn_into().map_err(|_| Error::Network)?;
    f.call2(&global, input, init)
        .map_err(|_| Error::Network)?
        .dyn_into()
        .map_err(|_| Error::Network)
}

/// Sends an app's request as it is (used by `Client::fetch`); a rejected fetch is `network_error`.
pub async fn fetch_request(request: &Request) -> Result<Response, Error> {
    JsFuture::from(global_fetch(request, &wasm_bindgen::JsValue::UNDEFINED)?)
        .await
        .map_err(|_| Error::Network)?
        .dyn_into()
        .map_err(|_| Error::Network)
}

/// Aborts a request after `ms` through an `AbortController`; remembers that it did.
struct Deadline {
    fired: Rc<Cell<bool>>,
    timer: Option<i32>,
}

impl Deadline {
    fn arm(init: &RequestInit, ms: u32) -> Self {
        let fired = Rc::new(Cell::new(false));
        let Ok(controller) = web_sys::AbortController::new() else {
            return Self { fired, timer: None };
        };
        init.set_signal(Some(&controller.signal()));
        let flag = Rc::clone(&fired);
        let timer = browser::set_timeout(ms.min(i32::MAX as u32) as i32, move || {
            flag.set(true);
            controller.abort();
        });
        Self { fired, timer }
    }

    /// The error for a failed step: `timeout` once the deadline fired, else `network_error`.
    fn error(&self) -> Error {
        if self.fired.get() {
            Error::Timeout
        } else {
            Error::Network
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(id) = self.timer {
            browser::clear_timeout(id);
        }
    }
}

/// One request of the SDK's own.
pub struct Outgoing<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Target URL.
    pub url: &'a str,
    /// A form body (sent as `application/x-www-form-urlencoded`).
    pub form_body: Option<&'a str>,
    /// `Authorization: <scheme> <token>` (`Bearer` or `DPoP`).
    pub authorization: Option<(&'a str, &'a str)>,
    /// A `DPoP` proof header.
    pub dpop: Option<&'a str>,
    /// Abort after this many milliseconds.
    pub timeout_ms: u32,
}

/// Sends a request. A rejected fetch (offline, CORS, redirect) is
/// `network_error`; no answer (headers and body) within `timeout_ms` is
/// `timeout`; a body over the limit is `response_too_large`.
pub async fn send(out: &Outgoing<'_>) -> Result<HttpResponse, Error> {
    let headers = Headers::new().map_err(|_| Error::Network)?;
    let _ = headers.append("Accept", "application/json");
    let init = RequestInit::new();
    init.set_method(out.method);
    if let Some(body) = out.form_body {
        let _ = headers.append("Content-Type", "application/x-www-form-urlencoded");
        init.set_body(&body.into());
    }
    if let Some((scheme, token)) = out.authorization {
        let mut value = String::from(scheme);
        value.push(' ');
        value.push_str(token);
        let _ = headers.append("Authorization", &value);
    }
    if let Some(proof) = out.dpop {
        let _ = headers.append("DPoP", proof);
    }
    init.set_headers(&headers);
    init.set_credentials(RequestCredentials::Omit);
    init.set_redirect(RequestRedirect::Error);
    let deadline = Deadline::arm(&init, out.timeout_ms);
    let resp: Response = JsFuture::from(global_fetch(&out.url.into(), &init)?)
        .await
        .map_err(|_| deadline.error())?
        .dyn_into()
        .map_err(|_| Error::Network)?;
    let header = |name: &str| resp.headers().get(name).ok().flatten();
    let declared =
        header("content-length").and_then(|l| crate::core::encoding::parse_u64(l.trim()));
    if declared.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
        return Err(Error::ResponseTooLarge);
    }
    let text = resp.text().map_err(|_| Error::Network)?;
    let body = JsFuture::from(text)
        .await
        .map_err(|_| deadline.error())?
        .as_string()
        .unwrap_or_default();
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::ResponseTooLarge);
    }
    Ok(HttpResponse {
        status: resp.status(),
        content_type: header("content-type"),
        dpop_nonce: header("dpop-nonce"),
        www_authenticate: header("www-authenticate"),
        body,
    })
}

/// POSTs a form without credentials.
pub async fn post_form(req: &FormPost, timeout_ms: u32) -> Result<HttpResponse, Error> {
    send(&Outgoing {
        method: "POST",
        url: &req.url,
        form_body: Some(&req.body),
        authorization: None,
        dpop: None,
        timeout_ms,
    })
    .await
}

/// GETs JSON without credentials (discovery, JWKS).
pub async fn get(url: &str, timeout_ms: u32) -> Result<HttpResponse, Error> {
    send(&Outgoing {
        method: "GET",
        url,
        form_body: None,
        authorization: None,
        dpop: None,
        timeout_ms,
    })
    .await
}
