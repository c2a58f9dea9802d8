//! The Rust API (feature `rust-api`, on by default for crate users; the npm
//! build leaves it off): the same state machines, driven by a small async
//! loop over the same effects, for Yew, Leptos or any wasm32 app.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Request, Response};

use super::{perform, run, settle, Listener, Performed, Run, Shared, Slots, WebHost};
use crate::core::config::{Config, LoginOptions};
use crate::core::discovery::ProviderMetadata;
use crate::core::flow::{
    Callback, CallbackResult, ClientState, Create, Fetch, Host, Login, Logout, Outcome, PopupLogin,
    SilentLogin, Step, TokenOrSilent, UserInfo, Wake,
};
use crate::core::id_token::IdTokenClaims;
use crate::core::session::{Target, Tokens};
use crate::core::Error;

/// Releases what an operation holds if its future is dropped before it ends.
struct Guard<'a> {
    host: &'a WebHost,
    slots: Slots,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.slots.release(self.host);
    }
}

async fn drive<T>(
    shared: &Shared,
    slots: Slots,
    mut resume: impl FnMut(&mut ClientState, &dyn Host, Outcome) -> Step<T>,
) -> Result<T, Error> {
    let mut guard = Guard {
        host: &shared.host,
        slots,
    };
    let mut input = Outcome::Start;
    loop {
        match run(shared, &mut guard.slots, input, &mut resume) {
            Run::Done(r) => return r,
            Run::Wait(p, pending) => {
                let r = JsFuture::from(p).await;
                input = settle(pending, r, &shared.host, &mut guard.slots);
            }
        }
    }
}

/// A PKCE client bound to one provider and one redirect URI. Cheap to clone
/// (a handle), so async work and event handlers can hold it.
#[derive(Clone)]
pub struct Client {
    shared: Rc<Shared>,
}

fn wake(weak: &Weak<Shared>) {
    let Some(shared) = weak.upgrade() else { return };
    spawn_local(async move {
        let mut op = Wake::start();
        let _ = drive(&shared, Slots::new(), move |st, h, o| op.resume(st, h, o)).await;
    });
}

impl Client {
    /// Checks the configuration, discovers the provider if asked to, restores
    /// a stored session, and makes a client.
    pub async fn create(config: Config) -> Result<Self, Error> {
        super::in_page()?;
        let host = WebHost::default();
        let mut slots = Slots::new();
        let mut create = Create::start(config);
        let mut input = Outcome::Start;
        let me: Rc<RefCell<Weak<Shared>>> = Rc::new(RefCell::new(Weak::new()));
        let hook = Rc::clone(&me);
        // Background refreshes (timer, visibility, online) run as their own tasks.
        host.spawn
            .replace(Some(Rc::new(move || wake(&hook.borrow()))));
        let state = loop {
            match create.resume(&host, input) {
                Step::Done(r) => break r?,
                Step::Effect(e) => match perform(e, &host, &mut slots) {
                    Performed::Now(o) => input = o,
                    Performed::Later(p, pending) => {
                        let r = JsFuture::from(p).await;
                        input = settle(pending, r, &host, &mut slots);
                    }
                },
            }
        };
        let shared = Rc::new(Shared {
            state: RefCell::new(state),
            host,
        });
        me.replace(Rc::downgrade(&shared));
        shared.host.flush();
        // Another tab's logout ends this tab's own session: a local logout task.
        let weak = Rc::downgrade(&shared);
        shared.host.tab.set(Some(Rc::new(move |message: String| {
            let Some(shared) = weak.upgrade() else { return };
            if shared.tab_message(&message) {
                spawn_local(async move {
                    let mut op = Logout::start(None, true);
                    let _ = drive(&shared, Slots::new(), move |st, h, o| op.resume(st, h, o)).await;
                });
            }
        })));
        Ok(Client { shared })
    }

    /// The configuration.
    pub fn config(&self) -> Config {
        self.shared.state.borrow().config.clone()
    }

    /// The provider metadata in use (discovered, supplied, or from explicit endpoints).
    pub fn metadata(&self) -> ProviderMetadata {
        self.shared.state.borrow().meta.clone()
    }

    /// Starts a login: fresh verifier, state and nonce; the transaction stored
    /// in sessionStorage (checked by reading it back); returns the URL to visit.
    pub async fn authorize_url(&self, options: LoginOptions) -> Result<String, Error> {
        let mut op = Login::start(options, false);
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
    }

    /// [`Client::authorize_url`], then navigates there.
    pub async fn login_with_redirect(&self, options: LoginOptions) -> Result<(), Error> {
        let mut op = Login::start(options, true);
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
        .map(|_| ())
    }

    /// True when `url` carries an authorization response for this client's response mode.
    pub fn is_callback(&self, url: &str) -> bool {
        crate::core::is_callback(url, self.shared.state.borrow().config.response_mode)
    }

    /// Handles the redirect back from the provider (see [`Callback`]).
    pub async fn handle_redirect_callback(&self, url: &str) -> Result<CallbackResult, Error> {
        let mut op = Callback::start(url);
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
    }

    /// Logs in through a popup (see the README's "Popup login"). The popup
    /// is opened when the future is first polled: start it from a click
    /// handler (`spawn_local` in the handler keeps the click's activation).
    /// `timeout_ms`: [`crate::core::flow::DEFAULT_POPUP_TIMEOUT_MS`] unless you have a reason.
    pub async fn login_with_popup(
        &self,
        options: LoginOptions,
        timeout_ms: u64,
    ) -> Result<CallbackResult, Error> {
        let (n, name) = self.with(|st, _| (st.claim_popup(), st.popup_window()));
        if let Some(cancel) = self.shared.host.popup_cancel.take() {
            let _ = cancel.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
        let Some(popup) = crate::web::open_popup(&name) else {
            self.with(|st, _| st.release_popup(n));
            return Err(Error::PopupBlocked);
        };
        self.shared.host.popup.set(Some(popup));
        let mut op = PopupLogin::start(n, options, timeout_ms);
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
    }

    /// Silent authentication (see the README's "Silent login"): asks the
    /// provider in a hidden iframe with `prompt=none`; the provider's
    /// `login_required` & co., `silent_timeout`, `third_party_cookies_blocked`.
    pub async fn check_session(&self, options: LoginOptions) -> Result<CallbackResult, Error> {
        let mut op = SilentLogin::start(options);
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
    }

    fn with<T>(&self, f: impl FnOnce(&mut ClientState, &dyn Host) -> T) -> T {
        let r = f(&mut self.shared.state.borrow_mut(), &self.shared.host);
        self.shared.host.flush();
        r
    }

    /// The validated ID token claims of the current session.
    pub fn id_token_claims(&self) -> Option<IdTokenClaims> {
        self.with(|st, h| st.session(h).and_then(|s| s.claims))
    }

    /// The current session's tokens.
    pub fn tokens(&self) -> Option<Tokens> {
        self.with(|st, h| st.session(h).map(|s| s.tokens))
    }

    /// True when there is a session whose access token is valid or refreshable.
    pub fn is_authenticated(&self) -> bool {
        self.with(|st, h| st.is_authenticated(h))
    }

    /// A valid access token, refreshed first when it expires within the
    /// leeway; `force` refreshes regardless (e.g. after a 401).
    pub async fn access_token(&self, force: bool) -> Result<String, Error> {
        self.access_token_for(force, None).await
    }

    /// An access token for `target` (RFC 8707; see the README's "Tokens for
    /// several APIs"): from the refresh grant with its `resource` and scope.
    pub async fn access_token_for(
        &self,
        force: bool,
        target: Option<Target>,
    ) -> Result<String, Error> {
        let wanted = target.clone();
        let mut op = TokenOrSilent::for_target(force, target);
        let s = drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await?;
        s.token_for(wanted.as_ref())
            .map(|(t, ..)| String::from(t.secret()))
            .ok_or(Error::LoginRequired)
    }

    /// Ends the session (see [`Logout`]). `return_to` is resolved against the page.
    /// `Ok(true)`: the page is now on its way to the provider (or `return_to`).
    pub async fn logout(&self, return_to: Option<String>, local_only: bool) -> Result<bool, Error> {
        let base = self.shared.host.current_url().unwrap_or_default();
        let return_to = return_to.map(|u| {
            web_sys::Url::new_with_base(&u, &base)
                .map(|u| u.href())
                .unwrap_or(u)
        });
        let mut op = Logout::start(return_to, local_only);
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
    }

    /// Calls the UserInfo endpoint (OIDC Core §5.3); its `sub` must equal the
    /// ID token's. Returns the claims as JSON text.
    pub async fn user_info(&self) -> Result<String, Error> {
        let mut op = UserInfo::start();
        drive(&self.shared, Slots::new(), move |st, h, o| {
            op.resume(st, h, o)
        })
        .await
    }

    /// `fetch` with the access token for the configured API origins only (see [`Fetch`]).
    pub async fn fetch(&self, request: Request) -> Result<Response, Error> {
        let mut slots = Slots::new();
        // Cloned before the body is consumed, so the request can be replayed.
        slots.replay = request.clone().ok();
        let has_auth = request.headers().has("authorization").unwrap_or(false);
        let mut op = Fetch::start(
            &request.url(),
            &request.method(),
            has_auth,
            slots.replay.is_some(),
        );
        slots.request = Some(request);
        let mut guard = Guard {
            host: &self.shared.host,
            slots,
        };
        let mut input = Outcome::Start;
        loop {
            match run(&self.shared, &mut guard.slots, input, &mut |st, h, o| {
                op.resume(st, h, o)
            }) {
                Run::Done(r) => {
                    r?;
                    return guard.slots.response.take().ok_or(Error::Network);
                }
                Run::Wait(p, pending) => {
                    let r = JsFuture::from(p).await;
                    input = settle(pending, r, &self.shared.host, &mut guard.slots);
                }
            }
        }
    }

    /// Registers `handler` for `event` (`tokensRefreshed`, `sessionExpired`,
    /// `loggedOut`, `error`); returns an id for [`Client::off`].
    pub fn on(&self, event: &str, handler: Listener) -> Result<u32, Error> {
        self.shared.host.on(event, handler)
    }

    /// Removes a handler.
    pub fn off(&self, id: u32) {
        self.shared.host.off(id);
    }
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Client")
    }
}
