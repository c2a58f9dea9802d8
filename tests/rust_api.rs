//! The Rust consumer: the README's Rust quick start, run in the browser using
//! only the crate's public API (discovery stubbed in the page), through a
//! login step — the authorization URL and its stored transaction.
#![cfg(target_arch = "wasm32")]

use pkce_wasm::core::Error;
use pkce_wasm::web::{CacheLocation, Client, Config, LoginOptions};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function stub_discovery(issuer) {
  globalThis.fetch = async (url) => {
    if (String(url) !== issuer + '/.well-known/openid-configuration') throw new TypeError('offline');
    return new Response(JSON.stringify({
      issuer, authorization_endpoint: issuer + '/authorize', token_endpoint: issuer + '/token',
      jwks_uri: issuer + '/jwks', response_types_supported: ['code'],
      id_token_signing_alg_values_supported: ['RS256'],
    }), { headers: { 'Content-Type': 'application/json' } });
  };
}
"#)]
extern "C" {
    fn stub_discovery(issuer: &str);
}

#[wasm_bindgen_test]
async fn readme_rust_quick_start() {
    stub_discovery("https://idp.example.com");
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let mut config = Config::discover(
        "https://idp.example.com".into(),
        "my-spa".into(),
        format!("{origin}/"),
    );
    config.scope = "openid profile".into();
    config.cache_location = CacheLocation::SessionStorage;
    let client = Client::create(config).await.unwrap();
    assert_eq!(
        client.metadata().token_endpoint,
        "https://idp.example.com/token"
    );

    let url = client
        .authorize_url(LoginOptions {
            app_state: Some(r#"{"returnTo":"/"}"#.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        url.starts_with("https://idp.example.com/authorize?response_type=code&client_id=my-spa&")
    );
    assert!(url.contains("&code_challenge_method=S256"));
    assert!(!client.is_authenticated());
    assert_eq!(
        client.access_token(false).await.unwrap_err(),
        Error::NotAuthenticated
    );
    // The issuer must match the document's exactly (here: a trailing slash) → typed error, not a panic.
    stub_discovery("https://other.example.com");
    let bad = Config::discover(
        "https://other.example.com/".into(),
        "a".into(),
        format!("{origin}/"),
    );
    assert_eq!(
        Client::create(bad).await.err().unwrap(),
        Error::DiscoveryIssuerMismatch
    );
}
