//! sessionStorage as a [`Store`]. Every access re-reads `window.sessionStorage`
//! (a browser may deny it at any time) and maps a throw to `storage_unavailable`.

use crate::core::{Error, Store};

/// The tab's `sessionStorage`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionStore;

fn storage() -> Result<web_sys::Storage, Error> {
    web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .ok_or(Error::StorageUnavailable)
}

impl Store for SessionStore {
    fn get(&self, key: &str) -> Result<Option<String>, Error> {
        storage()?
            .get_item(key)
            .map_err(|_| Error::StorageUnavailable)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        storage()?
            .set_item(key, value)
            .map_err(|_| Error::StorageUnavailable)
    }
    fn remove(&self, key: &str) -> Result<(), Error> {
        storage()?
            .remove_item(key)
            .map_err(|_| Error::StorageUnavailable)
    }
    fn keys(&self) -> Result<Vec<String>, Error> {
        let s = storage()?;
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
