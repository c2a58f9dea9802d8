//! Performs one asynchronous effect with web-sys and hands back the
//! `Promise` of its answer; [`settle`] turns the settled value into the
//! core's [`Outcome`]. No Rust futures: a driver awaits the promise (the JS
//! loop, or `JsFuture` in the Rust API) and resumes the operation.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, Request, Response};

use super::host::{get, set_timeout, WebHost};
use super::http::{app_fetch, http_outcome, send};
use super::promise::once;
use super::{crypto, idb};
use crate::core::dpop::PublicJwk;
use crate::core::flow::{AppResponse, Effect, Outcome};
use crate::core::Error;

/// What an effect in flight will settle into.
pub enum Pending {
    /// [`Effect::Http`], with the abort signal that tells a timeout from a network failure.
    Http(AbortSignal),
    /// [`Effect::HttpPair`].
    HttpPair(AbortSignal, AbortSignal),
    /// [`Effect::Verify`].
    Verify,
    /// [`Effect::LoadDpopKey`] of this id.
    DpopKey(String),
    /// [`Effect::DpopKeyIds`].
    KeyIds,
    /// [`Effect::Sign`].
    Sign,
    /// [`Effect::Lock`] of this name, for the operation whose liveness flag this is.
    Lock(String, std::rc::Rc<std::cell::Cell<bool>>),
    /// [`Effect::QueryLocks`] with this prefix.
    Names(String),
    /// [`Effect::AppFetch`].
    App,
    /// [`Effect::PopupWait`].
    Popup,
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

/// A promise and its resolve function.
pub(crate) fn deferred() -> (Promise, Function) {
    let mut resolve = None;
    let p = Promise::new(&mut |res, _| resolve = Some(res));
    // The executor runs synchronously, so `resolve` is always set.
    let resolve = resolve.unwrap_or_else(|| JsValue::UNDEFINED.unchecked_into());
    (p, resolve)
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
        Effect::LoadDpopKey { id, create } => {
            later(crypto::dpop_key(&id, create), Pending::DpopKey(id))
        }
        Effect::DpopKeyIds => later(idb::keys(), Pending::KeyIds),
        Effect::DiscardDpopKeys(ids) => {
            super::host::edit(&host.dpop_keys, |keys| {
                keys.retain(|(id, _)| !ids.contains(id));
            });
            later(idb::delete(ids), Pending::Done(Error::DpopKeyUnavailable))
        }
        Effect::Sign { key, input } => {
            let k = super::host::edit(&host.dpop_keys, |keys| {
                keys.iter()
                    .find(|(id, _)| *id == key)
                    .map(|(_, k)| k.clone())
            });
            later(
                k.ok_or(Error::DpopKeyUnavailable)
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
            // Woken at the latest after a while: an operation whose driver
            // was dropped (a Rust future) never signals, and every waiter
            // looks again when woken without a result.
            let later = Promise::new(&mut |res, _| {
                let _ = set_timeout(&res, WAIT_WAKE_MS);
            });
            let both = Promise::race(&Array::of2(&p, &later));
            Performed::Later(both, Pending::Done(Error::Network))
        }
        Effect::AppFetch(req) => later(app_fetch(req, slots), Pending::App),
        Effect::PopupOpen(url) => Performed::Now(Outcome::Done(
            if super::popup::navigate(super::host::copy(&host.popup), &url) {
                Ok(())
            } else {
                Err(Error::PopupClosed)
            },
        )),
        Effect::FrameOpen(url, id) => {
            Performed::Now(Outcome::Done(match super::popup::frame(&url) {
                Some(f) => {
                    if let Some((_, old)) = host.frame.replace(Some((id, f))) {
                        old.remove();
                    }
                    Ok(())
                }
                None => Err(Error::InvalidConfig(
                    "checkSession needs a page with a document for its iframe",
                )),
            }))
        }
        Effect::PopupWait {
            channel,
            state,
            timeout_ms,
            watch,
        } => {
            // A silent wait is never cancelled by a popup login.
            let spare = std::cell::Cell::new(None);
            let cancel = if watch { &host.popup_cancel } else { &spare };
            let popup = super::host::copy(&host.popup);
            let p = super::popup::wait(watch, popup, cancel, &channel, &state, timeout_ms);
            Performed::Later(p, Pending::Popup)
        }
        Effect::PopupLaunch(name) => {
            // A popup login still waiting ends (popup_replaced): this one takes its window.
            if let Some(cancel) = host.popup_cancel.take() {
                let _ = cancel.call0(&JsValue::UNDEFINED);
            }
            let opened = super::popup::open(&name);
            let r = if opened.is_some() {
                Ok(())
            } else {
                Err(Error::PopupBlocked)
            };
            host.popup.set(opened);
            Performed::Now(Outcome::Done(r))
        }
        Effect::PopupRelay {
            channel,
            state,
            url,
        } => {
            super::popup::relay(&channel, &state, &url);
            Performed::Now(Outcome::Done(Ok(())))
        }
    }
}

/// How long an [`Effect::Wait`] waits before its operation looks again.
const WAIT_WAKE_MS: i32 = 5_000;

fn error_outcome(pending: &Pending, e: Error) -> Outcome {
    match pending {
        Pending::Http(_) => Outcome::Http(Err(e)),
        Pending::HttpPair(..) => Outcome::HttpPair(Err(e.clone()), Err(e)),
        Pending::Verify => Outcome::Verified(Err(e)),
        Pending::DpopKey(_) => Outcome::DpopKey(Err(e)),
        Pending::KeyIds => Outcome::Names(Vec::new()),
        Pending::Sign => Outcome::Signature(Err(e)),
        Pending::Lock(..) => Outcome::Locked { contended: false },
        Pending::Names(_) => Outcome::Names(Vec::new()),
        Pending::App => Outcome::App(Err(e)),
        Pending::Popup => Outcome::Popup(Err(e)),
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
        Pending::KeyIds => Outcome::Names(
            r.ok()
                .and_then(|v| v.dyn_into::<Array>().ok())
                .map(|keys| keys.iter().filter_map(|k| k.as_string()).collect())
                .unwrap_or_default(),
        ),
        Pending::DpopKey(id) => {
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
                super::host::edit(&host.dpop_keys, |keys| {
                    keys.retain(|(k, _)| *k != id);
                    keys.push((id, key));
                });
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
        Pending::Popup => Outcome::Popup(match r {
            Ok(url) => url.as_string().ok_or(Error::Timeout),
            Err(why) if why.as_string().as_deref() == Some("closed") => Err(Error::PopupClosed),
            Err(why) if why.as_string().as_deref() == Some("replaced") => Err(Error::PopupReplaced),
            Err(_) => Err(Error::Timeout),
        }),
        Pending::App => Outcome::App(match r.map(|v| v.dyn_into::<Response>()) {
            Ok(Ok(resp)) => {
                let header = |name: &str| resp.headers().get(name).ok().flatten();
                let out = AppResponse {
                    status: resp.status(),
                    www_authenticate: header("www-authenticate"),
                    dpop_nonce: header("dpop-nonce"),
                    redirected: resp.type_() == web_sys::ResponseType::Opaqueredirect,
                };
                slots.response = Some(resp);
                Ok(out)
            }
            _ => Err(Error::Network),
        }),
        Pending::Done(e) => Outcome::Done(r.map(|_| ()).map_err(|_| e)),
    }
}
