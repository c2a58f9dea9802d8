//! One error type for every failure, each with a stable snake_case [`Error::code`].
//!
//! Messages are fixed text (no formatting machinery on the wasm path) and never
//! contain a token, code, verifier, state or nonce. Fields from the provider
//! (RFC 6749 §4.1.2.1 / §5.2) are kept as data, bounded, so the caller can
//! show them; they never enter a message (a provider may echo what it was
//! sent, a token included, in its description).

/// Where a provider error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The authorization response on the redirect (RFC 6749 §4.1.2.1).
    Authorization,
    /// The token endpoint (RFC 6749 §5.2).
    Token,
    /// The pushed authorization request endpoint (RFC 9126 §2.3).
    PushedAuthorization,
}

/// What an API's step-up challenge asks for (RFC 9470 §3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUp {
    /// `acr_values`: the authentication context classes acceptable, space-separated.
    pub acr_values: Option<String>,
    /// `max_age`: the most seconds since the user authenticated.
    pub max_age: Option<u64>,
}

/// An error the authorization server returned, its fields kept as data
/// (bounded: [`ProviderError::new`]). `Debug` shows the code only.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// The `error` parameter, e.g. `access_denied` or `invalid_grant`.
    pub error: String,
    /// The `error_description` parameter, if any (untrusted text: render as text, never as HTML).
    pub error_description: Option<String>,
    /// The `error_uri` parameter, if any.
    pub error_uri: Option<String>,
    /// The HTTP status for token endpoint errors.
    pub status: Option<u16>,
    /// Which step returned it.
    pub source: ErrorSource,
}

/// The longest `error` kept, in bytes.
pub const MAX_ERROR_BYTES: usize = 128;
/// The longest `error_description` kept, in bytes (cut on a char boundary).
pub const MAX_DESCRIPTION_BYTES: usize = 300;
/// The longest `error_uri` kept, in bytes.
pub const MAX_ERROR_URI_BYTES: usize = 2048;

impl ProviderError {
    /// The provider's fields, each cut to its bound.
    pub fn new(
        error: &str,
        error_description: Option<&str>,
        error_uri: Option<&str>,
        status: Option<u16>,
        source: ErrorSource,
    ) -> Self {
        ProviderError {
            error: String::from(truncate(error, MAX_ERROR_BYTES)),
            error_description: error_description
                .map(|d| String::from(truncate(d, MAX_DESCRIPTION_BYTES))),
            error_uri: error_uri.map(|u| String::from(truncate(u, MAX_ERROR_URI_BYTES))),
            status,
            source,
        }
    }
}

impl core::fmt::Debug for ProviderError {
    // Provider text stays out of logs: the code (if well-formed) and the sizes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let code = if is_error_code(&self.error) {
            self.error.as_str()
        } else {
            "[not a code]"
        };
        f.debug_struct("ProviderError")
            .field("error", &code)
            .field(
                "error_description_bytes",
                &self.error_description.as_ref().map(String::len),
            )
            .field("error_uri_bytes", &self.error_uri.as_ref().map(String::len))
            .field("status", &self.status)
            .field("source", &self.source)
            .finish()
    }
}

/// Every way a pkce-wasm operation can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The client configuration is unusable; the payload names the problem.
    InvalidConfig(&'static str),
    /// A caller-supplied code verifier is not 43–128 unreserved characters (RFC 7636 §4.1).
    InvalidCodeVerifier,
    /// An extra authorization parameter tried to set a protocol parameter (the payload is its name).
    ReservedParameter(String),
    /// The URL carries neither `code` nor `error`.
    NotACallback,
    /// The callback's query or fragment is not valid percent-encoded UTF-8, or is oversized.
    InvalidCallback,
    /// A protocol parameter appears more than once (RFC 6749 §3.1); the payload is its name.
    DuplicateParameter(String),
    /// The callback has no `state`.
    MissingState,
    /// No login in progress in this tab matches the callback's `state`,
    /// while this tab has logins of this client in progress.
    StateMismatch,
    /// This tab has no login of this client in progress at all: it was
    /// started in another tab, expired and was swept, or storage was cleared.
    NoPendingLogin,
    /// The browser refused to open the login popup (`window.open` gave nothing).
    PopupBlocked,
    /// The login popup was closed before the login finished.
    PopupClosed,
    /// A newer popup login of this client replaced this one (it reused the window).
    PopupReplaced,
    /// This is a popup's callback page: the response was handed to the page
    /// that opened the popup, which completes the login; the popup closes.
    PopupResponseSent,
    /// The provider did not answer a silent login (`checkSession`) within
    /// `silentTimeout`: its page may refuse to be framed, or it showed a
    /// page instead of answering `prompt=none`.
    SilentTimeout,
    /// The provider, on another site than the app, answered a silent login
    /// `login_required` although this browser logged in there: the browser
    /// keeps the provider's cookies from its iframe (third-party cookies).
    ThirdPartyCookiesBlocked,
    /// This is a silent login's callback page (in the hidden iframe): the
    /// response was handed to the page that embeds it.
    SilentResponseSent,
    /// This callback was already processed; its code is not sent twice.
    CallbackReplayed,
    /// The callback's `state` belongs to a login another client (issuer or
    /// client id) started on this origin; it is left for that client.
    CallbackOtherClient,
    /// The login transaction is older than its time-to-live.
    TransactionExpired,
    /// The stored transaction record is unreadable (edited or corrupted).
    TransactionInvalid,
    /// The callback has neither `code` nor `error`.
    MissingCode,
    /// The callback has both `code` and `error`.
    CodeAndError,
    /// The callback's `iss` differs from the configured issuer (RFC 9207).
    IssuerMismatch,
    /// The authorization server answered with an error (boxed: it keeps every
    /// `Result` of the SDK small).
    Provider(Box<ProviderError>),
    /// The token endpoint answered non-2xx without an RFC 6749 §5.2 error body.
    TokenHttpError(u16),
    /// The token response is not JSON (content type or body).
    TokenResponseNotJson,
    /// The token response JSON has a field of the wrong type.
    InvalidTokenResponse,
    /// The token response has no `access_token`.
    MissingAccessToken,
    /// The token response has no `token_type`.
    MissingTokenType,
    /// The token response's `token_type` is not `Bearer`.
    UnsupportedTokenType,
    /// A response body exceeded the size limit.
    ResponseTooLarge,
    /// sessionStorage (or the configured store) is absent or throws.
    StorageUnavailable,
    /// The request did not reach the server or its answer was lost.
    Network,
    /// The server did not answer within the configured timeout (the request was aborted).
    Timeout,
    /// `crypto.getRandomValues` is unavailable (not a secure context?).
    CryptoUnavailable,
    /// No `window`: a worker or a server, with no page storage or navigation.
    NoWindow,
    /// The callback lacks `iss` though the provider advertises it (RFC 9207 §2.4).
    IssuerMissing,
    /// The discovery document answered non-2xx.
    DiscoveryFailed(u16),
    /// The discovery document is not JSON.
    DiscoveryNotJson,
    /// A discovery field is missing or has the wrong type (the payload names it).
    DiscoveryInvalid(&'static str),
    /// The discovery document's `issuer` differs from the configured issuer.
    DiscoveryIssuerMismatch,
    /// A discovered endpoint is not https (or http on loopback); the payload names it.
    InsecureEndpoint(&'static str),
    /// `openid` was requested but the token response has no `id_token`.
    IdTokenMissing,
    /// The ID token is not a compact JWS with a usable header.
    IdTokenMalformed,
    /// An ID token segment is not base64url.
    IdTokenInvalidBase64,
    /// The ID token header or payload is not a JSON object.
    IdTokenInvalidJson,
    /// The ID token's `alg` is `none`, HMAC, unsupported, or not advertised.
    IdTokenAlgNotAllowed,
    /// The JWKS could not be fetched or parsed.
    JwksInvalid,
    /// No JWKS key matches the ID token's `kid`/`alg`, even after one re-fetch.
    JwksKeyNotFound,
    /// Several JWKS keys match the ID token.
    JwksKeyAmbiguous,
    /// The only JWKS key that matches is an RSA key under 2048 bits (RFC 7518 §3.3).
    JwksKeyWeak,
    /// The ID token's signature does not verify.
    IdTokenSignatureInvalid,
    /// The ID token's `iss` differs from the issuer.
    IdTokenIssMismatch,
    /// The ID token's `aud` does not contain this client.
    IdTokenAudMismatch,
    /// The ID token's `azp` is missing (several audiences) or not this client.
    IdTokenAzpMismatch,
    /// The ID token's `exp` is past (beyond the clock skew).
    IdTokenExpired,
    /// The ID token's `iat` is in the future (beyond the clock skew).
    IdTokenIssuedInFuture,
    /// The ID token's `nonce` differs from the one sent.
    IdTokenNonceMismatch,
    /// A required ID token claim is missing or has the wrong type.
    IdTokenClaimsInvalid,
    /// The UserInfo endpoint answered non-2xx.
    UserinfoHttpError(u16),
    /// The UserInfo response is not a JSON object with a `sub`.
    UserinfoInvalid,
    /// UserInfo's `sub` differs from the ID token's.
    UserinfoSubMismatch,
    /// The call needs a session and there is none.
    NotAuthenticated,
    /// The session ended (refresh token rejected, or expired without one): log in again.
    LoginRequired,
    /// A refreshed ID token is for another subject (OIDC Core §12.2).
    IdTokenSubMismatch,
    /// A refreshed ID token's `iss`, `aud`, `azp`, `auth_time` or `nonce` is
    /// not the original's (OIDC Core §12.2).
    IdTokenRefreshMismatch,
    /// `logout({ returnTo })` to another origin that `postLogoutRedirectUris`
    /// does not list, with no end-session endpoint to check it.
    ReturnToNotAllowed,
    /// An API answered a request that carried the access token with a
    /// redirect; it was not followed (the token goes to `apiOrigins` only).
    ApiRedirectRefused,
    /// `max_age` was requested but the ID token's `auth_time` is older (OIDC Core §3.1.3.7 step 13).
    IdTokenMaxAgeExceeded,
    /// `acr_values` was requested but the ID token's `acr` is none of them (OIDC Core §3.1.3.7 step 12).
    IdTokenAcrNotSatisfied,
    /// An API asked for a stronger or fresher authentication (RFC 9470):
    /// `insufficient_user_authentication`, with what it wants.
    StepUpRequired(Box<StepUp>),
    /// An API's protected resource metadata (RFC 9728) is unusable or
    /// inconsistent (the payload says how); no token was sent to it.
    ResourceMetadataInvalid(&'static str),
    /// A token for a resource the login did not ask for (RFC 8707 §2.2): the
    /// refresh grant may only narrow the grant, and a provider that refuses
    /// may already have spent the refresh token, so it is not asked.
    ResourceNotGranted(String),
    /// The revocation endpoint answered non-2xx (RFC 7009 §2.2.1).
    RevocationFailed(u16),
    /// DPoP was used but the provider issued a `Bearer` token (RFC 9449 §5).
    DpopNotBound,
    /// The DPoP key could not be made, stored or used (IndexedDB, WebCrypto).
    DpopKeyUnavailable,
    /// The PAR endpoint failed without an OAuth error body, or gave no `request_uri`.
    ParFailed(u16),
    /// The provider requires PAR (`require_pushed_authorization_requests`) but it is turned off.
    ParRequired,
    /// The `request_uri` expired before the redirect (RFC 9126 §2.2 `expires_in`).
    ParRequestExpired,
}

impl Error {
    /// The stable code and fixed message of every error but a provider's.
    fn info(&self) -> (&'static str, &'static str) {
        match self {
            Error::InvalidConfig(_) => ("invalid_config", ""),
            Error::InvalidCodeVerifier => ("invalid_code_verifier", "A code verifier is 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)."),
            Error::ReservedParameter(_) => ("reserved_parameter", ""),
            Error::NotACallback => ("not_a_callback", "This URL is not a callback: it has no code and no error."),
            Error::InvalidCallback => ("invalid_callback", "The callback URL is too long or badly encoded."),
            Error::DuplicateParameter(_) => ("duplicate_parameter", ""),
            Error::MissingState => ("missing_state", "The callback has no state: it matches no login."),
            Error::StateMismatch => ("state_mismatch", "The callback's state matches none of the logins this tab started (a forged or stale link)."),
            Error::PopupBlocked => ("popup_blocked", "The browser blocked the login popup: call loginWithPopup from a click handler, before any await."),
            Error::PopupClosed => ("popup_closed", "The login popup was closed before the login finished."),
            Error::PopupReplaced => ("popup_replaced", "A newer popup login replaced this one."),
            Error::PopupResponseSent => ("popup_response_sent", "This window is a login popup: the response went to the page that opened it."),
            Error::SilentTimeout => ("silent_timeout", "The provider did not answer the silent login in time."),
            Error::ThirdPartyCookiesBlocked => ("third_party_cookies_blocked", "The browser blocks the provider's third-party cookies: silent login cannot work here."),
            Error::SilentResponseSent => ("silent_response_sent", "This is a silent login's iframe: the response went to its page."),
            Error::NoPendingLogin => ("no_pending_login", "This tab has no login waiting for this callback (started in another tab, expired, or storage cleared): start a new login."),
            Error::CallbackReplayed => ("callback_replayed", "This callback was already handled; start a new login."),
            Error::CallbackOtherClient => ("callback_other_client", "This callback is for another client (issuer or client id) on this site; it was left for that client."),
            Error::TransactionExpired => ("transaction_expired", "The login took too long; please log in again."),
            Error::TransactionInvalid => ("transaction_invalid", "The stored login is unreadable; please log in again."),
            Error::MissingCode => ("missing_code", "The callback has no code and no error."),
            Error::CodeAndError => ("code_and_error", "The callback has both a code and an error."),
            Error::IssuerMismatch => ("iss_mismatch", "The callback's iss is not the issuer (RFC 9207): a possible mix-up attack."),
            Error::TokenHttpError(_) => ("token_http_error", "The token endpoint answered an HTTP error without an OAuth error."),
            Error::TokenResponseNotJson => ("token_response_not_json", "The token endpoint did not answer JSON."),
            Error::InvalidTokenResponse => ("invalid_token_response", "A token response field has the wrong type."),
            Error::MissingAccessToken => ("missing_access_token", "The token response has no access_token."),
            Error::MissingTokenType => ("missing_token_type", "The token response has no token_type."),
            Error::UnsupportedTokenType => ("unsupported_token_type", "The token_type is not Bearer."),
            Error::ResponseTooLarge => ("response_too_large", "The response is too large."),
            Error::StorageUnavailable => ("storage_unavailable", "Storage is unavailable or refuses writes."),
            Error::Network => ("network_error", "The request failed (network, CORS or a blocked URL)."),
            Error::Timeout => ("timeout", "No answer in time; the request was aborted."),
            Error::CryptoUnavailable => ("crypto_unavailable", "No crypto.getRandomValues: pkce-wasm needs a secure context (https or loopback)."),
            Error::NoWindow => ("no_window", "No window (a worker?): make the client in the page, post its access token to the worker."),
            Error::IssuerMissing => ("iss_missing", "The callback has no iss though the provider sends one (RFC 9207): a possible mix-up attack."),
            Error::DiscoveryFailed(_) => ("discovery_failed", "The discovery document could not be fetched."),
            Error::DiscoveryNotJson => ("discovery_not_json", "The discovery document is not JSON."),
            Error::DiscoveryInvalid(_) => ("discovery_invalid", ""),
            Error::DiscoveryIssuerMismatch => ("discovery_issuer_mismatch", "The discovery document's issuer is not the configured issuer."),
            Error::InsecureEndpoint(_) => ("insecure_endpoint", ""),
            Error::IdTokenMissing => ("id_token_missing", "No id_token although openid was requested."),
            Error::IdTokenMalformed => ("id_token_malformed", "The ID token is not a compact JWS."),
            Error::IdTokenInvalidBase64 => ("id_token_invalid_base64", "An ID token part is not base64url."),
            Error::IdTokenInvalidJson => ("id_token_invalid_json", "The ID token header or payload is not a JSON object."),
            Error::IdTokenAlgNotAllowed => ("id_token_alg_not_allowed", "The ID token's alg is not allowed (none and HMAC never are)."),
            Error::JwksInvalid => ("jwks_invalid", "The provider's key set (JWKS) is unusable."),
            Error::JwksKeyNotFound => ("jwks_key_not_found", "No JWKS key matches the ID token."),
            Error::JwksKeyAmbiguous => ("jwks_key_ambiguous", "Several JWKS keys match the ID token."),
            Error::JwksKeyWeak => ("jwks_key_weak", "The provider's RSA key is under 2048 bits (RFC 7518 §3.3)."),
            Error::IdTokenSignatureInvalid => ("id_token_signature_invalid", "The ID token's signature is invalid."),
            Error::IdTokenIssMismatch => ("id_token_iss_mismatch", "The ID token's iss is not the issuer."),
            Error::IdTokenAudMismatch => ("id_token_aud_mismatch", "The ID token's aud is not this client."),
            Error::IdTokenAzpMismatch => ("id_token_azp_mismatch", "The ID token's azp is missing or not this client."),
            Error::IdTokenExpired => ("id_token_expired", "The ID token has expired."),
            Error::IdTokenIssuedInFuture => ("id_token_issued_in_future", "The ID token's iat is in the future (check the clock)."),
            Error::IdTokenNonceMismatch => ("id_token_nonce_mismatch", "The ID token's nonce is not this login's (a replay?)."),
            Error::IdTokenClaimsInvalid => ("id_token_claims_invalid", "An ID token claim (iss, sub, aud, exp, iat) is missing or mistyped."),
            Error::UserinfoHttpError(_) => ("userinfo_http_error", "UserInfo answered an HTTP error."),
            Error::UserinfoInvalid => ("userinfo_invalid", "UserInfo is not a JSON object with a sub."),
            Error::UserinfoSubMismatch => ("userinfo_sub_mismatch", "UserInfo's sub is not the ID token's."),
            Error::NotAuthenticated => ("not_authenticated", "No session: log in first."),
            Error::LoginRequired => ("login_required", "The session has ended: log in again."),
            Error::IdTokenSubMismatch => ("id_token_sub_mismatch", "The refreshed ID token is for another user."),
            Error::ApiRedirectRefused => ("api_redirect_refused", "The API answered with a redirect, which is not followed with the access token."),
            Error::ReturnToNotAllowed => ("return_to_not_allowed", "logout's returnTo is another origin and not in postLogoutRedirectUris."),
            Error::IdTokenRefreshMismatch => ("id_token_refresh_mismatch", "The refreshed ID token's iss, aud, azp, auth_time or nonce is not the original's."),
            Error::IdTokenMaxAgeExceeded => ("id_token_max_age_exceeded", "The login is older than max_age allows."),
            Error::IdTokenAcrNotSatisfied => ("id_token_acr_not_satisfied", "The provider did not authenticate at the level asked for (acr_values)."),
            Error::ResourceMetadataInvalid(_) => ("resource_metadata_invalid", ""),
            Error::ResourceNotGranted(_) => ("resource_not_granted", ""),
            Error::StepUpRequired(_) => ("step_up_required", "The API wants a stronger or more recent login: log in again with its acrValues / maxAge."),
            Error::RevocationFailed(_) => ("revocation_failed", "The provider did not confirm the revocation."),
            Error::DpopNotBound => ("dpop_not_bound", "DPoP was asked for, but the token is Bearer."),
            Error::DpopKeyUnavailable => ("dpop_key_unavailable", "The DPoP key is unusable (IndexedDB or WebCrypto)."),
            Error::ParFailed(_) => ("par_failed", "The pushed authorization request failed."),
            Error::ParRequired => ("par_required", "The provider requires PAR, which is off."),
            Error::ParRequestExpired => ("par_request_expired", "The pushed request expired before the redirect; try again."),
            Error::Provider(_) => ("provider_error", ""),
        }
    }

    /// The stable snake_case code. Provider errors pass the provider's own RFC 6749
    /// code through (e.g. `access_denied`, `invalid_grant`) when it is a well-formed
    /// code, else `provider_error`.
    pub fn code(&self) -> &str {
        match self {
            Error::Provider(p) if is_error_code(&p.error) => &p.error,
            e => e.info().0,
        }
    }

    /// A readable, secret-free message. Built without `core::fmt`.
    pub fn message(&self) -> String {
        match self {
            // A bare option name, or a sentence saying what is wrong.
            Error::InvalidConfig(what) if !what.contains(' ') => join3(
                "Invalid configuration: '",
                what,
                "' has a wrong type or value (see the README).",
            ),
            Error::InvalidConfig(what) => join("Invalid configuration: ", what),
            Error::ReservedParameter(name) => join3(
                "Extra parameter '",
                name,
                "' would override a protocol parameter.",
            ),
            Error::DuplicateParameter(name) => {
                join3("The callback repeats the parameter '", name, "'.")
            }
            Error::Provider(p) => {
                let lead = match p.source {
                    ErrorSource::Authorization => "The authorization server returned ",
                    ErrorSource::Token => "The token endpoint returned ",
                    ErrorSource::PushedAuthorization => {
                        "The pushed authorization request endpoint returned "
                    }
                };
                // Our words and the code only: the provider's text is in the fields.
                join3(
                    lead,
                    self.code(),
                    " (its description, if any, is in errorDescription).",
                )
            }
            Error::ResourceNotGranted(r) => join3(
                "No token can be asked for the resource '",
                r,
                "': the login did not ask for it (log in again with it in extraParams.resource, RFC 8707) or left no refresh token.",
            ),
            Error::ResourceMetadataInvalid(why) => join3(
                "The API's protected resource metadata (RFC 9728) is refused: ",
                why,
                "; no token was sent to it.",
            ),
            Error::DiscoveryInvalid(field) => join3(
                "The discovery document's field '",
                field,
                "' is missing or mistyped.",
            ),
            Error::InsecureEndpoint(field) => join3(
                "The discovered '",
                field,
                "' is not https (http: loopback only).",
            ),
            e => String::from(e.info().1),
        }
    }

    /// What a step-up challenge asked for (`step_up_required`).
    pub fn step_up(&self) -> Option<&StepUp> {
        match self {
            Error::StepUpRequired(s) => Some(s),
            _ => None,
        }
    }

    /// The provider's error fields, for provider errors.
    pub fn provider(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider(p) => Some(p),
            _ => None,
        }
    }

    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Provider(p) => p.status,
            Error::TokenHttpError(s) | Error::DiscoveryFailed(s) | Error::UserinfoHttpError(s) => {
                Some(*s)
            }
            _ => None,
        }
    }
}

/// RFC 6749 §5.2 error codes are `%x20-21 / %x23-5B / %x5D-7E`; we pass through only
/// the conventional `[a-z0-9_]{1,64}` shape so codes stay safe to switch on.
fn is_error_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn join(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

fn join3(a: &str, b: &str, c: &str) -> String {
    let mut s = join(a, b);
    s.push_str(c);
    s
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, through an exhaustive match: a new variant must be added here.
    fn every_error() -> Vec<Error> {
        let all = vec![
            Error::InvalidConfig("x"),
            Error::InvalidCodeVerifier,
            Error::ReservedParameter("x".into()),
            Error::NotACallback,
            Error::InvalidCallback,
            Error::DuplicateParameter("x".into()),
            Error::MissingState,
            Error::StateMismatch,
            Error::NoPendingLogin,
            Error::PopupBlocked,
            Error::PopupClosed,
            Error::PopupReplaced,
            Error::PopupResponseSent,
            Error::SilentTimeout,
            Error::ThirdPartyCookiesBlocked,
            Error::SilentResponseSent,
            Error::CallbackReplayed,
            Error::CallbackOtherClient,
            Error::TransactionExpired,
            Error::TransactionInvalid,
            Error::MissingCode,
            Error::CodeAndError,
            Error::IssuerMismatch,
            Error::Provider(Box::new(ProviderError::new(
                "access_denied",
                None,
                None,
                None,
                ErrorSource::Authorization,
            ))),
            Error::TokenHttpError(500),
            Error::TokenResponseNotJson,
            Error::InvalidTokenResponse,
            Error::MissingAccessToken,
            Error::MissingTokenType,
            Error::UnsupportedTokenType,
            Error::ResponseTooLarge,
            Error::StorageUnavailable,
            Error::Network,
            Error::Timeout,
            Error::CryptoUnavailable,
            Error::NoWindow,
            Error::IssuerMissing,
            Error::DiscoveryFailed(500),
            Error::DiscoveryNotJson,
            Error::DiscoveryInvalid("x"),
            Error::DiscoveryIssuerMismatch,
            Error::InsecureEndpoint("x"),
            Error::IdTokenMissing,
            Error::IdTokenMalformed,
            Error::IdTokenInvalidBase64,
            Error::IdTokenInvalidJson,
            Error::IdTokenAlgNotAllowed,
            Error::JwksInvalid,
            Error::JwksKeyNotFound,
            Error::JwksKeyAmbiguous,
            Error::JwksKeyWeak,
            Error::IdTokenSignatureInvalid,
            Error::IdTokenIssMismatch,
            Error::IdTokenAudMismatch,
            Error::IdTokenAzpMismatch,
            Error::IdTokenExpired,
            Error::IdTokenIssuedInFuture,
            Error::IdTokenNonceMismatch,
            Error::IdTokenClaimsInvalid,
            Error::UserinfoHttpError(500),
            Error::UserinfoInvalid,
            Error::UserinfoSubMismatch,
            Error::NotAuthenticated,
            Error::LoginRequired,
            Error::IdTokenSubMismatch,
            Error::IdTokenRefreshMismatch,
            Error::ReturnToNotAllowed,
            Error::ApiRedirectRefused,
            Error::RevocationFailed(500),
            Error::DpopNotBound,
            Error::DpopKeyUnavailable,
            Error::ParFailed(500),
            Error::ParRequired,
            Error::ParRequestExpired,
            Error::IdTokenMaxAgeExceeded,
            Error::IdTokenAcrNotSatisfied,
            Error::StepUpRequired(Box::default()),
            Error::ResourceMetadataInvalid("x"),
            Error::ResourceNotGranted("x".into()),
        ];
        for e in &all {
            match e {
                Error::InvalidConfig(_) => {}
                Error::InvalidCodeVerifier => {}
                Error::ReservedParameter(_) => {}
                Error::NotACallback => {}
                Error::InvalidCallback => {}
                Error::DuplicateParameter(_) => {}
                Error::MissingState => {}
                Error::StateMismatch => {}
                Error::NoPendingLogin => {}
                Error::PopupBlocked => {}
                Error::PopupClosed => {}
                Error::PopupReplaced => {}
                Error::PopupResponseSent => {}
                Error::SilentTimeout => {}
                Error::ThirdPartyCookiesBlocked => {}
                Error::SilentResponseSent => {}
                Error::CallbackReplayed => {}
                Error::CallbackOtherClient => {}
                Error::TransactionExpired => {}
                Error::TransactionInvalid => {}
                Error::MissingCode => {}
                Error::CodeAndError => {}
                Error::IssuerMismatch => {}
                Error::Provider(_) => {}
                Error::TokenHttpError(_) => {}
                Error::TokenResponseNotJson => {}
                Error::InvalidTokenResponse => {}
                Error::MissingAccessToken => {}
                Error::MissingTokenType => {}
                Error::UnsupportedTokenType => {}
                Error::ResponseTooLarge => {}
                Error::StorageUnavailable => {}
                Error::Network => {}
                Error::Timeout => {}
                Error::CryptoUnavailable => {}
                Error::NoWindow => {}
                Error::IssuerMissing => {}
                Error::DiscoveryFailed(_) => {}
                Error::DiscoveryNotJson => {}
                Error::DiscoveryInvalid(_) => {}
                Error::DiscoveryIssuerMismatch => {}
                Error::InsecureEndpoint(_) => {}
                Error::IdTokenMissing => {}
                Error::IdTokenMalformed => {}
                Error::IdTokenInvalidBase64 => {}
                Error::IdTokenInvalidJson => {}
                Error::IdTokenAlgNotAllowed => {}
                Error::JwksInvalid => {}
                Error::JwksKeyNotFound => {}
                Error::JwksKeyAmbiguous => {}
                Error::JwksKeyWeak => {}
                Error::IdTokenSignatureInvalid => {}
                Error::IdTokenIssMismatch => {}
                Error::IdTokenAudMismatch => {}
                Error::IdTokenAzpMismatch => {}
                Error::IdTokenExpired => {}
                Error::IdTokenIssuedInFuture => {}
                Error::IdTokenNonceMismatch => {}
                Error::IdTokenClaimsInvalid => {}
                Error::UserinfoHttpError(_) => {}
                Error::UserinfoInvalid => {}
                Error::UserinfoSubMismatch => {}
                Error::NotAuthenticated => {}
                Error::LoginRequired => {}
                Error::IdTokenSubMismatch => {}
                Error::IdTokenRefreshMismatch => {}
                Error::ReturnToNotAllowed => {}
                Error::ApiRedirectRefused => {}
                Error::RevocationFailed(_) => {}
                Error::DpopNotBound => {}
                Error::DpopKeyUnavailable => {}
                Error::ParFailed(_) => {}
                Error::ParRequired => {}
                Error::ParRequestExpired => {}
                Error::IdTokenMaxAgeExceeded => {}
                Error::IdTokenAcrNotSatisfied => {}
                Error::StepUpRequired(_) => {}
                Error::ResourceMetadataInvalid(_) => {}
                Error::ResourceNotGranted(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_code_is_stable_snake_case_and_documented_in_the_readme() {
        let readme = include_str!("../../README.md");
        let types = include_str!("../../js/index.d.ts");
        let mut seen = Vec::new();
        let all = every_error();
        for e in &all {
            let code = e.code();
            assert!(
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{code}"
            );
            assert!(
                readme.contains(&format!("`{code}`")),
                "{code} is not in the README's error table"
            );
            assert!(
                types.contains(&format!("'{code}'")),
                "{code} is not in js/index.d.ts's PkceWasmErrorCode"
            );
            assert!(!e.message().is_empty());
            assert!(!seen.contains(&code), "{code} twice");
            seen.push(code);
        }
        assert_eq!(seen.len(), 79);
    }

    fn provider(code: &str) -> Error {
        Error::Provider(Box::new(ProviderError::new(
            code,
            Some("End-User aborted interaction"),
            None,
            None,
            ErrorSource::Authorization,
        )))
    }

    #[test]
    fn provider_codes_pass_through_when_well_formed() {
        assert_eq!(provider("access_denied").code(), "access_denied");
        assert_eq!(provider("<script>").code(), "provider_error");
        assert_eq!(provider("").code(), "provider_error");
        assert_eq!(
            provider("access_denied").message(),
            "The authorization server returned access_denied (its description, if any, is in errorDescription)."
        );
    }

    #[test]
    fn provider_text_stays_out_of_messages_and_debug() {
        let secret = "rt-8d7f6e5d4c3b2a19";
        for source in [
            ErrorSource::Authorization,
            ErrorSource::Token,
            ErrorSource::PushedAuthorization,
        ] {
            let echo = ["refresh token ", secret, " is revoked"].concat();
            let e = Error::Provider(Box::new(ProviderError::new(
                "invalid_grant",
                Some(&echo),
                Some(&["https://idp/e?t=", secret].concat()),
                Some(400),
                source,
            )));
            assert!(!e.message().contains(secret), "{}", e.message());
            assert!(!format!("{e:?}").contains(secret), "{e:?}");
            // The fields keep it, for an app that chooses to show it.
            assert_eq!(
                e.provider().unwrap().error_description.as_deref(),
                Some(&*echo)
            );
            // A provider "code" that is not one is not repeated either.
            let odd = Error::Provider(Box::new(ProviderError::new(
                secret, None, None, None, source,
            )));
            assert!(!odd.message().contains(secret) && !format!("{odd:?}").contains(secret));
        }
    }

    #[test]
    fn provider_fields_are_bounded_on_a_char_boundary() {
        let long = "é".repeat(2000);
        let e = Error::Provider(Box::new(ProviderError::new(
            &long,
            Some(&long),
            Some(&long),
            Some(400),
            ErrorSource::Token,
        )));
        let p = e.provider().unwrap();
        assert_eq!(p.error.len(), MAX_ERROR_BYTES);
        assert_eq!(
            p.error_description.as_ref().unwrap().len(),
            MAX_DESCRIPTION_BYTES
        );
        assert_eq!(p.error_uri.as_ref().unwrap().len(), MAX_ERROR_URI_BYTES);
        assert_eq!(e.status(), Some(400));
    }
}
