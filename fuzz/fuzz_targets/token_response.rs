//! The token response parser (status and content type from the first bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pkce_wasm::core::session::decode_session;
use pkce_wasm::core::token::parse_token_response;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]);
    let ct = if data[2] & 1 == 0 { Some("application/json") } else { Some("text/html") };
    if let Ok(body) = std::str::from_utf8(&data[3..]) {
        let _ = parse_token_response(status, ct, body, data[2] & 2 != 0);
        let _ = parse_token_response(200, Some("application/json"), body, false);
        let _ = decode_session(body);
    }
});
