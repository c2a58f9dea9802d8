//! Randomness, clock, and the address bar.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::core::encoding::b64url;
use crate::core::{Entropy, Error};

/// 96 bytes from crypto.getRandomValues (getrandom's `js` backend).
pub fn entropy() -> Result<Entropy, Error> {
    let mut e = Entropy {
        verifier: [0; 32],
        state: [0; 32],
        nonce: [0; 32],
    };
    for buf in [&mut e.verifier, &mut e.state, &mut e.nonce] {
        getrandom::getrandom(buf).map_err(|_| Error::CryptoUnavailable)?;
    }
    Ok(e)
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The current `location.href`, if there is a window.
pub fn current_url() -> Option<String> {
    web_sys::window()?.location().href().ok()
}

/// Navigates to `url` (a new history entry, like a link click).
pub fn navigate(url: &str) -> Result<(), Error> {
    web_sys::window()
        .ok_or(Error::InvalidConfig("no window to redirect"))?
        .location()
        .assign(url)
        .map_err(|_| {
            Error::InvalidConfig("the browser refused to navigate to the authorization endpoint")
        })
}

/// Runs two futures concurrently on this thread and waits for both (the
/// callback's token request and the JWKS fetch, say). No executor, no
/// allocation: one `poll_fn` polls whichever is not done yet.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

/// Replaces the address bar's URL without a reload or a new history entry.
pub fn replace_url(url: &str) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        // A failure here leaves parameters in the address bar, which a reload
        // then rejects as a replay: harmless, so it is not an error.
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(url));
    }
}

/// A fresh 256-bit random value, base64url.
pub fn random_token() -> Result<String, Error> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|_| Error::CryptoUnavailable)?;
    Ok(b64url(&b))
}

fn locks() -> Option<(JsValue, Function)> {
    let nav = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&nav, &"locks".into())
        .ok()
        .filter(|l| l.is_object())?;
    let request = Reflect::get(&locks, &"request".into())
        .ok()?
        .dyn_into()
        .ok()?;
    Some((locks, request))
}

/// True when the Web Locks API (`navigator.locks`) is there.
pub fn web_locks_available() -> bool {
    locks().is_some()
}

/// Runs `work(contended)` holding the exclusive Web Lock `name` (shared by
/// every tab of the origin). `contended` is true when another holder had to
/// be waited for. Without Web Locks it just runs `work(false)`.
pub async fn with_lock<W, F>(name: &str, work: W)
where
    W: FnOnce(bool) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let Some((locks, request)) = locks() else {
        return work(false).await;
    };
    // The lock callback: runs the work once (whichever request grants the
    // lock) and holds the lock until the work's promise settles.
    let work = Rc::new(RefCell::new(Some(work)));
    let granted = Rc::new(Cell::new(false));
    let callback = |contended: bool| {
        let (work, granted) = (Rc::clone(&work), Rc::clone(&granted));
        Closure::once_into_js(move |lock: JsValue| -> JsValue {
            // With `ifAvailable`, a busy lock calls back with `null`.
            let w = if lock.is_null() {
                None
            } else {
                granted.set(true);
                work.borrow_mut().take()
            };
            future_to_promise(async move {
                if let Some(w) = w {
                    w(contended).await;
                }
                Ok(JsValue::UNDEFINED)
            })
            .into()
        })
    };
    // First ask only if it is free; then wait for it.
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    settle(request.call3(&locks, &name.into(), &options, &callback(false))).await;
    if !granted.get() {
        settle(request.call2(&locks, &name.into(), &callback(true))).await;
    }
}

/// Waits for a promise a call returned (a throw or a non-promise: nothing to wait for).
async fn settle(call: Result<JsValue, JsValue>) {
    if let Ok(p) = call.and_then(|p| p.dyn_into::<Promise>()) {
        let _ = JsFuture::from(p).await;
    }
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        let _ = set_timeout(ms, move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
    });
    let _ = JsFuture::from(p).await;
}

/// `document.hidden` (false without a document).
pub fn document_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// `setTimeout(f, ms)`; returns the timer id.
pub fn set_timeout(ms: i32, f: impl FnOnce() + 'static) -> Option<i32> {
    let cb = Closure::once_into_js(f);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms)
        .ok()
}

/// `clearTimeout(id)`.
pub fn clear_timeout(id: i32) {
    if let Some(w) = web_sys::window() {
        w.clear_timeout_with_handle(id);
    }
}

/// Listens for `visibilitychange` (on the document) and `online` (on the
/// window) for the life of the page.
pub fn on_wake(f: impl Fn() + 'static) {
    let Some(w) = web_sys::window() else { return };
    let cb = Closure::<dyn Fn()>::new(f).into_js_value();
    let _ = w.add_event_listener_with_callback("online", cb.unchecked_ref());
    if let Some(d) = w.document() {
        let _ = d.add_event_listener_with_callback("visibilitychange", cb.unchecked_ref());
    }
}

/// `url` resolved against the page, when it is an `http:` or `https:` URL
/// (never `javascript:`, `data:` and the like): the absolute form.
pub fn http_url(url: &str) -> Option<String> {
    let u = web_sys::Url::new_with_base(url, &current_url()?).ok()?;
    matches!(u.protocol().as_str(), "https:" | "http:").then(|| u.href())
}

/// The page's origin, e.g. `https://app.example.com`.
pub fn page_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

/// The origin of `url` resolved against the page (`None` if it is not a URL).
pub fn origin_of(url: &str) -> Option<String> {
    let base = current_url()?;
    let u = web_sys::Url::new_with_base(url, &base).ok()?;
    Some(u.origin())
}
