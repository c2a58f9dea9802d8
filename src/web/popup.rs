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

/// `window.open` of an empty popup, in the caller's task (a click handler):
/// `None` when the browser blocks it.
pub fn open() -> Option<Window> {
    web_sys::window()?
        .open_with_url_and_target_and_features("", "pkce-wasm-login", "popup,width=500,height=650")
        .ok()
        .flatten()
}

/// Sends the popup to `url`; false when it is gone.
pub fn navigate(popup: Option<Window>, url: &str) -> bool {
    popup
        .filter(|p| !p.closed().unwrap_or(true))
        .is_some_and(|p| p.location().set_href(url).is_ok())
}

/// Resolves with the callback URL the popup's page sends for `state` on
/// `channel`; rejects with `"closed"` or `"timeout"`. A popup the
/// provider's COOP header severs from this page looks closed from here as
/// soon as the provider's first page arrives, so a popup seen closed ends
/// the wait at once only after it was seen open for [`OPEN_POLLS`] polls
/// (5 s) — it was then at the provider without COOP, and the user closed
/// it; otherwise being closed only names the timeout `"closed"`.
pub const OPEN_POLLS: u32 = 10;

/// See [`OPEN_POLLS`].
pub fn wait(popup: Option<Window>, channel: &str, state: &str, timeout_ms: u64) -> Promise {
    let channel = BroadcastChannel::new(channel).ok();
    let state = String::from(state);
    Promise::new(&mut |resolve, reject| {
        let seen_closed = Rc::new(Cell::new(false));
        let timers: Rc<Cell<Option<(i32, i32)>>> = Rc::default();
        let end = {
            let (channel, timers, popup) = (channel.clone(), Rc::clone(&timers), popup.clone());
            Rc::new(move |close_popup: bool| {
                if let Some(c) = &channel {
                    c.set_onmessage(None);
                    c.close();
                }
                if let (Some((t, i)), Some(w)) = (timers.take(), web_sys::window()) {
                    w.clear_timeout_with_handle(t);
                    w.clear_interval_with_handle(i);
                }
                if let (true, Some(p)) = (close_popup, &popup) {
                    let _ = p.close();
                }
            })
        };
        if let Some(c) = &channel {
            let (end, resolve, state) = (Rc::clone(&end), resolve.clone(), state.clone());
            c.set_onmessage(Some(&function(Box::new(move |e: JsValue| {
                let data = get(&e, "data");
                if get(&data, "s").as_string().as_deref() == Some(state.as_str()) {
                    if let Some(url) = get(&data, "u").as_string() {
                        end(false);
                        let _ = resolve.call1(&JsValue::UNDEFINED, &JsValue::from(url));
                    }
                }
                JsValue::UNDEFINED
            }))));
        }
        let poll = {
            let (seen, popup) = (Rc::clone(&seen_closed), popup.clone());
            let (end, reject) = (Rc::clone(&end), reject.clone());
            let open_polls = Cell::new(0u32);
            let told = Cell::new(false);
            function(Box::new(move |_| {
                if popup.as_ref().is_none_or(|p| p.closed().unwrap_or(true)) {
                    seen.set(true);
                    // A popup that answered and closed itself: its message may
                    // still be on its way, so the end waits a second for it.
                    if open_polls.get() >= OPEN_POLLS && !told.replace(true) {
                        let (end, reject) = (Rc::clone(&end), reject.clone());
                        let give_up = super::promise::once(move |_| {
                            end(false);
                            let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str("closed"));
                            JsValue::UNDEFINED
                        });
                        let _ = set_timeout(&give_up, 1000);
                    }
                } else {
                    open_polls.set(open_polls.get().saturating_add(1));
                }
                JsValue::UNDEFINED
            }))
        };
        let expire = {
            let (end, seen) = (Rc::clone(&end), Rc::clone(&seen_closed));
            let reject = reject.clone();
            function(Box::new(move |_| {
                end(true);
                let why = if seen.get() { "closed" } else { "timeout" };
                let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str(why));
                JsValue::UNDEFINED
            }))
        };
        let w = web_sys::window();
        let t = set_timeout(&expire, timeout_ms.min(i32::MAX as u64) as i32);
        let i = w.and_then(|w| {
            w.set_interval_with_callback_and_timeout_and_arguments_0(&poll, 500)
                .ok()
        });
        if let (Some(t), Some(i)) = (t, i) {
            timers.set(Some((t, i)));
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
