//! The size floor: the SDK's pure core, driven through every step of its
//! flows by four C-ABI exports. Inputs come from linear memory as
//! NUL-separated strings so that nothing can be constant-folded away; outputs
//! go to one buffer. Whatever the browser layer, bindings and JS add is on top
//! of this.
#![allow(clippy::missing_safety_doc)]

#[path = "../../../src/core/mod.rs"]
#[allow(dead_code, missing_docs, unused_imports, clippy::enum_variant_names)]
mod core;

use crate::core::secret::CodeVerifier;
use crate::core::transaction::MemoryStore;
use crate::core::{
    authorize as az, discovery, dpop, encoding, id_token as idt, session as ss, token,
};
use crate::core::{
    clean_callback_url, code_exchange, is_callback, parse_callback, parse_token_response,
    AuthorizeRequest, Entropy, Error, ResponseMode, Store, Transactions,
};

#[global_allocator]
// SAFETY: wasm32-unknown-unknown without atomics has one thread.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

static mut OUT: Vec<u8> = Vec::new();

fn out(s: &str) {
    // SAFETY: single-threaded; no reference outlives the call.
    let o = unsafe { &mut *::core::ptr::addr_of_mut!(OUT) };
    o.extend_from_slice(s.as_bytes());
    o.push(0);
}

fn fail(e: &Error) {
    out(e.code());
    out(&e.message());
}

fn input<'a>(p: *const u8, n: usize) -> Vec<&'a str> {
    // SAFETY: the host passes a buffer it obtained from `alloc`.
    let bytes = unsafe { ::core::slice::from_raw_parts(p, n) };
    ::core::str::from_utf8(bytes)
        .unwrap_or("")
        .split('\0')
        .collect()
}

fn arg<'a>(a: &[&'a str], i: usize) -> &'a str {
    a.get(i).copied().unwrap_or("")
}

fn num(s: &str) -> u64 {
    encoding::parse_u64(s).unwrap_or(0)
}

fn mode(s: &str) -> ResponseMode {
    if s == "fragment" {
        ResponseMode::Fragment
    } else {
        ResponseMode::Query
    }
}

/// A buffer for the host to write inputs into.
#[no_mangle]
pub extern "C" fn alloc(n: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(n);
    let p = v.as_mut_ptr();
    ::core::mem::forget(v);
    p
}

/// Where the outputs are.
#[no_mangle]
pub extern "C" fn output() -> *const u8 {
    // SAFETY: single-threaded.
    unsafe { (*::core::ptr::addr_of!(OUT)).as_ptr() }
}

/// Login: authorize URL and pending record (stored, single use), PAR.
#[no_mangle]
pub extern "C" fn login(p: *const u8, n: usize) {
    let a = input(p, n);
    let extra = encoding::parse_pairs(arg(&a, 5)).unwrap_or_default();
    let jkt = Some(arg(&a, 6)).filter(|s| !s.is_empty());
    let req = AuthorizeRequest {
        authorization_endpoint: arg(&a, 0),
        client_id: arg(&a, 1),
        redirect_uri: arg(&a, 2),
        scope: arg(&a, 3),
        response_mode: mode(arg(&a, 4)),
        extra_params: &extra,
        dpop_jkt: jkt,
        popup: false,
    };
    let mut e = [0u8; 32];
    for (slot, b) in e.iter_mut().zip(arg(&a, 7).bytes()) {
        *slot = b;
    }
    let entropy = Entropy {
        verifier: e,
        state: e,
        nonce: e,
    };
    let tx = Transactions::new(MemoryStore::default(), "ns", 600_000);
    match az::authorize(
        &req,
        &entropy,
        None,
        num(arg(&a, 8)),
        Some(arg(&a, 9).into()),
    ) {
        Ok((url, pending)) => {
            out(&url);
            if let Err(e) = tx.begin(&pending, num(arg(&a, 8))) {
                fail(&e);
            }
        }
        Err(e) => fail(&e),
    }
    let verifier = CodeVerifier::parse(arg(&a, 10).into()).ok();
    match az::authorize_params(&req, &entropy, verifier, 0, None) {
        Ok((params, _)) => {
            out(&az::par_request(arg(&a, 11), &params).body);
            match az::parse_par_response(num(arg(&a, 12)) as u16, Some(arg(&a, 13)), arg(&a, 14)) {
                Ok(r) => out(&az::par_redirect_url(
                    arg(&a, 0),
                    arg(&a, 1),
                    &r.request_uri,
                )),
                Err(e) => fail(&e),
            }
        }
        Err(e) => fail(&e),
    }
}

/// Discovery and JWKS: metadata checks, key selection, verify parameters.
#[no_mangle]
pub extern "C" fn discover(p: *const u8, n: usize) {
    let a = input(p, n);
    let status = num(arg(&a, 1)) as u16;
    out(&discovery::discovery_url(arg(&a, 0)));
    match discovery::parse_metadata(arg(&a, 0), status, Some(arg(&a, 2)), arg(&a, 3)) {
        Ok(m) => out(&m.token_endpoint),
        Err(e) => fail(&e),
    }
    let keys = match idt::parse_jwks(status, Some(arg(&a, 2)), arg(&a, 4)) {
        Ok(k) => k,
        Err(e) => return fail(&e),
    };
    let Some(alg) = idt::Alg::parse(arg(&a, 5)) else {
        return;
    };
    match idt::select_key(&keys, alg, Some(arg(&a, 6))) {
        Ok(k) => {
            for (name, value) in k.public_members() {
                out(name);
                out(value);
            }
            let v = alg.verify_params();
            out(v.name);
            out(v.hash.unwrap_or(""));
            out(v.named_curve.unwrap_or(""));
        }
        Err(e) => fail(&e),
    }
}

/// Callback: parse, match the pending login, token request and response, ID
/// token claims, session record, refresh, revocation and logout requests.
#[no_mangle]
pub extern "C" fn callback(p: *const u8, n: usize) {
    let a = input(p, n);
    let now = num(arg(&a, 2));
    let (issuer, client_id, endpoint) = (arg(&a, 3), arg(&a, 6), arg(&a, 5));
    let tx = Transactions::new(MemoryStore::default(), "ns", 600_000);
    let _ = tx.store().set(arg(&a, 9), arg(&a, 10));
    let m = mode(arg(&a, 1));
    if is_callback(arg(&a, 0), m) {
        if let Some(u) = clean_callback_url(arg(&a, 0), m) {
            out(&u);
        }
    }
    let validated = parse_callback(arg(&a, 0), m).and_then(|cb| {
        let pending = tx.take(&cb.state, now)?;
        cb.validate(pending, Some(issuer), arg(&a, 4) == "1")
    });
    let v = match validated {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    out(&code_exchange(endpoint, client_id, &v).body);
    let status = num(arg(&a, 7)) as u16;
    let t = match parse_token_response(status, Some(arg(&a, 8)), arg(&a, 11), arg(&a, 12) == "1") {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let algs = idt::allowed_algs(&[arg(&a, 13).into()]);
    let id_token = t
        .id_token
        .as_ref()
        .map(|t| String::from(t.secret()))
        .unwrap_or_default();
    let jws = match idt::parse_jws(&id_token, &algs) {
        Ok(j) => j,
        Err(e) => return fail(&e),
    };
    out(&jws.signing_input);
    let checks = idt::ClaimChecks {
        issuer,
        client_id,
        nonce: v.pending.nonce.as_ref().map(|n| n.secret()),
        now_s: now / 1000,
        skew_s: 60,
        max_age: v.pending.max_age,
    };
    let claims = match idt::validate_claims(&jws.payload, &jws.payload_json, &checks) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let session = ss::Session {
        tokens: ss::Tokens::from_response(t, now, arg(&a, 14)),
        claims: Some(claims),
    };
    let record = ss::encode_session(&session, true);
    out(&record);
    let Some(restored) = ss::decode_session(&record) else {
        return;
    };
    if let Some(rt) = &restored.tokens.refresh_token {
        out(&ss::refresh_request(endpoint, client_id, rt).body);
        out(&ss::revocation_request(endpoint, client_id, rt).body);
    }
    let hint = restored.tokens.id_token.as_ref();
    out(&ss::end_session_url(
        endpoint,
        client_id,
        hint,
        Some(arg(&a, 15)),
        arg(&a, 16),
    ));
    if ss::needs_refresh(restored.tokens.expires_at_ms, now, 60_000) {
        out("refresh");
    }
    out(&session.tokens.refreshed(restored.tokens).token_type);
    if ss::is_invalid_token_challenge(arg(&a, 17)) {
        out("invalid_token");
    }
}

/// DPoP: thumbprint, proof, nonce retry rule.
#[no_mangle]
pub extern "C" fn proof(p: *const u8, n: usize) {
    let a = input(p, n);
    let key = dpop::PublicJwk {
        x: arg(&a, 0).into(),
        y: arg(&a, 1).into(),
    };
    out(&key.thumbprint());
    let claims = dpop::ProofClaims {
        htm: arg(&a, 2),
        url: arg(&a, 3),
        iat: num(arg(&a, 4)),
        jti: arg(&a, 5),
        nonce: Some(arg(&a, 6)),
        access_token: Some(arg(&a, 7)),
    };
    let input = dpop::proof_signing_input(&key, &claims);
    out(&dpop::finish_proof(&input, arg(&a, 8).as_bytes()));
    let oauth_error = token::oauth_error_code(Some(arg(&a, 11)), arg(&a, 12));
    let status = num(arg(&a, 10)) as u16;
    if let Some(n) = dpop::retry_nonce(
        num(arg(&a, 9)) as u8,
        status,
        oauth_error.as_deref(),
        Some(arg(&a, 13)),
        Some(arg(&a, 14)),
    ) {
        out(n);
    }
}
