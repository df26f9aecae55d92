//! The guest SDK for go-cluster apps written in Rust. No dependencies.
//!
//! An app is a WebAssembly module the go-cluster host runs on its nodes.
//! It reaches the outside only through the host functions of the native
//! ABI (import module `gocluster_v1`), which this crate wraps, and exposes
//! only the methods it registers here and its manifest lists.
//!
//! # Writing an app
//!
//! Make a `cdylib` crate, register handlers in a setup function and hand
//! it to [`export!`]:
//!
//! ```no_run
//! use gocluster::{App, Error};
//!
//! fn greet(name: &[u8]) -> Result<String, Error> {
//!     let greeting = gocluster::config("greeting").unwrap_or_else(|| "Hello".into());
//!     Ok(format!("{}, {}!", greeting, String::from_utf8_lossy(name)))
//! }
//!
//! fn setup(app: &mut App) {
//!     app.handle("greet", greet);
//! }
//!
//! gocluster::export!(setup);
//! ```
//!
//! Build it for `wasm32-unknown-unknown` (or `wasm32-wasi`):
//!
//! ```text
//! cargo build --release --target wasm32-unknown-unknown
//! ```
//!
//! # Calls
//!
//! Each call runs one handler with the request payload. Calls into one
//! instance never overlap; the host runs several instances of an app for
//! concurrency, so state in memory is per instance and lost when the host
//! replaces one. Keep what matters in [`kv`] or the [`db`].
//!
//! # Errors
//!
//! Errors cross the boundary as a status with a message, never as a trap.
//! Every function returns [`Result`]; an [`Error`] has an [`ErrorKind`]
//! (the status: `NotFound`, `Conflict`, `Denied`, `Limit`, `Timeout`,
//! `Unavailable`, `Invalid`, `Internal`) and the host's explanation when
//! it has one (SQLite's text, who holds a lock, a called app's message). A
//! handler's `Err` reaches its caller as its kind's status with its text.
//!
//! wasm has no unwinding: a panic traps, the caller gets an internal
//! error, the panic's text goes to the host's log and the host replaces
//! the instance. Answer with an `Error` instead where you can.
//!
//! # What the host offers
//!
//! - [`kv`]: the app's key-value store, with revisions for compare-and-set;
//! - [`db`]: the app's SQLite database: [`db::exec`], [`db::query`],
//!   [`db::batch`];
//! - [`lock`]: locks shared by the app's instances, with fencing tokens;
//! - [`call()`] and [`Call`]: other apps' methods (or this app's);
//! - [`publish`] and [`App::on_event`]: events between apps;
//! - lifecycle handlers on [`App`] ([`lifecycle`]) and what they told the
//!   instance: [`role`], [`owned`], [`owns`], and [`partition_of`], the
//!   ring partition of a key;
//! - [`config`], [`log()`](fn@log) and friends, [`abi_version`].
//!
//! # Outside a host
//!
//! The crate builds for every target. Outside wasm32 there is no host:
//! every host function fails with `Unavailable`, [`config`] answers `None`
//! and [`abi_version`] 0, so an app's pure logic can be unit-tested with
//! `cargo test`.

pub mod abi;
mod app;
pub mod call;
pub mod db;
mod encoding;
mod error;
pub mod events;
mod host;
pub mod kv;
pub mod lifecycle;
pub mod lock;
mod partition;
mod runtime;

#[cfg(test)]
mod golden;

#[doc(hidden)]
pub use app::__rt;
pub use app::App;
pub use call::{call, Call};
pub use error::{Error, ErrorKind, Result};
pub use events::{publish, Event};
pub use lifecycle::{owned, owns, role, Role};
pub use partition::partition_of;
pub use runtime::{abi_version, config, debug, error, info, log, warn, Level};
