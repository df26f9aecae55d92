//! A stand-in for the host in native builds. Outside this crate's tests no
//! host is ever installed, so every host function answers UNAVAILABLE; the
//! tests install a [`Fake`] per thread to drive the SDK's side of the
//! protocol (results that need `take`, `last_error`, replies).

use crate::abi::status;

const UNAVAILABLE: i32 = -status::UNAVAILABLE;

/// The host functions over slices of "guest memory". Every method answers
/// UNAVAILABLE unless a test overrides it.
#[allow(unused_variables)]
pub(crate) trait Fake {
    fn abi_version(&mut self) -> i32 {
        UNAVAILABLE
    }
    fn reply(&mut self, b: &[u8]) {}
    fn log(&mut self, level: i32, msg: &[u8]) {}
    fn config(&mut self, key: &[u8], out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn take(&mut self, out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn kv_get(&mut self, key: &[u8], out: &mut [u8], rev: &mut u64) -> i32 {
        UNAVAILABLE
    }
    fn kv_put(&mut self, key: &[u8], val: &[u8], rev: &mut u64) -> i32 {
        UNAVAILABLE
    }
    fn kv_create(&mut self, key: &[u8], val: &[u8], rev: &mut u64) -> i32 {
        UNAVAILABLE
    }
    fn kv_update(&mut self, key: &[u8], val: &[u8], rev: u64, new_rev: &mut u64) -> i32 {
        UNAVAILABLE
    }
    fn kv_delete(&mut self, key: &[u8]) -> i32 {
        UNAVAILABLE
    }
    fn kv_keys(&mut self, prefix: &[u8], out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn call(&mut self, app: &[u8], method: &[u8], payload: &[u8], key: &[u8], timeout_ms: i32, out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn db_exec(&mut self, sql: &[u8], params: &[u8], out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn db_query(&mut self, sql: &[u8], params: &[u8], out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn db_batch(&mut self, batch: &[u8], out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
    fn lock_acquire(&mut self, name: &[u8], ttl_ms: i32, wait_ms: i32, token: &mut u64) -> i32 {
        UNAVAILABLE
    }
    fn lock_renew(&mut self, name: &[u8], token: u64, ttl_ms: i32) -> i32 {
        UNAVAILABLE
    }
    fn lock_release(&mut self, name: &[u8], token: u64) -> i32 {
        UNAVAILABLE
    }
    fn event_publish(&mut self, topic: &[u8], payload: &[u8]) -> i32 {
        UNAVAILABLE
    }
    fn last_error(&mut self, out: &mut [u8]) -> i32 {
        UNAVAILABLE
    }
}

#[cfg(not(test))]
pub(crate) fn with<R>(_: impl FnOnce(&mut dyn Fake) -> R) -> Option<R> {
    None
}

#[cfg(test)]
pub(crate) use self::installed::*;

#[cfg(test)]
mod installed {
    use super::Fake;
    use std::cell::RefCell;

    thread_local! {
        // Per thread, so tests running in parallel each see their own.
        static HOST: RefCell<Option<Box<dyn Fake>>> = RefCell::new(None);
    }

    pub(crate) fn with<R>(f: impl FnOnce(&mut dyn Fake) -> R) -> Option<R> {
        HOST.with(|h| h.borrow_mut().as_mut().map(|h| f(h.as_mut())))
    }

    /// Installs host for this thread until the guard drops.
    pub(crate) fn install(host: impl Fake + 'static) -> Guard {
        HOST.with(|h| *h.borrow_mut() = Some(Box::new(host)));
        Guard
    }

    pub(crate) struct Guard;

    impl Drop for Guard {
        fn drop(&mut self) {
            HOST.with(|h| *h.borrow_mut() = None);
        }
    }
}
