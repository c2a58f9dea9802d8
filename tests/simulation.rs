//! The simulation tier (`cargo test`): the flows of `core::flow` against a
//! fake provider, shared storage, several tabs and injected faults. One
//! test per reliability behaviour, then property tests over interleavings of
//! logins, refreshes, logouts, reloads, faults and storage failures:
//! no refresh token presented twice, no session lost unless the provider
//! said `invalid_grant`, no session after logout.
#![cfg(not(target_arch = "wasm32"))]

mod sim;

use pkce_wasm::core::config::{CacheLocation, Endpoints, LoginOptions, StepUpMode};
use pkce_wasm::core::flow::{
    sso_key, AccessToken, Area, Callback, Create, Effect, Fetch, Host, Login, Logout, Outcome,
    PopupLogin, SilentLogin, Step, TokenOrSilent, UserInfo, Wake, STORAGE,
};
use pkce_wasm::core::session::decode_record;
use pkce_wasm::core::Error;
use proptest::prelude::*;
use sim::*;

fn logged_in(tabs: usize, cache: CacheLocation) -> Sim {
    let mut s = Sim::new(tabs, cache);
    assert!(matches!(s.login(0), Done::Callback(Ok(_))), "login");
    s.propagate();
    s
}

fn stored_refresh_token(s: &Sim, tab: usize, key: &str) -> Option<String> {
    let w = s.world.borrow();
    let text = w.tabs[tab]
        .local_view
        .get(key)
        .or(w.tabs[tab].session.get(key))?;
    decode_record(text)?
        .session?
        .tokens
        .refresh_token
        .map(|r| r.secret().to_string())
}

fn session_key(s: &Sim) -> String {
    pkce_wasm::core::flow::session_key(&s.clients[0].ns)
}

fn live(s: &Sim) -> Vec<String> {
    s.world.borrow().provider.live_refresh_tokens()
}

// ---- 1. write-ahead --------------------------------------------------------

#[test]
fn a_rotated_refresh_token_is_kept_when_the_id_token_check_times_out() {
    let mut s = logged_in(1, CacheLocation::LocalStorage);
    // A reload drops the page's JWKS cache: the refreshed ID token needs a fetch, which times out.
    s.reload(0);
    s.fault(Some(JWKS), Fault::Timeout);
    match s.token(0, true) {
        Done::Session(Err(Error::Timeout)) => {}
        other => panic!("{other:?}"),
    }
    let key = session_key(&s);
    assert_eq!(
        stored_refresh_token(&s, 0, &key).as_deref(),
        live(&s).first().map(String::as_str),
        "storage holds the provider's live refresh token"
    );
    // The retry, once the JWKS answers again, succeeds without a new login.
    assert!(matches!(s.token(0, true), Done::Session(Ok(_))));
    assert!(s.presented_twice().is_empty(), "{:?}", s.presented_twice());
    assert_eq!(s.world.borrow().provider.invalid_grant_answers, 0);
}

#[test]
fn a_rotated_refresh_token_is_kept_when_another_field_is_invalid() {
    let mut s = logged_in(1, CacheLocation::SessionStorage);
    s.fault(Some(TOKEN), Fault::StringExpiry);
    match s.token(0, true) {
        Done::Session(Err(e)) => assert_eq!(e.code(), "invalid_token_response"),
        other => panic!("{other:?}"),
    }
    // The old access token is still the one handed out; the new refresh token is stored.
    let key = session_key(&s);
    assert_eq!(stored_refresh_token(&s, 0, &key), live(&s).first().cloned());
    assert!(matches!(s.token(0, true), Done::Session(Ok(_))));
    assert!(s.presented_twice().is_empty());
}

#[test]
fn a_callback_whose_jwks_times_out_completes_on_retry_without_a_new_login() {
    let mut s = Sim::new(1, CacheLocation::SessionStorage);
    let url = s.begin_login(0);
    let cb = s.world.borrow_mut().provider.authorize(&url);
    s.fault(Some(JWKS), Fault::Timeout);
    match s.callback(0, &cb) {
        Done::Callback(Err(Error::Timeout)) => {}
        other => panic!("{other:?}"),
    }
    assert!(!s.authenticated(0), "unvalidated tokens are not handed out");
    assert_eq!(
        s.world.borrow().tabs[0].url,
        cb,
        "the callback stays in the address bar for a retry"
    );
    let requests = s.world.borrow().provider.token_requests;
    match s.callback(0, &cb) {
        Done::Callback(Ok(r)) => assert!(r.claims.is_some()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.world.borrow().provider.token_requests,
        requests,
        "the code is not sent twice"
    );
    assert!(s.authenticated(0));
    assert_eq!(
        s.world.borrow().tabs[0].url,
        format!("{APP}/cb"),
        "cleaned after success"
    );
    // And now it is a replay.
    match s.callback(0, &cb) {
        Done::Callback(Err(Error::CallbackReplayed)) => {}
        other => panic!("{other:?}"),
    }
}

/// Issue 15: React StrictMode runs the callback effect twice at once. Both
/// calls get the same result from one attempt: one token request, one
/// session; a third call after they ended is a replay, as before.
#[test]
fn two_callbacks_for_one_url_at_once_share_one_attempt() {
    let mut s = Sim::new(1, CacheLocation::SessionStorage);
    let url = s.begin_login(0);
    let cb = s.world.borrow_mut().provider.authorize(&url);
    s.world.borrow_mut().tabs[0].url = cb.clone();
    let before = s.world.borrow().provider.token_requests;
    let a = s.start(0, Op::Callback(Callback::start(&cb)), "first");
    let b = s.start(0, Op::Callback(Callback::start(&cb)), "second");
    s.settle();
    let result = |s: &mut Sim, id: u64| {
        let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
        match s.finished.remove(pos).3 {
            Done::Callback(Ok(r)) => r,
            other => panic!("{other:?}"),
        }
    };
    let (ra, rb) = (result(&mut s, a), result(&mut s, b));
    assert_eq!(
        s.world.borrow().provider.token_requests,
        before + 1,
        "one token request"
    );
    assert_eq!(ra.tokens, rb.tokens, "the same result for both");
    assert_eq!(ra.claims, rb.claims);
    assert!(s.authenticated(0));
    assert_eq!(s.world.borrow().tabs[0].url, format!("{APP}/cb"), "cleaned");
    match s.callback(0, &cb) {
        Done::Callback(Err(Error::CallbackReplayed)) => {}
        other => panic!("{other:?}"),
    }
}

/// Issue 15: a callback whose login this tab never started (or lost) is told
/// apart from one whose state matches none of the logins it did start.
#[test]
fn no_pending_login_and_state_mismatch_are_told_apart() {
    let mut s = Sim::new(2, CacheLocation::SessionStorage);
    let url = s.begin_login(0);
    let cb = s.world.borrow_mut().provider.authorize(&url);
    // Tab 1 started nothing: the login is tab 0's.
    match s.callback(1, &cb) {
        Done::Callback(Err(Error::NoPendingLogin)) => {}
        other => panic!("{other:?}"),
    }
    // Tab 1 starts a login of its own; the other tab's callback now matches none of its logins.
    let _ = s.begin_login(1);
    match s.callback(1, &cb) {
        Done::Callback(Err(Error::StateMismatch)) => {}
        other => panic!("{other:?}"),
    }
    // The tab that started it completes it.
    assert!(matches!(s.callback(0, &cb), Done::Callback(Ok(_))));
}

/// Issue 15: with localStorage a login, a refresh and a logout in one tab
/// reach the other (a message on the client's channel, then a re-read): its
/// app gets `loggedIn`, `tokensRefreshed`, `loggedOut` as if they had
/// happened there, once each.
#[test]
fn a_login_refresh_and_logout_in_one_tab_reach_the_other_with_local_storage() {
    let mut s = Sim::new(2, CacheLocation::LocalStorage);
    let seen = |s: &Sim, e: &str| s.events(1).iter().filter(|n| n.as_str() == e).count();
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    assert!(
        s.events(0).contains(&"loggedIn".to_string()),
        "the tab that logged in: {:?}",
        s.events(0)
    );
    s.propagate();
    assert!(s.deliver_broadcasts() > 0);
    assert_eq!(seen(&s, "loggedIn"), 1, "{:?}", s.events(1));
    assert!(matches!(s.token(0, true), Done::Session(Ok(_))));
    s.propagate();
    s.deliver_broadcasts();
    assert_eq!(seen(&s, "tokensRefreshed"), 1, "{:?}", s.events(1));
    // Another user logs in over the session: a login, not a refresh, there.
    s.world.borrow_mut().provider.sub = "bob".into();
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.propagate();
    s.deliver_broadcasts();
    assert_eq!(seen(&s, "loggedIn"), 2, "{:?}", s.events(1));
    assert_eq!(seen(&s, "tokensRefreshed"), 1, "{:?}", s.events(1));
    assert!(matches!(s.logout(0), Done::Unit(Ok(()))));
    s.propagate();
    s.deliver_broadcasts();
    assert_eq!(seen(&s, "loggedOut"), 1, "{:?}", s.events(1));
    assert!(!s.authenticated(1));
    // A message heard twice (the channel and the storage event) tells nothing twice.
    let host = s.host(1);
    let key = pkce_wasm::core::flow::session_key(&s.clients[1].ns);
    s.clients[1].tab_message(&host, &format!("{STORAGE}{key}"));
    assert_eq!(seen(&s, "loggedOut"), 1);
    assert_eq!(seen(&s, "loggedIn"), 2);
    // A storage key that merely looks like a message is no message.
    for fake in ["o", "s"] {
        s.clients[1].tab_message(&host, &format!("{STORAGE}{fake}"));
    }
    assert_eq!(seen(&s, "loggedOut"), 1);
}

/// Issue 15: with memory (or sessionStorage) each tab has its own login; a
/// logout in one ends the other's too: its tokens dropped, its refresh token
/// revoked at the provider, `loggedOut` there.
#[test]
fn a_logout_in_one_tab_ends_the_other_tabs_own_session_with_memory() {
    let mut s = Sim::new(2, CacheLocation::Memory);
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    assert!(matches!(s.login(1), Done::Callback(Ok(_))));
    s.deliver_broadcasts();
    let other_rt = s.session(1).and_then(|x| x.tokens.refresh_token).unwrap();
    assert!(
        s.authenticated(1),
        "a login elsewhere does not touch this tab's"
    );
    assert!(matches!(s.logout(0), Done::Unit(Ok(()))));
    assert!(s.deliver_broadcasts() > 0);
    assert!(!s.authenticated(1), "the other tab's session ended too");
    assert!(
        s.events(1).contains(&"loggedOut".to_string()),
        "{:?}",
        s.events(1)
    );
    assert!(
        !s.world
            .borrow()
            .provider
            .live_refresh_tokens()
            .contains(&other_rt.secret().to_string()),
        "its refresh token revoked"
    );
    // Its own logout tells tab 0, which has nothing left to end: no loop.
    assert_eq!(s.deliver_broadcasts(), 0);
}

/// Issue 15: a login in a popup. The popup's callback page (another tab,
/// without the transaction) hands the response to the opener, which runs
/// the callback a redirect runs and holds the session; a closed popup is
/// `popup_closed`; one popup login at a time.
#[test]
fn a_popup_login_completes_in_the_page_that_opened_it() {
    let mut s = Sim::new(2, CacheLocation::Memory);
    let n = s.clients[0].claim_popup();
    let before = s.world.borrow().provider.token_requests;
    let id = s.start(
        0,
        Op::Popup(PopupLogin::start(n, LoginOptions::default(), 300_000)),
        "popup",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i); // sending the popup to the provider
    }
    assert_eq!(s.running.len(), 1, "waiting for the popup");
    let sent = s
        .world
        .borrow()
        .popup_url
        .clone()
        .expect("the popup went to the provider");
    assert!(sent.contains("state=p."), "a popup's state");
    // The provider sends the popup back to the app's redirect page: tab 1 here.
    let cb = s.world.borrow_mut().provider.authorize(&sent);
    match s.callback(1, &cb) {
        Done::Callback(Err(Error::PopupResponseSent)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.world.borrow().provider.token_requests,
        before,
        "the popup sends no token request"
    );
    assert!(!s.authenticated(1));
    s.settle();
    let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
    match s.finished.remove(pos).3 {
        Done::Callback(Ok(r)) => assert!(r.claims.is_some()),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.world.borrow().provider.token_requests, before + 1);
    assert!(s.authenticated(0), "the opener holds the session");
    assert_eq!(s.clients[0].popup, None);

    // Closed by the user: popup_closed, and the popup is let go.
    s.world.borrow_mut().popup_closed = true;
    let n = s.clients[0].claim_popup();
    match s.run(
        0,
        Op::Popup(PopupLogin::start(n, LoginOptions::default(), 300_000)),
        "closed",
    ) {
        Done::Callback(Err(Error::PopupClosed)) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.world.borrow().popup_url.is_none());
    let keys = s.host(0).keys(Area::Session).unwrap();
    assert!(
        !keys.iter().any(|k| k.starts_with("pkce-wasm.tx.")),
        "no transaction left behind: {keys:?}"
    );
    assert_eq!(s.clients[0].popup, None);

    // An answer whose URL carries another state is not taken, whatever it claims.
    s.world.borrow_mut().popup_closed = false;
    let n = s.clients[0].claim_popup();
    let id = s.start(
        0,
        Op::Popup(PopupLogin::start(n, LoginOptions::default(), 300_000)),
        "forged",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let sent = s.world.borrow().popup_url.clone().unwrap();
    let state = sent
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap()
        .to_string();
    let forged = format!("{APP}/cb?code=x&state=p.other&iss={ISS}");
    let channel = format!("pkce-wasm.popup.{}", s.clients[0].ns);
    s.world
        .borrow_mut()
        .popup_messages
        .push((channel, state, forged));
    s.settle();
    let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
    match s.finished.remove(pos).3 {
        Done::Callback(Err(Error::StateMismatch)) => {}
        other => panic!("{other:?}"),
    }

    // A popup login replaced by a newer one ends touching nothing.
    let old = s.clients[0].claim_popup();
    let _new = s.clients[0].claim_popup();
    match s.run(
        0,
        Op::Popup(PopupLogin::start(old, LoginOptions::default(), 300_000)),
        "old",
    ) {
        Done::Callback(Err(Error::PopupReplaced)) => {}
        other => panic!("{other:?}"),
    }
}

/// Issue 15: silent authentication. The provider's answer comes back to the
/// silent redirect page in a hidden iframe (another client in the same tab:
/// it shares the tab's sessionStorage), which hands it over without touching
/// the transaction; the embedding page runs the callback; two calls at once
/// share one iframe; the iframe is removed however it ends.
#[test]
fn a_silent_login_completes_in_the_page_that_embeds_its_iframe() {
    let mut s = Sim::new(1, CacheLocation::Memory);
    let frame = s.add_client(0, config(CacheLocation::Memory)).unwrap();
    let before = s.world.borrow().provider.token_requests;
    let a = s.start(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "a",
    );
    let b = s.start(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "b",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    assert_eq!(s.running.len(), 2, "both waiting");
    let sent = s.world.borrow().frame_url.clone().expect("an iframe");
    assert!(
        sent.contains("prompt=none") && sent.contains("state=s."),
        "{sent}"
    );
    let cb = s.world.borrow_mut().provider.authorize(&sent);
    // The iframe's page hands the response over and leaves the transaction.
    match s.run(frame, Op::Callback(Callback::start(&cb)), "iframe") {
        Done::Callback(Err(Error::SilentResponseSent)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.world.borrow().provider.token_requests, before);
    s.settle();
    let mut tokens = Vec::new();
    for id in [a, b] {
        let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
        match s.finished.remove(pos).3 {
            Done::Callback(Ok(r)) => tokens.push(r.tokens.access_token.secret().to_string()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(tokens[0], tokens[1], "one result for both calls");
    assert_eq!(
        s.world.borrow().provider.token_requests,
        before + 1,
        "one token request"
    );
    assert!(s.authenticated(0));
    assert!(
        s.world.borrow().frame_url.is_none(),
        "the iframe is removed"
    );
    let ns = s.clients[0].ns.clone();
    assert_eq!(
        s.host(0)
            .get(Area::Local, &sso_key(&ns))
            .unwrap()
            .as_deref(),
        Some(s.world.borrow().now.to_string().as_str()),
        "the mark: when this browser logged in there"
    );

    // No session at the provider: its error, typed, and (same site) the mark goes.
    let answer = |s: &mut Sim, client: usize, error: &str| {
        let id = s.start(
            client,
            Op::Silent(SilentLogin::start(LoginOptions::default())),
            "no",
        );
        while let Some(&i) = s.ready_list().first() {
            s.complete(i);
        }
        let sent = s.world.borrow().frame_url.clone().expect("an iframe");
        let state = sent
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("state="))
            .unwrap()
            .to_string();
        let cb = format!("{APP}/cb?error={error}&state={state}&iss=https%3A%2F%2Fidp.example.com");
        let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
        s.settle();
        let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
        assert!(
            s.world.borrow().frame_url.is_none(),
            "the iframe is removed"
        );
        s.finished.remove(pos).3
    };
    for code in ["interaction_required", "consent_required", "login_required"] {
        match answer(&mut s, 0, code) {
            Done::Callback(Err(e)) => assert_eq!(e.code(), code),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(s.host(0).get(Area::Local, &sso_key(&ns)).unwrap(), None);

    // The provider on another site: login_required after a login here is the
    // browser hiding its cookies; without one it is the provider's word.
    let mut c = config(CacheLocation::Memory);
    if let Endpoints::Given(m) = &mut c.endpoints {
        m.authorization_endpoint = "https://login.idp.example.org/auth".into();
    }
    let cross = s.add_client(0, c).unwrap();
    let ns = s.clients[cross].ns.clone();
    match answer(&mut s, cross, "login_required") {
        Done::Callback(Err(e)) => assert_eq!(e.code(), "login_required"),
        other => panic!("{other:?}"),
    }
    let now = s.world.borrow().now;
    s.host(0)
        .set(Area::Local, &sso_key(&ns), &now.to_string())
        .unwrap();
    match answer(&mut s, cross, "login_required") {
        Done::Callback(Err(Error::ThirdPartyCookiesBlocked)) => {}
        other => panic!("{other:?}"),
    }
    // A login long ago: the provider's session may simply have ended.
    let old = now - 13 * 3600 * 1000;
    s.host(0)
        .set(Area::Local, &sso_key(&ns), &old.to_string())
        .unwrap();
    match answer(&mut s, cross, "login_required") {
        Done::Callback(Err(e)) => assert_eq!(e.code(), "login_required"),
        other => panic!("{other:?}"),
    }
    // Once a silent login worked across the sites, the cookies get through:
    // a later login_required is the provider's word (and the mark goes).
    let id = s.start(
        cross,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "ok",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let sent = s.world.borrow().frame_url.clone().expect("an iframe");
    let cb = s.world.borrow_mut().provider.authorize(&sent);
    let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
    s.settle();
    assert!(s
        .finished
        .iter()
        .any(|(i, _, _, d)| *i == id && d.err().is_none()));
    assert_eq!(
        s.host(0)
            .get(Area::Local, &sso_key(&ns))
            .unwrap()
            .as_deref(),
        Some("ok")
    );
    match answer(&mut s, cross, "login_required") {
        Done::Callback(Err(e)) => assert_eq!(e.code(), "login_required"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.host(0).get(Area::Local, &sso_key(&ns)).unwrap(), None);
    s.host(0)
        .set(Area::Local, &sso_key(&ns), &now.to_string())
        .unwrap();
    match answer(&mut s, cross, "interaction_required") {
        Done::Callback(Err(e)) => assert_eq!(e.code(), "interaction_required"),
        other => panic!("{other:?}"),
    }

    // The provider never answers: silent_timeout, the iframe removed.
    s.world.borrow_mut().frame_silent = true;
    match s.run(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "hang",
    ) {
        Done::Callback(Err(Error::SilentTimeout)) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.world.borrow().frame_url.is_none());
    let txs = |s: &Sim| {
        let keys = s.host(0).keys(Area::Session).unwrap();
        keys.iter()
            .filter(|k| k.starts_with("pkce-wasm.tx."))
            .count()
    };
    assert_eq!(txs(&s), 0, "no transaction left behind");

    // A call whose driver was dropped (a Rust future) is not waited for
    // past its time: a later call makes its own iframe.
    s.world.borrow_mut().frame_silent = false;
    let dropped = s.start(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "dropped",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    s.running.retain(|r| r.id != dropped);
    s.world.borrow_mut().frame_url = None;
    s.world.borrow_mut().advance(60_000);
    let later = s.start(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "later",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    assert!(
        s.world.borrow().frame_url.is_some(),
        "its own iframe, not a wait on the dropped one"
    );
    s.running.retain(|r| r.id != later);
    s.clients[0].silent = None;

    // A call that asks for something else does not take another's answer:
    // it goes once that one ended, with its own iframe.
    let a = s.start(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "a",
    );
    let hinted = LoginOptions {
        extra_params: vec![("login_hint".into(), "bob".into())],
        ..LoginOptions::default()
    };
    let b = s.start(0, Op::Silent(SilentLogin::start(hinted)), "b");
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let first = s.world.borrow().frame_url.clone().expect("one iframe");
    assert!(!first.contains("login_hint"));
    let cb = s.world.borrow_mut().provider.authorize(&first);
    let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    assert!(s.finished.iter().any(|(i, ..)| *i == a));
    assert!(
        !s.finished.iter().any(|(i, ..)| *i == b),
        "b did not take a's answer"
    );
    let second = s.world.borrow().frame_url.clone().expect("b's own iframe");
    assert!(second.contains("login_hint=bob"), "{second}");
    let cb = s.world.borrow_mut().provider.authorize(&second);
    let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
    s.settle();
    assert!(s
        .finished
        .iter()
        .any(|(i, _, _, d)| *i == b && d.err().is_none()));
    s.finished.clear();

    // A logout while the iframe is out wins: the answer stores nothing.
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    let id = s.start(
        0,
        Op::Silent(SilentLogin::start(LoginOptions::default())),
        "raced",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let sent = s.world.borrow().frame_url.clone().expect("an iframe");
    assert!(matches!(s.logout(0), Done::Unit(Ok(()))));
    let cb = s.world.borrow_mut().provider.authorize(&sent);
    let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
    s.settle();
    let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
    match s.finished.remove(pos).3 {
        Done::Callback(Err(Error::LoginRequired)) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.session(0).is_none(), "logout wins");

    // The caller's own prompt is refused before anything starts.
    let o = LoginOptions {
        extra_params: vec![("prompt".into(), "login".into())],
        ..LoginOptions::default()
    };
    match s.run(0, Op::Silent(SilentLogin::start(o)), "prompt") {
        Done::Callback(Err(Error::InvalidConfig(_))) => {}
        other => panic!("{other:?}"),
    }
}

/// Issue 15: `silentFallback`. A session without a refresh token that is
/// due is renewed by a silent login instead of ending; the provider's
/// refusal ends it as an expiry does (and is the answer); a silent login
/// that times out keeps it. Without the option nothing changes.
#[test]
fn without_a_refresh_token_get_access_token_falls_back_to_a_silent_login() {
    let mut s = Sim::new(1, CacheLocation::Memory);
    let frame = s.add_client(0, config(CacheLocation::Memory)).unwrap();
    s.world.borrow_mut().provider.no_refresh_token = true;
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.clients[0].config.silent_fallback = true;
    let old = s
        .session(0)
        .unwrap()
        .tokens
        .access_token
        .secret()
        .to_string();
    assert!(s.session(0).unwrap().tokens.refresh_token.is_none());

    // The provider still has a session: new tokens, without a redirect.
    let renew = |s: &mut Sim, answer: Option<&str>| {
        let id = s.start(0, Op::TokenOrSilent(TokenOrSilent::start(true)), "token");
        while let Some(&i) = s.ready_list().first() {
            s.complete(i);
        }
        let sent = s.world.borrow().frame_url.clone();
        if let Some(sent) = sent {
            let cb = match answer {
                None => s.world.borrow_mut().provider.authorize(&sent),
                Some(error) => {
                    let state = sent
                        .split(['?', '&'])
                        .find_map(|p| p.strip_prefix("state="))
                        .unwrap();
                    format!(
                        "{APP}/cb?error={error}&state={state}&iss=https%3A%2F%2Fidp.example.com"
                    )
                }
            };
            let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
        }
        s.settle();
        let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
        s.finished.remove(pos).3
    };
    let before = s.world.borrow().provider.token_requests;
    match renew(&mut s, None) {
        Done::Session(Ok(new)) => assert_ne!(new.tokens.access_token.secret(), old),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.world.borrow().provider.token_requests, before + 1);
    assert!(s.authenticated(0));

    // It times out: the session stays.
    s.world.borrow_mut().frame_silent = true;
    match renew(&mut s, None) {
        Done::Session(Err(Error::SilentTimeout)) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.session(0).is_some(), "kept");
    s.world.borrow_mut().frame_silent = false;

    // The provider refuses: the session ends as an expiry ends it.
    match renew(&mut s, Some("login_required")) {
        Done::Session(Err(e)) => assert_eq!(e.code(), "login_required"),
        other => panic!("{other:?}"),
    }
    assert!(s.session(0).is_none());
    assert!(
        s.events(0).contains(&"sessionExpired".to_string()),
        "{:?}",
        s.events(0)
    );

    // A session stored while the silent renewal was out is not the one the
    // provider refused: it stands.
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.world.borrow_mut().advance(AT_TTL_S * 1000);
    let id = s.start(0, Op::TokenOrSilent(TokenOrSilent::start(false)), "renew");
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let sent = s.world.borrow().frame_url.clone().expect("an iframe");
    assert!(
        matches!(s.login(0), Done::Callback(Ok(_))),
        "a new login meanwhile"
    );
    let fresh = s
        .session(0)
        .unwrap()
        .tokens
        .access_token
        .secret()
        .to_string();
    let state = sent
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap()
        .to_string();
    let cb =
        format!("{APP}/cb?error=login_required&state={state}&iss=https%3A%2F%2Fidp.example.com");
    let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
    s.settle();
    let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
    match s.finished.remove(pos).3 {
        Done::Session(Ok(got)) => assert_eq!(got.tokens.access_token.secret(), fresh),
        other => panic!("{other:?}"),
    }
    assert!(s.session(0).is_some(), "the new session stands");

    // In the background (autoRefresh): renewed silently when due, not ended.
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.clients[0].config.auto_refresh = true;
    s.world.borrow_mut().advance(AT_TTL_S * 1000);
    let old = s
        .session(0)
        .unwrap()
        .tokens
        .access_token
        .secret()
        .to_string();
    let wake = s.start(0, Op::Wake(Wake::start()), "wake");
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let sent = s
        .world
        .borrow()
        .frame_url
        .clone()
        .expect("renewed through the iframe");
    let cb = s.world.borrow_mut().provider.authorize(&sent);
    let _ = s.run(frame, Op::Callback(Callback::start(&cb)), "iframe");
    s.settle();
    assert!(s.finished.iter().any(|(i, ..)| *i == wake));
    let new = s
        .session(0)
        .expect("the session stays")
        .tokens
        .access_token
        .secret()
        .to_string();
    assert_ne!(new, old);
    s.clients[0].config.auto_refresh = false;

    // Without the option: the session ends at once, no iframe.
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.clients[0].config.silent_fallback = false;
    match renew(&mut s, None) {
        Done::Session(Err(Error::LoginRequired)) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.world.borrow().frame_url.is_none());
}

/// Issue 16: tokens for several APIs (RFC 8707) from one refresh token. A
/// resource's token comes from the refresh grant with its `resource` and
/// scope, is kept beside the session's own, is reused until due, and the
/// refresh token it rotated serves the next resource, in any tab; `fetch`
/// sends each API its own token and nothing to anyone else.
#[test]
fn one_refresh_token_serves_several_apis_each_with_its_own_token() {
    use pkce_wasm::core::config::ResourceRule;
    use pkce_wasm::core::session::Target;
    let target = |r: &str, sc: &str| Target {
        resource: r.into(),
        scope: sc.into(),
    };
    let (a, b) = (
        target("urn:api:a", "a:read"),
        target("https://api-b.example/", "b:read"),
    );
    let mut s = Sim::new(2, CacheLocation::LocalStorage);
    for st in &mut s.clients {
        st.config.resources = vec![
            ResourceRule {
                prefix: "https://api-a.example".into(),
                target: a.clone(),
            },
            ResourceRule {
                prefix: "https://api-b.example/v1/".into(),
                target: b.clone(),
            },
        ];
    }
    // The login asks for both resources and their scopes.
    let url = match s.run(
        0,
        Op::Login(Login::start(LoginOptions::default(), false)),
        "login",
    ) {
        Done::Url(Ok(u)) => u,
        other => panic!("{other:?}"),
    };
    assert!(
        url.contains("resource=urn%3Aapi%3Aa")
            && url.contains("resource=https%3A%2F%2Fapi-b.example%2F"),
        "{url}"
    );
    assert!(
        url.contains("a%3Aread") && url.contains("b%3Aread"),
        "{url}"
    );
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.propagate();
    let main = s
        .session(0)
        .unwrap()
        .tokens
        .access_token
        .secret()
        .to_string();

    let token = |s: &mut Sim, tab: usize, t: &Target| match s.run(
        tab,
        Op::Token(AccessToken::for_target(false, Some(t.clone()))),
        "token",
    ) {
        Done::Session(Ok(session)) => session.token_for(Some(t)).unwrap().0.secret().to_string(),
        other => panic!("{other:?}"),
    };
    let ta = token(&mut s, 0, &a);
    assert!(ta.starts_with("urn:api:a#"), "{ta}");
    assert_eq!(
        s.world.borrow().provider.resource_requests,
        [("urn:api:a".into(), Some("a:read".into()))]
    );
    assert_eq!(token(&mut s, 0, &a), ta, "kept until due");
    assert_eq!(s.world.borrow().provider.resource_requests.len(), 1);
    s.propagate();
    // The other tab: B's token with the refresh token A's refresh rotated.
    let tb = token(&mut s, 1, &b);
    assert!(tb.starts_with("https://api-b.example/#"), "{tb}");
    s.propagate();
    let session = s.session(0).unwrap();
    assert_eq!(
        session.tokens.access_token.secret(),
        main,
        "the session's own token stays"
    );
    assert_eq!(session.token_for(Some(&a)).unwrap().0.secret(), ta);
    assert!(s.presented_twice().is_empty());
    assert_eq!(s.world.borrow().provider.reuse_detected, 0);

    // fetch: each API its own token; the page's origin the session's; others nothing.
    for (url, sent) in [
        ("https://api-a.example/items?x=1", Some(&ta)),
        ("https://api-b.example/v1/things", Some(&tb)),
        (&format!("{APP}/me") as &str, Some(&main)),
        ("https://api-b.example/v2/other", None),
        ("https://api-a.example.evil.test/", None),
    ] {
        let before = s.world.borrow().app_auths.len();
        let _ = s.run(0, Op::Fetch(Fetch::start(url, "GET", false, true)), "fetch");
        let auth = s.world.borrow().app_auths[before].clone();
        assert_eq!(auth, sent.map(|t| format!("Bearer {t}")), "{url}");
    }
    // A resource the login did not ask for: refused before the provider is
    // asked (a provider may spend the refresh token before it refuses).
    let asked = s.world.borrow().provider.token_requests;
    let other = target("urn:api:other", "");
    match s.run(
        0,
        Op::Token(AccessToken::for_target(false, Some(other))),
        "other",
    ) {
        Done::Session(Err(Error::ResourceNotGranted(r))) => assert_eq!(r, "urn:api:other"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.world.borrow().provider.token_requests, asked);
    assert!(s.authenticated(0), "the session stays");

    // Due again: renewed the same way, the others kept.
    s.world.borrow_mut().advance(AT_TTL_S * 1000);
    let ta2 = token(&mut s, 0, &a);
    assert_ne!(ta2, ta);
    assert_eq!(
        s.session(0)
            .unwrap()
            .token_for(Some(&b))
            .unwrap()
            .0
            .secret(),
        tb
    );

    // A login asking for one more resource keeps the configured ones (and
    // what the grant covers): the grant never narrows.
    let o = LoginOptions {
        extra_params: vec![("resource".into(), "urn:api:more".into())],
        ..LoginOptions::default()
    };
    let url = match s.run(0, Op::Login(Login::start(o, false)), "login") {
        Done::Url(Ok(u)) => u,
        other => panic!("{other:?}"),
    };
    for r in [
        "urn%3Aapi%3Amore",
        "urn%3Aapi%3Aa",
        "https%3A%2F%2Fapi-b.example%2F",
    ] {
        assert!(url.contains(&format!("resource={r}")), "{r} in {url}");
    }

    // A session without a refresh token: no API token, and the session stays.
    let mut s = Sim::new(1, CacheLocation::Memory);
    s.clients[0].config.resources = vec![ResourceRule {
        prefix: "https://api-a.example".into(),
        target: a.clone(),
    }];
    s.world.borrow_mut().provider.no_refresh_token = true;
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    match s.run(
        0,
        Op::Token(AccessToken::for_target(false, Some(a.clone()))),
        "no rt",
    ) {
        Done::Session(Err(Error::ResourceNotGranted(_))) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.session(0).is_some(), "the session stays");
}

/// Issue 16: `stepUp`. An API's step-up challenge (RFC 9470) makes `fetch`
/// log in again with its `acr_values` / `max_age` — in a popup, then the
/// request once more with the new session's token; by redirect, the page
/// leaves with the request named in `appState`. A provider that does not
/// deliver the `acr` asked for is refused and the session from before stays.
#[test]
fn fetch_steps_up_when_the_api_asks_for_it() {
    let challenge =
        r#"Bearer error="insufficient_user_authentication", acr_values="urn:mfa", max_age=0"#;
    let mut s = Sim::new(2, CacheLocation::Memory);
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.clients[0].config.step_up = StepUpMode::Popup;
    let before = s
        .session(0)
        .unwrap()
        .tokens
        .access_token
        .secret()
        .to_string();
    let step_up = |s: &mut Sim, acr: bool| {
        s.world.borrow_mut().provider.login_claims =
            acr.then_some(|c: String| c.replacen('{', r#"{"acr":"urn:mfa","#, 1));
        s.world.borrow_mut().api_answers = vec![(401, Some(challenge.to_string()))];
        let sent = s.world.borrow().app_auths.len();
        let id = s.start(
            0,
            Op::Fetch(Fetch::start(&format!("{APP}/admin"), "GET", false, true)),
            "fetch",
        );
        while let Some(&i) = s.ready_list().first() {
            s.complete(i);
        }
        let url = s
            .world
            .borrow()
            .popup_url
            .clone()
            .expect("the step-up popup");
        assert!(
            url.contains("acr_values=urn%3Amfa") && url.contains("max_age=0"),
            "{url}"
        );
        // The popup's page (tab 1) hands the answer over.
        let cb = s.world.borrow_mut().provider.authorize(&url);
        let _ = s.callback(1, &cb);
        s.settle();
        let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
        let auths = s.world.borrow().app_auths[sent..].to_vec();
        (s.finished.remove(pos).3, auths)
    };
    // Not delivered: refused, and the session from before stays.
    let (done, auths) = step_up(&mut s, false);
    assert!(
        matches!(done.err(), Some(Error::IdTokenAcrNotSatisfied)),
        "{done:?}"
    );
    assert_eq!(auths.len(), 1, "the request is not sent again");
    assert_eq!(s.session(0).unwrap().tokens.access_token.secret(), before);
    // Delivered: the request once more, with the new session's token.
    let (done, auths) = step_up(&mut s, true);
    assert!(done.err().is_none(), "{done:?}");
    assert_eq!(auths.len(), 2);
    let after = s
        .session(0)
        .unwrap()
        .tokens
        .access_token
        .secret()
        .to_string();
    assert_ne!(after, before);
    assert_eq!(
        auths[1].as_deref(),
        Some(format!("Bearer {after}").as_str())
    );
    // Asked again after the step-up: typed, no second login for one request.
    s.world.borrow_mut().api_answers =
        vec![(401, Some(challenge.into())), (401, Some(challenge.into()))];
    s.world.borrow_mut().popup_url = None;
    let id = s.start(
        0,
        Op::Fetch(Fetch::start(&format!("{APP}/admin"), "GET", false, true)),
        "again",
    );
    while let Some(&i) = s.ready_list().first() {
        s.complete(i);
    }
    let url = s.world.borrow().popup_url.clone().unwrap();
    let cb = s.world.borrow_mut().provider.authorize(&url);
    let _ = s.callback(1, &cb);
    s.settle();
    let pos = s.finished.iter().position(|(i, ..)| *i == id).unwrap();
    assert!(matches!(
        s.finished.remove(pos).3.err(),
        Some(Error::StepUpRequired(_))
    ));
    // The popup blocked (no user activation left): popup_blocked.
    s.world.borrow_mut().popup_refused = true;
    s.world.borrow_mut().api_answers = vec![(401, Some(challenge.into()))];
    match s.run(
        0,
        Op::Fetch(Fetch::start(&format!("{APP}/admin"), "GET", false, true)),
        "blocked",
    ) {
        Done::Unit(Err(Error::PopupBlocked)) => {}
        other => panic!("{other:?}"),
    }
    // By redirect: the page leaves for the provider, the request named in appState.
    s.clients[0].config.step_up = StepUpMode::Redirect;
    s.world.borrow_mut().api_answers = vec![(401, Some(challenge.into()))];
    match s.run(
        0,
        Op::Fetch(Fetch::start(&format!("{APP}/admin"), "GET", false, true)),
        "redirect",
    ) {
        Done::Unit(Err(Error::StepUpRequired(up))) => {
            assert_eq!(up.acr_values.as_deref(), Some("urn:mfa"))
        }
        other => panic!("{other:?}"),
    }
    let went = s.world.borrow().tabs[0].navigated.last().cloned().unwrap();
    assert!(went.contains("acr_values=urn%3Amfa"), "{went}");
    let cb = s.world.borrow_mut().provider.authorize(&went);
    s.world.borrow_mut().provider.login_claims =
        Some(|c: String| c.replacen('{', r#"{"acr":"urn:mfa","#, 1));
    match s.callback(0, &cb) {
        Done::Callback(Ok(r)) => assert_eq!(
            r.app_state.as_deref(),
            Some(r#"{"pkceWasmStepUp":{"url":"https://app.example.com/admin"}}"#)
        ),
        other => panic!("{other:?}"),
    }
}

// ---- 2. logout wins --------------------------------------------------------

#[test]
fn a_logout_during_a_refresh_in_the_same_tab_wins() {
    for cache in [
        CacheLocation::Memory,
        CacheLocation::SessionStorage,
        CacheLocation::LocalStorage,
    ] {
        let mut s = logged_in(1, cache);
        let refresh = s.start(0, Op::Token(AccessToken::start(true)), "refresh");
        // With localStorage the refresh holds the lock: let it reach the provider.
        while !matches!(
            s.running
                .iter()
                .find(|r| r.id == refresh)
                .map(|r| &r.effect),
            Some(Effect::Http(_))
        ) {
            let i = s.running.iter().position(|r| r.id == refresh).unwrap();
            s.complete(i);
        }
        // The logout starts (its tombstone is written at once) while the refresh is at the provider…
        let logout = s.start(0, Op::Logout(Logout::start(None, true)), "logout");
        // …and the provider answers the refresh first: it has rotated the refresh token.
        let i = s.running.iter().position(|r| r.id == refresh).unwrap();
        s.complete(i);
        s.settle();
        assert!(s
            .finished
            .iter()
            .any(|(id, _, _, d)| *id == logout && d.err().is_none()));
        let (_, _, _, done) = s.finished.iter().find(|(id, ..)| *id == refresh).unwrap();
        assert_eq!(done.err(), Some(&Error::LoginRequired), "{cache:?}");
        assert!(s.session(0).is_none(), "{cache:?}: no session after logout");
        assert!(!s.authenticated(0));
        let events = s.events(0);
        assert!(
            !events.contains(&"tokensRefreshed".to_string()),
            "{cache:?}: {events:?}"
        );
        assert!(
            live(&s).is_empty(),
            "{cache:?}: the refresh token the refresh got is revoked: {:?}",
            live(&s)
        );
    }
}

#[test]
fn a_logout_in_another_tab_wins_over_a_refresh_in_flight() {
    for lag in [false, true] {
        let mut s = logged_in(2, CacheLocation::LocalStorage);
        s.world.borrow_mut().lag = lag;
        s.start(0, Op::Token(AccessToken::start(true)), "refresh");
        // Tab 1 logs out while tab 0's refresh is at the provider.
        let logout = s.start(1, Op::Logout(Logout::start(None, true)), "logout");
        s.settle();
        s.propagate();
        assert!(s
            .finished
            .iter()
            .any(|(id, _, _, d)| *id == logout && d.err().is_none()));
        assert!(s.session(0).is_none(), "lag {lag}: tab 0 has no session");
        assert!(s.session(1).is_none(), "lag {lag}: tab 1 has no session");
        assert!(
            live(&s).is_empty(),
            "lag {lag}: every refresh token revoked: {:?}",
            live(&s)
        );
    }
}

#[test]
fn a_logout_in_another_tab_wins_over_a_login_callback_in_flight() {
    // Found by the multi-tab property: tab 0 logs out, then logs in again;
    // while its callback exchanges the code, tab 1 (which has seen the first
    // logout) logs out too. Tab 0's storage lags, so without the lock and the
    // marker its callback wrote the session over tab 1's tombstone, and
    // every tab that had not read the tombstone yet (tab 2) kept a session
    // after the logout.
    let mut s = logged_in(3, CacheLocation::LocalStorage);
    s.world.borrow_mut().lag = true;
    let o = play(
        &mut s,
        &[
            Action::Logout { tab: 0 },
            Action::Complete { pick: 0 },
            Action::Complete { pick: 0 },
            Action::Login { tab: 0 },
            Action::Logout { tab: 1 },
            Action::Complete { pick: 0 },
        ],
    );
    assert_eq!(o.logins.len(), 1);
    let callback = s
        .finished
        .iter()
        .find(|(_, _, label, _)| *label == "callback");
    assert!(
        matches!(
            callback,
            Some((_, _, _, Done::Callback(Err(Error::LoginRequired))))
        ),
        "the callback wrote a session despite the logout: {callback:?}"
    );
    check(&mut s, &o, 3).unwrap();
    for tab in 0..3 {
        assert!(
            s.session(tab).is_none(),
            "tab {tab} has a session after the logout"
        );
    }
    assert!(
        live(&s).is_empty(),
        "every refresh token revoked: {:?}",
        live(&s)
    );
}

// ---- refreshed ID tokens (OIDC Core §12.2; issue 13, item 2) ---------------

#[test]
fn a_refreshed_id_token_unlike_the_original_is_refused_and_the_session_kept() {
    type Edit = (&'static str, fn(String) -> String);
    let edits: [Edit; 5] = [
        ("another audience beside ours", |c| {
            c.replace(r#""aud":"spa""#, r#""aud":["spa","other"],"azp":"spa""#)
        }),
        ("an azp the original had not", |c| {
            c.replace(r#""aud":"spa""#, r#""aud":"spa","azp":"spa""#)
        }),
        ("a later auth_time", |c| {
            let i = c.find(r#""auth_time":"#).unwrap() + 12;
            let j = i + c[i..].find(|ch: char| !ch.is_ascii_digit()).unwrap();
            let t: u64 = c[i..j].parse().unwrap();
            format!("{}{}{}", &c[..i], t + 60, &c[j..])
        }),
        ("no auth_time although the original had one", |c| {
            let i = c.find(r#","auth_time":"#).unwrap();
            let j = i + 1 + c[i + 1..].find([',', '}']).unwrap();
            format!("{}{}", &c[..i], &c[j..])
        }),
        ("a nonce the original had not", |c| {
            c.replace(r#""sub":"#, r#""nonce":"other-login","sub":"#)
        }),
    ];
    for (label, edit) in edits {
        let mut s = logged_in(1, CacheLocation::SessionStorage);
        let before = s.session(0).unwrap().claims.unwrap();
        s.world.borrow_mut().provider.refresh_claims = Some(edit);
        match s.token(0, true) {
            Done::Session(Err(e)) => assert_eq!(e.code(), "id_token_refresh_mismatch", "{label}"),
            other => panic!("{label}: {other:?}"),
        }
        // The session stays, with its claims, and the rotated refresh token kept.
        let session = s.session(0).expect(label);
        assert_eq!(session.claims.as_ref(), Some(&before), "{label}");
        let key = session_key(&s);
        assert_eq!(
            stored_refresh_token(&s, 0, &key),
            live(&s).first().cloned(),
            "{label}"
        );
        s.world.borrow_mut().provider.refresh_claims = None;
        assert!(
            matches!(s.token(0, true), Done::Session(Ok(_))),
            "{label}: retry"
        );
        assert!(s.presented_twice().is_empty(), "{label}");
    }
}

/// A background refresh that keeps failing after the provider rotated the
/// refresh token (here: a refreshed ID token unlike the original) leaves a
/// due access token: the retry waits, backing off, instead of looping.
#[test]
fn a_failing_background_refresh_backs_off_instead_of_looping() {
    let mut c = config(CacheLocation::SessionStorage);
    c.auto_refresh = true;
    let mut s = Sim::with_config(1, c);
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    s.world.borrow_mut().provider.refresh_claims =
        Some(|c| c.replace(r#""aud":"spa""#, r#""aud":"spa","azp":"spa""#));
    s.advance_time(AT_TTL_S * 1000);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let before = s.world.borrow().provider.token_requests;
        assert!(s.run(0, Op::Wake(Wake::start()), "wake").err().is_none());
        assert_eq!(
            s.world.borrow().provider.token_requests,
            before + 1,
            "one request per wake"
        );
        let w = s.world.borrow();
        waits.push(w.tabs[0].timer.expect("a retry is scheduled") - w.now);
    }
    assert_eq!(waits, [5_000, 10_000, 20_000, 40_000]);
    assert!(
        s.events(0)
            .iter()
            .filter(|e| e.contains("id_token_refresh_mismatch"))
            .count()
            == 4
    );
    // Once the provider is right again, the next wake succeeds and the usual schedule returns.
    s.world.borrow_mut().provider.refresh_claims = None;
    assert!(s.run(0, Op::Wake(Wake::start()), "wake").err().is_none());
    let w = s.world.borrow();
    let next = w.tabs[0].timer.unwrap() - w.now;
    assert!(next > 60_000, "back to the expiry-based timer: {next}");
    assert!(s.presented_twice().is_empty());
}

#[test]
fn a_refresh_without_an_id_token_keeps_the_original_claims() {
    let mut s = logged_in(1, CacheLocation::SessionStorage);
    let before = s.session(0).unwrap();
    s.world.borrow_mut().provider.refresh_without_id_token = true;
    let after = match s.token(0, true) {
        Done::Session(Ok(after)) => after,
        other => panic!("{other:?}"),
    };
    assert_eq!(after.claims, before.claims);
    assert!(
        after.tokens.id_token.is_some(),
        "the original ID token is kept"
    );
    assert_ne!(
        after.tokens.access_token.secret(),
        before.tokens.access_token.secret()
    );
    assert_eq!(s.session(0).unwrap().claims, before.claims);
}

// ---- RP-initiated logout (issue 13, item 5) ---------------------------------

/// Without an end-session endpoint the SDK navigates to `returnTo` itself:
/// this origin, or a URL `postLogoutRedirectUris` lists, nothing else.
#[test]
fn logout_return_to_is_this_origin_or_listed_without_an_end_session_endpoint() {
    let mut c = config(CacheLocation::SessionStorage);
    c.post_logout_redirect_uris = vec!["https://www.example.com/bye".into()];
    let mut s = Sim::with_config(1, c);
    assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    for to in [
        "https://evil.example/phish",
        "https://app.example.com.evil.example/",
        "http://app.example.com/",
        "https://www.example.com/bye?next=https://evil.example",
    ] {
        let r = s.run(
            0,
            Op::Logout(Logout::start(Some(to.into()), false)),
            "logout",
        );
        assert_eq!(
            r.err().map(Error::code),
            Some("return_to_not_allowed"),
            "{to}"
        );
        assert!(
            s.session(0).is_some(),
            "{to}: refused before anything is cleared"
        );
    }
    assert!(s.world.borrow().tabs[0].navigated.is_empty());
    for to in [
        format!("{APP}/signed-out?x=1"),
        "https://www.example.com/bye".into(),
    ] {
        assert!(matches!(s.login(0), Done::Callback(Ok(_))));
        let r = s.run(
            0,
            Op::Logout(Logout::start(Some(to.clone()), false)),
            "logout",
        );
        assert!(r.err().is_none(), "{to}: {r:?}");
        assert_eq!(s.world.borrow().tabs[0].navigated.last(), Some(&to));
        assert!(s.session(0).is_none());
    }
}

// ---- bearer fetch and redirects (issue 13, item 4) --------------------------

/// A request that carries the access token is sent with redirects not
/// followed; a redirect answer is `api_redirect_refused`. Requests to other
/// origins (no token) keep the app's redirect mode.
#[test]
fn a_request_with_the_token_is_never_followed_through_a_redirect() {
    let mut c = config(CacheLocation::SessionStorage);
    c.api_origins = Some(vec!["https://api.example.com".into()]);
    for dpop in [false, true] {
        c.dpop = dpop;
        let mut s = Sim::with_config(1, c.clone());
        s.world.borrow_mut().provider.dpop = dpop;
        assert!(matches!(s.login(0), Done::Callback(Ok(_))));
        s.world.borrow_mut().api_redirects = true;
        let api = Fetch::start(
            "https://api.example.com/r?to=https://evil.example/",
            "GET",
            false,
            true,
        );
        let r = s.run(0, Op::Fetch(api), "fetch");
        assert_eq!(
            r.err().map(Error::code),
            Some("api_redirect_refused"),
            "dpop {dpop}"
        );
        let other = Fetch::start("https://cdn.example.net/x", "GET", false, true);
        assert!(s.run(0, Op::Fetch(other), "fetch").err().is_none());
        assert_eq!(
            s.world.borrow().app_requests,
            [(true, false), (false, true)],
            "dpop {dpop}: (our token, redirects followed) per request"
        );
    }
}

// ---- DPoP keys across tabs (issue 13, item 10) ------------------------------

/// With sessionStorage every tab has its own session, bound to its own key:
/// tab A logging out and in again (a new key, the old one discarded) leaves
/// tab B's refreshes working, before and after B reloads. A new login lets
/// go of the key of the session it replaces; keys of sessions whose tab
/// closed without a logout are let go beyond the newest 32.
#[test]
fn a_logout_and_login_in_one_tab_leave_another_tabs_dpop_session_bound_to_its_key() {
    let mut c = config(CacheLocation::SessionStorage);
    c.dpop = true;
    let mut s = Sim::with_config(2, c);
    s.world.borrow_mut().provider.dpop = true;
    assert!(matches!(s.login(0), Done::Callback(Ok(_))), "tab A logs in");
    assert!(matches!(s.login(1), Done::Callback(Ok(_))), "tab B logs in");
    let b_key = s.session(1).unwrap().dpop_key.unwrap();
    assert_ne!(
        s.session(0).unwrap().dpop_key.unwrap(),
        b_key,
        "a key per login"
    );
    assert!(s.logout(0).err().is_none());
    assert!(
        matches!(s.login(0), Done::Callback(Ok(_))),
        "tab A logs in again"
    );
    for round in ["before", "after"] {
        let r = s.token(1, true);
        assert!(
            r.err().is_none(),
            "tab B refreshes {round} its reload: {r:?}"
        );
        s.reload(1);
    }
    assert!(s.token(0, true).err().is_none(), "tab A's new session too");
    assert_eq!(s.world.borrow().provider.wrong_key, 0);
    assert_eq!(s.session(1).unwrap().dpop_key.unwrap(), b_key);
    assert_eq!(
        s.world.borrow().idb.len(),
        2,
        "A's first key was discarded at its logout"
    );
    // Tab A logs in again and again (no logout between).
    for _ in 0..40 {
        assert!(matches!(s.login(0), Done::Callback(Ok(_))));
    }
    // Each login let go of the key of the session it replaced.
    assert_eq!(s.world.borrow().idb.len(), 2);
    assert!(s.token(1, true).err().is_none());
    // Tabs that close with a session leave keys behind: the newest 32 stay.
    let add_tab_and_login = |s: &mut Sim| {
        let tab = s.clients.len();
        s.world.borrow_mut().tabs.push(Default::default());
        let st = s.create(tab, s.clients[0].config.clone()).unwrap();
        s.clients.push(st);
        s.client_tab.push(tab);
        assert!(matches!(s.login(tab), Done::Callback(Ok(_))));
    };
    for _ in 0..30 {
        add_tab_and_login(&mut s);
    }
    assert!(
        s.token(1, true).err().is_none(),
        "B's key is among the newest 32"
    );
    for _ in 0..13 {
        add_tab_and_login(&mut s);
    }
    assert_eq!(s.world.borrow().idb.len(), 32);
    // Past that, B's key was the oldest: a typed error, and the session is not dropped.
    assert_eq!(
        s.token(1, true).err().map(Error::code),
        Some("dpop_key_unavailable")
    );
    assert!(s.session(1).is_some());
}

// ---- secrets stay out of Debug (issue 13, item 7) --------------------------

/// Every value the flows hold or exchange, at every step of a login, a
/// refresh, UserInfo, an API call and a logout (Bearer and DPoP), formatted
/// with `{:?}`: no code, token, verifier, state, nonce or proof shows.
#[test]
fn no_secret_shows_in_the_debug_form_of_any_value_the_flows_hold() {
    for dpop in [false, true] {
        let mut c = config(CacheLocation::LocalStorage);
        c.dpop = dpop;
        c.api_origins = Some(vec!["https://api.example.com".into()]);
        let mut s = Sim::with_config(1, c);
        s.world.borrow_mut().provider.dpop = dpop;
        s.debug_lines = Some(Vec::new());
        assert!(matches!(s.login(0), Done::Callback(Ok(_))), "login");
        assert!(s.token(0, true).err().is_none(), "refresh");
        let info = s.run(0, Op::UserInfo(UserInfo::start()), "userinfo");
        assert!(info.err().is_none(), "userinfo: {info:?}");
        let fetch = Fetch::start("https://api.example.com/data", "GET", false, false);
        assert!(s.run(0, Op::Fetch(fetch), "fetch").err().is_none(), "fetch");
        assert!(s.logout(0).err().is_none(), "logout");
        let mut secrets = s.world.borrow().provider.secrets.clone();
        // A JWS (an ID token, a DPoP proof): its payload and signature alone too.
        let parts: Vec<String> = secrets
            .iter()
            .flat_map(|t| {
                t.split(' ')
                    .next_back()
                    .unwrap_or(t)
                    .split('.')
                    .skip(1)
                    .collect::<Vec<_>>()
            })
            .filter(|p| p.len() > 8)
            .map(String::from)
            .collect();
        secrets.extend(parts);
        // code, state, nonce, verifier, 2 × (access, refresh, ID token),
        // the refresh token presented, the revoked one, the API's credentials.
        assert!(secrets.len() >= 13, "secrets seen: {}", secrets.len());
        // The login's result is the authorization URL, state and nonce in it
        // by design (the app navigates there): that one line is left out.
        let lines: Vec<String> = s
            .debug_lines
            .take()
            .unwrap()
            .into_iter()
            .filter(|l| !l.starts_with(&format!("Url(Ok(\"{ISS}/auth?")))
            .collect();
        assert!(lines.len() > 40, "steps seen: {}", lines.len());
        for secret in &secrets {
            for line in &lines {
                assert!(
                    !line.contains(secret.as_str()),
                    "dpop {dpop}: a secret in {line}"
                );
            }
        }
    }
}

// ---- 3. no silent loss -----------------------------------------------------

#[test]
fn a_storage_write_that_fails_keeps_the_session_in_memory_and_says_so() {
    let mut s = Sim::new(1, CacheLocation::LocalStorage);
    let url = s.begin_login(0);
    let cb = s.world.borrow_mut().provider.authorize(&url);
    s.world.borrow_mut().tabs[0].storage_broken = true; // setItem throws: quota
    assert!(matches!(s.callback(0, &cb), Done::Callback(Ok(_))));
    assert!(
        s.events(0)
            .contains(&"error:storage_unavailable".to_string()),
        "{:?}",
        s.events(0)
    );
    assert!(s.authenticated(0), "the session is kept in this tab");
    assert!(matches!(s.token(0, false), Done::Session(Ok(_))));
    assert!(
        matches!(s.token(0, true), Done::Session(Ok(_))),
        "and refreshes"
    );
    // Storage works again: the newest session is written on the next read.
    s.world.borrow_mut().tabs[0].storage_broken = false;
    assert!(s.authenticated(0));
    let key = session_key(&s);
    assert_eq!(stored_refresh_token(&s, 0, &key), live(&s).first().cloned());
}

// ---- 4. refresh under the lock re-reads storage ------------------------------

#[test]
fn an_uncontended_lock_still_waits_for_the_write_another_tab_announced() {
    let mut s = logged_in(2, CacheLocation::LocalStorage);
    s.world.borrow_mut().lag = true;
    // Both tabs' access tokens are due. Tab 0 refreshes and releases the
    // lock; its write has not reached tab 1.
    s.advance_time(AT_TTL_S * 1000);
    assert!(matches!(s.token(0, false), Done::Session(Ok(_))));
    // Tab 1's timer fires right after: the lock is free.
    let id = s.start(1, Op::Token(AccessToken::start(false)), "tab 1");
    // Tab 1 waits (the marker names a generation its storage does not show); the write arrives.
    for _ in 0..3 {
        let i = s.running.iter().position(|r| r.id == id).unwrap();
        s.complete(i);
    }
    s.propagate();
    s.settle();
    assert!(
        s.presented_twice().is_empty(),
        "a rotated-out refresh token was spent: {:?}",
        s.presented_twice()
    );
    assert_eq!(s.world.borrow().provider.reuse_detected, 0);
    assert!(s.session(1).is_some());
}

#[test]
fn a_waiting_tab_adopts_the_session_the_lock_holder_stored() {
    let mut s = logged_in(3, CacheLocation::LocalStorage);
    s.world.borrow_mut().lag = true;
    s.advance_time(AT_TTL_S * 1000);
    for tab in 0..3 {
        s.start(tab, Op::Token(AccessToken::start(false)), "due");
    }
    // Complete in an order that lets the waiting tabs run before propagation.
    for step in 0..200 {
        let ready = s.ready_list();
        let Some(&i) = ready.last() else { break };
        s.complete(i);
        if step == 20 {
            s.propagate();
        }
    }
    s.propagate();
    s.settle();
    assert!(s.presented_twice().is_empty(), "{:?}", s.presented_twice());
    assert_eq!(
        s.world.borrow().provider.token_requests,
        2,
        "one login, one refresh"
    );
}

// ---- 5. keyed by issuer and client -----------------------------------------

#[test]
fn a_callback_for_another_client_is_refused_and_left_for_it() {
    let mut s = Sim::new(1, CacheLocation::SessionStorage);
    let mut other = config(CacheLocation::SessionStorage);
    other.issuer = Some("https://other.example.com".into());
    let mut meta = metadata();
    meta.issuer = "https://other.example.com".into();
    meta.authorization_response_iss_parameter_supported = false;
    other.endpoints = Endpoints::Given(meta);
    let b = s.add_client(0, other).unwrap();
    let url = s.begin_login(b);
    // The other provider sends no `iss`.
    let cb = s
        .world
        .borrow_mut()
        .provider
        .authorize_as(&url, "https://other.example.com")
        .replace("&iss=https%3A%2F%2Fidp.example.com", "");
    let before = s.world.borrow().provider.requests.len();
    match s.callback(0, &cb) {
        Done::Callback(Err(Error::CallbackOtherClient)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.world.borrow().provider.requests.len(),
        before,
        "nothing was sent anywhere"
    );
    assert_eq!(
        s.world.borrow().tabs[0].url,
        cb,
        "the callback stays for its client"
    );
    assert!(
        matches!(s.callback(b, &cb), Done::Callback(Ok(_))),
        "its own client completes it"
    );
    assert!(s.session(b).is_some());
    assert!(s.session(0).is_none());
    assert_ne!(s.clients[0].ns, s.clients[b].ns);
    assert_ne!(s.clients[0].lock_name(), s.clients[b].lock_name());
}

// ---- 6. supplied metadata is validated like fetched metadata -----------------

#[test]
fn supplied_metadata_without_a_jwks_uri_is_refused_when_id_tokens_are_expected() {
    let s = Sim::new(1, CacheLocation::Memory);
    let mut c = config(CacheLocation::Memory);
    let mut meta = metadata();
    meta.jwks_uri = None;
    c.endpoints = Endpoints::Given(meta.clone());
    assert_eq!(
        s.create(0, c.clone()).unwrap_err(),
        Error::DiscoveryInvalid("jwks_uri")
    );
    let mut insecure = metadata();
    insecure.userinfo_endpoint = Some("http://idp.example.com/me".into());
    c.endpoints = Endpoints::Given(insecure);
    assert_eq!(
        s.create(0, c.clone()).unwrap_err(),
        Error::InsecureEndpoint("userinfo_endpoint")
    );
    // Without openid there is no ID token to verify: fine.
    c.endpoints = Endpoints::Given(meta);
    c.scope = "api".into();
    assert!(s.create(0, c).is_ok());
}

// ---- the rest of the lifecycle ---------------------------------------------

#[test]
fn concurrent_calls_in_one_tab_share_one_refresh() {
    let mut s = logged_in(1, CacheLocation::Memory);
    s.advance_time(AT_TTL_S * 1000);
    for _ in 0..4 {
        s.start(0, Op::Token(AccessToken::start(false)), "due");
    }
    s.settle();
    assert_eq!(
        s.world.borrow().provider.token_requests,
        2,
        "one login, one refresh"
    );
    assert_eq!(
        s.finished
            .iter()
            .filter(|(_, _, _, d)| d.err().is_none())
            .count(),
        4
    );
}

#[test]
fn invalid_grant_ends_the_session() {
    let mut s = logged_in(1, CacheLocation::SessionStorage);
    s.world.borrow_mut().provider.refresh_tokens.clear();
    assert!(matches!(
        s.token(0, true),
        Done::Session(Err(Error::LoginRequired))
    ));
    assert!(s.events(0).contains(&"sessionExpired".to_string()));
    assert!(s.session(0).is_none());
}

#[test]
fn network_failures_keep_the_session() {
    let mut s = logged_in(1, CacheLocation::SessionStorage);
    for f in [Fault::Unreachable, Fault::Timeout, Fault::ServerError] {
        s.fault(Some(TOKEN), f.clone());
        assert!(s.token(0, true).err().is_some(), "{f:?}");
        assert!(s.session(0).is_some(), "{f:?}: session kept");
    }
}

#[test]
fn create_discovers_once_per_page() {
    let s = Sim::new(1, CacheLocation::Memory);
    let mut c = config(CacheLocation::Memory);
    c.endpoints = Endpoints::Discover;
    let host = s.host(0);
    let mut m = Create::start(c);
    match m.resume(&host, Outcome::Start) {
        Step::Effect(e) => assert!(
            format!("{e:?}").contains(".well-known/openid-configuration"),
            "{e:?}"
        ),
        Step::Done(r) => panic!("{:?}", r.err()),
    }
    // A callback that is not one never touches the network.
    let mut st = s.create(0, config(CacheLocation::Memory)).unwrap();
    let mut cb = Callback::start(&format!("{APP}/cb"));
    assert!(matches!(
        cb.resume(&mut st, &host, Outcome::Start),
        Step::Done(Err(Error::NotACallback))
    ));
}

/// Issue 14: the callback page's only round trips are the token request and,
/// beside it, the JWKS. The login page's discovery document reaches it through
/// this tab's sessionStorage, validated again; a stale or altered one is
/// dropped and fetched anew.
#[test]
fn the_callback_page_uses_the_discovery_document_the_login_page_fetched() {
    let discovery = format!("GET {ISS}/.well-known/openid-configuration");
    let key = format!("pkce-wasm.discovery.{ISS}");
    let mut c = config(CacheLocation::SessionStorage);
    c.endpoints = Endpoints::Discover;
    let mut s = Sim::with_config(1, c);
    let requests = |s: &Sim| s.world.borrow().provider.requests.clone();
    assert_eq!(
        requests(&s),
        std::slice::from_ref(&discovery),
        "the login page discovers"
    );
    let url = s.begin_login(0);
    let cb = s.world.borrow_mut().provider.authorize(&url);
    s.reload(0); // the redirect back: a new page in the same tab
    assert!(matches!(s.callback(0, &cb), Done::Callback(Ok(_))));
    let mut callback_page = requests(&s)[1..].to_vec();
    callback_page.sort();
    assert_eq!(
        callback_page,
        [format!("GET {JWKS}"), format!("POST {TOKEN}")],
        "no discovery on the callback page"
    );

    // Older than a login may take: fetched again, and handed on again.
    s.advance_time(10 * 60 * 1000 + 1);
    s.reload(0);
    assert_eq!(requests(&s).last(), Some(&discovery));
    let fetched_at = s.host(0).get(Area::Session, &key).unwrap().unwrap();

    // Altered (another issuer): never used, replaced by a fetched one.
    let n = requests(&s).len();
    let altered = format!(
        "{}\n{}",
        s.host(0).now_ms(),
        discovery_document("https://evil.example")
    );
    s.host(0).set(Area::Session, &key, &altered).unwrap();
    s.reload(0);
    assert_eq!(&requests(&s)[n..], std::slice::from_ref(&discovery));
    let replaced = s.host(0).get(Area::Session, &key).unwrap().unwrap();
    assert!(replaced.contains(&format!(r#""issuer":"{ISS}""#)) && replaced != fetched_at);

    // Unreadable: the same.
    s.host(0).set(Area::Session, &key, "not a stamp").unwrap();
    let n = requests(&s).len();
    s.reload(0);
    assert_eq!(requests(&s)[n..], [discovery]);
}

// ---- property tests over interleavings ---------------------------------------

#[derive(Debug, Clone)]
enum Action {
    Token { tab: usize, force: bool },
    Login { tab: usize },
    Logout { tab: usize },
    Reload { tab: usize },
    Complete { pick: usize },
    Propagate { tab: usize },
    Advance { ms: u64 },
    Fault { jwks: bool, kind: u8 },
    BreakStorage { on: bool },
    // The messages between tabs sent so far arrive (tab sync).
    Deliver,
    // A silent login (checkSession): its iframe's answer comes at once, its
    // callback then runs interleaved with the rest.
    Silent { tab: usize },
}

fn action(tabs: usize, storage_faults: bool) -> impl Strategy<Value = Action> {
    let tab = 0..tabs;
    prop_oneof![
        4 => (tab.clone(), any::<bool>()).prop_map(|(tab, force)| Action::Token { tab, force }),
        1 => tab.clone().prop_map(|tab| Action::Logout { tab }),
        1 => tab.clone().prop_map(|tab| Action::Login { tab }),
        1 => tab.clone().prop_map(|tab| Action::Reload { tab }),
        12 => any::<usize>().prop_map(|pick| Action::Complete { pick }),
        3 => tab.prop_map(|tab| Action::Propagate { tab }),
        2 => (0u64..400_000).prop_map(|ms| Action::Advance { ms }),
        2 => (any::<bool>(), 0u8..3).prop_map(|(jwks, kind)| Action::Fault { jwks, kind }),
        // (Eleven choices: a weight of 0 is refused, so no storage faults means more deliveries.)
        2 => any::<bool>().prop_map(move |on| if storage_faults { Action::BreakStorage { on } } else { Action::Deliver }),
        2 => Just(Action::Deliver),
        1 => (0..tabs).prop_map(|tab| Action::Silent { tab }),
    ]
}

struct Outcomes {
    /// How many logouts began.
    logouts: usize,
    /// Each login's code and how many logouts had begun when its callback did.
    logins: Vec<(String, usize)>,
}

fn logout_running(s: &Sim, tab: usize) -> bool {
    s.running
        .iter()
        .any(|r| r.tab == tab && r.label == "logout")
}

fn play(s: &mut Sim, actions: &[Action]) -> Outcomes {
    s.world.borrow_mut().frame_auto = true;
    let mut o = Outcomes {
        logouts: 0,
        logins: Vec::new(),
    };
    for a in actions {
        match a {
            Action::Token { tab, force } => {
                s.start(*tab, Op::Token(AccessToken::start(*force)), "token");
            }
            Action::Logout { tab } => {
                o.logouts += 1;
                s.start(*tab, Op::Logout(Logout::start(None, true)), "logout");
            }
            // A new login: the page leaves for the provider (its operations
            // end, as on a reload) and comes back on the callback page, whose
            // callback then runs interleaved with the other tabs.
            Action::Login { tab } if logout_running(s, *tab) => {}
            Action::Login { tab } => {
                let url = match s.run(
                    *tab,
                    Op::Login(Login::start(LoginOptions::default(), false)),
                    "login",
                ) {
                    Done::Url(Ok(url)) => url,
                    // Refused before anything was spent (storage refused the transaction).
                    _ => continue,
                };
                s.reload(*tab);
                let cb = s.world.borrow_mut().provider.authorize(&url);
                let code = cb
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix("code="))
                    .unwrap()
                    .to_string();
                s.world.borrow_mut().tabs[*tab].url = cb.clone();
                s.start(*tab, Op::Callback(Callback::start(&cb)), "callback");
                o.logins.push((code, o.logouts));
            }
            // A logout that began runs to its end before the page leaves: its
            // last step is the navigation. (A tab closed in the middle of one,
            // while another tab's refresh is in flight and localStorage lags,
            // is the one case the record cannot protect: see the README.)
            Action::Reload { tab } if logout_running(s, *tab) => {}
            Action::Reload { tab } => s.reload(*tab),
            Action::Complete { pick } => {
                let ready = s.ready_list();
                if !ready.is_empty() {
                    s.complete(ready[pick % ready.len()]);
                }
            }
            Action::Propagate { tab } => s.propagate_to(*tab),
            Action::Advance { ms } => s.advance_time(*ms),
            Action::Fault { jwks, kind } => {
                // Faults that leave the provider's state known to the client:
                // not sent, or answered with the rotated token still readable.
                let f = [Fault::Unreachable, Fault::Timeout, Fault::StringExpiry]
                    [usize::from(*kind)]
                .clone();
                let url = if *jwks { JWKS } else { TOKEN };
                s.fault(Some(url), if *jwks { Fault::Timeout } else { f });
            }
            Action::BreakStorage { on } => s.world.borrow_mut().tabs[0].storage_broken = *on,
            Action::Deliver => {
                s.deliver_broadcasts();
            }
            Action::Silent { tab } if logout_running(s, *tab) => {}
            Action::Silent { tab } => {
                let id = s.start(
                    *tab,
                    Op::Silent(SilentLogin::start(LoginOptions::default())),
                    "silent",
                );
                // Until its iframe is added (or it joined one running).
                while let Some(i) = s
                    .running
                    .iter()
                    .position(|r| r.id == id && matches!(r.effect, Effect::FrameOpen(..)))
                {
                    s.complete(i);
                }
            }
        }
        let codes = std::mem::take(&mut s.world.borrow_mut().frame_codes);
        o.logins.extend(codes.into_iter().map(|c| (c, o.logouts)));
    }
    // Heal, finish everything, let storage settle.
    s.world.borrow_mut().provider.faults.clear();
    s.world.borrow_mut().tabs[0].storage_broken = false;
    s.settle();
    let codes = std::mem::take(&mut s.world.borrow_mut().frame_codes);
    o.logins.extend(codes.into_iter().map(|c| (c, o.logouts)));
    s.propagate();
    o
}

fn check(s: &mut Sim, o: &Outcomes, tabs: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        s.presented_twice().is_empty(),
        "refresh token presented twice: {:?}",
        s.presented_twice()
    );
    prop_assert_eq!(s.world.borrow().provider.reuse_detected, 0);
    if o.logouts > 0 {
        // Logout wins: a session left must come from a login whose callback
        // began after the last logout did (one that raced it may lose).
        let after: Vec<u32> = {
            let w = s.world.borrow();
            o.logins
                .iter()
                .filter(|(_, n)| *n == o.logouts)
                .filter_map(|(code, _)| w.provider.code_grant.get(code).copied())
                .collect()
        };
        for tab in 0..tabs {
            if let Some(session) = s.session(tab) {
                let rt = session
                    .tokens
                    .refresh_token
                    .as_ref()
                    .map(|r| r.secret().to_string());
                let grant = rt.and_then(|rt| {
                    s.world
                        .borrow()
                        .provider
                        .refresh_tokens
                        .get(&rt)
                        .map(|g| g.0)
                });
                prop_assert!(
                    grant.is_some_and(|g| after.contains(&g)),
                    "tab {} has a session from before the last logout (grant {:?}, later logins {:?})",
                    tab,
                    grant,
                    after
                );
            }
        }
        return Ok(());
    }
    prop_assert_eq!(s.world.borrow().provider.invalid_grant_answers, 0);
    // Nothing lost: every tab still has a session that refreshes.
    for tab in 0..tabs {
        prop_assert!(s.session(tab).is_some(), "tab {} lost its session", tab);
        let r = s.token(tab, true);
        prop_assert!(
            r.err().is_none(),
            "tab {} cannot refresh: {:?}",
            tab,
            r.err()
        );
        s.propagate();
    }
    prop_assert!(s.presented_twice().is_empty());
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    // 300 cases each (a second or so); PROPTEST_CASES=20000 for a long run.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Two or three tabs sharing localStorage (with and without propagation
    /// lag): refreshes, logouts, reloads and faults in any order.
    #[test]
    fn tabs_never_spend_a_refresh_token_twice_nor_lose_or_resurrect_a_session(
        tabs in 2usize..4,
        lag in any::<bool>(),
        actions in prop::collection::vec(action(3, false), 1..60),
    ) {
        let actions: Vec<Action> = actions.into_iter().filter(|a| match a {
            Action::Token { tab, .. } | Action::Login { tab } | Action::Logout { tab } | Action::Reload { tab } | Action::Propagate { tab } | Action::Silent { tab } => *tab < tabs,
            _ => true,
        }).collect();
        let mut s = logged_in(tabs, CacheLocation::LocalStorage);
        s.world.borrow_mut().lag = lag;
        let o = play(&mut s, &actions);
        check(&mut s, &o, tabs)?;
    }

    /// One tab whose storage refuses writes at times, in each cache location.
    #[test]
    fn a_tab_whose_storage_fails_keeps_its_session(
        cache in prop_oneof![Just(CacheLocation::Memory), Just(CacheLocation::SessionStorage), Just(CacheLocation::LocalStorage)],
        actions in prop::collection::vec(action(1, true), 1..60),
    ) {
        // A reload loses what only this tab's memory held: a memory session
        // (by design), or a write storage refused (reported as an `error`
        // event). Reloads, and logins (the page leaves), are the multi-tab
        // property's part.
        let actions: Vec<Action> = actions
            .into_iter()
            .filter(|a| !matches!(a, Action::Reload { .. } | Action::Login { .. }))
            .collect();
        let mut s = logged_in(1, cache);
        let o = play(&mut s, &actions);
        check(&mut s, &o, 1)?;
    }
}

/// Found by the property test once silent logins joined it: with lagging
/// localStorage, a logout's tombstone written again above a session another
/// tab stored meanwhile got the generation after the tombstone's own, below
/// that session's; a third tab that saw the session took it for the newest
/// record, and a callback that began before the logout stored a session
/// after it. The tombstone now goes above the generation it overwrites.
#[test]
fn a_tombstone_written_again_goes_above_the_generation_it_overwrites() {
    use Action::*;
    let actions = vec![
        Fault {
            jwks: true,
            kind: 0,
        },
        Advance { ms: 239970 },
        Login { tab: 0 },
        Fault {
            jwks: true,
            kind: 0,
        },
        Complete { pick: 0 },
        Fault {
            jwks: true,
            kind: 0,
        },
        Silent { tab: 2 },
        Token {
            tab: 2,
            force: false,
        },
        Complete {
            pick: 4029416389232094110,
        },
        Login { tab: 1 },
        Complete {
            pick: 1690729125022756362,
        },
        Complete {
            pick: 13923903311842779954,
        },
        Complete {
            pick: 8048799084141227773,
        },
        Complete {
            pick: 1075160744744559338,
        },
        Token {
            tab: 1,
            force: false,
        },
        Complete {
            pick: 11088236304761455325,
        },
        Complete { pick: 0 },
        Complete {
            pick: 2906122233960762838,
        },
        Logout { tab: 0 },
    ];
    let mut s = logged_in(3, CacheLocation::LocalStorage);
    s.world.borrow_mut().lag = true;
    let o = play(&mut s, &actions);
    assert_eq!(o.logouts, 1);
    for tab in 0..3 {
        assert!(
            s.session(tab).is_none(),
            "tab {tab} has a session from before the logout"
        );
    }
}
