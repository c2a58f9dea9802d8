//! The bad-input catalogue, in the browser: hostile callbacks, broken or
//! malicious token / discovery / JWKS / UserInfo responses, ID token attacks,
//! broken storage and networks. Every case asserts the exact error code, that
//! no secret (token, code, verifier, ID token) is in the message or the
//! console, and that the session the user already had is intact. The module
//! must keep working after all of it (a panic would kill it).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

use pkce_wasm::core::discovery::ProviderMetadata;
use pkce_wasm::core::encoding::{b64url, parse_pairs};
use pkce_wasm::core::flow::session_key;
use pkce_wasm::core::session::{decode_session, encode_session};
use pkce_wasm::core::transaction::{decode_record, namespace, transaction_key};
use pkce_wasm::core::url::split;
use pkce_wasm::core::Error;
use pkce_wasm::web::{CacheLocation, Client, Config, Endpoints, LoginOptions};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The storage namespace of the test client (issuer and client id).
fn ns() -> String {
    namespace("https://idp.example.com", "spa")
}

#[wasm_bindgen(inline_js = r#"
let routes = {};
const hits = {};
const realFetch = globalThis.fetch;
// Installed on first use: the test harness itself loads the wasm with fetch.
const stub = async (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!/^https:\/\/[a-z0-9.-]*example\./.test(url)) return realFetch(input, init);
  const list = routes[url];
  if (!list) throw new TypeError('Failed to fetch'); // refused / DNS / CORS look the same to a page
  const n = (hits[url] = (hits[url] ?? 0) + 1);
  const r = list[Math.min(n, list.length) - 1];
  if (r.reject) throw new TypeError('Failed to fetch');
  if (r.hang) return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
  if (r.redirect) {
    if (init.redirect === 'error') throw new TypeError('redirect was not allowed');
    return new Response(null, { status: 302, headers: { Location: 'https://evil.example/' } });
  }
  const headers = r.ct ? { 'Content-Type': r.ct } : {};
  if (r.len) headers['Content-Length'] = r.len;
  if (r.stream || r.chunk) {
    // A body produced as it is read (chunk by chunk, only on demand), counting what was pulled.
    const src = r.body !== undefined ? new TextEncoder().encode(r.body) : null;
    const total = src ? src.length : r.stream;
    const size = r.chunk ?? 65536;
    let sent = 0;
    pulled[url] = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent >= total) return c.close();
        const n = Math.min(size, total - sent);
        c.enqueue(src ? src.slice(sent, sent + n) : new Uint8Array(n).fill(32));
        sent += n;
        pulled[url] = sent;
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: r.status ?? 200, headers });
  }
  return new Response(r.huge ? ' '.repeat(r.huge) : r.body ?? '', { status: r.status ?? 200, headers });
};
const pulled = {};
export function pulled_of(url) { return pulled[url] ?? -1; }
export function set_routes(json) {
  globalThis.fetch = stub;
  routes = JSON.parse(json);
  for (const k of Object.keys(hits)) delete hits[k];
}
export function hits_of(url) { return hits[url] ?? 0; }

const logs = [];
for (const m of ['log', 'info', 'warn', 'error', 'debug']) {
  const orig = console[m].bind(console);
  console[m] = (...a) => { logs.push(a.map(String).join(' ')); orig(...a); };
}
export function console_text() { return logs.join('\n'); }

const ssDesc = Object.getOwnPropertyDescriptor(window, 'sessionStorage');
const lsDesc = Object.getOwnPropertyDescriptor(window, 'localStorage');
const realSetItem = Storage.prototype.setItem;
export function break_storage(which) {
  Object.defineProperty(window, which, { configurable: true, get() { throw new DOMException('denied', 'SecurityError'); } });
}
export function quota_exceeded() { Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); }; }
export function restore_storage() {
  Object.defineProperty(window, 'sessionStorage', ssDesc);
  Object.defineProperty(window, 'localStorage', lsDesc);
  Storage.prototype.setItem = realSetItem;
}

const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const keys = {};
// One key per kid for the page's life, as a provider's would be (the SDK caches the JWKS per page load).
export async function make_key(alg, kid) {
  if (keys[kid]) return keys[kid].jwk;
  // 'RS256-1024': an RS256 key with a 1024-bit modulus (too weak to accept).
  const bits = alg === 'RS256-1024' ? 1024 : 2048;
  alg = alg === 'ES256' ? 'ES256' : 'RS256';
  const gen = alg === 'ES256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const pair = await crypto.subtle.generateKey(gen, true, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  delete jwk.key_ops; delete jwk.ext;
  keys[kid] = { alg, pair, jwk: JSON.stringify({ ...jwk, kid, alg, use: 'sig' }) };
  return keys[kid].jwk;
}
export async function sign(kid, data) {
  const { alg, pair } = keys[kid];
  const p = alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  return enc(await crypto.subtle.sign(p, pair.privateKey, new TextEncoder().encode(data)));
}
"#)]
extern "C" {
    fn set_routes(json: &str);
    fn hits_of(url: &str) -> u32;
    fn pulled_of(url: &str) -> i32;
    fn console_text() -> String;
    fn break_storage(which: &str);
    fn quota_exceeded();
    fn restore_storage();
    fn make_key(alg: &str, kid: &str) -> js_sys::Promise;
    fn sign(kid: &str, data: &str) -> js_sys::Promise;
}

const ISS: &str = "https://idp.example.com";
const TOKEN: &str = "https://idp.example.com/token";
const JWKS: &str = "https://idp.example.com/jwks";
const USERINFO: &str = "https://idp.example.com/me";
const JSON_CT: &str = "application/json";

thread_local! {
    static SECRETS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn secret(s: &str) {
    SECRETS.with(|v| v.borrow_mut().push(s.to_string()));
}

/// The exact code, and no secret in the message.
fn check(e: &Error, code: &str, label: &str) {
    assert_eq!(e.code(), code, "{label}");
    let m = e.message();
    SECRETS.with(|v| {
        for s in v.borrow().iter() {
            assert!(!m.contains(s.as_str()), "{label}: secret in message");
        }
    });
}

fn no_secret_in_console() {
    let text = console_text();
    SECRETS.with(|v| {
        for s in v.borrow().iter() {
            assert!(!text.contains(s.as_str()), "secret in console output");
        }
    });
}

fn origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

fn meta() -> ProviderMetadata {
    ProviderMetadata {
        issuer: ISS.into(),
        authorization_endpoint: format!("{ISS}/auth"),
        token_endpoint: TOKEN.into(),
        jwks_uri: Some(JWKS.into()),
        userinfo_endpoint: Some(USERINFO.into()),
        end_session_endpoint: None,
        revocation_endpoint: None,
        id_token_signing_alg_values_supported: vec!["ES256".into(), "RS256".into()],
        authorization_response_iss_parameter_supported: true,
        pushed_authorization_request_endpoint: None,
        require_pushed_authorization_requests: false,
    }
}

fn config(cache: CacheLocation) -> Config {
    let mut c = Config::discover(ISS.into(), "spa".into(), format!("{}/cb", origin()));
    c.endpoints = Endpoints::Given(meta());
    c.cache_location = cache;
    c.timeout_ms = 300;
    c
}

fn r(status: u16, ct: &str, body: &str) -> String {
    format!(
        r#"{{"status":{status},"ct":"{ct}","body":{}}}"#,
        String::from(js_sys::JSON::stringify(&body.into()).unwrap())
    )
}

const REJECT: &str = r#"{"reject":true}"#;
const HANG: &str = r#"{"hang":true}"#;
const REDIRECT: &str = r#"{"redirect":true}"#;
const HUGE: &str = r#"{"status":200,"ct":"application/json","huge":3000000}"#;

fn routes(pairs: &[(&str, &str)]) {
    let body: Vec<String> = pairs
        .iter()
        .map(|(u, spec)| format!(r#""{u}":[{spec}]"#))
        .collect();
    set_routes(&format!("{{{}}}", body.join(",")));
}

async fn js_string(p: js_sys::Promise) -> String {
    JsFuture::from(p).await.unwrap().as_string().unwrap()
}

struct Keys {
    es: String,
    rs: String,
}

async fn keys() -> Keys {
    Keys {
        es: js_string(make_key("ES256", "es-1")).await,
        rs: js_string(make_key("RS256", "rs-1")).await,
    }
}

fn jwks(keys: &[&str]) -> String {
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

async fn id_token(kid: &str, alg: &str, claims: &str) -> String {
    let header = format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#);
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let t = format!("{input}.{}", js_string(sign(kid, &input)).await);
    secret(&t);
    t
}

fn claims(nonce: &str, sub: &str) -> String {
    let now = (js_sys::Date::now() / 1000.0) as u64;
    format!(
        r#"{{"iss":"{ISS}","aud":"spa","sub":"{sub}","iat":{now},"exp":{},"nonce":"{nonce}"}}"#,
        now + 600
    )
}

fn token_body(at: &str, id_token: &str) -> String {
    secret(at);
    format!(
        r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":3600,"refresh_token":"RT-{at}","id_token":"{id_token}"}}"#
    )
}

/// Starts a login; returns (state, nonce) and records the verifier as a secret.
async fn begin(c: &Client) -> (String, String) {
    let url = c.authorize_url(LoginOptions::default()).await.unwrap();
    let q = parse_pairs(split(&url).1.unwrap()).unwrap();
    let state = q.iter().find(|(k, _)| k == "state").unwrap().1.clone();
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    let p = decode_record(
        &storage
            .get_item(&transaction_key(&ns(), &state))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    secret(p.code_verifier.secret());
    (state, p.nonce.unwrap().secret().to_string())
}

fn callback_url(state: &str, code: &str) -> String {
    secret(code);
    format!(
        "{}/cb?code={code}&state={state}&iss=https%3A%2F%2Fidp.example.com",
        origin()
    )
}

/// A client with a live session (access token `AT-0`, subject alice).
async fn with_session(cache: CacheLocation, k: &Keys) -> Client {
    let c = Client::create(config(cache)).await.unwrap();
    let (state, nonce) = begin(&c).await;
    let tok = id_token("es-1", "ES256", &claims(&nonce, "alice")).await;
    routes(&[
        (TOKEN, &r(200, JSON_CT, &token_body("AT-0", &tok))),
        (JWKS, &r(200, JSON_CT, &jwks(&[&k.es, &k.rs]))),
    ]);
    c.handle_redirect_callback(&callback_url(&state, "CODE-0"))
        .await
        .unwrap();
    secret("RT-AT-0");
    c
}

fn intact(c: &Client, label: &str) {
    let t = c
        .tokens()
        .unwrap_or_else(|| panic!("{label}: session lost"));
    assert_eq!(t.access_token.secret(), "AT-0", "{label}: session changed");
    assert_eq!(c.id_token_claims().unwrap().sub, "alice", "{label}");
}

#[wasm_bindgen_test]
async fn callback_urls() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    type MakeUrl = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(&str, MakeUrl, &str)> = vec![
        (
            "no parameters",
            Box::new(|_: &str| format!("{}/cb", origin())),
            "not_a_callback",
        ),
        (
            "only state (a post-logout return)",
            Box::new(|s: &str| format!("{}/cb?state={s}", origin())),
            "not_a_callback",
        ),
        (
            "code without state",
            Box::new(|_: &str| format!("{}/cb?code=c", origin())),
            "missing_state",
        ),
        (
            "empty state",
            Box::new(|_: &str| format!("{}/cb?code=c&state=", origin())),
            "missing_state",
        ),
        (
            "unknown state",
            Box::new(|_: &str| format!("{}/cb?code=c&state=forged", origin())),
            "state_mismatch",
        ),
        (
            "repeated state",
            Box::new(|s: &str| format!("{}/cb?code=c&state={s}&state={s}", origin())),
            "duplicate_parameter",
        ),
        (
            "repeated code",
            Box::new(|s: &str| format!("{}/cb?code=a&code=b&state={s}", origin())),
            "duplicate_parameter",
        ),
        (
            "repeated iss",
            Box::new(|s: &str| format!("{}/cb?code=a&state={s}&iss=x&iss=y", origin())),
            "duplicate_parameter",
        ),
        (
            "code and error",
            Box::new(|s: &str| format!("{}/cb?code=a&error=access_denied&state={s}", origin())),
            "code_and_error",
        ),
        (
            "empty code",
            Box::new(|s: &str| format!("{}/cb?code=&state={s}", origin())),
            "missing_code",
        ),
        (
            "error without description",
            Box::new(|s: &str| {
                format!(
                    "{}/cb?error=access_denied&state={s}&iss=https%3A%2F%2Fidp.example.com",
                    origin()
                )
            }),
            "access_denied",
        ),
        (
            "error with HTML in the description",
            Box::new(|s: &str| {
                format!("{}/cb?error=access_denied&error_description=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&state={s}&iss=https%3A%2F%2Fidp.example.com", origin())
            }),
            "access_denied",
        ),
        (
            "error code that is markup",
            Box::new(|s: &str| {
                format!(
                    "{}/cb?error=%3Cscript%3E&state={s}&iss=https%3A%2F%2Fidp.example.com",
                    origin()
                )
            }),
            "provider_error",
        ),
        (
            "iss of another issuer",
            Box::new(|s: &str| {
                format!(
                    "{}/cb?code=c&state={s}&iss=https%3A%2F%2Fevil.example",
                    origin()
                )
            }),
            "iss_mismatch",
        ),
        (
            "iss missing (advertised)",
            Box::new(|s: &str| format!("{}/cb?code=c&state={s}", origin())),
            "iss_missing",
        ),
        (
            "broken percent-encoding",
            Box::new(|s: &str| format!("{}/cb?code=%zz&state={s}", origin())),
            "invalid_callback",
        ),
        (
            "invalid UTF-8",
            Box::new(|s: &str| format!("{}/cb?code=%C3%28&state={s}", origin())),
            "invalid_callback",
        ),
        (
            "oversized code (100 kB)",
            Box::new(|s: &str| format!("{}/cb?code={}&state={s}", origin(), "a".repeat(100_000))),
            "invalid_callback",
        ),
        (
            "response in the fragment, query mode configured",
            Box::new(|s: &str| format!("{}/cb#code=c&state={s}", origin())),
            "not_a_callback",
        ),
    ];
    let total = cases.len();
    for (label, make, code) in cases {
        let (state, _) = begin(&c).await;
        routes(&[]);
        let e = c.handle_redirect_callback(&make(&state)).await.unwrap_err();
        check(&e, code, label);
        assert_eq!(hits_of(TOKEN), 0, "{label}: no token request");
        intact(&c, label);
    }
    // Expired transaction, replay, and a record edited into garbage.
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    let (state, _) = begin(&c).await;
    let key = transaction_key(&ns(), &state);
    let rec = storage.get_item(&key).unwrap().unwrap();
    let mut p = decode_record(&rec).unwrap();
    p.created_at_ms -= 3_600_000;
    storage
        .set_item(&key, &pkce_wasm::core::transaction::encode_record(&p))
        .unwrap();
    check(
        &c.handle_redirect_callback(&callback_url(&state, "C1"))
            .await
            .unwrap_err(),
        "transaction_expired",
        "expired",
    );
    check(
        &c.handle_redirect_callback(&callback_url(&state, "C1"))
            .await
            .unwrap_err(),
        "callback_replayed",
        "replay",
    );
    let (state, _) = begin(&c).await;
    storage
        .set_item(&transaction_key(&ns(), &state), "v=1&state=x&cv=%%%")
        .unwrap();
    check(
        &c.handle_redirect_callback(&callback_url(&state, "C2"))
            .await
            .unwrap_err(),
        "transaction_invalid",
        "garbage record",
    );
    intact(&c, "after callbacks");
    no_secret_in_console();
    assert_eq!(total + 3, 22);
}

#[wasm_bindgen_test]
async fn token_responses() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "400 invalid_grant",
            r(
                400,
                JSON_CT,
                r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
            ),
            "invalid_grant",
        ),
        (
            "401 invalid_client",
            r(401, JSON_CT, r#"{"error":"invalid_client"}"#),
            "invalid_client",
        ),
        (
            "403 HTML",
            r(403, "text/html", "<h1>Forbidden</h1>"),
            "token_http_error",
        ),
        ("404 empty", r(404, "", ""), "token_http_error"),
        (
            "500 HTML",
            r(500, "text/html", "<html>boom</html>"),
            "token_http_error",
        ),
        ("502 empty", r(502, JSON_CT, ""), "token_http_error"),
        (
            "503 temporarily_unavailable",
            r(503, JSON_CT, r#"{"error":"temporarily_unavailable"}"#),
            "temporarily_unavailable",
        ),
        (
            "400 error of the wrong type",
            r(400, JSON_CT, r#"{"error":["invalid_grant"]}"#),
            "token_http_error",
        ),
        (
            "200 HTML",
            r(200, "text/html", "<html>login</html>"),
            "token_response_not_json",
        ),
        (
            "200 empty body",
            r(200, JSON_CT, ""),
            "token_response_not_json",
        ),
        (
            "200 truncated JSON",
            r(200, JSON_CT, r#"{"access_token":"AT-x","token_"#),
            "token_response_not_json",
        ),
        (
            "200 JSON as text/plain",
            r(
                200,
                "text/plain",
                r#"{"access_token":"AT-x","token_type":"Bearer"}"#,
            ),
            "token_response_not_json",
        ),
        (
            "200 JSON array",
            r(200, JSON_CT, "[1,2]"),
            "invalid_token_response",
        ),
        (
            "access_token a number",
            r(200, JSON_CT, r#"{"access_token":5,"token_type":"Bearer"}"#),
            "invalid_token_response",
        ),
        (
            "expires_in a string",
            r(
                200,
                JSON_CT,
                r#"{"access_token":"AT-x","token_type":"Bearer","expires_in":"3600"}"#,
            ),
            "invalid_token_response",
        ),
        (
            "expires_in negative",
            r(
                200,
                JSON_CT,
                r#"{"access_token":"AT-x","token_type":"Bearer","expires_in":-1}"#,
            ),
            "invalid_token_response",
        ),
        (
            "id_token a number",
            r(
                200,
                JSON_CT,
                r#"{"access_token":"AT-x","token_type":"Bearer","id_token":7}"#,
            ),
            "invalid_token_response",
        ),
        (
            "no access_token",
            r(200, JSON_CT, r#"{"token_type":"Bearer"}"#),
            "missing_access_token",
        ),
        (
            "no token_type",
            r(200, JSON_CT, r#"{"access_token":"AT-x"}"#),
            "missing_token_type",
        ),
        (
            "token_type mac",
            r(
                200,
                JSON_CT,
                r#"{"access_token":"AT-x","token_type":"mac"}"#,
            ),
            "unsupported_token_type",
        ),
        (
            "duplicate keys",
            r(
                200,
                JSON_CT,
                r#"{"access_token":"AT-x","access_token":"AT-y","token_type":"Bearer"}"#,
            ),
            "token_response_not_json",
        ),
        ("3 MB body", HUGE.to_string(), "response_too_large"),
        ("connection refused", REJECT.to_string(), "network_error"),
        (
            "redirect (refused: redirect: 'error')",
            REDIRECT.to_string(),
            "network_error",
        ),
        ("never answers", HANG.to_string(), "timeout"),
        (
            "no id_token although openid was requested",
            r(
                200,
                JSON_CT,
                r#"{"access_token":"AT-x","token_type":"Bearer"}"#,
            ),
            "id_token_missing",
        ),
    ];
    secret("AT-x");
    secret("AT-y");
    let n = cases.len();
    for (label, spec, code) in cases {
        let (state, _) = begin(&c).await;
        routes(&[(TOKEN, &spec), (JWKS, &r(200, JSON_CT, &jwks(&[&k.es])))]);
        let e = c
            .handle_redirect_callback(&callback_url(&state, "CODE-t"))
            .await
            .unwrap_err();
        check(&e, code, label);
        assert_eq!(hits_of(TOKEN), 1, "{label}: exactly one token request");
        intact(&c, label);
    }
    no_secret_in_console();
    assert_eq!(n, 26);
}

/// The body cap holds while the body is read: a stream is cancelled at
/// 256 kB whatever `Content-Length` said (or without one), and a declared
/// length over the cap is refused unread. Under the cap, a body that comes
/// in tiny chunks (a character split between them) is read whole.
#[wasm_bindgen_test]
async fn bodies_are_capped_while_they_are_read() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    let cap = 256 * 1024;
    let cases = [
        (
            "an 8 MB stream, no Content-Length",
            r#"{"status":200,"ct":"application/json","stream":8388608}"#,
        ),
        (
            "an 8 MB stream, Content-Length: 10",
            r#"{"status":200,"ct":"application/json","stream":8388608,"len":"10"}"#,
        ),
        (
            "Content-Length: 3000000",
            r#"{"status":200,"ct":"application/json","stream":100,"len":"3000000"}"#,
        ),
    ];
    for (label, spec) in cases {
        let (state, _) = begin(&c).await;
        routes(&[(TOKEN, spec), (JWKS, &r(200, JSON_CT, &jwks(&[&k.es])))]);
        let e = c
            .handle_redirect_callback(&callback_url(&state, "CODE-s"))
            .await
            .unwrap_err();
        check(&e, "response_too_large", label);
        let pulled = pulled_of(TOKEN);
        assert!(pulled <= cap + 65536, "{label}: {pulled} bytes read");
        if label.starts_with("Content-Length") {
            assert_eq!(pulled, 0, "{label}: refused unread");
        }
        intact(&c, label);
    }
    // A valid answer in 7-byte chunks, with a two-byte character across a boundary.
    let (state, nonce) = begin(&c).await;
    let tok = id_token("es-1", "ES256", &claims(&nonce, "alice")).await;
    let body =
        token_body("AT-chunked", &tok).replace(r#""token_type""#, r#""x":"café","token_type""#);
    let spec = format!(
        r#"{{"status":200,"ct":"application/json","chunk":7,"body":{}}}"#,
        String::from(js_sys::JSON::stringify(&body.as_str().into()).unwrap())
    );
    routes(&[(TOKEN, &spec), (JWKS, &r(200, JSON_CT, &jwks(&[&k.es])))]);
    c.handle_redirect_callback(&callback_url(&state, "CODE-c"))
        .await
        .unwrap();
    assert_eq!(c.tokens().unwrap().access_token.secret(), "AT-chunked");
    assert!(pulled_of(TOKEN) as usize == body.len());
    no_secret_in_console();
}

/// How a case makes its ID token from a valid one (`h.p.sig`) for this login.
enum Make {
    /// From the valid token's parts.
    Parts(fn(&str, &str, &str) -> String),
    /// Re-signed with the real key after editing the claims JSON.
    Claims(fn(String) -> String),
}

#[wasm_bindgen_test]
async fn id_tokens_and_jwks() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    let good = r(200, JSON_CT, &jwks(&[&k.es, &k.rs]));
    let cases: Vec<(&str, Make, String, &str)> = vec![
        (
            "two segments",
            Make::Parts(|h, p, _| format!("{h}.{p}")),
            good.clone(),
            "id_token_malformed",
        ),
        (
            "five segments (a JWE)",
            Make::Parts(|h, p, s| format!("{h}.{p}.{s}.a.b")),
            good.clone(),
            "id_token_malformed",
        ),
        (
            "header not base64url",
            Make::Parts(|h, p, s| format!("{h}*.{p}.{s}")),
            good.clone(),
            "id_token_invalid_base64",
        ),
        (
            "header not JSON",
            Make::Parts(|_, p, s| format!("{}.{p}.{s}", b64url(b"alg=ES256"))),
            good.clone(),
            "id_token_invalid_json",
        ),
        (
            "alg none, no signature",
            Make::Parts(|_, p, _| format!("{}.{p}.", b64url(br#"{"alg":"none"}"#))),
            good.clone(),
            "id_token_alg_not_allowed",
        ),
        (
            "HS256 keyed with the public key",
            Make::Parts(|_, p, s| {
                format!("{}.{p}.{s}", b64url(br#"{"alg":"HS256","kid":"rs-1"}"#))
            }),
            good.clone(),
            "id_token_alg_not_allowed",
        ),
        (
            "RS256 header on the EC key id",
            Make::Parts(|_, p, s| {
                format!("{}.{p}.{s}", b64url(br#"{"alg":"RS256","kid":"es-1"}"#))
            }),
            good.clone(),
            "jwks_key_not_found",
        ),
        (
            "unknown kid",
            Make::Parts(|_, p, s| {
                format!("{}.{p}.{s}", b64url(br#"{"alg":"ES256","kid":"nobody"}"#))
            }),
            good.clone(),
            "jwks_key_not_found",
        ),
        (
            "signature tampered",
            Make::Parts(|h, p, s| {
                format!(
                    "{h}.{p}.{}{}",
                    &s[..s.len() - 2],
                    if s.ends_with("AA") { "BB" } else { "AA" }
                )
            }),
            good.clone(),
            "id_token_signature_invalid",
        ),
        (
            "payload swapped after signing",
            Make::Parts(|h, _, s| format!("{h}.{}.{s}", b64url(br#"{"sub":"mallory"}"#))),
            good.clone(),
            "id_token_signature_invalid",
        ),
        (
            "exp a string",
            Make::Claims(|c| {
                let i = c.find(r#""exp":"#).unwrap() + 6;
                let j = i + c[i..].find(',').unwrap();
                format!("{}\"{}\"{}", &c[..i], &c[i..j], &c[j..])
            }),
            good.clone(),
            "id_token_claims_invalid",
        ),
        (
            "aud a number",
            Make::Claims(|c| c.replace(r#""aud":"spa""#, r#""aud":5"#)),
            good.clone(),
            "id_token_claims_invalid",
        ),
        (
            "sub a number",
            Make::Claims(|c| c.replace(r#""sub":"alice""#, r#""sub":42"#)),
            good.clone(),
            "id_token_claims_invalid",
        ),
        (
            "sub twice (duplicate JSON key)",
            Make::Claims(|c| c.replace(r#""sub":"alice""#, r#""sub":"alice","sub":"admin""#)),
            good.clone(),
            "id_token_invalid_json",
        ),
    ];
    let n = cases.len();
    for (label, make, jwks_spec, code) in cases {
        let (state, nonce) = begin(&c).await;
        let base = claims(&nonce, "alice");
        let kid = "es-1";
        let tok = match make {
            Make::Parts(f) => {
                let valid = id_token(kid, "ES256", &base).await;
                let (h, rest) = valid.split_once('.').unwrap();
                let (p, s) = rest.split_once('.').unwrap();
                f(h, p, s)
            }
            Make::Claims(f) => id_token("es-1", "ES256", &f(base)).await,
        };
        routes(&[
            (TOKEN, &r(200, JSON_CT, &token_body("AT-bad", &tok))),
            (JWKS, &jwks_spec),
        ]);
        let e = c
            .handle_redirect_callback(&callback_url(&state, "CODE-i"))
            .await
            .err()
            .unwrap_or_else(|| panic!("{label}: accepted"));
        check(&e, code, label);
        intact(&c, label);
    }
    // JWKS faults are reached the way a key rotation is: a token signed with a
    // kid the cached key set has never had makes the SDK re-fetch once, and
    // the re-fetch meets the fault.
    type JwksFault = (&'static str, fn(&str, &str) -> String, &'static str);
    let faults: [JwksFault; 7] = [
        (
            "duplicate kids in the JWKS",
            |new, _| r(200, JSON_CT, &jwks(&[new, new])),
            "jwks_key_ambiguous",
        ),
        (
            "JWKS 500",
            |_, _| r(500, "text/html", "oops"),
            "jwks_invalid",
        ),
        (
            "JWKS as HTML",
            |_, _| r(200, "text/html", "<html>"),
            "jwks_invalid",
        ),
        (
            "JWKS keys not an array",
            |_, _| r(200, JSON_CT, r#"{"keys":{}}"#),
            "jwks_invalid",
        ),
        (
            "JWKS with only a key of the wrong type",
            |_, rsa| r(200, JSON_CT, &jwks(&[rsa])),
            "jwks_key_not_found",
        ),
        (
            "JWKS of 3 MB",
            |_, _| HUGE.to_string(),
            "response_too_large",
        ),
        (
            "JWKS unreachable",
            |_, _| REJECT.to_string(),
            "network_error",
        ),
    ];
    for (i, (label, jwks_spec, code)) in faults.iter().enumerate() {
        let kid = format!("rotated-{i}");
        let new = js_string(make_key("ES256", &kid)).await;
        let (state, nonce) = begin(&c).await;
        let tok = id_token(&kid, "ES256", &claims(&nonce, "alice")).await;
        routes(&[
            (TOKEN, &r(200, JSON_CT, &token_body("AT-bad", &tok))),
            (JWKS, &jwks_spec(&new, &k.rs)),
        ]);
        let e = c
            .handle_redirect_callback(&callback_url(&state, "CODE-j"))
            .await
            .unwrap_err();
        check(&e, code, label);
        assert_eq!(hits_of(JWKS), 1, "{label}: exactly one re-fetch");
        intact(&c, label);
    }
    // A 1024-bit RSA key signs a valid token: WebCrypto would verify it; we refuse the key.
    let weak = js_string(make_key("RS256-1024", "weak-1")).await;
    let (state, nonce) = begin(&c).await;
    let tok = id_token("weak-1", "RS256", &claims(&nonce, "alice")).await;
    routes(&[
        (TOKEN, &r(200, JSON_CT, &token_body("AT-bad", &tok))),
        (JWKS, &r(200, JSON_CT, &jwks(&[&weak]))),
    ]);
    let e = c
        .handle_redirect_callback(&callback_url(&state, "CODE-w"))
        .await
        .unwrap_err();
    check(&e, "jwks_key_weak", "1024-bit RSA key");
    intact(&c, "1024-bit RSA key");
    no_secret_in_console();
    assert_eq!(n + faults.len() + 1, 22);
}

#[wasm_bindgen_test]
async fn discovery_documents() {
    let doc = |extra: &str| {
        format!(
            r#"{{"issuer":"{ISS}","authorization_endpoint":"{ISS}/auth","token_endpoint":"{TOKEN}","jwks_uri":"{JWKS}"{extra}}}"#
        )
    };
    let url = format!("{ISS}/.well-known/openid-configuration");
    let cases: Vec<(&str, String, &str)> = vec![
        ("404", r(404, "text/html", "nope"), "discovery_failed"),
        ("500", r(500, JSON_CT, "{}"), "discovery_failed"),
        ("HTML", r(200, "text/html", "<html>"), "discovery_not_json"),
        ("empty", r(200, JSON_CT, ""), "discovery_not_json"),
        (
            "truncated JSON",
            r(200, JSON_CT, r#"{"issuer":"https://idp"#),
            "discovery_not_json",
        ),
        (
            "another issuer",
            r(200, JSON_CT, &doc("").replace(ISS, "https://evil.example")),
            "discovery_issuer_mismatch",
        ),
        (
            "issuer a number",
            r(
                200,
                JSON_CT,
                &doc("").replacen(&format!(r#""issuer":"{ISS}""#), r#""issuer":1"#, 1),
            ),
            "discovery_invalid",
        ),
        (
            "no token_endpoint",
            r(
                200,
                JSON_CT,
                &doc("").replace(&format!(r#","token_endpoint":"{TOKEN}""#), ""),
            ),
            "discovery_invalid",
        ),
        (
            "no jwks_uri with openid",
            r(
                200,
                JSON_CT,
                &doc("").replace(&format!(r#","jwks_uri":"{JWKS}""#), ""),
            ),
            "discovery_invalid",
        ),
        (
            "algs not an array",
            r(
                200,
                JSON_CT,
                &doc(r#","id_token_signing_alg_values_supported":"RS256""#),
            ),
            "discovery_invalid",
        ),
        (
            "http endpoint off loopback",
            r(
                200,
                JSON_CT,
                &doc(r#","userinfo_endpoint":"http://idp.example.com/me""#),
            ),
            "insecure_endpoint",
        ),
        (
            "javascript: endpoint",
            r(
                200,
                JSON_CT,
                &doc(r#","end_session_endpoint":"javascript:alert(1)""#),
            ),
            "insecure_endpoint",
        ),
        ("3 MB", HUGE.to_string(), "response_too_large"),
        ("refused", REJECT.to_string(), "network_error"),
        ("never answers", HANG.to_string(), "timeout"),
    ];
    let n = cases.len();
    for (i, (label, spec, code)) in cases.into_iter().enumerate() {
        // A fresh issuer each time: discovery is cached per page load.
        let issuer = format!("https://idp{i}.example.com");
        let spec = spec.replace(ISS, &issuer);
        routes(&[(&url.replace(ISS, &issuer), &spec)]);
        let mut cfg = Config::discover(issuer.clone(), "spa".into(), format!("{}/cb", origin()));
        cfg.timeout_ms = 300;
        let e = Client::create(cfg)
            .await
            .err()
            .unwrap_or_else(|| panic!("{label}: accepted"));
        check(&e, code, label);
    }
    assert_eq!(n, 15);
}

#[wasm_bindgen_test]
async fn userinfo_and_refresh() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    let userinfo: Vec<(&str, String, &str)> = vec![
        ("401", r(401, "", ""), "userinfo_http_error"),
        (
            "500 HTML",
            r(500, "text/html", "<h1>x</h1>"),
            "userinfo_http_error",
        ),
        (
            "200 HTML",
            r(200, "text/html", "<html>"),
            "userinfo_invalid",
        ),
        (
            "truncated JSON",
            r(200, JSON_CT, r#"{"sub":"al"#),
            "userinfo_invalid",
        ),
        (
            "no sub",
            r(200, JSON_CT, r#"{"name":"x"}"#),
            "userinfo_invalid",
        ),
        (
            "sub a number",
            r(200, JSON_CT, r#"{"sub":1}"#),
            "userinfo_invalid",
        ),
        (
            "another user's sub",
            r(200, JSON_CT, r#"{"sub":"mallory"}"#),
            "userinfo_sub_mismatch",
        ),
        ("3 MB", HUGE.to_string(), "response_too_large"),
        ("refused", REJECT.to_string(), "network_error"),
        ("never answers", HANG.to_string(), "timeout"),
    ];
    for (label, spec, code) in &userinfo {
        routes(&[(USERINFO, spec)]);
        check(&c.user_info().await.unwrap_err(), code, label);
        intact(&c, label);
    }
    // Failed refreshes keep the session (only invalid_grant ends it).
    let mut refresh: Vec<(&str, String, &str)> = vec![
        ("500", r(500, "text/html", "<h1>x</h1>"), "token_http_error"),
        (
            "200 HTML",
            r(200, "text/html", "<html>"),
            "token_response_not_json",
        ),
        ("refused", REJECT.to_string(), "network_error"),
        ("never answers", HANG.to_string(), "timeout"),
        (
            "invalid_client",
            r(401, JSON_CT, r#"{"error":"invalid_client"}"#),
            "invalid_client",
        ),
    ];
    let (_, nonce) = begin(&c).await;
    let other = id_token(
        "es-1",
        "ES256",
        &claims(&nonce, "mallory").replace(&format!(r#","nonce":"{nonce}""#), ""),
    )
    .await;
    refresh.push((
        "refreshed ID token of another user",
        r(200, JSON_CT, &token_body("AT-2", &other)),
        "id_token_sub_mismatch",
    ));
    for (label, spec, code) in &refresh {
        routes(&[(TOKEN, spec), (JWKS, &r(200, JSON_CT, &jwks(&[&k.es])))]);
        check(&c.access_token(true).await.unwrap_err(), code, label);
        intact(&c, label);
    }
    // A logout with a return address that is not http(s) is refused before
    // anything is cleared.
    let return_to = [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
    ];
    for url in return_to {
        check(
            &c.logout(Some(url.into()), false).await.unwrap_err(),
            "invalid_config",
            url,
        );
        intact(&c, url);
    }
    no_secret_in_console();
    assert_eq!(userinfo.len() + refresh.len() + return_to.len(), 19);
}

#[wasm_bindgen_test]
async fn broken_storage() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    // sessionStorage throwing on access: no login can start, the session (memory copy) survives.
    break_storage("sessionStorage");
    let e = c.authorize_url(LoginOptions::default()).await.unwrap_err();
    restore_storage();
    check(&e, "storage_unavailable", "sessionStorage throws");
    // ...and at the callback: the transaction cannot be read.
    let (state, _) = begin(&c).await;
    break_storage("sessionStorage");
    let e = c
        .handle_redirect_callback(&callback_url(&state, "CODE-s"))
        .await
        .unwrap_err();
    let kept = c.tokens().map(|t| t.access_token.secret().to_string());
    restore_storage();
    check(
        &e,
        "storage_unavailable",
        "sessionStorage throws at the callback",
    );
    assert_eq!(
        kept.as_deref(),
        Some("AT-0"),
        "memory copy kept while storage is broken"
    );
    // QuotaExceededError
    quota_exceeded();
    let e = c.authorize_url(LoginOptions::default()).await.unwrap_err();
    restore_storage();
    check(&e, "storage_unavailable", "QuotaExceededError");
    intact(&c, "after storage failures");
    // localStorage throwing for a localStorage client: the login still
    // completes (tokens in memory) and an `error` event reports the storage.
    let l = Client::create(config(CacheLocation::LocalStorage))
        .await
        .unwrap();
    let seen = std::rc::Rc::new(RefCell::new(Vec::new()));
    let log = std::rc::Rc::clone(&seen);
    l.on(
        "error",
        std::rc::Rc::new(move |e| log.borrow_mut().push(format!("{e:?}"))),
    )
    .unwrap();
    let (state, nonce) = begin(&l).await;
    let tok = id_token("es-1", "ES256", &claims(&nonce, "alice")).await;
    routes(&[
        (TOKEN, &r(200, JSON_CT, &token_body("AT-L", &tok))),
        (JWKS, &r(200, JSON_CT, &jwks(&[&k.es]))),
    ]);
    break_storage("localStorage");
    let ok = l
        .handle_redirect_callback(&callback_url(&state, "CODE-l"))
        .await;
    let token = l.tokens().map(|t| t.access_token.secret().to_string());
    restore_storage();
    assert!(ok.is_ok());
    assert_eq!(token.as_deref(), Some("AT-L"));
    assert_eq!(seen.borrow().len(), 1, "one storage error event");
    no_secret_in_console();
}

#[wasm_bindgen_test]
async fn the_module_still_works_after_all_of_it() {
    // Every test above ran in this page's one wasm instance; a panic
    // (`unreachable`) would have poisoned it. A full login still works.
    let k = keys().await;
    let c = with_session(CacheLocation::Memory, &k).await;
    intact(&c, "fresh client after the catalogue");
    let (_, nonce) = begin(&c).await;
    assert!(!nonce.is_empty());
}

async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_damaged_session_record_costs_nothing_and_is_repaired() {
    let k = keys().await;
    let c = with_session(CacheLocation::SessionStorage, &k).await;
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    for garbage in ["v=1&at=&tt=Bearer", "%%%", "v=9", ""] {
        storage.set_item(&session_key(&ns()), garbage).unwrap();
        intact(&c, garbage);
        let repaired = storage.get_item(&session_key(&ns())).unwrap().unwrap();
        assert!(
            repaired.contains("at=AT-0"),
            "storage repaired from the tab's copy"
        );
    }
    no_secret_in_console();
}

#[wasm_bindgen_test]
async fn a_restored_session_gets_its_background_refresh() {
    let k = keys().await;
    let _first = with_session(CacheLocation::SessionStorage, &k).await;
    // A reload: a new client finds the session in sessionStorage, due for refresh.
    let (_, nonce) = begin(&_first).await;
    // A refreshed ID token carries no nonce (OIDC Core §12.2: absent or the original's).
    let refreshed = claims(&nonce, "alice").replace(&format!(r#","nonce":"{nonce}""#), "");
    let tok = id_token("es-1", "ES256", &refreshed).await;
    routes(&[
        (TOKEN, &r(200, JSON_CT, &token_body("AT-R", &tok))),
        (JWKS, &r(200, JSON_CT, &jwks(&[&k.es]))),
    ]);
    // The stored access token expired while the page was closed.
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    let record = storage.get_item(&session_key(&ns())).unwrap().unwrap();
    let mut stored = decode_session(&record).unwrap();
    stored.tokens.expires_at_ms = Some(js_sys::Date::now() as u64 - 1000);
    storage
        .set_item(&session_key(&ns()), &encode_session(&stored, true))
        .unwrap();
    let mut cfg = config(CacheLocation::SessionStorage);
    cfg.auto_refresh = true;
    // Longer than the 3600 s tokens live: must not turn into a refresh loop.
    cfg.refresh_leeway_ms = 2 * 3600 * 1000;
    let restored = Client::create(cfg).await.unwrap();
    sleep_ms(300).await;
    assert_eq!(
        hits_of(TOKEN),
        1,
        "one timer refresh for the restored session, and no loop"
    );
    assert_eq!(restored.tokens().unwrap().access_token.secret(), "AT-R");
}
