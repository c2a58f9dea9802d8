//! Property tests of the core's parsers and builders (run by `cargo test`):
//! round-trips, and "never panics, whatever the input".
#![cfg(not(target_arch = "wasm32"))]

use pkce_wasm::core::authorize::{
    authorize, AuthorizeRequest, Entropy, ResponseMode, RESERVED_PARAMS,
};
use pkce_wasm::core::callback::{clean_callback_url, parse_callback};
use pkce_wasm::core::discovery::parse_metadata;
use pkce_wasm::core::encoding::{
    b64url, b64url_decode, decode, encode_into, parse_pairs, FormBuilder,
};
use pkce_wasm::core::id_token::{parse_jwks, parse_jws, validate_claims, ClaimChecks, ALL_ALGS};
use pkce_wasm::core::json::{self, Value};
use pkce_wasm::core::secret::CodeVerifier;
use pkce_wasm::core::session::{decode_session, is_invalid_token_challenge, needs_refresh};
use pkce_wasm::core::token::parse_token_response;
use pkce_wasm::core::transaction::decode_record;
use pkce_wasm::core::url::{check_url, split};
use proptest::prelude::*;

/// A JSON value and its canonical text, for round-trips through the parser.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.to_string())),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn to_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.clone(),
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(to_json).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", to_json(&Value::String(k.clone())), to_json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn percent_encoding_round_trips(s in ".*") {
        let mut e = String::new();
        encode_into(&mut e, &s);
        prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        prop_assert_eq!(decode(&e), Some(s));
    }

    #[test]
    fn form_pairs_round_trip(pairs in prop::collection::vec((".+", ".*"), 0..8)) {
        let mut f = FormBuilder::default();
        for (k, v) in &pairs { f.pair(k, v); }
        prop_assert_eq!(parse_pairs(&f.finish()), Some(pairs));
    }

    #[test]
    fn decoding_never_panics(s in ".*") {
        let _ = decode(&s);
        let _ = parse_pairs(&s);
        let _ = b64url_decode(&s);
        let _ = split(&s);
        let _ = check_url(&s, "x");
    }

    /// `WWW-Authenticate`: never a panic on any input, and what is written
    /// by the grammar (any quoting, spacing and case) parses back.
    #[test]
    fn challenges_parse_back(
        junk in ".*",
        list in prop::collection::vec(
            ("[A-Za-z][A-Za-z0-9-]{0,8}", prop::collection::vec(("[a-z_]{1,10}", "[ -~]{0,12}", any::<bool>()), 0..4)),
            1..4,
        ),
        space in "[ \t]{0,2}",
    ) {
        let _ = pkce_wasm::core::challenge::parse_challenges(&junk);
        let text = list
            .iter()
            .map(|(scheme, params)| {
                let ps = params
                    .iter()
                    .map(|(n, v, upper)| {
                        let n = if *upper { n.to_ascii_uppercase() } else { n.clone() };
                        let v = v.replace('\\', "\\\\").replace('"', "\\\"");
                        format!("{n}{space}={space}\"{v}\"")
                    })
                    .collect::<Vec<_>>()
                    .join(&format!(",{space}"));
                if ps.is_empty() { scheme.clone() } else { format!("{scheme} {ps}") }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let parsed = pkce_wasm::core::challenge::parse_challenges(&text);
        prop_assert_eq!(parsed.len(), list.len(), "{}", text);
        for (c, (scheme, params)) in parsed.iter().zip(&list) {
            prop_assert_eq!(&c.scheme, &scheme.to_ascii_lowercase());
            let want: Vec<(String, String)> = params.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            prop_assert_eq!(&c.params, &want, "{}", text);
        }
    }

    #[test]
    fn b64url_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(b64url_decode(&b64url(&bytes)), Some(bytes));
    }

    #[test]
    fn verifier_rule_is_exactly_rfc7636(s in "[A-Za-z0-9._~ +/=-]{0,140}") {
        let ok = (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(CodeVerifier::parse(s).is_ok(), ok);
    }

    #[test]
    fn authorize_url_round_trips_its_parameters(
        extra in prop::collection::vec(("[a-z_]{1,12}", ".*"), 0..6),
        scope in "[a-z ]{0,20}openid[a-z ]{0,20}",
        tenant in ".{0,10}",
        seed in any::<[u8; 32]>(),
    ) {
        let extra: Vec<(String, String)> = extra.into_iter().filter(|(k, _)| !RESERVED_PARAMS.contains(&k.as_str())).collect();
        let mut endpoint = String::from("https://idp.example.com/authorize?tenant=");
        encode_into(&mut endpoint, &tenant);
        let req = AuthorizeRequest {
            authorization_endpoint: &endpoint,
            client_id: "spa",
            redirect_uri: "https://app.example.com/cb",
            scope: &scope,
            response_mode: ResponseMode::Query,
            extra_params: &extra,
            dpop_jkt: None,
            state_prefix: "",
        };
        // Distinct entropy for each value, as from the CSPRNG.
        let flip = |i: usize| { let mut b = seed; b[0] ^= 1 << i; b };
        let entropy = Entropy { verifier: seed, state: flip(0), nonce: flip(1) };
        let (url, pending) = authorize(&req, &entropy, None, 0, None).unwrap();
        let q = parse_pairs(split(&url).1.unwrap()).unwrap();
        prop_assert_eq!(&q[0], &("tenant".to_string(), tenant));
        prop_assert!(q.contains(&("scope".to_string(), scope.clone())));
        prop_assert!(q.contains(&("state".to_string(), pending.state.secret().to_string())));
        let tail: Vec<(String, String)> = q[q.len() - extra.len()..].to_vec();
        prop_assert_eq!(tail, extra);
        prop_assert!(!url.contains(pending.code_verifier.secret()));
    }

    #[test]
    fn callback_parsing_never_panics(tail in ".*", fragment in any::<bool>()) {
        let url = format!("https://app.example.com/cb?{tail}");
        let mode = if fragment { ResponseMode::Fragment } else { ResponseMode::Query };
        if let Ok(r) = parse_callback(&url, mode) {
            prop_assert!(!r.state.secret().is_empty());
        }
        if let Some(clean) = clean_callback_url(&url, mode) {
            let (_, q, f) = split(&clean);
            let part = if fragment { f } else { q };
            for seg in part.unwrap_or("").split('&') {
                let key = seg.split('=').next().unwrap_or("");
                prop_assert!(!["code", "state", "iss", "error"].contains(&key));
            }
        }
    }

    #[test]
    fn callback_round_trips(code in ".+", state in ".+") {
        let mut url = String::from("https://app.example.com/cb?");
        let mut f = FormBuilder::default();
        f.pair("code", &code).pair("state", &state);
        url.push_str(&f.finish());
        let r = parse_callback(&url, ResponseMode::Query).unwrap();
        prop_assert_eq!(r.state.secret(), state.as_str());
    }

    #[test]
    fn json_round_trips(v in json_value()) {
        prop_assert_eq!(json::parse(&to_json(&v)), Some(v));
    }

    #[test]
    fn json_never_panics(s in ".*", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = json::parse(&s);
        let _ = json::parse(&String::from_utf8_lossy(&bytes));
        let deep = "[".repeat(bytes.len()) + &s;
        let _ = json::parse(&deep);
    }

    #[test]
    fn response_parsers_never_panic(status in any::<u16>(), ct in prop::option::of(".*"), body in ".*", v in json_value()) {
        let text = to_json(&v);
        for b in [body.as_str(), text.as_str()] {
            let _ = parse_token_response(status, ct.as_deref(), b, false);
            let _ = parse_token_response(status, ct.as_deref(), b, true);
            let _ = parse_token_response(200, Some("application/json"), b, false);
            let _ = parse_metadata("https://idp.example.com", 200, Some("application/json"), b);
            let _ = parse_metadata("https://idp.example.com", status, ct.as_deref(), b);
            let _ = parse_jwks(200, Some("application/json"), b);
            let _ = decode_record(b);
            let _ = decode_session(b);
            let _ = is_invalid_token_challenge(b);
        }
    }

    #[test]
    fn jws_and_claims_never_panic(h in json_value(), p in json_value(), sig in prop::collection::vec(any::<u8>(), 0..80), raw in ".*") {
        let token = format!("{}.{}.{}", b64url(to_json(&h).as_bytes()), b64url(to_json(&p).as_bytes()), b64url(&sig));
        for t in [token.as_str(), raw.as_str()] {
            if let Ok(jws) = parse_jws(t, &ALL_ALGS) {
                let checks = ClaimChecks { issuer: "https://idp", client_id: "spa", nonce: Some("n"), now_s: 1_000, skew_s: 60 , max_age: None, acr_values: None};
                let _ = validate_claims(&jws.payload, &jws.payload_json, &checks);
            }
        }
    }

    #[test]
    fn refresh_is_due_monotonically(exp in any::<u64>(), now in any::<u64>(), later in any::<u64>(), leeway in 0u64..3_600_000) {
        let later = now.saturating_add(later % 1_000_000_000);
        if needs_refresh(Some(exp), now, leeway) {
            prop_assert!(needs_refresh(Some(exp), later, leeway), "once due, it stays due");
        }
    }
}
