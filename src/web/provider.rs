//! Provider metadata and JWKS, fetched once per page load and cached in memory.

use std::cell::RefCell;
use std::rc::Rc;

use crate::core::discovery::{discovery_url, parse_metadata, ProviderMetadata};
use crate::core::id_token::{parse_jwks, Jwk};
use crate::core::Error;

use super::http::get;

/// An in-memory cache keyed by URL, for one page load.
type Cache<T> = RefCell<Vec<(String, Rc<T>)>>;

thread_local! {
    static METADATA: Cache<ProviderMetadata> = const { RefCell::new(Vec::new()) };
    static JWKS: Cache<Vec<Jwk>> = const { RefCell::new(Vec::new()) };
}

fn cached<T>(cache: &'static std::thread::LocalKey<Cache<T>>, key: &str) -> Option<Rc<T>> {
    cache.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| Rc::clone(v))
    })
}

fn store<T>(cache: &'static std::thread::LocalKey<Cache<T>>, key: &str, value: Rc<T>) {
    cache.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(k, _)| k != key);
        c.push((String::from(key), value));
    });
}

/// The issuer's discovery document (fetched once per page load).
pub async fn metadata(issuer: &str, timeout_ms: u32) -> Result<Rc<ProviderMetadata>, Error> {
    if let Some(m) = cached(&METADATA, issuer) {
        return Ok(m);
    }
    let r = get(&discovery_url(issuer), timeout_ms).await?;
    let m = Rc::new(parse_metadata(
        issuer,
        r.status,
        r.content_type.as_deref(),
        &r.body,
    )?);
    store(&METADATA, issuer, Rc::clone(&m));
    Ok(m)
}

/// The key set at `uri`; `refresh` bypasses the cache (used once for an unknown `kid`).
pub async fn jwks(uri: &str, refresh: bool, timeout_ms: u32) -> Result<Rc<Vec<Jwk>>, Error> {
    if !refresh {
        if let Some(k) = cached(&JWKS, uri) {
            return Ok(k);
        }
    }
    let r = get(uri, timeout_ms).await?;
    let keys = Rc::new(parse_jwks(r.status, r.content_type.as_deref(), &r.body)?);
    store(&JWKS, uri, Rc::clone(&keys));
    Ok(keys)
}
