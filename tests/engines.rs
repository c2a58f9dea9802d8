//! Which engine runs this tier, and that it has what the web layer would
//! quietly do without. `scripts/test.sh` runs every browser test in headless
//! Chromium and in Firefox: a missing Web Locks API, `BroadcastChannel` or
//! IndexedDB is not an error in the SDK (it takes its fallback), so without
//! these checks a browser lacking one would pass the other files on the
//! fallback path. Each check is the same in both engines (Chromium 156 and
//! Firefox ESR 153 agree on all of it); a difference would be asserted here
//! per engine, with a comment.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use pkce_wasm::core::flow::{Effect, Host, Outcome};
use pkce_wasm::web::{perform, settle, Performed, Slots, WebHost};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function user_agent() { return navigator.userAgent; }
export function apis() {
  return [
    ['secure context', isSecureContext],
    ['navigator.locks.request', typeof navigator.locks?.request === 'function'],
    ['navigator.locks.query', typeof navigator.locks?.query === 'function'],
    ['BroadcastChannel', typeof BroadcastChannel === 'function'],
    ['indexedDB', typeof indexedDB === 'object' && indexedDB !== null],
    ['crypto.subtle', typeof crypto.subtle === 'object'],
    ['Response body stream', typeof new Response('x').body?.getReader === 'function'],
  ].filter(([, ok]) => !ok).map(([name]) => name).join(', ');
}
const wait = (p, ms) => Promise.race([p, new Promise((r) => setTimeout(() => r('nothing'), ms))]);
// Another tab's signals, as far as one page can show them: a second
// BroadcastChannel object of the same name, and a same-origin iframe's window.
export async function tab_signals() {
  const out = [];
  const a = new BroadcastChannel('pkce-wasm.engines'), b = new BroadcastChannel('pkce-wasm.engines');
  let own = 0;
  a.onmessage = () => own++;
  const got = new Promise((r) => (b.onmessage = (e) => r(e.data)));
  a.postMessage('s');
  out.push(`message: ${await wait(got, 2000)}`);
  const f = document.createElement('iframe');
  document.body.appendChild(f);
  const other = f.contentWindow;
  let here = 0;
  const count = () => here++;
  addEventListener('storage', count);
  const ev = new Promise((r) => other.addEventListener('storage', (e) => r(`${e.key}=${e.newValue}, read there: ${other.localStorage.getItem(e.key)}`)));
  localStorage.setItem('pkce-wasm.engines', 'v1');
  out.push(`storage event: ${await wait(ev, 2000)}`);
  await new Promise((r) => setTimeout(r, 100));
  out.push(`to the sender: ${own} message(s), ${here} storage event(s)`);
  removeEventListener('storage', count);
  localStorage.removeItem('pkce-wasm.engines');
  f.remove();
  a.close();
  b.close();
  return out.join('\n');
}
"#)]
extern "C" {
    fn user_agent() -> String;
    fn apis() -> String;
    fn tab_signals() -> js_sys::Promise;
}

/// The engine, from `navigator.userAgent`: Firefox says `Firefox/` (and
/// `Gecko/`), Chromium says `Chrome/` (`HeadlessChrome/` when headless).
#[derive(Debug, PartialEq)]
enum Engine {
    Chromium,
    Firefox,
    Other,
}

fn engine() -> Engine {
    let ua = user_agent();
    if ua.contains("Firefox/") {
        Engine::Firefox
    } else if ua.contains("Chrome/") {
        Engine::Chromium
    } else {
        Engine::Other
    }
}

/// One effect performed by the web layer, awaited.
async fn effect(host: &WebHost, e: Effect) -> Outcome {
    let mut slots = Slots::new();
    match perform(e, host, &mut slots) {
        Performed::Now(o) => o,
        Performed::Later(p, pending) => settle(pending, JsFuture::from(p).await, host, &mut slots),
    }
}

async fn sleep(host: &WebHost, ms: u32) {
    effect(host, Effect::Sleep(ms)).await;
}

/// The two engines this tier runs in, and nothing else (a branch on the
/// engine elsewhere would take a wrong path in a third one).
#[wasm_bindgen_test]
fn the_engine_is_chromium_or_firefox() {
    assert!(
        matches!(engine(), Engine::Chromium | Engine::Firefox),
        "unknown engine: {}",
        user_agent()
    );
}

#[wasm_bindgen_test]
fn every_api_the_web_layer_can_do_without_is_here() {
    assert_eq!(apis(), "", "missing in {:?}: {}", engine(), user_agent());
    assert!(WebHost::default().locks_available());
}

/// Web Locks through the web layer: an exclusive lock makes a second tab
/// wait until it is released; a marker (a shared lock held for a while) is
/// listed by prefix while it is held.
#[wasm_bindgen_test]
async fn web_locks_through_the_web_layer() {
    let (a, b) = (WebHost::default(), WebHost::default());
    let name = "pkce-wasm.refresh.engines";
    assert!(matches!(
        effect(&a, Effect::Lock(name.into())).await,
        Outcome::Locked { .. }
    ));
    let granted = Rc::new(Cell::new(false));
    let b = Rc::new(b);
    {
        let (granted, b) = (Rc::clone(&granted), Rc::clone(&b));
        wasm_bindgen_futures::spawn_local(async move {
            let o = effect(&b, Effect::Lock(name.into())).await;
            assert!(matches!(o, Outcome::Locked { .. }));
            granted.set(true);
        });
    }
    sleep(&a, 200).await;
    assert!(
        !granted.get(),
        "the second tab waits while the first holds it"
    );
    a.unlock(name);
    for _ in 0..50 {
        if granted.get() {
            break;
        }
        sleep(&a, 20).await;
    }
    assert!(granted.get(), "granted once released");
    b.unlock(name);

    let marker = "pkce-wasm.written.engines.7.abc";
    assert!(matches!(
        effect(&a, Effect::Mark(marker.into(), 1000)).await,
        Outcome::Done(Ok(()))
    ));
    match effect(&a, Effect::QueryLocks("pkce-wasm.written.engines.".into())).await {
        Outcome::Names(names) => assert_eq!(names, [marker]),
        other => panic!("{other:?}"),
    }
    sleep(&a, 1200).await;
    match effect(&a, Effect::QueryLocks("pkce-wasm.written.engines.".into())).await {
        Outcome::Names(names) => assert!(names.is_empty(), "released after its time: {names:?}"),
        other => panic!("{other:?}"),
    }
}

/// The signals other tabs get: a `BroadcastChannel` message reaches another
/// object of that name and not its sender; a `localStorage` write fires
/// `storage` in another same-origin document (here an iframe), which then
/// reads the new value, and not in the writer. (Between tabs, Chromium
/// delivers the write later than the message; that is tested end to end.)
#[wasm_bindgen_test]
async fn another_documents_signals() {
    let report = JsFuture::from(tab_signals())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(
        report,
        "message: s\n\
         storage event: pkce-wasm.engines=v1, read there: v1\n\
         to the sender: 0 message(s), 0 storage event(s)",
        "{:?}",
        engine()
    );
}
