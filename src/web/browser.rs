//! Randomness, clock, and the address bar.

use crate::core::{Entropy, Error};

/// 96 bytes from crypto.getRandomValues (getrandom's `js` backend).
pub fn entropy() -> Result<Entropy, Error> {
    let mut e = Entropy {
        verifier: [0; 32],
        state: [0; 32],
        nonce: [0; 32],
    };
    for buf in [&mut e.verifier, &mut e.state, &mut e.nonce] {
        getrandom::getrandom(buf).map_err(|_| Error::CryptoUnavailable)?;
    }
    Ok(e)
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The current `location.href`, if there is a window.
pub fn current_url() -> Option<String> {
    web_sys::window()?.location().href().ok()
}

/// Navigates to `url` (a new history entry, like a link click).
pub fn navigate(url: &str) -> Result<(), Error> {
    web_sys::window()
        .ok_or(Error::InvalidConfig("no window to redirect"))?
        .location()
        .assign(url)
        .map_err(|_| {
            Error::InvalidConfig("the browser refused to navigate to the authorization endpoint")
        })
}

/// Replaces the address bar's URL without a reload or a new history entry.
pub fn replace_url(url: &str) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        // A failure here leaves parameters in the address bar, which a reload
        // then rejects as a replay: harmless, so it is not an error.
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}
