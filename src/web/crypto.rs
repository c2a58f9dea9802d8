//! Signature verification through SubtleCrypto, with the parameters the core chose.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::core::id_token::{Alg, Jwk};
use crate::core::Error;

/// The global `crypto.subtle` (windows and workers); absent (an insecure
/// context) is `crypto_unavailable`.
pub(crate) fn subtle() -> Result<SubtleCrypto, Error> {
    let crypto =
        Reflect::get(&js_sys::global(), &"crypto".into()).map_err(|_| Error::CryptoUnavailable)?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).map_err(|_| Error::CryptoUnavailable)?;
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

/// Verifies `signature` over `data` with the public `key` for `alg`.
/// A key WebCrypto refuses to import is `jwks_invalid`; a bad signature is `Ok(false)`.
pub async fn verify(key: &Jwk, alg: Alg, data: &[u8], signature: &[u8]) -> Result<bool, Error> {
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
    let jwk = object(&members);
    let usages = Array::of1(&JsValue::from_str("verify"));
    let imported = subtle
        .import_key_with_object("jwk", &jwk, &import_alg, false, &usages)
        .map_err(|_| Error::JwksInvalid)?;
    let crypto_key: CryptoKey = JsFuture::from(imported)
        .await
        .map_err(|_| Error::JwksInvalid)?
        .unchecked_into();
    let verified = subtle
        .verify_with_object_and_u8_array_and_u8_array(&verify_alg, &crypto_key, signature, data)
        .map_err(|_| Error::IdTokenSignatureInvalid)?;
    let ok = JsFuture::from(verified)
        .await
        .map_err(|_| Error::IdTokenSignatureInvalid)?;
    Ok(ok.as_bool() == Some(true))
}
