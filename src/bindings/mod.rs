//! The `#[wasm_bindgen]` surface: the step API the JS await loop drives.
//! Every method that does I/O returns an [`Op`]; `js/index.js` calls
//! `op.next(value, ok)` until it returns `undefined`, awaiting each promise
//! it hands back, then `op.result()`. No protocol decisions here: options
//! cross as JSON text (validated by the core), results as JS values.

use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Reflect, JSON};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::config::config_from_json;
use crate::core::flow::{ClientState, Create, Host, Logout, Outcome, Step, Wake};
use crate::core::session::Tokens;
use crate::core::Error;
mod client;

use crate::web::{perform, run, settle, Pending, Performed, Run, Shared, Slots, WebHost};
pub use client::WasmClient;

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A core error as a JS `Error` with `name`, `code`, `message` and the
/// provider's fields. The wrapper gives it the `PkceWasmError` prototype.
fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.message());
    err.set_name("PkceWasmError");
    set(&err, "code", &JsValue::from_str(e.code()));
    if let Some(p) = e.provider() {
        set(&err, "error", &JsValue::from_str(&p.error));
        for (k, v) in [
            ("errorDescription", &p.error_description),
            ("errorUri", &p.error_uri),
        ] {
            if let Some(v) = v {
                set(&err, k, &JsValue::from_str(v));
            }
        }
    }
    if let Some(s) = e.status() {
        set(&err, "status", &JsValue::from(s));
    }
    if let Error::ResourceNotGranted(r) = &e {
        set(&err, "resource", &JsValue::from_str(r));
    }
    if let Some(up) = e.step_up() {
        if let Some(a) = &up.acr_values {
            set(&err, "acrValues", &JsValue::from_str(a));
        }
        if let Some(m) = up.max_age {
            set(&err, "maxAge", &JsValue::from(m as f64));
        }
    }
    err.into()
}

/// `JSON.stringify(value)` (`undefined` → `null`); what cannot be serialised
/// (a cycle, a BigInt) becomes text the core refuses as `invalid_config`.
fn json(value: &JsValue) -> String {
    if value.is_undefined() {
        return String::from("null");
    }
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

fn parse(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

fn flag(options: &JsValue, key: &str) -> bool {
    options.is_object() && crate::web::get(options, key).as_bool() == Some(true)
}

/// The tokens as the JS API shows them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokensJs<'a> {
    access_token: &'a str,
    token_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    scope: &'a str,
}

fn tokens_to_js(t: &Tokens) -> JsValue {
    let js = TokensJs {
        access_token: t.access_token.secret(),
        token_type: &t.token_type,
        expires_at: t.expires_at_ms.map(|e| e as f64),
        refresh_token: t.refresh_token.as_ref().map(|r| r.secret()),
        id_token: t.id_token.as_ref().map(|r| r.secret()),
        scope: &t.scope,
    };
    serde_wasm_bindgen::to_value(&js).unwrap_or(JsValue::UNDEFINED)
}

type Resume = Box<dyn FnMut(&mut ClientState, &dyn Host, Outcome) -> Step<JsValue>>;

enum Inner {
    Create(Box<Create>, Option<WebHost>, Function),
    Run(Rc<Shared>, Resume),
    Failed,
}

/// One operation in flight, driven by the JS await loop.
#[wasm_bindgen]
pub struct Op {
    inner: Inner,
    slots: Slots,
    pending: Option<Pending>,
    result: Option<Result<JsValue, JsValue>>,
    /// A `fetch`: the result is the app's response.
    fetching: bool,
}

impl Op {
    fn new(inner: Inner) -> Op {
        Op {
            inner,
            slots: Slots::new(),
            pending: None,
            result: None,
            fetching: false,
        }
    }

    fn failed(e: Error) -> Op {
        let mut op = Op::new(Inner::Failed);
        op.result = Some(Err(to_js(e)));
        op
    }

    fn running<T: 'static>(
        shared: &Rc<Shared>,
        mut resume: impl FnMut(&mut ClientState, &dyn Host, Outcome) -> Step<T> + 'static,
        out: impl Fn(T) -> JsValue + 'static,
    ) -> Op {
        let erased: Resume = Box::new(move |st, h, o| match resume(st, h, o) {
            Step::Effect(e) => Step::Effect(e),
            Step::Done(r) => Step::Done(r.map(&out)),
        });
        Op::new(Inner::Run(Rc::clone(shared), erased))
    }
}

#[wasm_bindgen]
impl Op {
    /// Resumes with the settled value of the promise the last call returned
    /// (`ok` false when it rejected); returns the next promise to await, or
    /// `undefined` when the operation is over (then call `result`).
    pub fn next(&mut self, value: JsValue, ok: bool) -> JsValue {
        let settled = if ok { Ok(value) } else { Err(value) };
        let input = match (self.pending.take(), &self.inner) {
            (Some(p), Inner::Create(_, Some(h), _)) => settle(p, settled, h, &mut self.slots),
            (Some(p), Inner::Run(shared, _)) => settle(p, settled, &shared.host, &mut self.slots),
            _ => Outcome::Start,
        };
        let step: Run<JsValue> = match &mut self.inner {
            Inner::Failed | Inner::Create(_, None, _) => return JsValue::UNDEFINED,
            Inner::Run(shared, resume) => run(shared, &mut self.slots, input, resume.as_mut()),
            Inner::Create(create, host, spawn) => {
                let made = match host.as_ref() {
                    Some(h) => drive_create(create, h, &mut self.slots, input),
                    None => Run::Done(Err(Error::NotAuthenticated)),
                };
                match (made, host.take()) {
                    (Run::Done(Ok(state)), Some(h)) => {
                        Run::Done(Ok(client(state, h, spawn.clone())))
                    }
                    (Run::Done(r), _) => Run::Done(r.map(|_| JsValue::UNDEFINED)),
                    (Run::Wait(p, pending), h) => {
                        *host = h;
                        Run::Wait(p, pending)
                    }
                }
            }
        };
        match step {
            Run::Done(r) => {
                let r = match (r, self.fetching) {
                    (Ok(_), true) => self
                        .slots
                        .response
                        .take()
                        .map(JsValue::from)
                        .ok_or(Error::Network),
                    (r, _) => r,
                };
                self.result = Some(r.map_err(to_js));
                JsValue::UNDEFINED
            }
            Run::Wait(p, pending) => {
                self.pending = Some(pending);
                p.into()
            }
        }
    }

    /// The operation's result (throws its `PkceWasmError`).
    pub fn result(&mut self) -> Result<JsValue, JsValue> {
        self.result.take().unwrap_or_else(|| {
            Err(to_js(Error::InvalidConfig(
                "pkce-wasm internal error: the operation has not finished",
            )))
        })
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        if let Inner::Run(shared, _) = &self.inner {
            self.slots.release(&shared.host);
        }
    }
}

/// Runs the creation until it waits on a promise.
fn drive_create(
    create: &mut Create,
    host: &WebHost,
    slots: &mut Slots,
    mut input: Outcome,
) -> Run<ClientState> {
    loop {
        match create.resume(host, input) {
            Step::Done(r) => return Run::Done(r),
            Step::Effect(e) => match perform(e, host, slots) {
                Performed::Now(o) => input = o,
                Performed::Later(p, pending) => return Run::Wait(p, pending),
            },
        }
    }
}

fn client(state: ClientState, host: WebHost, spawn: Function) -> JsValue {
    let shared = Rc::new_cyclic(|me: &Weak<Shared>| {
        // Another tab's logout ends this tab's own session: a local logout for the JS loop.
        let (tab_me, tab_spawn) = (me.clone(), spawn.clone());
        host.tab.set(Some(Rc::new(move |message: String| {
            if let Some(shared) = tab_me.upgrade() {
                if shared.tab_message(&message) {
                    let op = client::logout_op(&shared, Logout::start(None, true));
                    let _ = tab_spawn.call1(&JsValue::UNDEFINED, &JsValue::from(op));
                }
            }
        })));
        let me = me.clone();
        // Background refreshes (timer, visibility, online): a Wake operation for the JS loop.
        host.spawn.replace(Some(Rc::new(move || {
            if let Some(shared) = me.upgrade() {
                let mut op = Wake::start();
                let op = Op::running(
                    &shared,
                    move |st, h, o| op.resume(st, h, o),
                    |()| JsValue::UNDEFINED,
                );
                let _ = spawn.call1(&JsValue::UNDEFINED, &JsValue::from(op));
            }
        })));
        Shared {
            state: std::cell::RefCell::new(state),
            host,
        }
    });
    WasmClient { shared }.into()
}

/// Makes a client from `options` (see the README): an [`Op`] whose result is
/// the client. `spawn(op)` runs background operations (auto refresh).
#[wasm_bindgen(js_name = createClient)]
pub fn create_client(options: JsValue, spawn: Function) -> Op {
    match crate::web::in_page().and_then(|()| config_from_json(&json(&options))) {
        Ok(config) => Op::new(Inner::Create(
            Box::new(Create::start(config)),
            Some(WebHost::default()),
            spawn,
        )),
        Err(e) => Op::failed(e),
    }
}
