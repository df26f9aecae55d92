//! Locks of the app, shared by all its instances on all nodes. A lock has
//! a name (any bytes, 1 to 512 long; each app has its own names) and a time
//! to live: a holder that stops renewing loses it when the TTL runs out, so
//! a crashed instance cannot keep it. Every new holder gets a larger
//! fencing token; pass it to what the lock protects so that a stale
//! holder's late writes can be told apart and refused.
//!
//! ```
//! use gocluster::{lock, ErrorKind};
//! use std::time::Duration;
//!
//! fn nightly_report() -> gocluster::Result<()> {
//!     let held = match lock::acquire("nightly-report", Duration::from_secs(60)) {
//!         Err(e) if e.kind() == ErrorKind::Conflict => return Ok(()), // another instance is on it
//!         other => other?,
//!     };
//!     // ... work, writing held.token() beside what it writes ...
//!     held.release()
//! }
//! # assert!(nightly_report().is_err());
//! ```
//!
//! The manifest grants locks; without the grant `acquire` answers
//! `Denied`. `acquire` answers `Conflict` when another holds the lock
//! after the wait, `renew` and `release` when the token no longer holds it
//! (it expired and perhaps someone else took it). The error's message says
//! more, such as who holds the lock.

use crate::abi::{MAX_KEY_LEN, MAX_LOCK_TTL_MS, MAX_LOCK_WAIT_MS, MIN_LOCK_TTL_MS};
use crate::call::millis;
use crate::error::{Error, ErrorKind};
use crate::host;
use crate::runtime::check;
use std::time::Duration;

/// The shortest time to live of a lock.
pub const MIN_TTL: Duration = Duration::from_millis(MIN_LOCK_TTL_MS);
/// The longest time to live of a lock.
pub const MAX_TTL: Duration = Duration::from_millis(MAX_LOCK_TTL_MS);
/// The longest wait for a lock.
pub const MAX_WAIT: Duration = Duration::from_millis(MAX_LOCK_WAIT_MS);

/// A lock this instance took. It stays held until [`Lock::release`], or
/// until its TTL runs out without a [`Lock::renew`]. Dropping it does not
/// release it: the TTL does, so a handle can be rebuilt elsewhere with
/// [`Lock::from_token`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a lock stays held until released or expired"]
pub struct Lock {
    name: Vec<u8>,
    token: u64,
}

fn ttl_ms(ttl: Duration) -> Result<i32, Error> {
    let ms = millis(ttl) as u64;
    if !(MIN_LOCK_TTL_MS..=MAX_LOCK_TTL_MS).contains(&ms) {
        return Err(Error::new(ErrorKind::Invalid, "lock TTL must be 1s to 5m"));
    }
    Ok(ms as i32)
}

/// Takes the app's lock called `name` for `ttl` (1 s to 5 min), without
/// waiting: `Conflict` when another holds it.
pub fn acquire(name: impl AsRef<[u8]>, ttl: Duration) -> Result<Lock, Error> {
    acquire_wait(name, ttl, Duration::ZERO)
}

/// Takes the app's lock called `name` for `ttl`, waiting up to `wait` (at
/// most 30 s) while another holds it.
pub fn acquire_wait(name: impl AsRef<[u8]>, ttl: Duration, wait: Duration) -> Result<Lock, Error> {
    let name = name.as_ref();
    if name.is_empty() || name.len() > MAX_KEY_LEN {
        return Err(Error::new(ErrorKind::Invalid, "lock name must be 1 to 512 bytes"));
    }
    let ttl = ttl_ms(ttl)?;
    let wait = millis(wait);
    if wait as u64 > MAX_LOCK_WAIT_MS {
        return Err(Error::new(ErrorKind::Invalid, "lock wait must be 0 to 30s"));
    }
    let mut token = 0u64;
    // SAFETY: the host reads name and writes the 8 bytes of token.
    check(unsafe { host::gc_lock_acquire(name.as_ptr(), name.len(), ttl, wait, &mut token) })?;
    Ok(Lock { name: name.to_vec(), token })
}

impl Lock {
    /// Rebuilds the handle of a holding from its name and token, for a
    /// guest that kept the token (in KV, say) to renew or release the lock
    /// from another call or instance. `renew` and `release` still fail
    /// with `Conflict` unless that token holds the lock.
    pub fn from_token(name: impl Into<Vec<u8>>, token: u64) -> Lock {
        Lock { name: name.into(), token }
    }

    /// The lock's name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The fencing token: larger for every later holder of the lock, so
    /// what the lock protects can refuse a stale holder.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Extends the lock to `ttl` from now. `Conflict` means the lock
    /// expired before and may have another holder: stop what it protects.
    pub fn renew(&self, ttl: Duration) -> Result<(), Error> {
        let ttl = ttl_ms(ttl)?;
        // SAFETY: the host reads the name.
        check(unsafe { host::gc_lock_renew(self.name.as_ptr(), self.name.len(), self.token, ttl) })
    }

    /// Frees the lock. `Conflict` means it had expired already.
    pub fn release(self) -> Result<(), Error> {
        // SAFETY: the host reads the name.
        check(unsafe { host::gc_lock_release(self.name.as_ptr(), self.name.len(), self.token) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::{install, Fake};

    struct Locks {
        holder: Option<u64>,
        next: u64,
    }

    impl Fake for Locks {
        fn lock_acquire(&mut self, _: &[u8], ttl_ms: i32, wait_ms: i32, token: &mut u64) -> i32 {
            assert!((1000..=300_000).contains(&ttl_ms) && (0..=30_000).contains(&wait_ms));
            if self.holder.is_some() {
                return -2;
            }
            self.next += 1;
            self.holder = Some(self.next);
            *token = self.next;
            0
        }
        fn lock_renew(&mut self, _: &[u8], token: u64, _: i32) -> i32 {
            if self.holder == Some(token) {
                0
            } else {
                -2
            }
        }
        fn lock_release(&mut self, name: &[u8], token: u64) -> i32 {
            let r = self.lock_renew(name, token, 0);
            if r == 0 {
                self.holder = None;
            }
            r
        }
    }

    #[test]
    fn tokens_fence() {
        let _g = install(Locks { holder: None, next: 100 });
        let ttl = Duration::from_secs(10);
        let held = acquire("job", ttl).unwrap();
        assert_eq!((held.name(), held.token()), (&b"job"[..], 101));
        assert_eq!(acquire_wait("job", ttl, MAX_WAIT).unwrap_err().kind(), ErrorKind::Conflict);
        held.renew(MAX_TTL).unwrap();
        assert_eq!(Lock::from_token("job", 7).renew(ttl).unwrap_err().kind(), ErrorKind::Conflict);
        Lock::from_token("job", 101).release().unwrap();
        assert_eq!(acquire("job", ttl).unwrap().token(), 102);
    }

    #[test]
    fn bounds() {
        let ok = Duration::from_secs(1);
        let cases = [
            acquire("", ok),
            acquire(vec![1u8; 513], ok),
            acquire("a", Duration::from_millis(999)),
            acquire("a", MAX_TTL + Duration::from_nanos(1)),
            acquire_wait("a", ok, MAX_WAIT + Duration::from_millis(1)),
        ];
        for r in cases {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::Invalid);
        }
        // 999.5 ms rounds up to the minimum.
        assert_eq!(ttl_ms(Duration::from_micros(999_500)).unwrap(), 1000);
    }
}
