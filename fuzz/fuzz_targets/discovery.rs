//! The discovery document parser (and the JSON parser under it).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pkce_wasm::core::discovery::parse_metadata;
use pkce_wasm::core::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = json::parse(s);
        let _ = parse_metadata("https://idp.example.com", 200, Some("application/json"), s);
    }
});
