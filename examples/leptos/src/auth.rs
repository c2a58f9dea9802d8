//! pkce-wasm's `Client` as Leptos context: `provide_auth(config)` once at the
//! root, `use_auth()` in any component. Copy this file into your app.

use std::future::Future;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use pkce_wasm::core::flow::Event;
use pkce_wasm::core::id_token::IdTokenClaims;
use pkce_wasm::core::Error;
use pkce_wasm::web::{Client, Config, LoginOptions};

/// The session as signals, and what can be done with it. `Copy`: move it
/// into closures freely.
#[derive(Clone, Copy)]
pub struct Auth {
    /// True until the client is made and a redirect callback, if any, handled.
    pub loading: ReadSignal<bool>,
    /// A session whose access token is valid or refreshable.
    pub authenticated: ReadSignal<bool>,
    /// The session's validated ID token claims.
    pub user: ReadSignal<Option<IdTokenClaims>>,
    /// The last failure: `code()` is stable, `message()` readable.
    pub error: ReadSignal<Option<Error>>,
    set_loading: WriteSignal<bool>,
    set_authenticated: WriteSignal<bool>,
    set_user: WriteSignal<Option<IdTokenClaims>>,
    set_error: WriteSignal<Option<Error>>,
    // `Client` is a cheap `Rc` handle, not `Send`: stored locally.
    client: StoredValue<Option<Client>, LocalStorage>,
}

/// Makes the client, handles the redirect back from the provider, and
/// provides [`Auth`] to every component below.
pub fn provide_auth(config: Config) -> Auth {
    let (loading, set_loading) = signal(true);
    let (authenticated, set_authenticated) = signal(false);
    let (user, set_user) = signal(None);
    let (error, set_error) = signal(None);
    let auth = Auth {
        loading,
        authenticated,
        user,
        error,
        set_loading,
        set_authenticated,
        set_user,
        set_error,
        client: StoredValue::new_local(None),
    };
    provide_context(auth);
    spawn_local(async move {
        if let Err(e) = auth.start(config).await {
            auth.set_error.set(Some(e));
        }
        auth.set_loading.set(false);
    });
    auth
}

/// The [`Auth`] that [`provide_auth`] provided.
pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

impl Auth {
    async fn start(self, config: Config) -> Result<(), Error> {
        let client = Client::create(config).await?;
        self.client.set_value(Some(client.clone()));
        // Refreshes, expiry, and a logout in another tab update the signals.
        for event in ["loggedIn", "tokensRefreshed", "sessionExpired", "loggedOut"] {
            client.on(event, Rc::new(move |_: &Event| self.sync()))?;
        }
        client.on(
            "error",
            Rc::new(move |e: &Event| {
                if let Event::Error(e) = e {
                    self.set_error.set(Some(e.clone()));
                }
            }),
        )?;
        let href = window().location().href().unwrap_or_default();
        if client.is_callback(&href) {
            // Exchanges the code, validates the ID token, cleans the address bar.
            client.handle_redirect_callback(&href).await?;
        }
        self.sync();
        Ok(())
    }

    fn sync(&self) {
        if let Some(client) = self.client() {
            self.set_authenticated.set(client.is_authenticated());
            self.set_user.set(client.id_token_claims());
        }
    }

    /// The client, once made: for everything else it does
    /// (`user_info`, `fetch`, `login_with_popup`…).
    pub fn client(&self) -> Option<Client> {
        self.client.get_value()
    }

    /// Starts a login by redirect: the page leaves for the provider.
    pub fn login(&self) {
        self.run(|client| async move { client.login_with_redirect(LoginOptions::default()).await });
    }

    /// Ends the session at the provider, which sends the browser back here.
    pub fn logout(&self) {
        self.run(|client| async move {
            let back = client.config().redirect_uri;
            client.logout(Some(back), false).await.map(drop)
        });
    }

    /// A valid access token, refreshed first when it is about to expire.
    pub async fn access_token(&self) -> Result<String, Error> {
        let client = self.client().ok_or(Error::LoginRequired)?;
        client.access_token(false).await
    }

    fn run<F: Future<Output = Result<(), Error>> + 'static>(&self, f: impl FnOnce(Client) -> F) {
        let Some(client) = self.client() else { return };
        let auth = *self;
        auth.set_error.set(None);
        let task = f(client);
        spawn_local(async move {
            if let Err(e) = task.await {
                auth.set_error.set(Some(e));
            }
            auth.sync();
        });
    }
}
