//! Randomness, clock, and the address bar.

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
pub async fn join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    use std::task::Poll;
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
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

use std::future::Future;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::core::encoding::b64url;

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
    // First ask only if it is free: the callback gets `null` when it is not.
    let work = std::rc::Rc::new(std::cell::RefCell::new(Some(work)));
    let first = std::rc::Rc::clone(&work);
    let got_it = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = std::rc::Rc::clone(&got_it);
    let try_now = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        if lock.is_null() {
            return JsValue::UNDEFINED;
        }
        flag.set(true);
        let w = first.borrow_mut().take();
        future_to_promise(async move {
            if let Some(w) = w {
                w(false).await;
            }
            Ok(JsValue::UNDEFINED)
        })
        .into()
    });
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    if let Ok(p) = request.call3(&locks, &name.into(), &options, &try_now) {
        if let Ok(p) = p.dyn_into::<Promise>() {
            let _ = JsFuture::from(p).await;
        }
    }
    if got_it.get() {
        return;
    }
    let wait = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let w = work.borrow_mut().take();
        future_to_promise(async move {
            if let Some(w) = w {
                w(true).await;
            }
            Ok(JsValue::UNDEFINED)
        })
        .into()
    });
    if let Ok(p) = request.call2(&locks, &name.into(), &wait) {
        if let Ok(p) = p.dyn_into::<Promise>() {
            let _ = JsFuture::from(p).await;
        }
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
