//! ID token validation (OIDC Core §3.1.3.7): the `alg` allow-list, the key
//! by `kid` from the provider's JWKS (cached for the page's life, one
//! re-fetch for an unknown `kid`), the signature through WebCrypto, then the
//! claims.

use super::{
    unexpected, Area, ClientState, Effect, Host, HttpRequest, HttpResponse, Outcome, Step,
};
use crate::core::error::Error;
use crate::core::id_token::{
    parse_jwks, parse_jws, select_key, validate_claims, ClaimChecks, IdTokenClaims, Jwk, Jws,
};
use crate::core::secret::{redact, Redacted};

fn cache_key(uri: &str) -> String {
    let mut k = String::from("pkce-wasm.jwks.");
    k.push_str(uri);
    k
}

/// The GET of the provider's key set, when it is not cached yet.
pub(crate) fn jwks_request(st: &ClientState, host: &dyn Host) -> Option<HttpRequest> {
    let uri = st.meta.jwks_uri.as_deref()?;
    if matches!(host.get(Area::Page, &cache_key(uri)), Ok(Some(_))) {
        return None;
    }
    Some(get(uri, st.config.timeout_ms))
}

pub(crate) fn get(url: &str, timeout_ms: u32) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url: String::from(url),
        body: None,
        authorization: None,
        dpop: None,
        timeout_ms,
    }
}

#[derive(Debug)]
enum State {
    Start,
    Fetching { refetch: bool },
    Verifying,
}

/// Validates one ID token.
pub struct Verify {
    token: String,
    nonce: Option<String>,
    max_age: Option<u64>,
    acr_values: Option<String>,
    prefetched: Option<Result<HttpResponse, Error>>,
    jws: Option<Jws>,
    state: State,
}

impl core::fmt::Debug for Verify {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verify")
            .field("token", &Redacted)
            .field("nonce", &redact(&self.nonce))
            .field("max_age", &self.max_age)
            .field("prefetched", &self.prefetched)
            .field("jws", &self.jws)
            .field("state", &self.state)
            .finish()
    }
}

impl Verify {
    /// Validates `token`; `prefetched` is a JWKS answer fetched alongside the token request.
    pub fn new(
        token: &str,
        nonce: Option<&str>,
        max_age: Option<u64>,
        prefetched: Option<Result<HttpResponse, Error>>,
    ) -> Self {
        Verify {
            token: String::from(token),
            nonce: nonce.map(String::from),
            max_age,
            acr_values: None,
            prefetched,
            jws: None,
            state: State::Start,
        }
    }

    /// The `acr_values` the login sent: the ID token's `acr` must be one of them.
    pub fn with_acr(mut self, acr_values: Option<String>) -> Self {
        self.acr_values = acr_values;
        self
    }

    /// The keys from a JWKS answer, cached on success.
    fn keys_from(
        host: &dyn Host,
        uri: &str,
        r: Result<HttpResponse, Error>,
    ) -> Result<Vec<Jwk>, Error> {
        let r = r?;
        let keys = parse_jwks(r.status, r.content_type.as_deref(), &r.body)?;
        let _ = host.set(Area::Page, &cache_key(uri), &r.body);
        Ok(keys)
    }

    /// Drives the validation: an effect to perform, or the validated claims.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<IdTokenClaims> {
        let Some(uri) = st.meta.jwks_uri.clone() else {
            // No key set: an ID token cannot be verified, so it is not accepted.
            return Step::Done(Err(Error::JwksInvalid));
        };
        let (keys, refetched) = match (&self.state, input) {
            (State::Start, Outcome::Start) => {
                let jws = match parse_jws(&self.token, &st.algs) {
                    Ok(j) => j,
                    Err(e) => return Step::Done(Err(e)),
                };
                self.jws = Some(jws);
                let cached = match host.get(Area::Page, &cache_key(&uri)) {
                    Ok(Some(body)) => parse_jwks(200, Some("application/json"), &body).ok(),
                    _ => None,
                };
                match (cached, self.prefetched.take()) {
                    (Some(keys), _) => (keys, false),
                    (None, Some(r)) => match Self::keys_from(host, &uri, r) {
                        Ok(keys) => (keys, false),
                        Err(e) => return Step::Done(Err(e)),
                    },
                    (None, None) => {
                        self.state = State::Fetching { refetch: false };
                        return Step::Effect(Effect::Http(get(&uri, st.config.timeout_ms)));
                    }
                }
            }
            (State::Fetching { refetch }, Outcome::Http(r)) => {
                let refetch = *refetch;
                match Self::keys_from(host, &uri, r) {
                    Ok(keys) => (keys, refetch),
                    Err(e) => return Step::Done(Err(e)),
                }
            }
            (State::Verifying, Outcome::Verified(r)) => return self.claims(st, host, r),
            _ => return unexpected(),
        };
        let Some(jws) = &self.jws else {
            return unexpected();
        };
        match select_key(&keys, jws.alg, jws.kid.as_deref()) {
            Ok(key) => {
                self.state = State::Verifying;
                Step::Effect(Effect::Verify {
                    key: key.clone(),
                    alg: jws.alg,
                    input: jws.signing_input.clone(),
                    signature: jws.signature.clone(),
                })
            }
            // An unknown key: the provider may have rotated its keys. Look once more.
            Err(Error::JwksKeyNotFound) if !refetched => {
                self.state = State::Fetching { refetch: true };
                Step::Effect(Effect::Http(get(&uri, st.config.timeout_ms)))
            }
            Err(e) => Step::Done(Err(e)),
        }
    }

    fn claims(
        &self,
        st: &ClientState,
        host: &dyn Host,
        verified: Result<bool, Error>,
    ) -> Step<IdTokenClaims> {
        match verified {
            Ok(true) => {}
            Ok(false) => return Step::Done(Err(Error::IdTokenSignatureInvalid)),
            Err(e) => return Step::Done(Err(e)),
        }
        let Some(jws) = &self.jws else {
            return unexpected();
        };
        let checks = ClaimChecks {
            issuer: st.config.issuer.as_deref().unwrap_or(""),
            client_id: &st.config.client_id,
            nonce: self.nonce.as_deref(),
            now_s: host.now_ms() / 1000,
            skew_s: st.config.clock_skew_s,
            max_age: self.max_age,
            acr_values: self.acr_values.as_deref(),
        };
        Step::Done(validate_claims(&jws.payload, &jws.payload_json, &checks))
    }
}
