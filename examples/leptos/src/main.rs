//! A Leptos (CSR) app that logs in with pkce-wasm's Rust API: the redirect
//! login, the user's claims, an API call with the access token, logout.
//! Built by scripts/build-leptos.sh; tests/e2e/leptos.test.mjs logs in with it.

mod auth;

use auth::{provide_auth, use_auth};
use leptos::prelude::*;
use pkce_wasm::core::Error;
use pkce_wasm::web::{CacheLocation, Config};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

fn main() {
    wasm_bindgen_futures::spawn_local(async {
        match demo_config().await {
            Ok(config) => start(config),
            Err(e) => web_sys::console::error_1(&e.into()),
        }
    });
}

fn start(config: Config) {
    mount_to_body(move || {
        provide_auth(config);
        view! { <App/> }
    });
}

/// Your app would write its `Config` here; this one takes the issuer and
/// client id from the demo server's `/config.json`.
async fn demo_config() -> Result<Config, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Demo {
        issuer: String,
        client_id: String,
        scope: String,
    }
    let text = async {
        let response: web_sys::Response = JsFuture::from(window().fetch_with_str("/config.json"))
            .await?
            .dyn_into()?;
        JsFuture::from(response.text()?).await
    }
    .await
    .map_err(|_| "cannot load /config.json".to_string())?;
    let demo: Demo =
        serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|e| e.to_string())?;
    let location = window().location();
    // This page is the redirect URI: where the provider sends the browser back.
    let here = location.origin().unwrap_or_default() + &location.pathname().unwrap_or_default();
    let mut config = Config::discover(demo.issuer, demo.client_id, here);
    config.scope = demo.scope;
    // A reload keeps the session (the default, memory, logs in again).
    config.cache_location = CacheLocation::SessionStorage;
    Ok(config)
}

#[component]
fn App() -> impl IntoView {
    let auth = use_auth();
    view! {
        <main>
            <h1>"pkce-wasm + Leptos"</h1>
            <Status/>
            <ErrorBox/>
            <Show
                when=move || auth.authenticated.get()
                fallback=move || view! {
                    <button id="login" disabled=move || auth.loading.get() on:click=move |_| auth.login()>
                        "Log in"
                    </button>
                }
            >
                <Profile/>
            </Show>
        </main>
    }
}

#[component]
fn Status() -> impl IntoView {
    let auth = use_auth();
    let state = move || {
        if auth.loading.get() {
            "loading"
        } else if auth.authenticated.get() {
            "logged-in"
        } else if auth.error.with(Option::is_some) {
            "error"
        } else {
            "logged-out"
        }
    };
    view! {
        <p id="status" data-state=state>
            {move || match state() {
                "loading" => "Loading…".to_string(),
                "logged-in" => format!("Logged in as {}.", name(auth)),
                "error" => "Not logged in: see the error.".to_string(),
                _ => "Logged out.".to_string(),
            }}
        </p>
    }
}

/// The ID token's `name` claim, else its `sub`.
fn name(auth: auth::Auth) -> String {
    auth.user
        .get()
        .map(|claims| {
            serde_json::from_str::<serde_json::Value>(&claims.json)
                .ok()
                .and_then(|v| v["name"].as_str().map(String::from))
                .unwrap_or(claims.sub)
        })
        .unwrap_or_default()
}

#[component]
fn Profile() -> impl IntoView {
    let auth = use_auth();
    // Any API that takes the access token: here the provider's UserInfo
    // (`Client::fetch` attaches it to your own API's requests).
    let call_api = Action::new_local(move |_: &()| async move {
        let client = auth.client().ok_or(Error::LoginRequired)?;
        client.user_info().await
    });
    let token = LocalResource::new(move || async move { auth.access_token().await });
    view! {
        <section id="session">
            <h2>"Access token"</h2>
            <p><code id="access-token">{move || token.get().map(|t| t.map(|t| mask(&t)).unwrap_or_else(|e| e.code().to_string()))}</code></p>
            <h2>"ID token claims"</h2>
            <pre id="claims">{move || auth.user.get().map(|c| pretty(&c.json))}</pre>
            <button id="call-api" on:click=move |_| { call_api.dispatch(()); }>"Call API (userinfo)"</button>
            <button id="logout" on:click=move |_| auth.logout()>"Log out"</button>
        </section>
        <Show when=move || call_api.value().get().is_some()>
            <section id="api">
                <h2>"API answer"</h2>
                <pre id="userinfo">
                    {move || match call_api.value().get() {
                        Some(Ok(json)) => format!("OK\n{}", pretty(&json)),
                        Some(Err(e)) => format!("Failed: {}: {}", e.code(), e.message()),
                        None => String::new(),
                    }}
                </pre>
            </section>
        </Show>
    }
}

#[component]
fn ErrorBox() -> impl IntoView {
    let auth = use_auth();
    move || {
        auth.error.get().map(|e| {
            let description = match &e {
                Error::Provider(p) => p.error_description.clone(),
                _ => None,
            };
            view! {
                <section id="error">
                    <h2>"Error"</h2>
                    <p><code id="error-code">{e.code().to_string()}</code> " " <span id="error-message">{e.message()}</span></p>
                    <p id="error-description">{description.map(|d| format!("Provider said: {d}"))}</p>
                </section>
            }
        })
    }
}

fn mask(token: &str) -> String {
    let head: String = token.chars().take(4).collect();
    let tail: String = token
        .chars()
        .skip(token.chars().count().saturating_sub(4))
        .collect();
    format!("{head}…{tail} ({} chars)", token.chars().count())
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| json.to_string())
}
