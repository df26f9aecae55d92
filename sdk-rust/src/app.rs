//! The app: its registered handlers and the guest exports the host calls.
//!
//! Rust runs no code at load time the way Go's `init` does, so an app
//! hands the SDK a setup function through [`export!`](crate::export). The
//! macro emits the exports; the first time the host calls one (the
//! instance's `on_start` event, or its first call) the SDK runs setup, then
//! dispatches. A panic in setup traps that first export, which makes the
//! host refuse the module at deploy, as a Go guest's panicking `init` does.

use crate::error::{Error, ErrorKind};
use crate::events::Event;
use crate::host;
use std::cell::RefCell;
use std::collections::BTreeMap;

pub(crate) type Handler = Box<dyn FnMut(&[u8]) -> Result<Vec<u8>, Error>>;
pub(crate) type Hook = Option<Box<dyn FnMut() -> Result<(), Error>>>;
pub(crate) type NodeHook = Option<Box<dyn FnMut(&str) -> Result<(), Error>>>;
pub(crate) type PartitionsHook = Option<Box<dyn FnMut(&[u32]) -> Result<(), Error>>>;
pub(crate) type EventHook = Option<Box<dyn FnMut(&Event) -> Result<(), Error>>>;

/// An app's handlers: its API methods and the lifecycle events it cares
/// about. The SDK makes one per instance and passes it to the setup
/// function named in [`export!`](crate::export).
///
/// Calls into one instance never overlap and events never run during a
/// call, so handlers may share state (a `thread_local!` with a `RefCell`,
/// or what their closures own) without locks. The host runs several
/// instances of an app for concurrency, so such state is per instance and
/// lost when the host replaces one: keep what matters in [`kv`](crate::kv)
/// or the [`db`](crate::db).
#[derive(Default)]
pub struct App {
    handlers: BTreeMap<Vec<u8>, Handler>,
    pub(crate) on_start: Hook,
    pub(crate) on_stop: Hook,
    pub(crate) on_active: Hook,
    pub(crate) on_passive: Hook,
    pub(crate) on_member_join: NodeHook,
    pub(crate) on_member_leave: NodeHook,
    pub(crate) on_own: PartitionsHook,
    pub(crate) on_release: PartitionsHook,
    pub(crate) on_event: EventHook,
}

impl App {
    /// Registers `handler` as the handler of API method `method`. The
    /// manifest's `api` list decides which registered methods callers may
    /// reach.
    ///
    /// The handler gets the request payload and answers with bytes (a
    /// `Vec<u8>`, `String` or `&'static str`) or an [`Error`], which
    /// reaches the caller as its kind's status with its text.
    ///
    /// # Panics
    ///
    /// On an empty method, one longer than 64 bytes, or one registered
    /// twice: the host then refuses the module at deploy.
    pub fn handle<F, R>(&mut self, method: &str, mut handler: F) -> &mut App
    where
        F: FnMut(&[u8]) -> Result<R, Error> + 'static,
        R: Into<Vec<u8>>,
    {
        assert!(!method.is_empty(), "gocluster: empty method name");
        assert!(
            method.len() <= crate::abi::MAX_METHOD_LEN,
            "gocluster: method {:?} is longer than {} bytes",
            method,
            crate::abi::MAX_METHOD_LEN
        );
        let h: Handler = Box::new(move |p| handler(p).map(Into::into));
        let dup = self.handlers.insert(method.as_bytes().to_vec(), h).is_some();
        assert!(!dup, "gocluster: method {:?} registered twice", method);
        self
    }

    /// Runs the handler of `method`.
    fn dispatch(&mut self, method: &[u8], payload: &[u8]) -> Result<Vec<u8>, Error> {
        match self.handlers.get_mut(method) {
            Some(h) => h(payload),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("no handler for method {}", String::from_utf8_lossy(method)),
            )),
        }
    }
}

/// Emits the guest exports of an app whose handlers `setup` registers.
/// Use it once, in the app's crate (a `cdylib`):
///
/// ```no_run
/// use gocluster::{App, Error};
///
/// fn greet(name: &[u8]) -> Result<String, Error> {
///     Ok(format!("Hello, {}!", String::from_utf8_lossy(name)))
/// }
///
/// fn setup(app: &mut App) {
///     app.handle("greet", greet);
/// }
///
/// gocluster::export!(setup);
/// ```
///
/// `setup` is a `fn(&mut App)` (or a closure that captures nothing). It
/// runs once per instance, before the instance's first event or call.
///
/// The exports are those of the host's `abi` package:
/// `gocluster_v1_buffer`, `gocluster_v1_handle` and `gocluster_v1_event`.
#[macro_export]
macro_rules! export {
    ($setup:expr) => {
        const _: () = {
            #[no_mangle]
            pub extern "C" fn gocluster_v1_buffer(size: i32) -> i32 {
                $crate::__rt::buffer(size)
            }

            #[no_mangle]
            pub extern "C" fn gocluster_v1_handle(method_len: i32, payload_len: i32) -> i32 {
                $crate::__rt::handle($setup, method_len, payload_len)
            }

            #[no_mangle]
            pub extern "C" fn gocluster_v1_event(kind: i32, payload_len: i32) -> i32 {
                $crate::__rt::event($setup, kind, payload_len)
            }
        };
    };
}

/// What the exports `export!` emits call. Not part of the API.
#[doc(hidden)]
pub mod __rt {
    use super::*;

    /// The smallest input buffer; growing in 4 KiB steps keeps a run of
    /// slightly larger payloads from reallocating each time.
    const MIN_INPUT: usize = 4 << 10;

    thread_local! {
        /// The app, made by setup on first use.
        static APP: RefCell<Option<App>> = const { RefCell::new(None) };
        /// The buffer the host writes each call into: the method name
        /// then the payload. Replaced only when a call needs more room,
        /// so its address holds until the next `buffer` export, as the
        /// host relies on.
        static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    /// `gocluster_v1_buffer`: the address of a buffer of at least `size`
    /// bytes, or 0 for a negative size.
    pub fn buffer(size: i32) -> i32 {
        if size < 0 {
            return 0;
        }
        let size = size as usize;
        INPUT.with(|b| {
            let mut b = b.borrow_mut();
            if size > b.len() || b.is_empty() {
                let n = (size.max(1) + MIN_INPUT - 1) / MIN_INPUT * MIN_INPUT;
                *b = vec![0; n];
            }
            b.as_mut_ptr() as usize as i32
        })
    }

    /// `gocluster_v1_handle`: runs the handler of the method in the input
    /// buffer, replies and returns the status.
    pub fn handle(setup: fn(&mut App), method_len: i32, payload_len: i32) -> i32 {
        INPUT.with(|b| {
            let b = b.borrow();
            let (m, p) = match split(&b, method_len, payload_len) {
                Some(mp) => mp,
                None => return fail(Error::new(ErrorKind::Invalid, "call does not fit the input buffer")),
            };
            answer(with_app(setup, |app| app.dispatch(&b[..m], &b[m..m + p])))
        })
    }

    /// `gocluster_v1_event`: runs the handler of one lifecycle event, its
    /// payload in the input buffer, and returns the status.
    pub fn event(setup: fn(&mut App), kind: i32, payload_len: i32) -> i32 {
        INPUT.with(|b| {
            let b = b.borrow();
            let (_, p) = match split(&b, 0, payload_len) {
                Some(mp) => mp,
                None => return fail(Error::new(ErrorKind::Invalid, "event does not fit the input buffer")),
            };
            answer(with_app(setup, |app| crate::lifecycle::deliver(app, kind, &b[..p])).map(|()| Vec::new()))
        })
    }

    /// Checks that `a + b` bytes lie in the buffer.
    fn split(buf: &[u8], a: i32, b: i32) -> Option<(usize, usize)> {
        if a < 0 || b < 0 || a as u64 + b as u64 > buf.len() as u64 {
            return None;
        }
        Some((a as usize, b as usize))
    }

    /// Runs f with the instance's app, running setup first if it has not
    /// run yet.
    fn with_app<R>(setup: fn(&mut App), f: impl FnOnce(&mut App) -> R) -> R {
        APP.with(|cell| {
            let mut slot = cell.borrow_mut();
            let app = match &mut *slot {
                Some(app) => app,
                none => {
                    install_panic_hook();
                    let mut app = App::default();
                    setup(&mut app);
                    none.insert(app)
                }
            };
            f(app)
        })
    }

    /// Replies and returns the status of a handler's result.
    fn answer(r: Result<Vec<u8>, Error>) -> i32 {
        match r {
            Ok(out) => {
                if !out.is_empty() {
                    // SAFETY: the host copies (ptr, len) at once.
                    unsafe { host::gc_reply(out.as_ptr(), out.len()) };
                }
                crate::abi::status::OK
            }
            Err(e) => fail(e),
        }
    }

    /// Answers the call in progress with e's status and text.
    fn fail(e: Error) -> i32 {
        let msg = e.to_string();
        // SAFETY: the host copies (ptr, len) at once.
        unsafe { host::gc_reply(msg.as_ptr(), msg.len()) };
        e.kind().status()
    }

    /// wasm has no unwinding: a panic traps, the host reports the call as
    /// an internal error and replaces the instance. This hook first sends
    /// the panic's text to the host's log, as wasm32-unknown-unknown has
    /// no stderr to print it to.
    #[cfg(target_arch = "wasm32")]
    fn install_panic_hook() {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            crate::runtime::error(format!("panic: {}", info));
            default(info);
        }));
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn install_panic_hook() {}

    #[cfg(test)]
    pub(crate) fn reset() {
        APP.with(|a| *a.borrow_mut() = None);
        INPUT.with(|b| b.borrow_mut().clear());
    }

    /// Writes a call into the input buffer as the host does.
    #[cfg(test)]
    pub(crate) fn write_input(head: &[u8], payload: &[u8]) {
        buffer((head.len() + payload.len()) as i32);
        INPUT.with(|b| {
            let mut b = b.borrow_mut();
            b[..head.len()].copy_from_slice(head);
            b[head.len()..head.len() + payload.len()].copy_from_slice(payload);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::__rt::{self, write_input};
    use super::*;
    use crate::host::fake::{install, Fake};
    use std::rc::Rc;

    #[derive(Default)]
    struct Replies(Rc<RefCell<Vec<u8>>>);

    impl Fake for Replies {
        fn reply(&mut self, b: &[u8]) {
            *self.0.borrow_mut() = b.to_vec();
        }
    }

    fn setup(app: &mut App) {
        app.handle("echo", |p: &[u8]| Ok(p.to_vec()))
            .handle("greet", |p: &[u8]| Ok(format!("Hello, {}!", String::from_utf8_lossy(p))))
            .handle("fail", |_: &[u8]| -> Result<&str, Error> { Err(Error::new(ErrorKind::Conflict, "taken")) })
            .handle("empty", |_: &[u8]| Ok(""));
    }

    fn call(method: &str, payload: &[u8]) -> (i32, Vec<u8>) {
        let replies = Replies::default();
        let out = replies.0.clone();
        let _g = install(replies);
        write_input(method.as_bytes(), payload);
        let st = __rt::handle(setup, method.len() as i32, payload.len() as i32);
        let r = out.borrow().clone();
        (st, r)
    }

    #[test]
    fn dispatch() {
        __rt::reset();
        assert_eq!(call("greet", b"world"), (0, b"Hello, world!".to_vec()));
        assert_eq!(call("echo", &[7; 10_000]), (0, vec![7; 10_000]));
        assert_eq!(call("fail", b""), (2, b"taken".to_vec()));
        assert_eq!(call("empty", b""), (0, vec![]));
        assert_eq!(call("nope", b"x"), (1, b"no handler for method nope".to_vec()));
        // A call that claims more than the buffer holds.
        let _g = install(Replies::default());
        assert_eq!(__rt::handle(setup, 4, 1 << 20), 7);
        assert_eq!(__rt::handle(setup, -1, 0), 7);
        assert_eq!(__rt::buffer(-1), 0);
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn duplicate_method() {
        App::default().handle("a", |_: &[u8]| Ok("")).handle("a", |_: &[u8]| Ok(""));
    }

    #[test]
    #[should_panic(expected = "longer than 64 bytes")]
    fn long_method() {
        App::default().handle(&"m".repeat(65), |_: &[u8]| Ok(""));
    }
}
