//! The app's key-value store. Each app sees only its own keys: the host
//! derives the storage from the app's identity, so a key is plain data
//! (any bytes, 1 to [`MAX_KEY_LEN`] long; dots, wildcards and non-UTF-8
//! bytes mean nothing special). Values are arbitrary bytes. Every write
//! returns the key's new revision, which [`update`] takes for
//! compare-and-set:
//!
//! ```
//! use gocluster::{kv, ErrorKind, Result};
//!
//! /// Adds one to a counter, however many instances do the same at once.
//! fn incr(key: &str) -> Result<u64> {
//!     loop {
//!         let attempt = match kv::get(key) {
//!             Err(e) if e.kind() == ErrorKind::NotFound => kv::create(key, b"1").map(|_| 1),
//!             Err(e) => return Err(e),
//!             Ok(entry) => {
//!                 let n: u64 = String::from_utf8_lossy(&entry.value).parse().unwrap_or(0) + 1;
//!                 kv::update(key, n.to_string(), entry.revision).map(|_| n)
//!             }
//!         };
//!         match attempt {
//!             Err(e) if e.kind() == ErrorKind::Conflict => continue, // another write came first
//!             other => return other,
//!         }
//!     }
//! }
//! # assert_eq!(incr("counter").unwrap_err().kind(), ErrorKind::Unavailable);
//! ```
//!
//! Errors: `NotFound` for an absent key, `Conflict` for a failed create or
//! update, `Denied` when the manifest does not grant kv, `Invalid` for a
//! bad key.

pub use crate::abi::MAX_KEY_LEN;
use crate::encoding::decode_list;
use crate::error::{Error, ErrorKind};
use crate::host;
use crate::runtime::{check, fetch};

/// A key's value and its revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub revision: u64,
}

fn check_key(key: &[u8]) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Error::new(ErrorKind::Invalid, "key must be 1 to 512 bytes"));
    }
    Ok(())
}

/// The value of `key` and its revision.
pub fn get(key: impl AsRef<[u8]>) -> Result<Entry, Error> {
    let key = key.as_ref();
    check_key(key)?;
    let mut revision = 0u64;
    // SAFETY: the host reads key and writes inside (ptr, cap) and the
    // 8 bytes of revision.
    let value = fetch(|ptr, cap| unsafe { host::gc_kv_get(key.as_ptr(), key.len(), ptr, cap, &mut revision) })?;
    Ok(Entry { value, revision })
}

/// Sets `key` to `value`, whatever it held, and returns the new revision.
pub fn put(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<u64, Error> {
    let (key, value) = (key.as_ref(), value.as_ref());
    check_key(key)?;
    let mut rev = 0u64;
    // SAFETY: the host reads key and value and writes rev.
    check(unsafe { host::gc_kv_put(key.as_ptr(), key.len(), value.as_ptr(), value.len(), &mut rev) })?;
    Ok(rev)
}

/// Sets `key` to `value` only if `key` does not exist, and returns the new
/// revision; `Conflict` when it exists.
pub fn create(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<u64, Error> {
    let (key, value) = (key.as_ref(), value.as_ref());
    check_key(key)?;
    let mut rev = 0u64;
    // SAFETY: the host reads key and value and writes rev.
    check(unsafe { host::gc_kv_create(key.as_ptr(), key.len(), value.as_ptr(), value.len(), &mut rev) })?;
    Ok(rev)
}

/// Sets `key` to `value` only if its revision is still `revision`, and
/// returns the new revision; `Conflict` when another write came first.
/// Read with [`get`], compute, then `update`, and retry from the read on
/// `Conflict`.
pub fn update(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, revision: u64) -> Result<u64, Error> {
    let (key, value) = (key.as_ref(), value.as_ref());
    check_key(key)?;
    let mut rev = 0u64;
    // SAFETY: the host reads key and value and writes rev.
    check(unsafe { host::gc_kv_update(key.as_ptr(), key.len(), value.as_ptr(), value.len(), revision, &mut rev) })?;
    Ok(rev)
}

/// Deletes `key`. Deleting an absent key is not an error.
pub fn delete(key: impl AsRef<[u8]>) -> Result<(), Error> {
    let key = key.as_ref();
    check_key(key)?;
    // SAFETY: the host reads key.
    check(unsafe { host::gc_kv_delete(key.as_ptr(), key.len()) })
}

/// The app's keys that start with `prefix`, sorted. An empty prefix lists
/// every key.
pub fn keys(prefix: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>, Error> {
    let prefix = prefix.as_ref();
    if prefix.len() > MAX_KEY_LEN {
        return Err(Error::new(ErrorKind::Invalid, "key must be 1 to 512 bytes"));
    }
    // SAFETY: the host reads prefix and writes inside (ptr, cap).
    let b = fetch(|ptr, cap| unsafe { host::gc_kv_keys(prefix.as_ptr(), prefix.len(), ptr, cap) })?;
    let items = decode_list(&b).ok_or_else(|| Error::new(ErrorKind::Internal, "host sent a malformed key list"))?;
    Ok(items.into_iter().map(<[u8]>::to_vec).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode_sent::put_list;
    use crate::host::fake::{install, Fake};
    use crate::runtime::tests::deliver;
    use std::collections::BTreeMap;

    /// An in-memory KV with revisions, as the host's semantics.
    #[derive(Default)]
    struct Kv {
        data: BTreeMap<Vec<u8>, (Vec<u8>, u64)>,
        rev: u64,
        pending: Option<Vec<u8>>,
    }

    impl Kv {
        fn write(&mut self, key: &[u8], val: &[u8], rev: &mut u64) -> i32 {
            self.rev += 1;
            self.data.insert(key.to_vec(), (val.to_vec(), self.rev));
            *rev = self.rev;
            0
        }
    }

    impl Fake for Kv {
        fn take(&mut self, out: &mut [u8]) -> i32 {
            match self.pending.take() {
                Some(p) if p.len() == out.len() => {
                    out.copy_from_slice(&p);
                    0
                }
                _ => -7,
            }
        }
        fn kv_get(&mut self, key: &[u8], out: &mut [u8], rev: &mut u64) -> i32 {
            match self.data.get(key).cloned() {
                None => -1,
                Some((v, r)) => {
                    *rev = r;
                    deliver(&v, out, &mut self.pending)
                }
            }
        }
        fn kv_put(&mut self, key: &[u8], val: &[u8], rev: &mut u64) -> i32 {
            self.write(key, val, rev)
        }
        fn kv_create(&mut self, key: &[u8], val: &[u8], rev: &mut u64) -> i32 {
            if self.data.contains_key(key) {
                return -2;
            }
            self.write(key, val, rev)
        }
        fn kv_update(&mut self, key: &[u8], val: &[u8], want: u64, rev: &mut u64) -> i32 {
            match self.data.get(key) {
                Some((_, r)) if *r == want => self.write(key, val, rev),
                _ => -2,
            }
        }
        fn kv_delete(&mut self, key: &[u8]) -> i32 {
            self.data.remove(key);
            0
        }
        fn kv_keys(&mut self, prefix: &[u8], out: &mut [u8]) -> i32 {
            let keys: Vec<&[u8]> = self.data.keys().filter(|k| k.starts_with(prefix)).map(|k| &k[..]).collect();
            let b = put_list(&keys);
            deliver(&b, out, &mut self.pending)
        }
        fn last_error(&mut self, _: &mut [u8]) -> i32 {
            -1
        }
    }

    #[test]
    fn compare_and_set() {
        let _g = install(Kv::default());
        assert_eq!(get("k").unwrap_err().kind(), ErrorKind::NotFound);
        let r1 = create("k", b"1").unwrap();
        assert_eq!(create("k", b"1").unwrap_err().kind(), ErrorKind::Conflict);
        let e = get("k").unwrap();
        assert_eq!(e, Entry { value: b"1".to_vec(), revision: r1 });
        let r2 = update("k", b"2", r1).unwrap();
        assert!(r2 > r1);
        assert_eq!(update("k", b"3", r1).unwrap_err().kind(), ErrorKind::Conflict);
        let big = vec![7u8; 50_000];
        put("big", &big).unwrap();
        assert_eq!(get("big").unwrap().value, big);
        put(b"k\xff.*".as_ref(), "x").unwrap();
        assert_eq!(keys("k").unwrap(), vec![b"k".to_vec(), b"k\xff.*".to_vec()]);
        delete("k").unwrap();
        delete("k").unwrap();
        assert_eq!(keys("").unwrap().len(), 2);
        assert_eq!(keys("zz").unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn bad_keys_never_reach_the_host() {
        let long = vec![b'k'; MAX_KEY_LEN + 1];
        for r in [
            get("").map(|_| ()),
            get(&long).map(|_| ()),
            put("", "v").map(|_| ()),
            delete(&long),
            keys(&long).map(|_| ()),
        ] {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::Invalid);
        }
        assert!(check_key(&vec![b'k'; MAX_KEY_LEN]).is_ok());
    }
}
