//! The login popup's effects: opening it in the caller's click, sending it to
//! the provider, waiting for its callback page's answer on a
//! `BroadcastChannel`, and, on that page, answering.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::JsValue;
use web_sys::{BroadcastChannel, Window};

use super::host::{get, set_timeout};
use super::promise::function;

/// `window.open` of an empty popup named `name` (a second login reuses the
/// window), in the caller's task (a click handler): `None` when the browser
/// blocks it.
pub fn open(name: &str) -> Option<Window> {
    web_sys::window()?
        .open_with_url_and_target_and_features("", name, "popup,width=500,height=650")
        .ok()
        .flatten()
}

/// Sends the popup to `url`; false when it is gone.
pub fn navigate(popup: Option<Window>, url: &str) -> bool {
    popup
        .filter(|p| !p.closed().unwrap_or(true))
        .is_some_and(|p| p.location().set_href(url).is_ok())
}

/// Adds a hidden iframe that loads `url` (a silent login), or `None` without a document.
pub fn frame(url: &str) -> Option<web_sys::Element> {
    let doc = web_sys::window()?.document()?;
    let f = doc.create_element("iframe").ok()?;
    for (k, v) in [
        ("title", "pkce-wasm silent login"),
        ("aria-hidden", "true"),
        ("tabindex", "-1"),
        // Hidden by attributes, not a style: a strict CSP (no inline styles) keeps it hidden.
        ("hidden", ""),
        ("width", "0"),
        ("height", "0"),
        ("src", url),
    ] {
        let _ = f.set_attribute(k, v);
    }
    let parent = doc
        .body()
        .map(web_sys::Element::from)
        .or_else(|| doc.document_element())?;
    parent.append_with_node_1(&f).ok()?;
    Some(f)
}

/// Resolves with the callback URL the popup's page sends for `state` on
/// `channel`; rejects with `"closed"` or `"timeout"` when `timeout_ms`
/// passed. Any provider page with a COOP header (the first, or a later one:
/// a "sign in with…" page) severs the popup from this page, and a severed
/// popup looks closed from here: being closed never ends the wait, it only
/// names its end `"closed"`. The popup is closed by the core's decision
/// (`Host::close_popup`), never here: a newer login may be using the window.
/// `cancel` receives the function that ends this wait at once
/// (`"replaced"`: a newer popup login took over). With `watch` false (a
/// silent login's iframe) there is no popup to watch: the end is `"timeout"`.
pub fn wait(
    watch: bool,
    popup: Option<Window>,
    cancel: &Cell<Option<js_sys::Function>>,
    channel: &str,
    state: &str,
    timeout_ms: u64,
) -> Promise {
    let channel = BroadcastChannel::new(channel).ok();
    let state = String::from(state);
    Promise::new(&mut |resolve, reject| {
        let seen_closed = Rc::new(Cell::new(false));
        let timers: Rc<Cell<Option<(i32, i32)>>> = Rc::default();
        let end = {
            let (channel, timers) = (channel.clone(), Rc::clone(&timers));
            Rc::new(move || {
                if let Some(c) = &channel {
                    c.set_onmessage(None);
                    c.close();
                }
                if let (Some((t, i)), Some(w)) = (timers.take(), web_sys::window()) {
                    w.clear_timeout_with_handle(t);
                    w.clear_interval_with_handle(i);
                }
            })
        };
        if let Some(c) = &channel {
            let (end, resolve, state) = (Rc::clone(&end), resolve.clone(), state.clone());
            c.set_onmessage(Some(&function(Box::new(move |e: JsValue| {
                let data = get(&e, "data");
                if get(&data, "s").as_string().as_deref() == Some(state.as_str()) {
                    if let Some(url) = get(&data, "u").as_string() {
                        end();
                        let _ = resolve.call1(&JsValue::UNDEFINED, &JsValue::from(url));
                    }
                }
                JsValue::UNDEFINED
            }))));
        }
        let poll = {
            let (seen, popup) = (Rc::clone(&seen_closed), popup.clone());
            function(Box::new(move |_| {
                if popup.as_ref().is_none_or(|p| p.closed().unwrap_or(true)) {
                    seen.set(true);
                }
                JsValue::UNDEFINED
            }))
        };
        let expire = {
            let (end, seen) = (Rc::clone(&end), Rc::clone(&seen_closed));
            let reject = reject.clone();
            function(Box::new(move |_| {
                end();
                let why = if seen.get() { "closed" } else { "timeout" };
                let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str(why));
                JsValue::UNDEFINED
            }))
        };
        {
            let (end, reject) = (Rc::clone(&end), reject.clone());
            cancel.set(Some(super::promise::once(move |_| {
                end();
                let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str("replaced"));
                JsValue::UNDEFINED
            })));
        }
        let w = web_sys::window();
        let t = set_timeout(&expire, timeout_ms.min(i32::MAX as u64) as i32);
        let i = w.filter(|_| watch).and_then(|w| {
            w.set_interval_with_callback_and_timeout_and_arguments_0(&poll, 500)
                .ok()
        });
        if let Some(t) = t {
            timers.set(Some((t, i.unwrap_or(0))));
        }
    })
}

/// On the popup's callback page: sends the response to the opener, closes this window.
pub fn relay(channel: &str, state: &str, url: &str) {
    if let Ok(c) = BroadcastChannel::new(channel) {
        let m = Object::new();
        let _ = Reflect::set(&m, &"s".into(), &JsValue::from_str(state));
        let _ = Reflect::set(&m, &"u".into(), &JsValue::from_str(url));
        let _ = c.post_message(&m);
        c.close();
    }
    if let Some(w) = web_sys::window() {
        let _ = w.close();
    }
}
