//! The DPoP key (RFC 9449): an ES256 key pair made by SubtleCrypto with
//! `extractable: false`, kept across reloads in IndexedDB (never in web
//! storage), used only to sign the proofs the core builds.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;

use crate::core::dpop::{finish_proof, proof_signing_input, ProofClaims, PublicJwk};
use crate::core::Error;

use super::crypto::subtle;
use super::idb;

/// A loaded DPoP key: the private half cannot leave WebCrypto.
pub struct DpopKey {
    private: CryptoKey,
    /// The public half, for the proof header and `dpop_jkt`.
    pub jwk: PublicJwk,
}

fn ecdsa(extra: (&str, &str)) -> Object {
    let o = Object::new();
    let _ = Reflect::set(&o, &"name".into(), &"ECDSA".into());
    let _ = Reflect::set(&o, &extra.0.into(), &extra.1.into());
    o
}

async fn settle(p: Result<js_sys::Promise, JsValue>) -> Result<JsValue, Error> {
    JsFuture::from(p.map_err(|_| Error::DpopKeyUnavailable)?)
        .await
        .map_err(|_| Error::DpopKeyUnavailable)
}

fn member(obj: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(obj, &name.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn id(client_id: &str) -> String {
    let mut k = String::from("dpop:");
    k.push_str(client_id);
    k
}

impl DpopKey {
    /// The stored key for `client_id`, or a new non-extractable one (stored).
    pub async fn load_or_create(client_id: &str) -> Result<DpopKey, Error> {
        let subtle = subtle()?;
        let stored = idb::get(&id(client_id)).await?;
        let (private, public) = match (member(&stored, "privateKey"), member(&stored, "publicKey"))
        {
            (Some(private), Some(public)) => (private, public),
            _ => {
                let usages = Array::of1(&"sign".into());
                let pair = settle(subtle.generate_key_with_object(
                    &ecdsa(("namedCurve", "P-256")),
                    false,
                    &usages,
                ))
                .await?;
                idb::put(&id(client_id), &pair).await?;
                (
                    member(&pair, "privateKey").ok_or(Error::DpopKeyUnavailable)?,
                    member(&pair, "publicKey").ok_or(Error::DpopKeyUnavailable)?,
                )
            }
        };
        // A public key is always exportable, whatever `extractable` says.
        let jwk = settle(subtle.export_key("jwk", public.unchecked_ref())).await?;
        let coord = |name| {
            member(&jwk, name)
                .and_then(|v| v.as_string())
                .ok_or(Error::DpopKeyUnavailable)
        };
        Ok(DpopKey {
            private: private.unchecked_into(),
            jwk: PublicJwk {
                x: coord("x")?,
                y: coord("y")?,
            },
        })
    }

    /// Forgets the key for `client_id` (logout): the next login makes a fresh one.
    pub async fn discard(client_id: &str) -> Result<(), Error> {
        idb::delete(&id(client_id)).await
    }

    /// A signed proof for one request.
    pub async fn proof(&self, claims: &ProofClaims<'_>) -> Result<String, Error> {
        let input = proof_signing_input(&self.jwk, claims);
        let sig = settle(subtle()?.sign_with_object_and_u8_array(
            &ecdsa(("hash", "SHA-256")),
            &self.private,
            input.as_bytes(),
        ))
        .await?;
        Ok(finish_proof(&input, &Uint8Array::new(&sig).to_vec()))
    }
}
