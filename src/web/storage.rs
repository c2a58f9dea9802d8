//! sessionStorage and localStorage as a [`Store`]. Every access re-reads the
//! storage object (a browser may deny it at any time) and maps a throw to
//! `storage_unavailable`.

use crate::core::{Error, Store};

/// Which web storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebStorage {
    /// The tab's `sessionStorage`.
    Session,
    /// The origin's `localStorage` (shared by tabs).
    Local,
}

/// The tab's `sessionStorage` (where login transactions live).
pub const SESSION_STORE: WebStorage = WebStorage::Session;

impl WebStorage {
    fn storage(self) -> Result<web_sys::Storage, Error> {
        let w = web_sys::window().ok_or(Error::StorageUnavailable)?;
        let s = match self {
            WebStorage::Session => w.session_storage(),
            WebStorage::Local => w.local_storage(),
        };
        s.ok().flatten().ok_or(Error::StorageUnavailable)
    }
}

impl Store for WebStorage {
    fn get(&self, key: &str) -> Result<Option<String>, Error> {
        self.storage()?
            .get_item(key)
            .map_err(|_| Error::StorageUnavailable)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        self.storage()?
            .set_item(key, value)
            .map_err(|_| Error::StorageUnavailable)
    }
    fn remove(&self, key: &str) -> Result<(), Error> {
        self.storage()?
            .remove_item(key)
            .map_err(|_| Error::StorageUnavailable)
    }
    fn keys(&self) -> Result<Vec<String>, Error> {
        let s = self.storage()?;
        let n = s.length().map_err(|_| Error::StorageUnavailable)?;
        let mut keys = Vec::with_capacity(n as usize);
        for i in 0..n {
            if let Some(k) = s.key(i).map_err(|_| Error::StorageUnavailable)? {
                keys.push(k);
            }
        }
        Ok(keys)
    }
}
