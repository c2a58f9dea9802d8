//! WebCrypto, with the parameters the core chose: ID token signature
//! verification, and the DPoP key (ES256, `extractable: false`, kept in
//! IndexedDB, never in web storage) and its signatures.

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, SubtleCrypto};

use super::host::get;
use super::idb;
use super::promise::{once, then_fn, then_fn2};
use crate::core::id_token::{Alg, Jwk};
use crate::core::Error;

/// The global `crypto.subtle` (windows and workers); absent (an insecure
/// context) is `crypto_unavailable`.
pub fn subtle() -> Result<SubtleCrypto, Error> {
    let subtle = get(&get(&js_sys::global(), "crypto"), "subtle");
    if subtle.is_object() {
        Ok(subtle.unchecked_into())
    } else {
        Err(Error::CryptoUnavailable)
    }
}

fn object(pairs: &[(&str, Option<JsValue>)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            let _ = Reflect::set(&o, &(*k).into(), v);
        }
    }
    o
}

/// A key WebCrypto refused to import: the JWKS is unusable.
const IMPORT_FAILED: &str = "jwks_invalid";

/// Verifies `signature` over `data` with the public `key` for `alg`: the
/// promise of a boolean (see [`verified`]).
pub fn verify(key: &Jwk, alg: Alg, data: &[u8], signature: &[u8]) -> Result<Promise, Error> {
    let subtle = subtle()?;
    let p = alg.verify_params();
    let name = Some(JsValue::from_str(p.name));
    let hash = p.hash.map(JsValue::from_str);
    let (import_alg, verify_alg) = if p.name == "ECDSA" {
        (
            object(&[
                ("name", name.clone()),
                ("namedCurve", p.named_curve.map(JsValue::from_str)),
            ]),
            object(&[("name", name), ("hash", hash)]),
        )
    } else {
        (
            object(&[("name", name.clone()), ("hash", hash)]),
            object(&[
                ("name", name),
                ("saltLength", p.salt_length.map(JsValue::from)),
            ]),
        )
    };
    let members: Vec<(&str, Option<JsValue>)> = key
        .public_members()
        .into_iter()
        .map(|(k, v)| (k, Some(JsValue::from_str(v))))
        .collect();
    let usages = Array::of1(&JsValue::from_str("verify"));
    let imported = subtle
        .import_key_with_object("jwk", &object(&members), &import_alg, false, &usages)
        .map_err(|_| Error::JwksInvalid)?;
    let (data, signature) = (data.to_vec(), signature.to_vec());
    let s = subtle.clone();
    let check = once(move |key: JsValue| {
        let key: CryptoKey = key.unchecked_into();
        match s.verify_with_object_and_u8_array_and_u8_array(&verify_alg, &key, &signature, &data) {
            Ok(p) => p.into(),
            Err(_) => JsValue::FALSE,
        }
    });
    let refused = once(|_| JsValue::from_str(IMPORT_FAILED));
    Ok(then_fn2(&imported, &check, &refused))
}

/// The result of [`verify`]'s promise.
pub fn verified(r: Result<JsValue, JsValue>) -> Result<bool, Error> {
    match r {
        Ok(v) if v.as_string().as_deref() == Some(IMPORT_FAILED) => Err(Error::JwksInvalid),
        Ok(v) => Ok(v.as_bool() == Some(true)),
        Err(_) => Err(Error::IdTokenSignatureInvalid),
    }
}

fn ecdsa(extra: (&str, &str)) -> Object {
    object(&[
        ("name", Some("ECDSA".into())),
        (extra.0, Some(extra.1.into())),
    ])
}

/// The DPoP key stored under `id` — or, with `create` and none stored, a new
/// non-extractable P-256 pair stored there (if another tab stored one under
/// the same id first, that one: both end up with the same key) — as the
/// promise of `{ key, jwk }`, the private key and the public JWK.
pub fn dpop_key(id: &str, create: bool) -> Result<Promise, Error> {
    let subtle = subtle()?;
    let (s1, s2) = (subtle.clone(), subtle);
    let stored = idb::get(id)?;
    let id = String::from(id);
    let pair = once(move |stored: JsValue| {
        if get(&stored, "privateKey").is_object() && get(&stored, "publicKey").is_object() {
            return stored;
        }
        let usages = Array::of1(&"sign".into());
        let made = match create {
            true => s1.generate_key_with_object(&ecdsa(("namedCurve", "P-256")), false, &usages),
            // A session's key that is gone: never replaced by another one.
            false => Err(JsValue::NULL),
        };
        let Ok(made) = made else {
            return Promise::reject(&JsValue::NULL).into();
        };
        // Stored before use; a key that cannot be kept is not used. When
        // another tab added one first, its key is read back and used.
        let keep = once(move |pair: JsValue| {
            let read_back = |id: &str| idb::get(id).map_or(Promise::reject(&JsValue::NULL), |p| p);
            match idb::add(&id, &pair) {
                Ok(added) => then_fn2(
                    &added,
                    &once(move |_| pair),
                    &once(move |_| read_back(&id).into()),
                )
                .into(),
                Err(_) => Promise::reject(&JsValue::NULL).into(),
            }
        });
        then_fn(&made, &keep).into()
    });
    let export = once(move |pair: JsValue| {
        let public: CryptoKey = get(&pair, "publicKey").unchecked_into();
        // A public key is always exportable, whatever `extractable` says.
        let Ok(jwk) = s2.export_key("jwk", &public) else {
            return Promise::reject(&JsValue::NULL).into();
        };
        let private = get(&pair, "privateKey");
        then_fn(
            &jwk,
            &once(move |jwk| object(&[("key", Some(private)), ("jwk", Some(jwk))]).into()),
        )
        .into()
    });
    Ok(then_fn(&then_fn(&stored, &pair), &export))
}

/// An ES256 signature of `data` with the DPoP key: the promise of an `ArrayBuffer`.
pub fn sign(key: &CryptoKey, data: &[u8]) -> Result<Promise, Error> {
    subtle()?
        .sign_with_object_and_u8_array(&ecdsa(("hash", "SHA-256")), key, data)
        .map_err(|_| Error::DpopKeyUnavailable)
}
