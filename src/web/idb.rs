//! A tiny IndexedDB key-value store (database `pkce-wasm`, store `keys`):
//! CryptoKey objects are structured-cloneable, so a non-extractable key can
//! survive a reload without ever being exported.

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbObjectStore, IdbRequest, IdbTransactionMode};

use super::promise::{once, then_fn};
use crate::core::Error;

const DB: &str = "pkce-wasm";
const STORE: &str = "keys";

/// Resolves with the request's result, rejects on its error.
fn done(req: &IdbRequest) -> Promise {
    Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let ok = once(move |_| {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
            JsValue::UNDEFINED
        });
        let fail = once(move |_| {
            let _ = reject.call0(&JsValue::NULL);
            JsValue::UNDEFINED
        });
        req.set_onsuccess(Some(&ok));
        req.set_onerror(Some(&fail));
    })
}

fn open() -> Result<Promise, Error> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or(Error::DpopKeyUnavailable)?;
    let req = factory
        .open_with_u32(DB, 1)
        .map_err(|_| Error::DpopKeyUnavailable)?;
    let upgrading = req.clone();
    let upgrade = once(move |_| {
        if let Ok(db) = upgrading.result().and_then(|d| d.dyn_into::<IdbDatabase>()) {
            if !db.object_store_names().contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
        JsValue::UNDEFINED
    });
    req.set_onupgradeneeded(Some(&upgrade));
    Ok(done(&req))
}

fn run(
    mode: IdbTransactionMode,
    op: impl FnOnce(&IdbObjectStore) -> Result<IdbRequest, JsValue> + 'static,
) -> Result<Promise, Error> {
    let step = once(move |db: JsValue| {
        let db: IdbDatabase = db.unchecked_into();
        let req = db
            .transaction_with_str_and_mode(STORE, mode)
            .and_then(|tx| tx.object_store(STORE))
            .and_then(|store| op(&store));
        match req {
            Ok(req) => then_fn(
                &done(&req),
                &once(move |v| {
                    db.close();
                    v
                }),
            )
            .into(),
            Err(_) => {
                db.close();
                Promise::reject(&JsValue::NULL).into()
            }
        }
    });
    Ok(then_fn(&open()?, &step))
}

/// The value under `key` (`undefined` when absent).
pub fn get(key: &str) -> Result<Promise, Error> {
    let key = JsValue::from_str(key);
    run(IdbTransactionMode::Readonly, move |s| s.get(&key))
}

/// Stores `value` under `key` unless something is stored there already
/// (then the promise rejects).
pub fn add(key: &str, value: &JsValue) -> Result<Promise, Error> {
    let (key, value) = (JsValue::from_str(key), value.clone());
    run(IdbTransactionMode::Readwrite, move |s| {
        s.add_with_key(&value, &key)
    })
}

/// Every key stored.
pub fn keys() -> Result<Promise, Error> {
    run(IdbTransactionMode::Readonly, |s| s.get_all_keys())
}

/// Deletes `keys`, in one transaction.
pub fn delete(keys: Vec<String>) -> Result<Promise, Error> {
    run(IdbTransactionMode::Readwrite, move |s| {
        let mut last = None;
        for k in &keys {
            last = Some(s.delete(&JsValue::from_str(k))?);
        }
        match last {
            Some(r) => Ok(r),
            None => s.count(),
        }
    })
}
