//! The synchronous effects, performed in place with web-sys: the clock,
//! `crypto.getRandomValues`, web storage (and this page's memory), the
//! address bar, events for the app's listeners, held Web Locks, signals
//! between operations of one client, and the background-refresh timer.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsValue;

use crate::core::flow::{Area, Event, Host};
use crate::core::Error;

thread_local! {
    /// [`Area::Page`]: this page's memory, shared by its clients.
    static PAGE: Cell<Vec<(String, String)>> = const { Cell::new(Vec::new()) };
}

/// An event handler.
pub type Listener = Rc<dyn Fn(&Event)>;

/// Starts a background refresh of the client (the driver's choice: the JS
/// await loop, or `spawn_local` for Rust apps).
pub type Spawn = Rc<dyn Fn()>;

/// Where a message from this client's other tabs goes (set by the driver
/// once the client exists; shared with the listeners made before that).
pub type TabHandler = Rc<Cell<Option<Rc<dyn Fn(String)>>>>;

/// An operation's liveness flag: false once it is over.
pub type Alive = Rc<Cell<bool>>;

/// One client's browser: everything the core asks for synchronously. Its
/// state is in `Cell`s, taken and put back: no borrow can fail (a panic
/// would kill the module), and nothing is held across a call into JS.
#[derive(Default)]
pub struct WebHost {
    events: Cell<Vec<Event>>,
    listeners: Cell<Vec<(u32, &'static str, Listener)>>,
    next_listener: Cell<u32>,
    /// Web Locks held: the name, the function that releases it, and the liveness flag of the operation that holds it.
    pub(crate) held: Cell<Vec<(String, Function, Alive)>>,
    /// Operations waiting on a signal: its id, and the function that wakes them.
    pub(crate) signals: Cell<Vec<(u32, Promise, Function)>>,
    timer: Cell<Option<i32>>,
    /// How this client starts a background refresh.
    pub(crate) spawn: Cell<Option<Spawn>>,
    watching: Cell<bool>,
    /// The DPoP private key (non-extractable), once loaded.
    pub(crate) dpop_keys: Cell<Vec<(String, web_sys::CryptoKey)>>,
    /// Messages from this client's other tabs go here.
    pub(crate) tab: TabHandler,
    /// The client's channel to its other tabs.
    channel: Cell<Option<web_sys::BroadcastChannel>>,
    /// The login popup this page opened.
    pub(crate) popup: Cell<Option<web_sys::Window>>,
    /// Ends the popup wait in progress at once (a newer popup login took over).
    pub(crate) popup_cancel: Cell<Option<Function>>,
    /// The silent login's hidden iframe, and that login's id.
    pub(crate) frame: Cell<Option<(u32, web_sys::Element)>>,
}

/// Runs `f` on the value in `cell` and puts it back.
pub(crate) fn edit<T: Default, R>(cell: &Cell<T>, f: impl FnOnce(&mut T) -> R) -> R {
    let mut v = cell.take();
    let r = f(&mut v);
    cell.set(v);
    r
}

/// A copy of the value in `cell`.
pub(crate) fn copy<T: Default + Clone>(cell: &Cell<T>) -> T {
    edit(cell, |v| v.clone())
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// A client needs a page: its storage, navigation and tabs. In a worker,
/// [`Error::NoWindow`] at once rather than a later storage failure.
pub(crate) fn in_page() -> Result<(), Error> {
    window().map(drop).ok_or(Error::NoWindow)
}

fn storage(area: Area) -> Result<web_sys::Storage, Error> {
    let w = window().ok_or(Error::StorageUnavailable)?;
    let s = match area {
        Area::Session => w.session_storage(),
        _ => w.local_storage(),
    };
    s.ok().flatten().ok_or(Error::StorageUnavailable)
}

fn page<T: Default>(f: impl FnOnce(&mut Vec<(String, String)>) -> T) -> T {
    PAGE.try_with(|p| edit(p, f)).unwrap_or_default()
}

/// `setTimeout(f, ms)`; the timer id.
pub(crate) fn set_timeout(f: &Function, ms: i32) -> Option<i32> {
    window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(f, ms)
        .ok()
}

impl WebHost {
    /// Registers `handler` for the event named `event`; returns an id for [`WebHost::off`].
    pub fn on(&self, event: &str, handler: Listener) -> Result<u32, Error> {
        let name = Event::known(event).ok_or(Error::InvalidConfig("unknown event name"))?;
        let id = self.next_listener.get().wrapping_add(1);
        self.next_listener.set(id);
        edit(&self.listeners, |l| l.push((id, name, handler)));
        Ok(id)
    }

    /// Removes a handler.
    pub fn off(&self, id: u32) {
        edit(&self.listeners, |l| l.retain(|(i, _, _)| *i != id));
    }

    /// Delivers the events queued during a step (after it, so a handler may call the client).
    pub fn flush(&self) {
        loop {
            let events = self.events.take();
            if events.is_empty() {
                return;
            }
            for event in events {
                let listeners = copy(&self.listeners);
                for (_, name, l) in listeners {
                    if name == event.name() {
                        l(&event);
                    }
                }
            }
        }
    }

    /// Releases every lock the operation with this liveness flag still holds.
    pub(crate) fn release_owned_by(&self, owner: &Alive) {
        let held = self.held.take();
        let (mine, rest): (Vec<_>, Vec<_>) =
            held.into_iter().partition(|(_, _, o)| Rc::ptr_eq(o, owner));
        self.held.set(rest);
        for (_, release, _) in mine {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }

    fn background(&self) -> Option<Function> {
        let spawn = copy(&self.spawn)?;
        Some(super::promise::function(Box::new(move |_| {
            spawn();
            JsValue::UNDEFINED
        })))
    }
}

impl Host for WebHost {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|_| Error::CryptoUnavailable)
    }

    fn get(&self, area: Area, key: &str) -> Result<Option<String>, Error> {
        if area == Area::Page {
            return Ok(page(|p| {
                p.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            }));
        }
        storage(area)?
            .get_item(key)
            .map_err(|_| Error::StorageUnavailable)
    }

    fn set(&self, area: Area, key: &str, value: &str) -> Result<(), Error> {
        if area == Area::Page {
            page(|p| {
                p.retain(|(k, _)| k != key);
                p.push((String::from(key), String::from(value)));
            });
            return Ok(());
        }
        storage(area)?
            .set_item(key, value)
            .map_err(|_| Error::StorageUnavailable)
    }

    fn remove(&self, area: Area, key: &str) -> Result<(), Error> {
        if area == Area::Page {
            page(|p| p.retain(|(k, _)| k != key));
            return Ok(());
        }
        storage(area)?
            .remove_item(key)
            .map_err(|_| Error::StorageUnavailable)
    }

    fn keys(&self, area: Area) -> Result<Vec<String>, Error> {
        if area == Area::Page {
            return Ok(page(|p| p.iter().map(|(k, _)| k.clone()).collect()));
        }
        let s = storage(area)?;
        let n = s.length().map_err(|_| Error::StorageUnavailable)?;
        let mut keys = Vec::new();
        for i in 0..n {
            if let Some(k) = s.key(i).map_err(|_| Error::StorageUnavailable)? {
                keys.push(k);
            }
        }
        Ok(keys)
    }

    fn emit(&self, event: Event) {
        edit(&self.events, |q| q.push(event));
    }

    fn current_url(&self) -> Option<String> {
        window()?.location().href().ok()
    }

    fn replace_url(&self, url: &str) {
        if let Some(h) = window().and_then(|w| w.history().ok()) {
            // A failure leaves parameters in the address bar, which a reload
            // then rejects as a replay: harmless, so it is not an error.
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(url));
        }
    }

    fn navigate(&self, url: &str) -> Result<(), Error> {
        window()
            .ok_or(Error::InvalidConfig("no window to redirect"))?
            .location()
            .assign(url)
            .map_err(|_| Error::InvalidConfig("the browser refused to navigate"))
    }

    fn locks_available(&self) -> bool {
        super::exec::locks().is_some()
    }

    fn unlock(&self, name: &str) {
        let held = self.held.take();
        let (mine, rest): (Vec<_>, Vec<_>) = held.into_iter().partition(|(n, _, _)| n == name);
        self.held.set(rest);
        for (_, release, _) in mine {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }

    fn notify(&self, signal: u32) {
        let signals = self.signals.take();
        let (woken, rest): (Vec<_>, Vec<_>) =
            signals.into_iter().partition(|(id, _, _)| *id == signal);
        self.signals.set(rest);
        for (_, _, wake) in woken {
            let _ = wake.call0(&JsValue::UNDEFINED);
        }
    }

    fn set_timer(&self, delay_ms: u64) {
        self.clear_timer();
        if let Some(f) = self.background() {
            self.timer
                .set(set_timeout(&f, delay_ms.min(i32::MAX as u64) as i32));
        }
    }

    fn clear_timer(&self) {
        if let (Some(id), Some(w)) = (self.timer.take(), window()) {
            w.clear_timeout_with_handle(id);
        }
    }

    fn page_hidden(&self) -> bool {
        window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden())
    }

    fn watch_tabs(&self, channel: &str) {
        let listener = |field: &'static str, prefix: &'static str| {
            let tab = Rc::clone(&self.tab);
            super::promise::function(Box::new(move |e: JsValue| {
                if let (Some(text), Some(handler)) = (get(&e, field).as_string(), copy(&*tab)) {
                    let mut message = String::from(prefix);
                    message.push_str(&text);
                    handler(message);
                }
                JsValue::UNDEFINED
            }))
        };
        if let Ok(c) = web_sys::BroadcastChannel::new(channel) {
            c.set_onmessage(Some(&listener("data", "")));
            self.channel.set(Some(c));
        }
        // The fallback, and the later signal: localStorage reaches other tabs
        // after a message can; the `storage` event fires when it has.
        if let Some(w) = window() {
            let _ = w.add_event_listener_with_callback(
                "storage",
                &listener("key", crate::core::flow::STORAGE),
            );
        }
    }

    fn close_popup(&self) {
        if let Some(p) = self.popup.take() {
            let _ = p.close();
        }
    }

    fn close_frame(&self, id: u32) {
        match self.frame.take() {
            Some((i, f)) if i == id => f.remove(),
            other => self.frame.set(other),
        }
    }

    fn broadcast(&self, _channel: &str, message: &str) {
        edit(&self.channel, |c| {
            if let Some(c) = c {
                let _ = c.post_message(&JsValue::from_str(message));
            }
        });
    }

    fn watch_wake(&self) {
        if self.watching.replace(true) {
            return;
        }
        let (Some(w), Some(f)) = (window(), self.background()) else {
            return;
        };
        let _ = w.add_event_listener_with_callback("online", &f);
        if let Some(d) = w.document() {
            let _ = d.add_event_listener_with_callback("visibilitychange", &f);
        }
    }
}

/// `obj[key]`, or `undefined`.
pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}
