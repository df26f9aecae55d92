//! The memory protocol for results, host errors, and the small host
//! services: config, log and the ABI version.

use crate::error::Error;
use crate::host;

/// The room offered for a variable-length result on the first try. Most
/// results (a KV value, a config string, a short reply) fit, costing one
/// crossing; a larger one is fetched with `take` into memory sized for it.
const FIRST_TRY: usize = 1024;

/// Runs a host function that writes a variable-length result to
/// `(out_ptr, out_cap)` and returns its length, and returns the result.
///
/// When the result does not fit the host keeps it pending and still
/// returns its length; it is then fetched with `take`, before any other
/// host function can drop it.
pub(crate) fn fetch(f: impl FnOnce(*mut u8, usize) -> i32) -> Result<Vec<u8>, Error> {
    fetch_raw(f).map_err(host_error)
}

/// `fetch` without asking the host for a message on failure: the negated
/// status comes back as it is.
fn fetch_raw(f: impl FnOnce(*mut u8, usize) -> i32) -> Result<Vec<u8>, i32> {
    let mut out: Vec<u8> = Vec::with_capacity(FIRST_TRY);
    let n = f(out.as_mut_ptr(), out.capacity());
    if n < 0 {
        return Err(n);
    }
    let n = n as usize;
    if n <= out.capacity() {
        // SAFETY: the host wrote n bytes at out's start, inside its
        // capacity.
        unsafe { out.set_len(n) };
        return Ok(out);
    }
    let mut out: Vec<u8> = Vec::with_capacity(n);
    // SAFETY: take writes exactly n bytes at out's start or nothing.
    let ret = unsafe { host::gc_take(out.as_mut_ptr(), n) };
    if ret < 0 {
        return Err(ret);
    }
    unsafe { out.set_len(n) };
    Ok(out)
}

/// The error of a host function that returned `ret` (a negated status),
/// with the host's message when it has one. Call it right after the
/// failure: the host keeps the message only until the next host function.
pub(crate) fn host_error(ret: i32) -> Error {
    Error::from_host(ret, last_error())
}

/// Turns a host function's return into `Ok(())` or its error.
pub(crate) fn check(ret: i32) -> Result<(), Error> {
    if ret < 0 {
        Err(host_error(ret))
    } else {
        Ok(())
    }
}

/// The host's message for the host function that just failed, `None`
/// when it has none (or there is no host to ask).
fn last_error() -> Option<String> {
    // SAFETY: last_error writes inside (ptr, cap) only.
    let b = fetch_raw(|ptr, cap| unsafe { host::gc_last_error(ptr, cap) }).ok()?;
    if b.is_empty() {
        return None;
    }
    Some(into_string(b))
}

/// Text from the host, which is UTF-8 but is not trusted to be.
pub(crate) fn into_string(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The ABI major version the host speaks, or 0 outside a host (a native
/// build). This SDK speaks [`abi::VERSION`](crate::abi::VERSION).
pub fn abi_version() -> u32 {
    // SAFETY: no arguments.
    let v = unsafe { host::gc_abi_version() };
    if v < 0 {
        0
    } else {
        v as u32
    }
}

/// The value of `key` in the manifest's `config` map; `None` when the key
/// is absent or there is no host.
///
/// ```
/// let greeting = gocluster::config("greeting").unwrap_or_else(|| "Hello".into());
/// # assert_eq!(greeting, "Hello"); // natively there is no host
/// ```
pub fn config(key: &str) -> Option<String> {
    // SAFETY: the key is read, the result written inside (ptr, cap).
    fetch_raw(|ptr, cap| unsafe { host::gc_config(key.as_ptr(), key.len(), ptr, cap) }).ok().map(into_string)
}

/// The severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Writes `msg` to the host's log at `level`, labelled with the app and the
/// node. Prefer it to stdout and stderr, which the host may discard (and
/// which wasm32-unknown-unknown does not have).
pub fn log(level: Level, msg: impl AsRef<str>) {
    let msg = msg.as_ref();
    // SAFETY: the host reads (ptr, len) only.
    unsafe { host::gc_log(level as i32, msg.as_ptr(), msg.len()) }
}

/// Logs `msg` at [`Level::Debug`].
pub fn debug(msg: impl AsRef<str>) {
    log(Level::Debug, msg)
}

/// Logs `msg` at [`Level::Info`].
pub fn info(msg: impl AsRef<str>) {
    log(Level::Info, msg)
}

/// Logs `msg` at [`Level::Warn`].
pub fn warn(msg: impl AsRef<str>) {
    log(Level::Warn, msg)
}

/// Logs `msg` at [`Level::Error`].
pub fn error(msg: impl AsRef<str>) {
    log(Level::Error, msg)
}

/// Formats like `format!` and logs the result at a [`Level`]:
///
/// ```
/// use gocluster::Level;
/// let n = 3;
/// gocluster::log!(Level::Info, "counter at {}", n);
/// ```
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)+) => {
        $crate::log($level, ::std::format!($($arg)+))
    };
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::host::fake::{install, Fake};

    /// A host whose results are `n` bytes, more than FIRST_TRY when asked:
    /// exercises the pending-result path and `take`.
    struct Pending {
        result: Vec<u8>,
        pending: Option<Vec<u8>>,
        last_error: Option<Vec<u8>>,
    }

    impl Fake for Pending {
        fn config(&mut self, key: &[u8], out: &mut [u8]) -> i32 {
            if key != b"big" {
                return -1;
            }
            deliver(&self.result, out, &mut self.pending)
        }
        fn take(&mut self, out: &mut [u8]) -> i32 {
            match self.pending.take() {
                Some(p) if p.len() == out.len() => {
                    out.copy_from_slice(&p);
                    0
                }
                _ => -7,
            }
        }
        fn kv_delete(&mut self, _: &[u8]) -> i32 {
            -2
        }
        fn last_error(&mut self, out: &mut [u8]) -> i32 {
            match self.last_error.clone() {
                Some(m) => deliver(&m, out, &mut self.pending),
                None => -1,
            }
        }
    }

    /// What the host's deliver does: copy when it fits, else keep pending.
    pub(crate) fn deliver(result: &[u8], out: &mut [u8], pending: &mut Option<Vec<u8>>) -> i32 {
        if result.len() <= out.len() {
            out[..result.len()].copy_from_slice(result);
        } else {
            *pending = Some(result.to_vec());
        }
        result.len() as i32
    }

    #[test]
    fn no_host() {
        assert_eq!(abi_version(), 0);
        assert_eq!(config("greeting"), None);
        log(Level::Info, "nobody listens");
        let e = crate::kv::get("k").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn results_that_need_take() {
        for n in [0, 1, FIRST_TRY, FIRST_TRY + 1, 100_000] {
            let result: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let _g = install(Pending { result: result.clone(), pending: None, last_error: None });
            assert_eq!(config("big").as_deref().map(str::as_bytes), Some(&result[..]), "n={}", n);
            assert_eq!(config("absent"), None);
        }
    }

    #[test]
    fn long_error_messages_use_take() {
        let msg = "x".repeat(5000);
        let _g = install(Pending { result: vec![], pending: None, last_error: Some(msg.clone().into_bytes()) });
        let e = crate::kv::delete("k").unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::Conflict, msg.as_str()));
    }
}
