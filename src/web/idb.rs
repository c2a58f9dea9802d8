//! A tiny IndexedDB key-value store (database `pkce-wasm`, store `keys`):
//! CryptoKey objects are structured-cloneable, so a non-extractable key can
//! survive a reload without ever being exported.

use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

use crate::core::Error;

const DB: &str = "pkce-wasm";
const STORE: &str = "keys";

/// Resolves with the request's result, rejects on its error.
fn done(req: &IdbRequest) -> Promise {
    Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let fail = Closure::once_into_js(move || {
            let _ = reject.call0(&JsValue::NULL);
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(fail.unchecked_ref()));
    })
}

async fn open() -> Result<IdbDatabase, Error> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or(Error::DpopKeyUnavailable)?;
    let req = factory
        .open_with_u32(DB, 1)
        .map_err(|_| Error::DpopKeyUnavailable)?;
    let upgrading = req.clone();
    let upgrade = Closure::once_into_js(move || {
        if let Ok(db) = upgrading.result().and_then(|d| d.dyn_into::<IdbDatabase>()) {
            if !db.object_store_names().contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
    });
    req.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    JsFuture::from(done(&req))
        .await
        .map_err(|_| Error::DpopKeyUnavailable)?
        .dyn_into()
        .map_err(|_| Error::DpopKeyUnavailable)
}

async fn run(
    mode: IdbTransactionMode,
    op: impl FnOnce(&web_sys::IdbObjectStore) -> Result<IdbRequest, JsValue>,
) -> Result<JsValue, Error> {
    let db = open().await?;
    let tx = db
        .transaction_with_str_and_mode(STORE, mode)
        .map_err(|_| Error::DpopKeyUnavailable)?;
    let store = tx
        .object_store(STORE)
        .map_err(|_| Error::DpopKeyUnavailable)?;
    let req = op(&store).map_err(|_| Error::DpopKeyUnavailable)?;
    let result = JsFuture::from(done(&req))
        .await
        .map_err(|_| Error::DpopKeyUnavailable);
    db.close();
    result
}

/// The value under `key` (`undefined` when absent).
pub async fn get(key: &str) -> Result<JsValue, Error> {
    run(IdbTransactionMode::Readonly, |s| s.get(&key.into())).await
}

/// Stores `value` under `key`.
pub async fn put(key: &str, value: &JsValue) -> Result<(), Error> {
    run(IdbTransactionMode::Readwrite, |s| {
        s.put_with_key(value, &key.into())
    })
    .await
    .map(|_| ())
}

/// Deletes `key`.
pub async fn delete(key: &str) -> Result<(), Error> {
    run(IdbTransactionMode::Readwrite, |s| s.delete(&key.into()))
        .await
        .map(|_| ())
}
