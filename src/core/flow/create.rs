//! Making a client: the configuration checked, the provider discovered (once
//! per page load) or its supplied metadata validated exactly like a fetched
//! document, and the state every later operation works on.

use super::verify::get;
use super::{
    unexpected, Area, CallbackShare, ClientState, Effect, Host, Outcome, RefreshShare, Step, View,
};
use crate::core::authorize::{check_request, has_openid, AuthorizeRequest};
use crate::core::config::{Config, Endpoints};
use crate::core::discovery::{check_metadata, discovery_url, parse_metadata, ProviderMetadata};
use crate::core::encoding::{parse_u64, push_u64};
use crate::core::error::Error;
use crate::core::id_token::allowed_algs;
use crate::core::transaction::namespace;
use crate::core::url::{check_url, origin, origin_against};

fn cache_key(issuer: &str) -> String {
    let mut k = String::from("pkce-wasm.discovery.");
    k.push_str(issuer);
    k
}

/// The discovery document an earlier page of this tab fetched (the login page,
/// for the callback page after the redirect), if it is younger than a login's
/// lifetime: validated again exactly like a fetched one, and removed when it is
/// stale or does not pass. What it saves is the callback's only round trip
/// besides the token request. Whoever can write this tab's sessionStorage runs
/// script in the app's origin and can already read the pending login's
/// verifier and the code in the address bar; see the README.
fn handed_over(host: &dyn Host, config: &Config) -> Option<ProviderMetadata> {
    let issuer = config.issuer.as_deref().unwrap_or_default();
    let ttl_ms = config.transaction_ttl_ms;
    let key = cache_key(issuer);
    let stamped = host.get(Area::Session, &key).ok()??;
    let fresh = stamped.split_once('\n').and_then(|(at, doc)| {
        let age = host.now_ms().checked_sub(parse_u64(at)?)?;
        if age > ttl_ms {
            return None;
        }
        let meta = parse_metadata(issuer, 200, Some("application/json"), doc).ok()?;
        check_metadata(&meta, issuer, has_openid(&config.scope)).ok()?;
        Some(meta)
    });
    if fresh.is_none() {
        let _ = host.remove(Area::Session, &key);
    }
    fresh
}

/// Creates a client.
#[derive(Debug)]
pub struct Create {
    config: Option<Config>,
}

impl Create {
    /// Starts making a client from `config`.
    pub fn start(config: Config) -> Self {
        Create {
            config: Some(config),
        }
    }

    /// Drives it: discovery when needed, then the client's state.
    pub fn resume(&mut self, host: &dyn Host, input: Outcome) -> Step<ClientState> {
        let Some(config) = self.config.as_ref() else {
            return unexpected();
        };
        let issuer = config.issuer.clone().unwrap_or_default();
        let meta = match (&config.endpoints, input) {
            (Endpoints::Discover, Outcome::Start) => {
                if let Some(iss) = &config.issuer {
                    if let Err(e) =
                        check_url(iss, "issuer must be an https URL (http only on loopback)")
                    {
                        return Step::Done(Err(e));
                    }
                }
                if config.issuer.is_none() {
                    return Step::Done(Err(Error::InvalidConfig(
                        "issuer, or authorizationEndpoint and tokenEndpoint, is required",
                    )));
                }
                let key = cache_key(&issuer);
                match host.get(Area::Page, &key) {
                    Ok(Some(doc)) => parse_metadata(&issuer, 200, Some("application/json"), &doc),
                    _ => match handed_over(host, config) {
                        Some(m) => Ok(m),
                        None => {
                            let req = get(&discovery_url(&issuer), config.timeout_ms);
                            return Step::Effect(Effect::Http(req));
                        }
                    },
                }
            }
            (Endpoints::Discover, Outcome::Http(r)) => r.and_then(|r| {
                let m = parse_metadata(&issuer, r.status, r.content_type.as_deref(), &r.body)?;
                let key = cache_key(&issuer);
                let _ = host.set(Area::Page, &key, &r.body);
                // Handed to the next page of this tab (the callback after the
                // redirect): a write that fails costs that page a round trip.
                let mut stamped = String::new();
                push_u64(&mut stamped, host.now_ms());
                stamped.push('\n');
                stamped.push_str(&r.body);
                let _ = host.set(Area::Session, &key, &stamped);
                Ok(m)
            }),
            (Endpoints::Given(m) | Endpoints::Explicit(m), Outcome::Start) => Ok(m.clone()),
            _ => return unexpected(),
        };
        let Some(config) = self.config.take() else {
            return unexpected();
        };
        Step::Done(meta.and_then(|m| build(config, m, host)))
    }
}

fn build(
    config: Config,
    mut meta: ProviderMetadata,
    host: &dyn Host,
) -> Result<ClientState, Error> {
    if let Some(iss) = &config.issuer {
        check_url(iss, "issuer must be an https URL (http only on loopback)")?;
    }
    let openid = has_openid(&config.scope);
    let issuer = match (&config.issuer, openid) {
        (Some(i), _) => i.as_str(),
        (None, true) => {
            return Err(Error::InvalidConfig(
                "issuer is required when scope includes openid",
            ))
        }
        (None, false) => "",
    };
    match &config.endpoints {
        Endpoints::Explicit(_) => {
            meta.issuer = String::from(issuer);
            for (url, problem) in [
                (
                    &meta.jwks_uri,
                    "jwksUri must be an https URL (http only on loopback)",
                ),
                (
                    &meta.userinfo_endpoint,
                    "userinfoEndpoint must be an https URL (http only on loopback)",
                ),
            ] {
                if let Some(u) = url {
                    check_url(u, problem)?;
                }
            }
            if openid && meta.jwks_uri.is_none() {
                return Err(Error::InvalidConfig(
                    "jwksUri is required when scope includes openid: ID token signatures are always verified",
                ));
            }
        }
        // Supplied and fetched metadata pass the very same checks.
        _ => check_metadata(&meta, issuer, openid)?,
    }
    check_url(
        &meta.token_endpoint,
        "tokenEndpoint must be an https URL (http only on loopback) without a fragment",
    )?;
    let page = host.current_url().as_deref().and_then(origin);
    if let Some(uri) = &config.silent_redirect_uri {
        check_url(
            uri,
            "silentRedirectUri must be an https URL (http only on loopback) without a fragment",
        )?;
        // The silent page answers over BroadcastChannel: same origin only.
        if page.is_some() && origin(uri) != page {
            return Err(Error::InvalidConfig(
                "silentRedirectUri must be on this page's origin",
            ));
        }
    }
    let api_origins = match &config.api_origins {
        Some(list) => list
            .iter()
            .map(|o| {
                origin_against(o, page.as_deref())
                    .ok_or(Error::InvalidConfig("apiOrigins must be URLs or origins"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => page.into_iter().collect(),
    };
    check_request(&AuthorizeRequest {
        authorization_endpoint: &meta.authorization_endpoint,
        client_id: &config.client_id,
        redirect_uri: &config.redirect_uri,
        scope: &config.scope,
        response_mode: config.response_mode,
        extra_params: &[],
        dpop_jkt: None,
        state_prefix: "",
    })?;
    let ns = namespace(
        if issuer.is_empty() {
            &meta.token_endpoint
        } else {
            issuer
        },
        &config.client_id,
    );
    let mut st = ClientState {
        algs: allowed_algs(&meta.id_token_signing_alg_values_supported),
        config,
        meta,
        ns,
        api_origins,
        mem: None,
        unsynced: false,
        refresh: RefreshShare::default(),
        callbacks: CallbackShare::default(),
        reported: View::default(),
        popup: None,
        popup_seq: 0,
        silent: None,
        silent_last: None,
        learned: Vec::new(),
        dpop_key: None,
        nonces: Vec::new(),
    };
    // This tab's copy of the record starts from storage (and remembers its epoch).
    let rec = st.record(host);
    st.reported = View::of(&rec);
    host.watch_tabs(&st.channel());
    if st.config.auto_refresh {
        // A session restored from web storage gets its timer too.
        host.watch_wake();
        st.schedule(host);
    }
    Ok(st)
}
