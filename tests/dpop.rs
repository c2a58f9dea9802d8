//! The DPoP key in a real browser: made non-extractable, kept in IndexedDB,
//! the same key after a "reload" (a fresh load from IndexedDB), a proof that
//! verifies with its public key, gone after discard (logout) and never
//! silently replaced for a session; two tabs making the same key at once
//! end up with one.
#![cfg(target_arch = "wasm32")]

use pkce_wasm::core::dpop::{ath, finish_proof, proof_signing_input, ProofClaims, PublicJwk};
use pkce_wasm::core::encoding::b64url_decode;
use pkce_wasm::core::flow::{Effect, Outcome};
use pkce_wasm::core::json::{self, Value};
use pkce_wasm::web::{perform, settle, Performed, Slots, WebHost};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
function stored(id) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('pkce-wasm', 1);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('keys').objectStore('keys').get(id);
      get.onsuccess = () => { open.result.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  });
}
// What an attacker with script access could try: read the stored key and export it.
export async function private_key_report(id) {
  const pair = await stored(id);
  if (!pair) return 'missing';
  let exported = 'exported';
  try { await crypto.subtle.exportKey('jwk', pair.privateKey); } catch (e) { exported = 'refused:' + e.name; }
  return `${pair.privateKey.extractable}|${pair.privateKey.algorithm.namedCurve}|${exported}`;
}
export async function verify_proof(proof) {
  const [h, p, s] = proof.split('.');
  const dec = (x) => Uint8Array.from(atob(x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const header = JSON.parse(new TextDecoder().decode(dec(h)));
  const key = await crypto.subtle.importKey('jwk', header.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, dec(s), new TextEncoder().encode(`${h}.${p}`));
}
"#)]
extern "C" {
    fn private_key_report(id: &str) -> js_sys::Promise;
    fn verify_proof(proof: &str) -> js_sys::Promise;
}

async fn report(id: &str) -> String {
    JsFuture::from(private_key_report(id))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

/// One effect performed by the web layer, awaited.
async fn effect(host: &WebHost, e: Effect) -> Outcome {
    let mut slots = Slots::new();
    match perform(e, host, &mut slots) {
        Performed::Now(o) => o,
        Performed::Later(p, pending) => settle(pending, JsFuture::from(p).await, host, &mut slots),
    }
}

async fn load(host: &WebHost, id: &str) -> PublicJwk {
    match effect(
        host,
        Effect::LoadDpopKey {
            id: id.into(),
            create: true,
        },
    )
    .await
    {
        Outcome::DpopKey(Ok(jwk)) => jwk,
        other => panic!("{other:?}"),
    }
}

async fn discard(host: &WebHost, id: &str) {
    assert!(matches!(
        effect(host, Effect::DiscardDpopKeys(vec![id.into()])).await,
        Outcome::Done(Ok(()))
    ));
}

async fn sign(host: &WebHost, id: &str, input: &str) -> Outcome {
    effect(
        host,
        Effect::Sign {
            key: id.into(),
            input: input.into(),
        },
    )
    .await
}

#[wasm_bindgen_test]
async fn the_key_is_non_extractable_persistent_and_signs_valid_proofs() {
    let id = "dpop:test-client";
    let host = WebHost::default();
    discard(&host, id).await;
    let first = load(&host, id).await;
    assert_eq!(
        report(id).await,
        "false|P-256|refused:InvalidAccessError",
        "exportKey of the private key fails"
    );

    // A reload (a new page: a new host) loads the same key from IndexedDB.
    let host = WebHost::default();
    let again = load(&host, id).await;
    assert_eq!(again, first);
    assert_eq!(again.thumbprint(), first.thumbprint());

    let claims = ProofClaims {
        htm: "GET",
        url: "https://api.example.com/r?q=1#f",
        iat: 1_700_000_000,
        jti: "jti-1",
        nonce: Some("n-1"),
        access_token: Some("AT"),
    };
    let input = proof_signing_input(&again, &claims);
    let sig = match sign(&host, id, &input).await {
        Outcome::Signature(Ok(sig)) => sig,
        other => panic!("{other:?}"),
    };
    assert_eq!(sig.len(), 64, "ES256: r || s");
    let proof = finish_proof(&input, &sig);
    assert_eq!(
        JsFuture::from(verify_proof(&proof)).await.unwrap(),
        JsValue::TRUE,
        "signed by the stored key"
    );
    let payload = proof.split('.').nth(1).unwrap();
    let v = json::parse(&String::from_utf8(b64url_decode(payload).unwrap()).unwrap()).unwrap();
    assert_eq!(
        v.get("htu").and_then(Value::as_str),
        Some("https://api.example.com/r")
    );
    assert_eq!(
        v.get("ath").and_then(Value::as_str),
        Some(ath("AT").as_str())
    );
    let header = proof.split('.').next().unwrap();
    let h = json::parse(&String::from_utf8(b64url_decode(header).unwrap()).unwrap()).unwrap();
    assert!(
        h.get("jwk").and_then(|j| j.get("d")).is_none(),
        "no private member in the proof"
    );

    // Logout discards it: the next key is a new one.
    discard(&host, id).await;
    assert_eq!(report(id).await, "missing");
    let fresh = load(&host, id).await;
    assert_ne!(fresh, first);
    // Without a loaded key there is nothing to sign with.
    discard(&host, id).await;
    assert!(matches!(
        sign(&host, id, "x").await,
        Outcome::Signature(Err(_))
    ));
    // A session's key that is gone is an error, never a new key in its place.
    let missing = effect(
        &host,
        Effect::LoadDpopKey {
            id: id.into(),
            create: false,
        },
    )
    .await;
    assert!(matches!(missing, Outcome::DpopKey(Err(ref e)) if e.code() == "dpop_key_unavailable"));
    assert_eq!(report(id).await, "missing");
}

/// Two tabs (two hosts) making the key for one id at the same moment: one
/// key is stored, and both use it; keys are listed by prefix.
#[wasm_bindgen_test]
async fn two_tabs_making_the_same_key_at_once_end_up_with_one() {
    let id = "dpop:race:1.a";
    let (a, b) = (WebHost::default(), WebHost::default());
    discard(&a, id).await;
    let (ka, kb) = futures_join(load(&a, id), load(&b, id)).await;
    assert_eq!(ka, kb, "both tabs hold the stored key");
    // Both sign with it, and a fresh load (a reload) finds that same key.
    assert_eq!(load(&WebHost::default(), id).await, ka);
    for h in [&a, &b] {
        assert!(matches!(sign(h, id, "x").await, Outcome::Signature(Ok(_))));
    }
    load(&a, "dpop:race:2.b").await;
    let ids = match effect(&a, Effect::DpopKeyIds).await {
        Outcome::Names(n) => n,
        other => panic!("{other:?}"),
    };
    let ours: Vec<&String> = ids.iter().filter(|i| i.starts_with("dpop:race:")).collect();
    assert_eq!(
        ours,
        ["dpop:race:1.a", "dpop:race:2.b"],
        "listed in key order"
    );
    discard(&a, "dpop:race:2.b").await;
    discard(&a, id).await;
}

/// Both futures, polled together (no executor crate needed in a test).
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        use std::task::Poll;
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}
