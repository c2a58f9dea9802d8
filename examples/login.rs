//! A Rust (wasm32) app using pkce-wasm's public API — the pattern a Yew or
//! Leptos app follows: make the client once, handle the callback on load,
//! otherwise start a login. Built by `npm test` for wasm32-unknown-unknown.

#[cfg(target_arch = "wasm32")]
mod app {
    use pkce_wasm::core::Error;
    use pkce_wasm::web::{CacheLocation, Client, Config, LoginOptions};

    /// Runs on page load.
    pub async fn run() -> Result<(), Error> {
        let mut config = Config::discover(
            "https://idp.example.com".into(),
            "my-spa".into(),
            "https://app.example.com/".into(),
        );
        config.scope = "openid profile".into();
        config.cache_location = CacheLocation::SessionStorage;
        let client = Client::create(config).await?;

        let here = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_default();
        if client.is_callback(&here) {
            let result = client.handle_redirect_callback(&here).await?;
            let _sub = result.claims.map(|c| c.sub);
            let _token = client.access_token(false).await?;
        } else {
            client
                .login_with_redirect(LoginOptions {
                    app_state: Some(r#"{"returnTo":"/"}"#.into()),
                    ..Default::default()
                })
                .await?;
        }
        Ok(())
    }
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_futures::spawn_local(async {
        if let Err(e) = app::run().await {
            web_sys::console::error_1(&e.message().into());
        }
    });
}
