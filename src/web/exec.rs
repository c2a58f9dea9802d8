//! Performs one asynchronous effect with web-sys and hands back the
//! `Promise` of its answer; [`settle`] turns the settled value into the
//! core's [`Outcome`]. No Rust futures: a driver awaits the promise (the JS
//! loop, or `JsFuture` in the Rust API) and resumes the operation.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    AbortSignal, Headers, Request, RequestCredentials, RequestInit, RequestRedirect, Response,
};

use super::host::{get, set_timeout, WebHost};
use super::{crypto, idb};
use crate::core::dpop::PublicJwk;
use crate::core::flow::{AppResponse, Effect, HttpRequest, HttpResponse, Outcome};
use crate::core::token::MAX_BODY_BYTES;
use crate::core::Error;

#[wasm_bindgen]
extern "C" {
    /// A promise, seen through `then` with plain functions whose return value
    /// (a value or a promise) becomes the next value.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then1(this: &Thenable, f: &Function) -> Promise;
    #[wasm_bindgen(method, js_name = then)]
    fn then2(this: &Thenable, ok: &Function, err: &Function) -> Promise;
}

/// `promise.then(f)`.
pub(crate) fn then_fn(p: &Promise, f: &Function) -> Promise {
    p.unchecked_ref::<Thenable>().then1(f)
}

/// `promise.then(ok, err)`.
pub(crate) fn then_fn2(p: &Promise, ok: &Function, err: &Function) -> Promise {
    p.unchecked_ref::<Thenable>().then2(ok, err)
}

/// A JS function from a Rust closure. Every callback goes through this one
/// closure type, so wasm-bindgen makes one shim for all of them.
pub(crate) fn function(f: Box<dyn FnMut(JsValue) -> JsValue>) -> Function {
    Closure::<dyn FnMut(JsValue) -> JsValue>::wrap(f)
        .into_js_value()
        .unchecked_into()
}

/// A one-shot JS function from a Rust closure (called again, it does nothing).
pub(crate) fn once(f: impl FnOnce(JsValue) -> JsValue + 'static) -> Function {
    let mut f = Some(f);
    function(Box::new(move |v| match f.take() {
        Some(f) => f(v),
        None => JsValue::UNDEFINED,
    }))
}

/// What an effect in flight will settle into.
pub enum Pending {
    /// [`Effect::Http`], with the abort signal that tells a timeout from a network failure.
    Http(AbortSignal),
    /// [`Effect::HttpPair`].
    HttpPair(AbortSignal, AbortSignal),
    /// [`Effect::Verify`].
    Verify,
    /// [`Effect::LoadDpopKey`].
    DpopKey,
    /// [`Effect::Sign`].
    Sign,
    /// [`Effect::Lock`] of this name, for the operation whose liveness flag this is.
    Lock(String, std::rc::Rc<std::cell::Cell<bool>>),
    /// [`Effect::QueryLocks`] with this prefix.
    Names(String),
    /// [`Effect::AppFetch`].
    App,
    /// Effects without a value.
    Done(Error),
}

/// The browser objects an operation works on: the app's request for
/// `fetch` (and the copy kept for a replay), its response, the locks it holds.
#[derive(Default)]
pub struct Slots {
    /// The app's request.
    pub request: Option<Request>,
    /// A clone made before sending, for one replay.
    pub replay: Option<Request>,
    /// The last response to the app's request.
    pub response: Option<Response>,
    /// False once the operation is over: a lock granted after that is let go
    /// at once, and one it still holds is released.
    pub alive: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Slots {
    /// Slots for a new operation.
    pub fn new() -> Self {
        Slots {
            alive: std::rc::Rc::new(std::cell::Cell::new(true)),
            ..Slots::default()
        }
    }

    /// The operation ends (finished or dropped): nothing it asked for stays held.
    pub fn release(&mut self, host: &WebHost) {
        self.alive.set(false);
        host.release_owned_by(&self.alive);
    }
}

/// An effect performed: its outcome at once, or a promise of it.
pub enum Performed {
    /// Completed in place.
    Now(Outcome),
    /// Settles later: await the promise, then [`settle`].
    Later(Promise, Pending),
}

/// `navigator.locks` and its `request` method, when Web Locks exist.
pub(crate) fn locks() -> Option<(JsValue, Function)> {
    let locks = get(&get(&js_sys::global(), "navigator"), "locks");
    let request = get(&locks, "request").dyn_into::<Function>().ok()?;
    Some((locks, request))
}

fn global_fn(name: &str) -> Option<Function> {
    get(&js_sys::global(), name).dyn_into().ok()
}

/// The answer of the global `fetch` (windows and workers).
fn fetch(input: &JsValue, init: &JsValue) -> Result<Promise, Error> {
    global_fn("fetch")
        .ok_or(Error::Network)?
        .call2(&js_sys::global(), input, init)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or(Error::Network)
}

fn send(req: &HttpRequest) -> Result<(Promise, AbortSignal), Error> {
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
        if declared.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
            return JsValue::NULL;
        }
        let text = resp
            .dyn_ref::<Response>()
            .and_then(|r| r.text().ok())
            .map_or(JsValue::NULL, JsValue::from);
        Promise::all(&Array::of2(&resp, &text)).into()
    });
    Ok((then_fn(&answer, &read), signal))
}

fn http_outcome(r: Result<JsValue, JsValue>, signal: &AbortSignal) -> Result<HttpResponse, Error> {
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
    let body = pair.get(1).as_string().unwrap_or_default();
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::ResponseTooLarge);
    }
    let header = |name: &str| resp.headers().get(name).ok().flatten();
    Ok(HttpResponse {
        status: resp.status(),
        content_type: header("content-type"),
        dpop_nonce: header("dpop-nonce"),
        www_authenticate: header("www-authenticate"),
        body,
    })
}

/// A promise and its resolve function.
fn deferred() -> (Promise, Function) {
    let mut resolve = None;
    let p = Promise::new(&mut |res, _| resolve = Some(res));
    // The executor runs synchronously, so `resolve` is always set.
    let resolve = resolve.unwrap_or_else(|| JsValue::UNDEFINED.unchecked_into());
    (p, resolve)
}

fn app_fetch(req: crate::core::flow::AppRequest, slots: &mut Slots) -> Result<Promise, Error> {
    let request = if req.replay {
        slots.replay.take()
    } else {
        slots.request.clone()
    };
    let request = request.ok_or(Error::InvalidConfig(
        "fetch: the request cannot be sent again",
    ))?;
    let headers = request.headers();
    if let Some(a) = &req.authorization {
        let _ = headers.set("Authorization", a);
    }
    if let Some(p) = &req.dpop {
        let _ = headers.set("DPoP", p);
    }
    fetch(&request, &JsValue::UNDEFINED)
}

/// Performs `effect`.
pub fn perform(effect: Effect, host: &WebHost, slots: &mut Slots) -> Performed {
    let later = |r: Result<Promise, Error>, pending: Pending| match r {
        Ok(p) => Performed::Later(p, pending),
        Err(e) => Performed::Now(error_outcome(&pending, e)),
    };
    match effect {
        Effect::Http(req) => match send(&req) {
            Ok((p, signal)) => Performed::Later(p, Pending::Http(signal)),
            Err(e) => Performed::Now(Outcome::Http(Err(e))),
        },
        Effect::HttpPair(a, b) => match (send(&a), send(&b)) {
            (Ok((pa, sa)), Ok((pb, sb))) => Performed::Later(
                Promise::all_settled(&Array::of2(&pa, &pb)),
                Pending::HttpPair(sa, sb),
            ),
            _ => Performed::Now(Outcome::HttpPair(Err(Error::Network), Err(Error::Network))),
        },
        Effect::Verify {
            key,
            alg,
            input,
            signature,
        } => later(
            crypto::verify(&key, alg, input.as_bytes(), &signature),
            Pending::Verify,
        ),
        Effect::LoadDpopKey(id) => later(crypto::dpop_key(&id), Pending::DpopKey),
        Effect::DiscardDpopKey(id) => {
            host.dpop_key.replace(None);
            later(idb::delete(&id), Pending::Done(Error::DpopKeyUnavailable))
        }
        Effect::Sign(input) => {
            let key = super::host::copy(&host.dpop_key);
            later(
                key.ok_or(Error::DpopKeyUnavailable)
                    .and_then(|k| crypto::sign(&k, input.as_bytes())),
                Pending::Sign,
            )
        }
        Effect::Lock(name) => {
            let Some((locks, request)) = locks() else {
                return Performed::Now(Outcome::Locked { contended: false });
            };
            let (granted, resolve) = deferred();
            let alive = std::rc::Rc::clone(&slots.alive);
            // Granted: hand the release function out, and hold the lock until it
            // is called (or not at all, when the operation is gone).
            let hold = once(move |_lock| {
                if !alive.get() {
                    return JsValue::UNDEFINED;
                }
                Promise::new(&mut |release, _| {
                    let _ = resolve.call1(&JsValue::UNDEFINED, &release);
                })
                .into()
            });
            let _ = request.call2(&locks, &JsValue::from_str(&name), &hold);
            Performed::Later(
                granted,
                Pending::Lock(name, std::rc::Rc::clone(&slots.alive)),
            )
        }
        Effect::QueryLocks(prefix) => {
            let query = locks().and_then(|(l, _)| {
                let q = get(&l, "query").dyn_into::<Function>().ok()?;
                q.call0(&l).ok()?.dyn_into::<Promise>().ok()
            });
            match query {
                Some(p) => Performed::Later(p, Pending::Names(prefix)),
                None => Performed::Now(Outcome::Names(Vec::new())),
            }
        }
        Effect::Mark(name, ms) => {
            let Some((locks, request)) = locks() else {
                return Performed::Now(Outcome::Done(Ok(())));
            };
            let (granted, resolve) = deferred();
            let hold = once(move |_lock| {
                let _ = resolve.call0(&JsValue::UNDEFINED);
                Promise::new(&mut |release, _| {
                    let _ = set_timeout(&release, ms as i32);
                })
                .into()
            });
            let options = Object::new();
            let _ = Reflect::set(&options, &"mode".into(), &"shared".into());
            let _ = request.call3(&locks, &JsValue::from_str(&name), &options, &hold);
            Performed::Later(granted, Pending::Done(Error::Network))
        }
        Effect::Sleep(ms) => {
            let p = Promise::new(&mut |res, _| {
                let _ = set_timeout(&res, ms as i32);
            });
            Performed::Later(p, Pending::Done(Error::Network))
        }
        Effect::Wait(signal) => {
            let p = super::host::edit(&host.signals, |signals| {
                match signals.iter().find(|(id, _, _)| *id == signal) {
                    Some((_, p, _)) => p.clone(),
                    None => {
                        let (p, wake) = deferred();
                        signals.push((signal, p.clone(), wake));
                        p
                    }
                }
            });
            Performed::Later(p, Pending::Done(Error::Network))
        }
        Effect::AppFetch(req) => later(app_fetch(req, slots), Pending::App),
    }
}

fn error_outcome(pending: &Pending, e: Error) -> Outcome {
    match pending {
        Pending::Http(_) => Outcome::Http(Err(e)),
        Pending::HttpPair(..) => Outcome::HttpPair(Err(e.clone()), Err(e)),
        Pending::Verify => Outcome::Verified(Err(e)),
        Pending::DpopKey => Outcome::DpopKey(Err(e)),
        Pending::Sign => Outcome::Signature(Err(e)),
        Pending::Lock(..) => Outcome::Locked { contended: false },
        Pending::Names(_) => Outcome::Names(Vec::new()),
        Pending::App => Outcome::App(Err(e)),
        Pending::Done(_) => Outcome::Done(Err(e)),
    }
}

fn settled_item(item: JsValue) -> Result<JsValue, JsValue> {
    if get(&item, "status").as_string().as_deref() == Some("fulfilled") {
        Ok(get(&item, "value"))
    } else {
        Err(get(&item, "reason"))
    }
}

/// The outcome of an effect whose promise settled with `r`.
pub fn settle(
    pending: Pending,
    r: Result<JsValue, JsValue>,
    host: &WebHost,
    slots: &mut Slots,
) -> Outcome {
    match pending {
        Pending::Http(signal) => Outcome::Http(http_outcome(r, &signal)),
        Pending::HttpPair(sa, sb) => {
            let items = r.ok().and_then(|v| v.dyn_into::<Array>().ok());
            let (a, b) = match items {
                Some(items) => (settled_item(items.get(0)), settled_item(items.get(1))),
                None => (Err(JsValue::NULL), Err(JsValue::NULL)),
            };
            Outcome::HttpPair(http_outcome(a, &sa), http_outcome(b, &sb))
        }
        Pending::Verify => Outcome::Verified(crypto::verified(r)),
        Pending::DpopKey => {
            Outcome::DpopKey(r.map_err(|_| Error::DpopKeyUnavailable).and_then(|pair| {
                let key = get(&pair, "key")
                    .dyn_into::<web_sys::CryptoKey>()
                    .map_err(|_| Error::DpopKeyUnavailable)?;
                let jwk = get(&pair, "jwk");
                let coord = |n: &str| get(&jwk, n).as_string().ok_or(Error::DpopKeyUnavailable);
                let public = PublicJwk {
                    x: coord("x")?,
                    y: coord("y")?,
                };
                host.dpop_key.replace(Some(key));
                Ok(public)
            }))
        }
        Pending::Sign => Outcome::Signature(
            r.map(|sig| Uint8Array::new(&sig).to_vec())
                .map_err(|_| Error::DpopKeyUnavailable),
        ),
        Pending::Lock(name, owner) => {
            if let Ok(release) = r.and_then(|f| f.dyn_into::<Function>()) {
                super::host::edit(&host.held, |h| h.push((name, release, owner)));
            }
            Outcome::Locked { contended: false }
        }
        Pending::Names(prefix) => {
            let held = r.map(|v| get(&v, "held")).unwrap_or(JsValue::UNDEFINED);
            let names = held
                .dyn_into::<Array>()
                .map(|a| {
                    a.iter()
                        .filter_map(|l| get(&l, "name").as_string())
                        .filter(|n| n.starts_with(prefix.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            Outcome::Names(names)
        }
        Pending::App => Outcome::App(match r.map(|v| v.dyn_into::<Response>()) {
            Ok(Ok(resp)) => {
                let header = |name: &str| resp.headers().get(name).ok().flatten();
                let out = AppResponse {
                    status: resp.status(),
                    www_authenticate: header("www-authenticate"),
                    dpop_nonce: header("dpop-nonce"),
                };
                slots.response = Some(resp);
                Ok(out)
            }
            _ => Err(Error::Network),
        }),
        Pending::Done(e) => Outcome::Done(r.map(|_| ()).map_err(|_| e)),
    }
}
