//! Promise plumbing without Rust futures: `then` with plain functions, and
//! JS functions made from Rust closures (one closure type for all of them).

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

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
