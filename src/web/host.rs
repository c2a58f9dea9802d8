//! The synchronous effects, performed in place with web-sys: the clock,
//! `crypto.getRandomValues`, web storage (and this page's memory), the
//! address bar, events for the app's listeners, held Web Locks, signals
//! between operations of one client, and the background-refresh timer.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::flow::{Area, Event, Host};
use crate::core::Error;

thread_local! {
    /// [`Area::Page`]: this page's memory, shared by its clients.
    static PAGE: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// An event handler.
pub type Listener = Rc<dyn Fn(&Event)>;

/// Starts a background refresh of the client (the driver's choice: the JS
/// await loop, or `spawn_local` for Rust apps).
pub type Spawn = Rc<dyn Fn()>;

/// An operation's liveness flag: false once it is over.
pub type Alive = Rc<Cell<bool>>;

/// One client's browser: everything the core asks for synchronously.
#[derive(Default)]
pub struct WebHost {
    events: RefCell<Vec<Event>>,
    listeners: RefCell<Vec<(u32, &'static str, Listener)>>,
    next_listener: Cell<u32>,
    /// Web Locks held: the name, the function that releases it, and the liveness flag of the operation that holds it.
    pub(crate) held: RefCell<Vec<(String, Function, Alive)>>,
    /// Operations waiting on a signal: its id, and the function that wakes them.
    pub(crate) signals: RefCell<Vec<(u32, Promise, Function)>>,
    timer: Cell<Option<i32>>,
    /// How this client starts a background refresh.
    pub(crate) spawn: RefCell<Option<Spawn>>,
    watching: Cell<bool>,
    /// The DPoP private key (non-extractable), once loaded.
    pub(crate) dpop_key: RefCell<Option<web_sys::CryptoKey>>,
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn storage(area: Area) -> Result<web_sys::Storage, Error> {
    let w = window().ok_or(Error::StorageUnavailable)?;
    let s = match area {
        Area::Session => w.session_storage(),
        _ => w.local_storage(),
    };
    s.ok().flatten().ok_or(Error::StorageUnavailable)
}

fn page<T>(f: impl FnOnce(&mut Vec<(String, String)>) -> T) -> T {
    PAGE.with(|p| f(&mut p.borrow_mut()))
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
        self.listeners.borrow_mut().push((id, name, handler));
        Ok(id)
    }

    /// Removes a handler.
    pub fn off(&self, id: u32) {
        self.listeners.borrow_mut().retain(|(i, _, _)| *i != id);
    }

    /// Delivers the events queued during a step (after it, so a handler may call the client).
    pub fn flush(&self) {
        loop {
            let Some(event) = ({
                let mut q = self.events.borrow_mut();
                (!q.is_empty()).then(|| q.remove(0))
            }) else {
                return;
            };
            let targets: Vec<Listener> = self
                .listeners
                .borrow()
                .iter()
                .filter(|(_, n, _)| *n == event.name())
                .map(|(_, _, l)| Rc::clone(l))
                .collect();
            for l in targets {
                l(&event);
            }
        }
    }

    /// Releases every lock the operation with this liveness flag still holds.
    pub(crate) fn release_owned_by(&self, owner: &Alive) {
        self.held.borrow_mut().retain(|(_, release, o)| {
            let mine = Rc::ptr_eq(o, owner);
            if mine {
                let _ = release.call0(&JsValue::UNDEFINED);
            }
            !mine
        });
    }

    fn background(&self) -> Option<Function> {
        let spawn = self.spawn.borrow().clone()?;
        Some(
            Closure::<dyn Fn()>::new(move || spawn())
                .into_js_value()
                .unchecked_into(),
        )
    }
}

impl Host for WebHost {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::getrandom(buf).map_err(|_| Error::CryptoUnavailable)
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
        self.events.borrow_mut().push(event);
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
        let mut held = self.held.borrow_mut();
        if let Some(i) = held.iter().position(|(n, _, _)| n == name) {
            let (_, release, _) = held.remove(i);
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }

    fn notify(&self, signal: u32) {
        let mut signals = self.signals.borrow_mut();
        signals.retain(|(id, _, wake)| {
            if *id == signal {
                let _ = wake.call0(&JsValue::UNDEFINED);
            }
            *id != signal
        });
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
