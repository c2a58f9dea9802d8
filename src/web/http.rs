//! fetch, carefully: `credentials: 'omit'`, `redirect: 'error'`, `Accept:
//! application/json`, status and content type handed back for the core to
//! judge, a bounded body.

use js_sys::Promise;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, RequestRedirect, Response};

use crate::core::token::MAX_BODY_BYTES;
use crate::core::{Error, FormPost};

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

/// Sends a request. A rejected fetch (offline, CORS, redirect) is
/// `network_error`; a body over the limit is `response_too_large`.
async fn send(
    method: &str,
    url: &str,
    form_body: Option<&str>,
    bearer: Option<&str>,
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
    let resp: Response = JsFuture::from(global_fetch(&url.into(), &init)?)
        .await
        .map_err(|_| Error::Network)?
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
        .map_err(|_| Error::Network)?
        .as_string()
        .unwrap_or_default();
    Ok(HttpResponse {
        status: resp.status(),
        content_type,
        body,
    })
}

/// POSTs a form (token endpoint).
pub async fn post_form(req: &FormPost) -> Result<HttpResponse, Error> {
    send("POST", &req.url, Some(&req.body), None).await
}

/// GETs JSON (discovery, JWKS), or with a bearer token (UserInfo).
pub async fn get(url: &str, bearer: Option<&str>) -> Result<HttpResponse, Error> {
    send("GET", url, None, bearer).await
}
