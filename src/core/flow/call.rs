//! One of the SDK's own requests to the provider. With DPoP on it carries a
//! fresh proof (and `Authorization: DPoP`), and a `use_dpop_nonce` answer
//! makes exactly one retry with the server's nonce (RFC 9449 §8).

use super::{
    random_token, unexpected, ClientState, Effect, Host, HttpRequest, HttpResponse, Outcome, Step,
};
use crate::core::dpop::{finish_proof, proof_signing_input, retry_nonce, ProofClaims};
use crate::core::error::Error;
use crate::core::secret::redact;
use crate::core::token::oauth_error_code;
use crate::core::url::origin;

/// A DPoP proof for one request: the key loaded first if needed, then signed.
/// The key is the session's, unless the request names one (a login's, before
/// it has a session).
pub(crate) struct Proof {
    htm: String,
    url: String,
    access_token: Option<String>,
    key: Option<String>,
    input: Option<String>,
}

impl core::fmt::Debug for Proof {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Proof")
            .field("htm", &self.htm)
            .field("url", &self.url)
            .field("access_token", &redact(&self.access_token))
            .field("key", &self.key)
            .field("input", &redact(&self.input))
            .finish()
    }
}

impl Proof {
    pub(crate) fn new(htm: &str, url: &str, access_token: Option<&str>) -> Self {
        Proof {
            htm: String::from(htm),
            url: String::from(url),
            access_token: access_token.map(String::from),
            key: None,
            input: None,
        }
    }

    /// Drives the proof: an effect to perform, or the finished proof.
    pub(crate) fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<String> {
        let key = match &self.key {
            Some(k) => k.clone(),
            None => {
                let k = st.session_dpop_key();
                self.key = Some(k.clone());
                k
            }
        };
        match input {
            Outcome::Start => {}
            Outcome::DpopKey(Ok(jwk)) => st.dpop_key = Some((key.clone(), jwk)),
            Outcome::DpopKey(Err(e)) | Outcome::Signature(Err(e)) => return Step::Done(Err(e)),
            Outcome::Signature(Ok(sig)) => {
                return match self.input.take() {
                    Some(i) => Step::Done(Ok(finish_proof(&i, &sig))),
                    None => unexpected(),
                }
            }
            _ => return unexpected(),
        }
        let Some((_, jwk)) = st.dpop_key.as_ref().filter(|(id, _)| *id == key) else {
            return Step::Effect(Effect::LoadDpopKey {
                id: key,
                create: false,
            });
        };
        let jti = match random_token(host) {
            Ok(j) => j,
            Err(e) => return Step::Done(Err(e)),
        };
        let origin = origin(&self.url).unwrap_or_default();
        let signing_input = proof_signing_input(
            jwk,
            &ProofClaims {
                htm: &self.htm,
                url: &self.url,
                iat: host.now_ms() / 1000,
                jti: &jti,
                nonce: st.nonce_for(&origin),
                access_token: self.access_token.as_deref(),
            },
        );
        self.input = Some(signing_input.clone());
        Step::Effect(Effect::Sign {
            key,
            input: signing_input,
        })
    }
}

#[derive(Debug)]
enum State {
    Start,
    Proving(Proof),
    Sending,
}

/// A request to the provider, with DPoP when the client uses it. A second
/// request (`with_companion`) can travel concurrently with the first attempt:
/// the callback fetches the JWKS while the code is exchanged.
pub struct Call {
    method: &'static str,
    url: String,
    body: Option<String>,
    access_token: Option<String>,
    companion: Option<HttpRequest>,
    /// The companion's answer, once it came.
    pub companion_answer: Option<Result<HttpResponse, Error>>,
    dpop_key: Option<String>,
    attempt: u8,
    state: State,
}

impl core::fmt::Debug for Call {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body", &redact(&self.body))
            .field("access_token", &redact(&self.access_token))
            .field("companion", &self.companion)
            .field("companion_answer", &self.companion_answer)
            .field("dpop_key", &self.dpop_key)
            .field("attempt", &self.attempt)
            .field("state", &self.state)
            .finish()
    }
}

impl Call {
    /// A request; `access_token` goes in `Authorization` (`Bearer`, or `DPoP` with a proof).
    pub fn new(
        method: &'static str,
        url: &str,
        body: Option<String>,
        access_token: Option<&str>,
    ) -> Self {
        Call {
            method,
            url: String::from(url),
            body,
            access_token: access_token.map(String::from),
            companion: None,
            companion_answer: None,
            dpop_key: None,
            attempt: 0,
            state: State::Start,
        }
    }

    /// Proves the request with this DPoP key rather than the session's.
    pub fn with_dpop_key(mut self, key: Option<String>) -> Self {
        self.dpop_key = key;
        self
    }

    /// Sends `other` concurrently with the first attempt.
    pub fn with_companion(mut self, other: Option<HttpRequest>) -> Self {
        self.companion = other;
        self
    }

    fn send(&mut self, st: &ClientState, proof: Option<String>) -> Step<HttpResponse> {
        let dpop = proof.is_some();
        let req = HttpRequest {
            method: self.method,
            url: self.url.clone(),
            body: self.body.clone(),
            authorization: self.access_token.as_deref().map(|t| {
                let mut v = String::from(if dpop { "DPoP " } else { "Bearer " });
                v.push_str(t);
                v
            }),
            dpop: proof,
            timeout_ms: st.config.timeout_ms,
        };
        self.state = State::Sending;
        Step::Effect(match self.companion.take() {
            Some(other) => Effect::HttpPair(req, other),
            None => Effect::Http(req),
        })
    }

    /// Drives the request: an effect to perform, or the provider's answer.
    pub fn resume(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<HttpResponse> {
        let answer = match (&mut self.state, input) {
            (State::Start, Outcome::Start) => {
                if !(cfg!(feature = "dpop") && st.config.dpop) {
                    return self.send(st, None);
                }
                return self.prove(st, host, Outcome::Start);
            }
            (State::Proving(_), input) => return self.prove(st, host, input),
            (State::Sending, Outcome::Http(r)) => r,
            (State::Sending, Outcome::HttpPair(r, other)) => {
                self.companion_answer = Some(other);
                r
            }
            _ => return unexpected(),
        };
        let r = match answer {
            Ok(r) => r,
            Err(e) => return Step::Done(Err(e)),
        };
        if !(cfg!(feature = "dpop") && st.config.dpop) {
            return Step::Done(Ok(r));
        }
        st.remember_nonce(
            &origin(&self.url).unwrap_or_default(),
            r.dpop_nonce.as_deref(),
        );
        let error = oauth_error_code(r.content_type.as_deref(), &r.body);
        let retry = retry_nonce(
            self.attempt,
            r.status,
            error.as_deref(),
            r.www_authenticate.as_deref(),
            r.dpop_nonce.as_deref(),
        );
        if retry.is_none() {
            return Step::Done(Ok(r));
        }
        self.attempt += 1;
        self.state = State::Start;
        self.prove(st, host, Outcome::Start)
    }

    fn prove(
        &mut self,
        st: &mut ClientState,
        host: &dyn Host,
        input: Outcome,
    ) -> Step<HttpResponse> {
        if let State::Start = self.state {
            let mut p = Proof::new(self.method, &self.url, self.access_token.as_deref());
            p.key.clone_from(&self.dpop_key);
            self.state = State::Proving(p);
        }
        let State::Proving(p) = &mut self.state else {
            return unexpected();
        };
        match p.resume(st, host, input) {
            Step::Effect(e) => Step::Effect(e),
            Step::Done(Ok(proof)) => self.send(st, Some(proof)),
            Step::Done(Err(e)) => Step::Done(Err(e)),
        }
    }
}
