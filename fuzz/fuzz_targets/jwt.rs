//! JWS parsing, JWKS parsing, key selection and claim validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pkce_wasm::core::id_token::{parse_jwks, parse_jws, select_key, validate_claims, ClaimChecks, ALL_ALGS};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let keys = parse_jwks(200, Some("application/json"), s).unwrap_or_default();
        if let Ok(jws) = parse_jws(s, &ALL_ALGS) {
            let _ = select_key(&keys, jws.alg, jws.kid.as_deref());
            let checks = ClaimChecks { issuer: "https://idp", client_id: "spa", nonce: Some("n"), now_s: 1_700_000_000, skew_s: 60 , max_age: None};
            let _ = validate_claims(&jws.payload, &jws.payload_json, &checks);
        }
    }
});
