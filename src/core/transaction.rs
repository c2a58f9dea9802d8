//! Login transactions between the redirect and the callback: stored by
//! `state`, single use, with a time-to-live, behind a [`Store`] so the rules
//! are tested natively and the browser supplies sessionStorage.

use sha2::{Digest, Sha256};

use super::authorize::PendingAuthorization;
use super::encoding::{b64url, parse_pairs, parse_u64, push_u64, FormBuilder};
use super::error::Error;
use super::secret::{CodeVerifier, Nonce, State};

/// Key prefix of a pending login (followed by its `state`).
pub const TX_PREFIX: &str = "pkce-wasm.tx.";
/// Key prefix of a used-state marker (followed by base64url(SHA-256(state))).
pub const USED_PREFIX: &str = "pkce-wasm.used.";
/// Default transaction time-to-live: 10 minutes.
pub const DEFAULT_TTL_MS: u64 = 10 * 60 * 1000;

/// A string key-value store. Implementations map every failure (absent,
/// throwing, quota) to [`Error::StorageUnavailable`].
pub trait Store {
    /// The value under `key`.
    fn get(&self, key: &str) -> Result<Option<String>, Error>;
    /// Sets `key`.
    fn set(&self, key: &str, value: &str) -> Result<(), Error>;
    /// Removes `key` (absent is fine).
    fn remove(&self, key: &str) -> Result<(), Error>;
    /// All keys.
    fn keys(&self) -> Result<Vec<String>, Error>;
}

/// The transaction rules over a [`Store`], for one client: keys carry the
/// client's namespace (issuer and client id), so two clients on one origin
/// never consume each other's logins.
pub struct Transactions<S> {
    store: S,
    ns: String,
    ttl_ms: u64,
}

/// The namespace of a client's keys, locks and DPoP key: 12 base64url
/// characters of SHA-256(issuer, client id).
pub fn namespace(issuer: &str, client_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update([0]);
    h.update(client_id.as_bytes());
    let ns = b64url(&h.finalize());
    String::from(ns.get(..12).unwrap_or(&ns))
}

fn key(prefix: &str, ns: &str, rest: &str) -> String {
    let mut k = String::from(prefix);
    k.push_str(ns);
    k.push('.');
    k.push_str(rest);
    k
}

fn tx_key(ns: &str, state: &str) -> String {
    key(TX_PREFIX, ns, state)
}

fn used_key(ns: &str, state: &str) -> String {
    key(USED_PREFIX, ns, &b64url(&Sha256::digest(state.as_bytes())))
}

/// The storage key of a pending login of the client `ns` (for tests and tools).
pub fn transaction_key(ns: &str, state: &str) -> String {
    tx_key(ns, state)
}

/// Serialises a pending login as a form-encoded record (versioned).
pub fn encode_record(p: &PendingAuthorization) -> String {
    let mut t = String::new();
    push_u64(&mut t, p.created_at_ms);
    let mut f = FormBuilder::default();
    f.pair("v", "1")
        .pair("state", p.state.secret())
        .pair("cv", p.code_verifier.secret())
        .pair("ru", &p.redirect_uri)
        .pair("t", &t);
    if let Some(n) = &p.nonce {
        f.pair("n", n.secret());
    }
    if let Some(a) = &p.app_state {
        f.pair("as", a);
    }
    if let Some(m) = p.max_age {
        let mut v = String::new();
        push_u64(&mut v, m);
        f.pair("ma", &v);
    }
    if let Some(a) = &p.acr_values {
        f.pair("acr", a);
    }
    for r in &p.resources {
        f.pair("res", r);
    }
    if let Some(k) = &p.dpop_key {
        f.pair("k", k);
    }
    f.finish()
}

/// Reads a record back; any damage gives `transaction_invalid`.
pub fn decode_record(record: &str) -> Result<PendingAuthorization, Error> {
    let pairs = parse_pairs(record).ok_or(Error::TransactionInvalid)?;
    let get = |k: &str| crate::core::encoding::field(&pairs, k);
    if get("v").as_deref() != Some("1") {
        return Err(Error::TransactionInvalid);
    }
    let state = get("state")
        .filter(|s| !s.is_empty())
        .ok_or(Error::TransactionInvalid)?;
    let verifier = CodeVerifier::parse(get("cv").unwrap_or_default())
        .map_err(|_| Error::TransactionInvalid)?;
    let created_at_ms = get("t")
        .as_deref()
        .and_then(parse_u64)
        .ok_or(Error::TransactionInvalid)?;
    let redirect_uri = get("ru")
        .filter(|s| !s.is_empty())
        .ok_or(Error::TransactionInvalid)?;
    Ok(PendingAuthorization {
        state: State::new(state),
        nonce: get("n").map(Nonce::new),
        code_verifier: verifier,
        redirect_uri,
        created_at_ms,
        app_state: get("as"),
        max_age: match get("ma") {
            Some(m) => Some(parse_u64(&m).ok_or(Error::TransactionInvalid)?),
            None => None,
        },
        acr_values: get("acr"),
        resources: super::encoding::fields(&pairs, "res"),
        dpop_key: get("k"),
    })
}

impl<S: Store> Transactions<S> {
    /// Rules over `store` for the client `ns` with the given time-to-live.
    pub fn new(store: S, ns: &str, ttl_ms: u64) -> Self {
        Self {
            store,
            ns: String::from(ns),
            ttl_ms,
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn expired(&self, created_at_ms: u64, now_ms: u64) -> bool {
        created_at_ms.saturating_add(self.ttl_ms) < now_ms
    }

    /// Stores a pending login, after sweeping stale ones, and reads it back:
    /// a store that silently drops writes is caught here, before the redirect.
    pub fn begin(&self, pending: &PendingAuthorization, now_ms: u64) -> Result<(), Error> {
        self.sweep(now_ms)?;
        let key = tx_key(&self.ns, pending.state.secret());
        let record = encode_record(pending);
        self.store.set(&key, &record)?;
        if self.store.get(&key)?.as_deref() != Some(record.as_str()) {
            return Err(Error::StorageUnavailable);
        }
        Ok(())
    }

    /// Drops a login that could not be started (e.g. its PAR request failed).
    pub fn abandon(&self, state: &State) {
        let _ = self.store.remove(&tx_key(&self.ns, state.secret()));
    }

    /// Takes the login that `state` belongs to and deletes it before anything
    /// else happens, leaving a used-state marker so a replay is named as one.
    /// A `state` that belongs to another client's login is left alone for
    /// that client: `callback_other_client`.
    pub fn take(&self, state: &State, now_ms: u64) -> Result<PendingAuthorization, Error> {
        let key = tx_key(&self.ns, state.secret());
        let Some(record) = self.store.get(&key)? else {
            return Err(self.missing(state)?);
        };
        self.store.remove(&key)?;
        let mut t = String::new();
        push_u64(&mut t, now_ms);
        // Best effort: without the marker a replay is still refused, as state_mismatch.
        let _ = self.store.set(&used_key(&self.ns, state.secret()), &t);
        let _ = self.sweep(now_ms);
        let pending = decode_record(&record)?;
        if pending.state != *state {
            return Err(Error::TransactionInvalid);
        }
        if self.expired(pending.created_at_ms, now_ms) {
            return Err(Error::TransactionExpired);
        }
        Ok(pending)
    }

    /// Why there is no login for `state`: replayed, another client's, none in
    /// this tab at all, or not this one.
    fn missing(&self, state: &State) -> Result<Error, Error> {
        if self
            .store
            .get(&used_key(&self.ns, state.secret()))?
            .is_some()
        {
            return Ok(Error::CallbackReplayed);
        }
        let mut suffix = String::from(".");
        suffix.push_str(state.secret());
        let mut own = String::from(TX_PREFIX);
        own.push_str(&self.ns);
        own.push('.');
        let keys = self.store.keys()?;
        let other = keys.iter().any(|k| {
            k.strip_prefix(TX_PREFIX)
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .is_some_and(|ns| ns != self.ns && !ns.contains('.'))
        });
        Ok(if other {
            Error::CallbackOtherClient
        } else if keys.iter().any(|k| k.starts_with(own.as_str())) {
            Error::StateMismatch
        } else {
            Error::NoPendingLogin
        })
    }

    /// Whether a callback with this `state` was already handled here.
    pub fn was_used(&self, state: &State) -> bool {
        matches!(
            self.store.get(&used_key(&self.ns, state.secret())),
            Ok(Some(_))
        )
    }

    /// Removes this client's expired or unreadable transactions and expired
    /// used-state markers (and those of pkce-wasm versions before namespaces).
    pub fn sweep(&self, now_ms: u64) -> Result<(), Error> {
        let mut own_tx = String::from(TX_PREFIX);
        own_tx.push_str(&self.ns);
        own_tx.push('.');
        let mut own_used = String::from(USED_PREFIX);
        own_used.push_str(&self.ns);
        own_used.push('.');
        for key in self.store.keys()? {
            let legacy = |p: &str| key.strip_prefix(p).is_some_and(|r| !r.contains('.'));
            let created = if key.starts_with(own_tx.as_str()) || legacy(TX_PREFIX) {
                self.store
                    .get(&key)?
                    .and_then(|r| decode_record(&r).ok())
                    .map(|p| p.created_at_ms)
            } else if key.starts_with(own_used.as_str()) || legacy(USED_PREFIX) {
                self.store.get(&key)?.as_deref().and_then(parse_u64)
            } else {
                continue;
            };
            if created.is_none_or(|t| self.expired(t, now_ms)) {
                self.store.remove(&key)?;
            }
        }
        Ok(())
    }
}

impl<T: Store + ?Sized> Store for &T {
    fn get(&self, key: &str) -> Result<Option<String>, Error> {
        (**self).get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        (**self).set(key, value)
    }
    fn remove(&self, key: &str) -> Result<(), Error> {
        (**self).remove(key)
    }
    fn keys(&self) -> Result<Vec<String>, Error> {
        (**self).keys()
    }
}

/// An in-memory [`Store`], for tests and for hosts without web storage.
#[derive(Default)]
pub struct MemoryStore {
    map: core::cell::RefCell<Vec<(String, String)>>,
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self
            .map
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone()))
    }
    fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        let mut m = self.map.borrow_mut();
        m.retain(|(k, _)| k != key);
        m.push((String::from(key), String::from(value)));
        Ok(())
    }
    fn remove(&self, key: &str) -> Result<(), Error> {
        self.map.borrow_mut().retain(|(k, _)| k != key);
        Ok(())
    }
    fn keys(&self) -> Result<Vec<String>, Error> {
        Ok(self.map.borrow().iter().map(|(k, _)| k.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(state: &str, t: u64) -> PendingAuthorization {
        PendingAuthorization {
            state: State::new(state.into()),
            nonce: Some(Nonce::new("nonce".into())),
            code_verifier: CodeVerifier::from_entropy(&[9; 32]),
            redirect_uri: "https://app/cb?a=1&b=2".into(),
            created_at_ms: t,
            app_state: Some(r#"{"returnTo":"/x?y=1&z=é"}"#.into()),
            max_age: Some(600),
            acr_values: None,
            resources: Vec::new(),
            dpop_key: Some("dpop:ns:5.r".into()),
        }
    }

    const NS: &str = "ns-a";

    fn txs() -> Transactions<MemoryStore> {
        Transactions::new(MemoryStore::default(), NS, DEFAULT_TTL_MS)
    }

    #[test]
    fn record_round_trips() {
        let p = pending("s", 42);
        let back = decode_record(&encode_record(&p)).unwrap();
        assert_eq!(back.state, p.state);
        assert_eq!(back.nonce, p.nonce);
        assert_eq!(back.code_verifier.secret(), p.code_verifier.secret());
        assert_eq!(back.redirect_uri, p.redirect_uri);
        assert_eq!(back.created_at_ms, 42);
        assert_eq!(back.app_state, p.app_state);
        assert_eq!(back.max_age, Some(600));
        assert_eq!(back.dpop_key.as_deref(), Some("dpop:ns:5.r"));
    }

    #[test]
    fn take_is_single_use_and_names_replays() {
        let t = txs();
        t.begin(&pending("s1", 1000), 1000).unwrap();
        let got = t.take(&State::new("s1".into()), 2000).unwrap();
        assert_eq!(got.created_at_ms, 1000);
        assert!(
            t.store().get(&tx_key(NS, "s1")).unwrap().is_none(),
            "removed on first use"
        );
        assert_eq!(
            t.take(&State::new("s1".into()), 3000).unwrap_err(),
            Error::CallbackReplayed
        );
        // No login of this client pending in this tab: another tab's, or swept.
        assert_eq!(
            t.take(&State::new("nope".into()), 3000).unwrap_err(),
            Error::NoPendingLogin
        );
        // One pending, and this state is not it: a forged or stale link.
        t.begin(&pending("s2", 3000), 3000).unwrap();
        assert_eq!(
            t.take(&State::new("nope".into()), 3000).unwrap_err(),
            Error::StateMismatch
        );
    }

    #[test]
    fn expired_transactions_are_refused_and_swept() {
        let t = txs();
        t.begin(&pending("old", 0), 0).unwrap();
        assert_eq!(
            t.take(&State::new("old".into()), DEFAULT_TTL_MS + 1)
                .unwrap_err(),
            Error::TransactionExpired
        );
        t.begin(&pending("stale", 0), 0).unwrap();
        t.store().set("pkce-wasm.tx.ns-a.garbage", "%%%").unwrap();
        t.store().set("pkce-wasm.tx.legacy", "%%%").unwrap();
        t.store().set("other-app", "keep").unwrap();
        t.begin(&pending("fresh", DEFAULT_TTL_MS * 2), DEFAULT_TTL_MS * 2)
            .unwrap();
        let keys = t.store().keys().unwrap();
        assert!(!keys
            .iter()
            .any(|k| k.ends_with("stale") || k.ends_with("garbage") || k.ends_with("legacy")));
        assert!(keys.iter().any(|k| k == "other-app"));
        assert!(keys.iter().any(|k| k.ends_with("fresh")));
    }

    #[test]
    fn garbage_records_are_typed() {
        let t = txs();
        for garbage in [
            "",
            "v=2",
            "v=1&state=s",
            "v=1&state=s&cv=short&ru=x&t=1",
            "v=1&state=s&cv=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&ru=x&t=-1",
            "%",
        ] {
            t.store().set(&tx_key(NS, "s"), garbage).unwrap();
            assert_eq!(
                t.take(&State::new("s".into()), 0).unwrap_err(),
                Error::TransactionInvalid,
                "{garbage}"
            );
        }
        // a record stored under another state's key is not accepted
        t.store()
            .set(&tx_key(NS, "a"), &encode_record(&pending("b", 0)))
            .unwrap();
        assert_eq!(
            t.take(&State::new("a".into()), 0).unwrap_err(),
            Error::TransactionInvalid
        );
    }

    #[test]
    fn another_clients_login_is_named_and_left_alone() {
        let store = MemoryStore::default();
        let a = Transactions::new(&store, "client-a", DEFAULT_TTL_MS);
        let b = Transactions::new(&store, "client-b", DEFAULT_TTL_MS);
        a.begin(&pending("s1", 1000), 1000).unwrap();
        assert_eq!(
            b.take(&State::new("s1".into()), 2000).unwrap_err(),
            Error::CallbackOtherClient
        );
        assert_eq!(
            a.take(&State::new("s1".into()), 2000)
                .unwrap()
                .created_at_ms,
            1000
        );
        assert_ne!(namespace("https://a", "spa"), namespace("https://b", "spa"));
        assert_ne!(namespace("https://a", "x"), namespace("https://a", "y"));
        assert_eq!(namespace("https://a", "x").len(), 12);
    }

    struct Broken;
    impl Store for Broken {
        fn get(&self, _: &str) -> Result<Option<String>, Error> {
            Err(Error::StorageUnavailable)
        }
        fn set(&self, _: &str, _: &str) -> Result<(), Error> {
            Err(Error::StorageUnavailable)
        }
        fn remove(&self, _: &str) -> Result<(), Error> {
            Err(Error::StorageUnavailable)
        }
        fn keys(&self) -> Result<Vec<String>, Error> {
            Err(Error::StorageUnavailable)
        }
    }

    struct DropsWrites;
    impl Store for DropsWrites {
        fn get(&self, _: &str) -> Result<Option<String>, Error> {
            Ok(None)
        }
        fn set(&self, _: &str, _: &str) -> Result<(), Error> {
            Ok(())
        }
        fn remove(&self, _: &str) -> Result<(), Error> {
            Ok(())
        }
        fn keys(&self) -> Result<Vec<String>, Error> {
            Ok(vec![])
        }
    }

    #[test]
    fn broken_storage_fails_before_the_redirect() {
        let t = Transactions::new(Broken, NS, DEFAULT_TTL_MS);
        assert_eq!(
            t.begin(&pending("s", 0), 0).unwrap_err(),
            Error::StorageUnavailable
        );
        let t = Transactions::new(DropsWrites, NS, DEFAULT_TTL_MS);
        assert_eq!(
            t.begin(&pending("s", 0), 0).unwrap_err(),
            Error::StorageUnavailable
        );
    }
}
