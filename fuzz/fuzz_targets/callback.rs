//! The callback parser, URL cleanup and the transaction record decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pkce_wasm::core::authorize::ResponseMode;
use pkce_wasm::core::callback::{clean_callback_url, parse_callback};
use pkce_wasm::core::transaction::decode_record;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for mode in [ResponseMode::Query, ResponseMode::Fragment] {
            let _ = parse_callback(s, mode);
            let _ = clean_callback_url(s, mode);
        }
        let _ = decode_record(s);
    }
});
