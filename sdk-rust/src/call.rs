//! Calls to other apps over the API bus. An app may call itself and the
//! apps its manifest lists under `calls`; any other answers `Denied`. The
//! callee runs with its own capabilities only: a call lends it nothing of
//! the caller's.
//!
//! A status the callee answers comes back as its [`ErrorKind`], so errors
//! keep their kind across any number of hops:
//!
//! ```
//! use gocluster::{call, Call, ErrorKind};
//! use std::time::Duration;
//!
//! let user = call("users", "get", b"42");
//! if let Err(e) = &user {
//!     if e.kind() == ErrorKind::NotFound { /* ... */ }
//! }
//! // A ring app's call goes to the owner of the key's partition.
//! let cart = Call::new("carts", "get").key("user-42").timeout(Duration::from_secs(2)).send(b"");
//! # assert!(user.is_err() && cart.is_err());
//! ```

use crate::abi::{MAX_APP_NAME_LEN, MAX_KEY_LEN, MAX_METHOD_LEN};
use crate::error::{Error, ErrorKind};
use crate::host;
use crate::runtime::fetch;
use std::time::Duration;

/// Calls `method` of `app` with `payload` and returns its reply. See
/// [`Call`] to send a key or bound the time.
pub fn call(app: &str, method: &str, payload: &[u8]) -> Result<Vec<u8>, Error> {
    Call::new(app, method).send(payload)
}

/// A call with options, sent by [`Call::send`].
#[derive(Clone, Copy, Debug)]
#[must_use = "a Call does nothing until sent"]
pub struct Call<'a> {
    app: &'a str,
    method: &'a str,
    key: &'a [u8],
    timeout: Duration,
}

impl<'a> Call<'a> {
    /// A call of `method` of `app`.
    pub fn new(app: &'a str, method: &'a str) -> Call<'a> {
        Call { app, method, key: &[], timeout: Duration::ZERO }
    }

    /// Sends `key` with the call: a ring app's call then reaches the owner
    /// of the key's partition. The key is 1 to 512 bytes without control
    /// characters.
    pub fn key<K: AsRef<[u8]> + ?Sized>(mut self, key: &'a K) -> Call<'a> {
        self.key = key.as_ref();
        self
    }

    /// Bounds the call. Without it the call may take what is left of the
    /// caller's own call time; the host caps any timeout.
    pub fn timeout(mut self, d: Duration) -> Call<'a> {
        self.timeout = d;
        self
    }

    /// Sends the call with `payload` and returns the reply.
    pub fn send(&self, payload: &[u8]) -> Result<Vec<u8>, Error> {
        let invalid = |msg: &str| Err(Error::new(ErrorKind::Invalid, msg));
        if self.app.is_empty() || self.app.len() > MAX_APP_NAME_LEN {
            return invalid("app name must be 1 to 32 bytes");
        }
        if self.method.is_empty() || self.method.len() > MAX_METHOD_LEN {
            return invalid("method must be 1 to 64 bytes");
        }
        if self.key.len() > MAX_KEY_LEN {
            return invalid("call key must be at most 512 bytes");
        }
        let ms = millis(self.timeout);
        let (app, method, key) = (self.app, self.method, self.key);
        // SAFETY: the host reads the four inputs and writes inside
        // (ptr, cap).
        fetch(|ptr, cap| unsafe {
            host::gc_call(
                app.as_ptr(),
                app.len(),
                method.as_ptr(),
                method.len(),
                payload.as_ptr(),
                payload.len(),
                key.as_ptr(),
                key.len(),
                ms,
                ptr,
                cap,
            )
        })
    }
}

/// `d` in whole milliseconds, rounded up so that a sub-millisecond
/// duration does not read as none, capped at i32::MAX.
pub(crate) fn millis(d: Duration) -> i32 {
    let ms = (d.as_nanos() + 999_999) / 1_000_000;
    ms.min(i32::MAX as u128) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::{install, Fake};

    struct Echo;

    impl Fake for Echo {
        fn call(
            &mut self,
            app: &[u8],
            method: &[u8],
            payload: &[u8],
            key: &[u8],
            timeout_ms: i32,
            out: &mut [u8],
        ) -> i32 {
            if method == b"missing" {
                return -1;
            }
            let b = format!("{}.{} {} key={} t={}", s(app), s(method), s(payload), s(key), timeout_ms);
            out[..b.len()].copy_from_slice(b.as_bytes());
            b.len() as i32
        }
        fn last_error(&mut self, out: &mut [u8]) -> i32 {
            let m = b"no such user";
            out[..m.len()].copy_from_slice(m);
            m.len() as i32
        }
    }

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn options_reach_the_host() {
        let _g = install(Echo);
        assert_eq!(call("users", "get", b"7").unwrap(), b"users.get 7 key= t=0");
        let out = Call::new("users", "get").key("k1").timeout(Duration::from_micros(1)).send(b"x").unwrap();
        assert_eq!(out, b"users.get x key=k1 t=1");
        let e = call("users", "missing", b"").unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::NotFound, "no such user"));
    }

    #[test]
    fn bad_arguments() {
        let long = "a".repeat(65);
        let key = vec![0u8; 513];
        for r in [
            call("", "m", b""),
            call(&long[..33], "m", b""),
            call("a", "", b""),
            call("a", &long, b""),
            Call::new("a", "m").key(&key).send(b""),
        ] {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::Invalid);
        }
    }

    #[test]
    fn millis_rounds_up() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_nanos(1)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), i32::MAX);
    }
}
