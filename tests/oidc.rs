//! Browser tests of ID token verification: every supported algorithm through
//! SubtleCrypto with keys generated at test time (valid and tampered), and the
//! whole callback with a signed ID token, JWKS fetch and one re-fetch for an
//! unknown `kid`. fetch is stubbed per URL inside the page.
#![cfg(target_arch = "wasm32")]

use pkce_wasm::core::discovery::ProviderMetadata;
use pkce_wasm::core::encoding::{b64url, b64url_decode, parse_pairs};
use pkce_wasm::core::id_token::{parse_jwks, Alg, Jwk, ALL_ALGS};
use pkce_wasm::core::transaction::{decode_record, namespace, transaction_key};
use pkce_wasm::core::url::split;
use pkce_wasm::core::Error;
use pkce_wasm::web::{crypto, Client, Config, Endpoints, LoginOptions};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The storage namespace of the test client (issuer and client id).
fn ns() -> String {
    namespace("https://idp.example.com", "spa")
}

#[wasm_bindgen(inline_js = r#"
const realFetch = globalThis.fetch;
const hits = {};
export function stub_routes(json) {
  const routes = JSON.parse(json);
  for (const k of Object.keys(hits)) delete hits[k];
  globalThis.fetch = async (url) => {
    url = String(url);
    const list = routes[url];
    if (!list) throw new TypeError('no route ' + url);
    const n = hits[url] = (hits[url] ?? 0) + 1;
    const r = list[Math.min(n, list.length) - 1];
    return new Response(r.body, { status: r.status, headers: { 'Content-Type': r.ct } });
  };
}
export function restore_fetch() { globalThis.fetch = realFetch; }
export function hits_of(url) { return hits[url] ?? 0; }
const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function params(alg) {
  const hash = { '256': 'SHA-256', '384': 'SHA-384', '512': 'SHA-512' }[alg.slice(2)];
  if (alg.startsWith('RS')) return [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash }, { name: 'RSASSA-PKCS1-v1_5' }];
  if (alg.startsWith('PS')) return [{ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash }, { name: 'RSA-PSS', saltLength: Number(alg.slice(2)) / 8 }];
  if (alg.startsWith('ES')) return [{ name: 'ECDSA', namedCurve: { '256': 'P-256', '384': 'P-384', '512': 'P-521' }[alg.slice(2)] }, { name: 'ECDSA', hash }];
  return [{ name: 'Ed25519' }, { name: 'Ed25519' }];
}
const keys = {};
// A key pair per (alg, kid), made once; returns the public JWK as JSON.
export async function make_key(alg, kid) {
  const [gen] = params(alg);
  const pair = await crypto.subtle.generateKey(gen, true, ['sign', 'verify']);
  keys[kid] = { alg, pair };
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return JSON.stringify({ ...jwk, kid, alg, use: 'sig', key_ops: undefined, ext: undefined });
}
export async function sign(kid, data) {
  const { alg, pair } = keys[kid];
  const [, p] = params(alg);
  return enc(await crypto.subtle.sign(p, pair.privateKey, new TextEncoder().encode(data)));
}
"#)]
extern "C" {
    fn stub_routes(json: &str);
    fn restore_fetch();
    fn hits_of(url: &str) -> u32;
    fn make_key(alg: &str, kid: &str) -> js_sys::Promise;
    fn sign(kid: &str, data: &str) -> js_sys::Promise;
}

async fn key(alg: Alg, kid: &str) -> String {
    JsFuture::from(make_key(alg.name(), kid))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

async fn signature(kid: &str, data: &str) -> String {
    JsFuture::from(sign(kid, data))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

fn jwks(keys: &[&str]) -> String {
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

/// The web layer's verification effect, awaited.
async fn verify(key: &Jwk, alg: Alg, data: &[u8], sig: &[u8]) -> Result<bool, Error> {
    let p = crypto::verify(key, alg, data, sig)?;
    crypto::verified(JsFuture::from(p).await)
}

#[wasm_bindgen_test]
async fn every_algorithm_verifies_and_rejects_tampering() {
    for alg in ALL_ALGS {
        let kid = alg.name();
        let jwk_json = key(alg, kid).await;
        let keys = parse_jwks(200, Some("application/json"), &jwks(&[&jwk_json])).unwrap();
        let data = "eyJhbGciOiJ4In0.eyJzdWIiOiJhIn0";
        let sig = b64url_decode(&signature(kid, data).await).unwrap();
        assert!(
            verify(&keys[0], alg, data.as_bytes(), &sig).await.unwrap(),
            "{kid} valid"
        );
        let tampered_data = "eyJhbGciOiJ4In0.eyJzdWIiOiJiIn0";
        assert!(
            !verify(&keys[0], alg, tampered_data.as_bytes(), &sig)
                .await
                .unwrap(),
            "{kid} data"
        );
        let mut bad_sig = sig.clone();
        bad_sig[5] ^= 1;
        assert!(
            !verify(&keys[0], alg, data.as_bytes(), &bad_sig)
                .await
                .unwrap(),
            "{kid} sig"
        );
    }
}

#[wasm_bindgen_test]
async fn a_key_of_another_alg_family_is_refused() {
    let rsa = key(Alg::RS256, "k-rsa").await;
    let keys = parse_jwks(200, Some("application/json"), &jwks(&[&rsa])).unwrap();
    let data = "a.b";
    let sig = b64url_decode(&signature("k-rsa", data).await).unwrap();
    // RSASSA signature checked as PSS with the same key: fails, never accepted.
    assert!(!verify(&keys[0], Alg::PS256, data.as_bytes(), &sig)
        .await
        .unwrap_or(false));
}

const ISS: &str = "https://idp.example.com";
const TOKEN: &str = "https://idp.example.com/token";
const JWKS: &str = "https://idp.example.com/jwks";

fn origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

async fn oidc_client() -> Client {
    let mut c = Config::discover(ISS.into(), "spa".into(), format!("{}/cb", origin()));
    c.scope = "openid profile".into();
    c.endpoints = Endpoints::Given(ProviderMetadata {
        issuer: ISS.into(),
        authorization_endpoint: format!("{ISS}/auth"),
        token_endpoint: TOKEN.into(),
        jwks_uri: Some(JWKS.into()),
        userinfo_endpoint: None,
        end_session_endpoint: None,
        revocation_endpoint: None,
        id_token_signing_alg_values_supported: vec!["ES256".into(), "RS256".into(), "HS256".into()],
        authorization_response_iss_parameter_supported: true,
        pushed_authorization_request_endpoint: None,
        require_pushed_authorization_requests: false,
    });
    let c = Client::create(c).await.unwrap();
    // Memory sessions live for the page, shared by its clients of one issuer
    // and client id: each test starts logged out.
    assert!(!c.logout(None, true).await.unwrap(), "a local logout stays");
    c
}

fn route(status: u16, ct: &str, body: &str) -> String {
    format!(
        r#"{{"status":{status},"ct":"{ct}","body":{}}}"#,
        js_sys::JSON::stringify(&body.into()).unwrap()
    )
}

/// Starts a login, then returns (state, nonce).
async fn begin(c: &Client) -> (String, String) {
    let url = c.authorize_url(LoginOptions::default()).await.unwrap();
    let q = parse_pairs(split(&url).1.unwrap()).unwrap();
    let state = q.iter().find(|(k, _)| k == "state").unwrap().1.clone();
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    let record = storage
        .get_item(&transaction_key(&ns(), &state))
        .unwrap()
        .unwrap();
    let nonce = decode_record(&record)
        .unwrap()
        .nonce
        .unwrap()
        .secret()
        .to_string();
    (state, nonce)
}

async fn id_token(kid: &str, alg: &str, claims: &str) -> String {
    let header = format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#);
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let sig = signature(kid, &input).await;
    format!("{input}.{sig}")
}

fn claims(nonce: &str) -> String {
    let now = (js_sys::Date::now() / 1000.0) as u64;
    format!(
        r#"{{"iss":"{ISS}","aud":"spa","sub":"alice","iat":{now},"exp":{},"nonce":"{nonce}"}}"#,
        now + 300
    )
}

fn token_body(id_token: &str) -> String {
    format!(
        r#"{{"access_token":"AT","token_type":"Bearer","expires_in":60,"id_token":"{id_token}"}}"#
    )
}

async fn run(c: &Client, state: &str, jwks_routes: &[String], token: &str) -> Result<(), Error> {
    stub_routes(&format!(
        r#"{{"{TOKEN}":[{}],"{JWKS}":[{}]}}"#,
        route(200, "application/json", &token_body(token)),
        jwks_routes.join(",")
    ));
    let cb = format!(
        "{}/cb?code=c&state={state}&iss=https%3A%2F%2Fidp.example.com",
        origin()
    );
    let r = c.handle_redirect_callback(&cb).await;
    restore_fetch();
    r.map(|_| ())
}

#[wasm_bindgen_test]
async fn callback_validates_the_signed_id_token_and_keeps_claims() {
    let c = oidc_client().await;
    let es = key(Alg::ES256, "es-1").await;
    let (state, nonce) = begin(&c).await;
    let tok = id_token("es-1", "ES256", &claims(&nonce)).await;
    run(
        &c,
        &state,
        &[route(200, "application/json", &jwks(&[&es]))],
        &tok,
    )
    .await
    .unwrap();
    let claims = c.id_token_claims().unwrap();
    assert_eq!(claims.sub, "alice");
    assert!(claims.json.contains(&nonce));
    assert_eq!(hits_of(JWKS), 1);
}

#[wasm_bindgen_test]
async fn unknown_kid_refetches_the_jwks_once() {
    let c = oidc_client().await;
    let old = key(Alg::RS256, "rotated-out").await;
    let new = key(Alg::RS256, "rotated-in").await;
    // First fetch: only the old key; the re-fetch has the new one.
    let (state, nonce) = begin(&c).await;
    let tok = id_token("rotated-in", "RS256", &claims(&nonce)).await;
    let routes = [
        route(200, "application/json", &jwks(&[&old])),
        route(200, "application/json", &jwks(&[&old, &new])),
    ];
    run(&c, &state, &routes, &tok).await.unwrap();
    assert_eq!(hits_of(JWKS), 2);
    // A kid that never appears: one re-fetch, then jwks_key_not_found, and no session change.
    let (state, nonce) = begin(&c).await;
    let tok = id_token("rotated-in", "RS256", &claims(&nonce)).await;
    let forged_header = b64url(br#"{"alg":"RS256","kid":"nobody"}"#);
    let forged = format!("{forged_header}.{}", tok.split_once('.').unwrap().1);
    let e = run(
        &c,
        &state,
        &[route(200, "application/json", &jwks(&[&old]))],
        &forged,
    )
    .await
    .unwrap_err();
    assert_eq!(e, Error::JwksKeyNotFound);
    assert!(hits_of(JWKS) <= 2, "at most one re-fetch");
    assert_eq!(
        c.id_token_claims().unwrap().sub,
        "alice",
        "the previous session is kept"
    );
}

#[wasm_bindgen_test]
async fn rejected_id_tokens_leave_no_session() {
    let c = oidc_client().await;
    let es = key(Alg::ES256, "es-2").await;
    let jwks_route = [route(200, "application/json", &jwks(&[&es]))];
    type MakeClaims = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(&str, MakeClaims)> = vec![
        (
            "id_token_nonce_mismatch",
            Box::new(|_n: &str| claims("other-nonce")),
        ),
        (
            "id_token_aud_mismatch",
            Box::new(|n: &str| claims(n).replace(r#""aud":"spa""#, r#""aud":"evil""#)),
        ),
        (
            "id_token_iss_mismatch",
            Box::new(|n: &str| claims(n).replace(ISS, "https://evil.example.com")),
        ),
    ];
    for (code, make) in cases {
        let (state, nonce) = begin(&c).await;
        let tok = id_token("es-2", "ES256", &make(&nonce)).await;
        let e = run(&c, &state, &jwks_route, &tok).await.unwrap_err();
        assert_eq!(e.code(), code);
        assert!(c.id_token_claims().is_none(), "{code}: nothing stored");
        assert!(c.tokens().is_none());
    }
    // signature of another key with the same kid: signature invalid
    let (state, nonce) = begin(&c).await;
    let _ = key(Alg::ES256, "es-impostor").await;
    let tok = id_token("es-impostor", "ES256", &claims(&nonce)).await;
    let header = b64url(br#"{"alg":"ES256","kid":"es-2","typ":"JWT"}"#);
    let (_, rest) = tok.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let input = format!("{header}.{payload}");
    let sig = signature("es-impostor", &input).await;
    let e = run(&c, &state, &jwks_route, &format!("{input}.{sig}"))
        .await
        .unwrap_err();
    assert_eq!(e, Error::IdTokenSignatureInvalid);
    // HS256 is advertised by this provider and still refused
    let (state, nonce) = begin(&c).await;
    let hs = format!(
        "{}.{}.c2ln",
        b64url(br#"{"alg":"HS256","kid":"es-2"}"#),
        b64url(claims(&nonce).as_bytes())
    );
    assert_eq!(
        run(&c, &state, &jwks_route, &hs).await.unwrap_err(),
        Error::IdTokenAlgNotAllowed
    );
    // missing iss on the callback though the provider advertises it (RFC 9207)
    let (state, _) = begin(&c).await;
    let e = c
        .handle_redirect_callback(&format!("{}/cb?code=c&state={state}", origin()))
        .await
        .unwrap_err();
    assert_eq!(e, Error::IssuerMissing);
    assert!(c.tokens().is_none());
}
