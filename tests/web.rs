//! Browser tests of the web layer (`wasm-pack test --headless --chrome`, and `--firefox`):
//! sessionStorage records, expiry, address-bar cleanup, fetch error mapping.
//! fetch is stubbed inside the page; storage and history are the real ones.
#![cfg(target_arch = "wasm32")]

use pkce_wasm::core::encoding::{parse_pairs, push_u64};
use pkce_wasm::core::transaction::{
    decode_record, encode_record, namespace, transaction_key, TX_PREFIX,
};
use pkce_wasm::core::url::split;
use pkce_wasm::core::{Error, ResponseMode};
use pkce_wasm::web::{Client, Config, LoginOptions};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The storage namespace of the test client (issuer and client id).
fn ns() -> String {
    namespace("https://idp.example.com", "spa")
}

#[wasm_bindgen(inline_js = r#"
const realFetch = globalThis.fetch;
const calls = [];
export function stub_fetch(status, contentType, body) {
  calls.length = 0;
  globalThis.fetch = async (url, init) => {
    calls.push({ url: String(url), init });
    return new Response(body, { status, headers: contentType ? { 'Content-Type': contentType } : {} });
  };
}
export function stub_fetch_reject() {
  calls.length = 0;
  globalThis.fetch = async (url, init) => { calls.push({ url: String(url), init }); throw new TypeError('Failed to fetch'); };
}
export function restore_fetch() { globalThis.fetch = realFetch; }
export function fetch_calls() { return calls.length; }
export function last_fetch(field) {
  const c = calls[calls.length - 1];
  if (!c) return '';
  if (field === 'body') return String(c.init.body);
  if (field === 'url') return c.url;
  if (field === 'method') return c.init.method;
  if (field === 'credentials') return c.init.credentials;
  if (field === 'redirect') return c.init.redirect;
  return c.init.headers.get(field) ?? '';
}
const desc = Object.getOwnPropertyDescriptor(window, 'sessionStorage');
export function break_session_storage() {
  Object.defineProperty(window, 'sessionStorage', { configurable: true, get() { throw new DOMException('denied', 'SecurityError'); } });
}
const realSetItem = Storage.prototype.setItem;
export function quota_exceeded() {
  Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };
}
export function restore_session_storage() {
  Object.defineProperty(window, 'sessionStorage', desc);
  Storage.prototype.setItem = realSetItem;
}
export function push_url(url) { history.pushState(null, '', url); }
export function href() { return location.href; }
export function session_get(k) { return sessionStorage.getItem(k); }
export function session_set(k, v) { sessionStorage.setItem(k, v); }
export function session_clear() { sessionStorage.clear(); }
export function session_keys() { return Object.keys(sessionStorage).join('\n'); }
"#)]
extern "C" {
    fn stub_fetch(status: u16, content_type: &str, body: &str);
    fn stub_fetch_reject();
    fn restore_fetch();
    fn fetch_calls() -> u32;
    fn last_fetch(field: &str) -> String;
    fn break_session_storage();
    fn quota_exceeded();
    fn restore_session_storage();
    fn push_url(url: &str);
    fn href() -> String;
    fn session_get(k: &str) -> Option<String>;
    fn session_set(k: &str, v: &str);
    fn session_clear();
    fn session_keys() -> String;
}

const TOKENS: &str = r#"{"access_token":"AT-secret","token_type":"Bearer","expires_in":300,"refresh_token":"RT-secret","scope":"profile api"}"#;

fn origin() -> String {
    let h = href();
    let rest = h.split("://").nth(1).unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    let scheme = h.split("://").next().unwrap_or("http");
    format!("{scheme}://{host}")
}

/// An explicit-endpoint client without `openid` (the ID token path has its own tests).
async fn client(mode: ResponseMode) -> Client {
    let o = origin();
    let mut c = Config::explicit(
        "https://idp.example.com/authorize?tenant=t1".into(),
        "https://idp.example.com/token".into(),
        "spa".into(),
        format!("{o}/cb"),
    );
    c.scope = "profile api".into();
    c.issuer = Some("https://idp.example.com".into());
    c.response_mode = mode;
    Client::create(c).await.unwrap()
}

fn param(url: &str, name: &str) -> Option<String> {
    let (_, q, _) = split(url);
    parse_pairs(q?)?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

async fn start(c: &Client, app_state: Option<&str>) -> String {
    c.authorize_url(LoginOptions {
        app_state: app_state.map(String::from),
        ..Default::default()
    })
    .await
    .unwrap()
}

#[wasm_bindgen_test]
async fn login_stores_a_single_record_keyed_by_state() {
    session_clear();
    let c = client(ResponseMode::Query).await;
    let url = start(&c, Some(r#"{"returnTo":"/x"}"#)).await;
    let state = param(&url, "state").unwrap();
    let record = session_get(&transaction_key(&ns(), &state)).expect("record stored");
    let pending = decode_record(&record).unwrap();
    assert_eq!(pending.state.secret(), state);
    assert_eq!(
        pending.code_verifier.challenge(),
        param(&url, "code_challenge").unwrap()
    );
    assert_eq!(
        param(&url, "nonce").as_deref(),
        pending.nonce.as_ref().map(|n| n.secret())
    );
    assert_eq!(pending.app_state.as_deref(), Some(r#"{"returnTo":"/x"}"#));
    assert!(!url.contains(pending.code_verifier.secret()));
    assert_eq!(param(&url, "tenant").as_deref(), Some("t1"));
    // a second login gets fresh values and its own record
    let url2 = start(&c, None).await;
    assert_ne!(param(&url2, "state"), Some(state));
    assert_ne!(
        param(&url2, "code_challenge"),
        param(&url, "code_challenge")
    );
    assert_eq!(
        session_keys()
            .lines()
            .filter(|k| k.starts_with(TX_PREFIX))
            .count(),
        2
    );
}

#[wasm_bindgen_test]
async fn callback_exchanges_the_code_cleans_the_url_and_refuses_a_replay() {
    session_clear();
    let c = client(ResponseMode::Query).await;
    let url = start(&c, Some(r#"{"n":1}"#)).await;
    let state = param(&url, "state").unwrap();
    let pending = decode_record(&session_get(&transaction_key(&ns(), &state)).unwrap()).unwrap();
    let cb = format!(
        "{}/cb?keep=1&code=the-code&state={state}&iss=https%3A%2F%2Fidp.example.com&session_state=x#frag",
        origin()
    );
    push_url(&cb);
    stub_fetch(200, "application/json", TOKENS);
    let r = c.handle_redirect_callback(&href()).await.unwrap();
    restore_fetch();

    assert_eq!(r.tokens.access_token.secret(), "AT-secret");
    assert_eq!(
        r.tokens.refresh_token.as_ref().unwrap().secret(),
        "RT-secret"
    );
    assert_eq!(r.tokens.scope, "profile api");
    let exp = r.tokens.expires_at_ms.unwrap() as f64;
    let now = js_sys::Date::now();
    assert!(exp > now + 290_000.0 && exp <= now + 300_000.0);
    assert_eq!(r.app_state.as_deref(), Some(r#"{"n":1}"#));
    // the request, exactly
    assert_eq!(fetch_calls(), 1);
    assert_eq!(last_fetch("url"), "https://idp.example.com/token");
    assert_eq!(last_fetch("method"), "POST");
    assert_eq!(last_fetch("credentials"), "omit");
    assert_eq!(last_fetch("redirect"), "error");
    assert_eq!(last_fetch("accept"), "application/json");
    assert_eq!(
        last_fetch("content-type"),
        "application/x-www-form-urlencoded"
    );
    let body = parse_pairs(&last_fetch("body")).unwrap();
    let get = |k: &str| body.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("grant_type"), Some("authorization_code"));
    assert_eq!(get("code"), Some("the-code"));
    assert_eq!(get("code_verifier"), Some(pending.code_verifier.secret()));
    assert_eq!(get("client_id"), Some("spa"));
    assert_eq!(
        get("redirect_uri"),
        Some(format!("{}/cb", origin()).as_str())
    );
    assert_eq!(get("client_secret"), None);
    // address bar cleaned, the rest kept; record gone
    assert_eq!(href(), format!("{}/cb?keep=1#frag", origin()));
    assert!(session_get(&transaction_key(&ns(), &state)).is_none());
    // the same callback again: a typed error and no second request
    stub_fetch(200, "application/json", TOKENS);
    let e = c.handle_redirect_callback(&cb).await.unwrap_err();
    restore_fetch();
    assert_eq!(e, Error::CallbackReplayed);
    assert_eq!(fetch_calls(), 0);
}

#[wasm_bindgen_test]
async fn fragment_mode_round_trip() {
    session_clear();
    let c = client(ResponseMode::Fragment).await;
    let url = start(&c, None).await;
    assert_eq!(param(&url, "response_mode").as_deref(), Some("fragment"));
    let state = param(&url, "state").unwrap();
    let cb = format!("{}/cb?keep=1#code=c1&state={state}", origin());
    push_url(&cb);
    assert!(c.is_callback(&cb));
    stub_fetch(200, "application/json", TOKENS);
    assert!(c.handle_redirect_callback(&href()).await.is_ok());
    restore_fetch();
    assert_eq!(href(), format!("{}/cb?keep=1", origin()));
}

#[wasm_bindgen_test]
async fn expired_transaction_is_refused_without_a_request() {
    session_clear();
    let c = client(ResponseMode::Query).await;
    let url = start(&c, None).await;
    let state = param(&url, "state").unwrap();
    let key = transaction_key(&ns(), &state);
    let mut pending = decode_record(&session_get(&key).unwrap()).unwrap();
    pending.created_at_ms -= 11 * 60 * 1000;
    session_set(&key, &encode_record(&pending));
    stub_fetch(200, "application/json", TOKENS);
    let e = c
        .handle_redirect_callback(&format!("{}/cb?code=c&state={state}", origin()))
        .await
        .unwrap_err();
    restore_fetch();
    assert_eq!(e, Error::TransactionExpired);
    assert_eq!(fetch_calls(), 0);
    assert!(session_get(&key).is_none(), "expired record removed");
}

#[wasm_bindgen_test]
async fn stale_records_are_swept_on_the_next_login() {
    session_clear();
    let mut old = String::new();
    push_u64(&mut old, 1);
    session_set(
        &transaction_key(&ns(), "stale"),
        "v=1&state=stale&cv=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&ru=x&t=1",
    );
    session_set(&transaction_key(&ns(), "garbage"), "%%");
    session_set("app-owned", "kept");
    start(&client(ResponseMode::Query).await, None).await;
    let keys = session_keys();
    assert!(
        !keys.contains("stale") && !keys.contains("garbage"),
        "{keys}"
    );
    assert!(keys.contains("app-owned"));
}

#[wasm_bindgen_test]
async fn token_errors_map_to_typed_errors() {
    let cases: &[(u16, &str, &str, &str)] = &[
        (
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
            "invalid_grant",
        ),
        (500, "text/html", "<h1>boom</h1>", "token_http_error"),
        (200, "text/html", TOKENS, "token_response_not_json"),
        (200, "application/json", "{", "token_response_not_json"),
        (
            200,
            "application/json",
            r#"{"token_type":"Bearer"}"#,
            "missing_access_token",
        ),
        (
            200,
            "application/json",
            r#"{"access_token":"AT-secret"}"#,
            "missing_token_type",
        ),
    ];
    let c = client(ResponseMode::Query).await;
    for (status, ct, body, code) in cases {
        session_clear();
        let state = param(&start(&c, None).await, "state").unwrap();
        stub_fetch(*status, ct, body);
        let e = c
            .handle_redirect_callback(&format!("{}/cb?code=c&state={state}", origin()))
            .await
            .unwrap_err();
        restore_fetch();
        assert_eq!(e.code(), *code, "{status} {body}");
        assert!(!e.message().contains("AT-secret") && !e.message().contains("c&state"));
        if *code == "invalid_grant" {
            assert_eq!(e.status(), Some(400));
            assert_eq!(
                e.provider().unwrap().error_description.as_deref(),
                Some("grant request is invalid")
            );
        }
    }
    session_clear();
    let state = param(&start(&c, None).await, "state").unwrap();
    stub_fetch_reject();
    let e = c
        .handle_redirect_callback(&format!("{}/cb?code=c&state={state}", origin()))
        .await
        .unwrap_err();
    restore_fetch();
    assert_eq!(e, Error::Network);
}

#[wasm_bindgen_test]
async fn provider_error_and_mix_up_are_typed() {
    session_clear();
    let c = client(ResponseMode::Query).await;
    let state = param(&start(&c, None).await, "state").unwrap();
    stub_fetch(200, "application/json", TOKENS);
    let e = c
        .handle_redirect_callback(&format!(
            "{}/cb?error=access_denied&error_description=%3Cscript%3Ex%3C%2Fscript%3E&state={state}",
            origin()
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "access_denied");
    assert_eq!(
        e.provider().unwrap().error_description.as_deref(),
        Some("<script>x</script>")
    );
    let state = param(&start(&c, None).await, "state").unwrap();
    let e = c
        .handle_redirect_callback(&format!(
            "{}/cb?code=c&state={state}&iss=https%3A%2F%2Fevil.example",
            origin()
        ))
        .await
        .unwrap_err();
    restore_fetch();
    assert_eq!(e, Error::IssuerMismatch);
    assert_eq!(fetch_calls(), 0);
    // Both logins are used up: this tab has none in progress.
    let e = c
        .handle_redirect_callback(&format!("{}/cb?code=c&state=forged", origin()))
        .await
        .unwrap_err();
    assert_eq!(e, Error::NoPendingLogin);
    // With one in progress, a state that is not its own is a mismatch.
    start(&c, None).await;
    let e = c
        .handle_redirect_callback(&format!("{}/cb?code=c&state=forged", origin()))
        .await
        .unwrap_err();
    assert_eq!(e, Error::StateMismatch);
}

#[wasm_bindgen_test]
async fn broken_storage_fails_before_the_redirect() {
    let c = client(ResponseMode::Query).await;
    break_session_storage();
    let e = c.authorize_url(LoginOptions::default()).await.unwrap_err();
    restore_session_storage();
    assert_eq!(e, Error::StorageUnavailable);
    quota_exceeded();
    let e = c.authorize_url(LoginOptions::default()).await.unwrap_err();
    restore_session_storage();
    assert_eq!(e, Error::StorageUnavailable);
    // and the client still works afterwards
    assert!(c.authorize_url(LoginOptions::default()).await.is_ok());
}
