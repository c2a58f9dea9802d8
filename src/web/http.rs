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

/// Sends a request. A rejected fetch (offline, CORS, redirect) is
/// `network_error`; no answer (headers and body) within `timeout_ms` is
/// `timeout`; a body over the limit is `response_too_large`.
async fn send(
    method: &str,
    url: &str,
    form_body: Option<&str>,
    bearer: Option<&str>,
    timeout_ms: u32,
) -> Result<HttpResponse, Error> {
    let headers = Headers::new().map_err(|_| Error::Network)?;
    let _ = headers.append("Accept", "application/json");
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = form_body {
        let _ = headers.append("Content-Type", "application/x-www-form-urlencoded");
        init.set_body(&body.into());
    }
    if let Some(token) = bearer {
        let mut value = String::from("Bearer ");
        value.push_str(token);
        let _ = headers.append("Authorization", &value);
    }
    init.set_headers(&headers);
    init.set_credentials(RequestCredentials::Omit);
    init.set_redirect(RequestRedirect::Error);
    let deadline = Deadline::arm(&init, timeout_ms);
    let resp: Response = JsFuture::from(global_fetch(&url.into(), &init)?)
        .await
        .map_err(|_| deadline.error())?
        .dyn_into()
        .map_err(|_| Error::Network)?;
    let content_type = resp.headers().get("content-type").ok().flatten();
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| crate::core::encoding::parse_u64(l.trim()));
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
        content_type,
        body,
    })
}

/// POSTs a form (token, revocation endpoints).
pub async fn post_form(req: &FormPost, timeout_ms: u32) -> Result<HttpResponse, Error> {
    send("POST", &req.url, Some(&req.body), None, timeout_ms).await
}

/// GETs JSON (discovery, JWKS), or with a bearer token (UserInfo).
pub async fn get(url: &str, bearer: Option<&str>, timeout_ms: u32) -> Result<HttpResponse, Error> {
    send("GET", url, None, bearer, timeout_ms).await
}
