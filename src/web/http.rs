//! fetch, carefully: `credentials: 'omit'`, `redirect: 'error'`, `Accept:
//! application/json`, an abort after the timeout (`AbortSignal.timeout`, so a
//! timeout is told from a network failure), the body bounded while it is read
//! (a declared `Content-Length` over the cap is refused unread; otherwise the
//! stream is read chunk by chunk and cancelled at the cap, whatever the
//! length said); and the app's own request for `Client::fetch`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    AbortSignal, Headers, ReadableStream, ReadableStreamDefaultReader, Request, RequestCredentials,
    RequestInit, RequestRedirect, Response,
};

use super::exec::Slots;
use super::host::get;
use super::promise::{once, then_fn};
use crate::core::flow::{AppRequest, HttpRequest, HttpResponse};
use crate::core::token::MAX_BODY_BYTES;
use crate::core::Error;

fn global_fn(name: &str) -> Option<Function> {
    get(&js_sys::global(), name).dyn_into().ok()
}

/// The answer of the global `fetch` (windows and workers).
pub(crate) fn fetch(input: &JsValue, init: &JsValue) -> Result<Promise, Error> {
    global_fn("fetch")
        .ok_or(Error::Network)?
        .call2(&js_sys::global(), input, init)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or(Error::Network)
}

pub(crate) fn send(req: &HttpRequest) -> Result<(Promise, AbortSignal), Error> {
    let headers = Headers::new().map_err(|_| Error::Network)?;
    let _ = headers.append("Accept", "application/json");
    let init = RequestInit::new();
    init.set_method(req.method);
    if let Some(body) = &req.body {
        let _ = headers.append("Content-Type", "application/x-www-form-urlencoded");
        init.set_body(&JsValue::from_str(body));
    }
    for (name, value) in [("Authorization", &req.authorization), ("DPoP", &req.dpop)] {
        if let Some(v) = value {
            let _ = headers.append(name, v);
        }
    }
    init.set_headers(&headers);
    init.set_credentials(RequestCredentials::Omit);
    init.set_redirect(RequestRedirect::Error);
    // The deadline covers the headers and the body.
    let signal = AbortSignal::timeout_with_u32(req.timeout_ms);
    init.set_signal(Some(&signal));
    let answer = fetch(&JsValue::from_str(&req.url), &init)?;
    let read = once(|resp: JsValue| {
        let declared = Reflect::get(&resp, &"headers".into())
            .ok()
            .and_then(|h| h.dyn_into::<Headers>().ok())
            .and_then(|h| h.get("content-length").ok().flatten())
            .and_then(|l| crate::core::encoding::parse_u64(l.trim()));
        let body = resp.dyn_ref::<Response>().and_then(Response::body);
        if declared.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
            if let Some(b) = body {
                let _ = b.cancel();
            }
            return JsValue::NULL;
        }
        let text = match body {
            Some(stream) => read_capped(&stream),
            None => Promise::resolve(&JsValue::from_str("")),
        };
        Promise::all(&Array::of2(&resp, &text)).into()
    });
    Ok((then_fn(&answer, &read), signal))
}

/// The body as text (UTF-8, BOM dropped), or `null` once
/// it passes [`MAX_BODY_BYTES`]: the stream is cancelled there, unread.
fn read_capped(stream: &ReadableStream) -> Promise {
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    pump(reader, Rc::new(RefCell::new(Vec::new())))
}

fn pump(reader: ReadableStreamDefaultReader, bytes: Rc<RefCell<Vec<u8>>>) -> Promise {
    let next = reader.read();
    then_fn(
        &next,
        &once(move |chunk: JsValue| {
            let mut b = bytes.borrow_mut();
            if get(&chunk, "done").as_bool() == Some(true) {
                // UTF-8 without its BOM, as `Response.text()` reads it. A body
                // that is not UTF-8 cannot be JSON: it reads as empty.
                let all = core::mem::take(&mut *b);
                let text = match all.strip_prefix(b"\xEF\xBB\xBF") {
                    Some(rest) => rest.to_vec(),
                    None => all,
                };
                return JsValue::from_str(&String::from_utf8(text).unwrap_or_default());
            }
            let part: Uint8Array = get(&chunk, "value").unchecked_into();
            if b.len() + part.length() as usize > MAX_BODY_BYTES {
                let _ = reader.cancel();
                return JsValue::NULL;
            }
            b.extend_from_slice(&part.to_vec());
            drop(b);
            pump(reader, bytes).into()
        }),
    )
}

pub(crate) fn http_outcome(
    r: Result<JsValue, JsValue>,
    signal: &AbortSignal,
) -> Result<HttpResponse, Error> {
    let failed = || {
        if signal.aborted() {
            Error::Timeout
        } else {
            Error::Network
        }
    };
    let pair = r.map_err(|_| failed())?;
    if pair.is_null() {
        return Err(Error::ResponseTooLarge);
    }
    let pair: Array = pair.dyn_into().map_err(|_| Error::Network)?;
    let resp: Response = pair.get(0).dyn_into().map_err(|_| Error::Network)?;
    let body = pair.get(1).as_string().ok_or(Error::ResponseTooLarge)?;
    let header = |name: &str| resp.headers().get(name).ok().flatten();
    Ok(HttpResponse {
        status: resp.status(),
        content_type: header("content-type"),
        dpop_nonce: header("dpop-nonce"),
        www_authenticate: header("www-authenticate"),
        body,
    })
}

pub(crate) fn app_fetch(req: AppRequest, slots: &mut Slots) -> Result<Promise, Error> {
    let request = if req.replay {
        slots.replay.take()
    } else {
        slots.request.clone()
    };
    let request = request.ok_or(Error::InvalidConfig(
        "fetch: the request cannot be sent again",
    ))?;
    let request = if req.follow_redirects {
        request
    } else {
        // The browser must not follow a redirect with our token.
        let init = RequestInit::new();
        init.set_redirect(RequestRedirect::Manual);
        Request::new_with_request_and_init(&request, &init).map_err(|_| Error::Network)?
    };
    let headers = request.headers();
    if let Some(a) = &req.authorization {
        let _ = headers.set("Authorization", a);
    }
    if let Some(p) = &req.dpop {
        let _ = headers.set("DPoP", p);
    }
    fetch(&request, &JsValue::UNDEFINED)
}
