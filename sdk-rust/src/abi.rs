//! Every name and number of the host-guest contract the SDK relies on, in
//! one place. They must equal the host's Go package `abi`
//! (`../abi/abi.go`, `status.go`, `event.go`, `values.go`); the export
//! names are repeated by the [`export!`](crate::export) macro and the
//! import names by `host.rs`, because attributes cannot name constants.

/// The ABI major version this SDK speaks.
pub const VERSION: u32 = 1;

/// The module the host functions are imported from.
pub const IMPORT_MODULE: &str = "gocluster_v1";
/// The prefix of every guest export of this version.
pub const EXPORT_PREFIX: &str = "gocluster_v1_";
/// `gocluster_v1_buffer(size i32) -> ptr i32`.
pub const EXPORT_BUFFER: &str = "gocluster_v1_buffer";
/// `gocluster_v1_handle(method_len i32, payload_len i32) -> status i32`.
pub const EXPORT_HANDLE: &str = "gocluster_v1_handle";
/// `gocluster_v1_event(kind i32, payload_len i32) -> status i32`.
pub const EXPORT_EVENT: &str = "gocluster_v1_event";

/// Status codes: what an export answers, negated when a host function
/// returns them.
pub(crate) mod status {
    pub const OK: i32 = 0;
    pub const NOT_FOUND: i32 = 1;
    pub const CONFLICT: i32 = 2;
    pub const DENIED: i32 = 3;
    pub const LIMIT: i32 = 4;
    pub const TIMEOUT: i32 = 5;
    pub const UNAVAILABLE: i32 = 6;
    pub const INVALID: i32 = 7;
    pub const INTERNAL: i32 = 8;
}

/// Lifecycle event kinds, the first argument of `gocluster_v1_event`.
pub(crate) mod event {
    pub const START: i32 = 1; // no payload
    pub const ACTIVE: i32 = 2; // no payload
    pub const PASSIVE: i32 = 3; // no payload
    pub const STOP: i32 = 4; // no payload
    pub const MEMBER_JOIN: i32 = 5; // the node id
    pub const MEMBER_LEAVE: i32 = 6; // the node id
    pub const OWN: i32 = 7; // partitions
    pub const RELEASE: i32 = 8; // partitions
    pub const MESSAGE: i32 = 9; // the List [source, topic, data]
}

/// The size of one partition in an own or release payload: a
/// little-endian u32. Partitions come strictly ascending.
pub(crate) const PARTITION_SIZE: usize = 4;

/// The longest KV key, lock name and call key, in bytes. Keys and lock
/// names are 1 to `MAX_KEY_LEN` bytes long.
pub const MAX_KEY_LEN: usize = 512;
/// The longest API method name, in bytes.
pub const MAX_METHOD_LEN: usize = 64;
/// The longest app name, in bytes.
pub const MAX_APP_NAME_LEN: usize = 32;
/// The longest event topic, in bytes.
pub const MAX_TOPIC_LEN: usize = 64;
/// The longest SQL text of one statement, in bytes.
pub const MAX_SQL_LEN: usize = 1 << 20;

/// Lock bounds in milliseconds, as `lock_acquire` and `lock_renew` take
/// them; `lock.rs` exports them as durations.
pub(crate) const MIN_LOCK_TTL_MS: u64 = 1000;
pub(crate) const MAX_LOCK_TTL_MS: u64 = 5 * 60 * 1000;
pub(crate) const MAX_LOCK_WAIT_MS: u64 = 30 * 1000;

/// The database encodings: a value is one type byte then its data.
pub(crate) mod value_type {
    pub const NULL: u8 = 0; // nothing
    pub const INTEGER: u8 = 1; // i64
    pub const REAL: u8 = 2; // f64 bits
    pub const TEXT: u8 = 3; // u32 length, UTF-8 bytes
    pub const BLOB: u8 = 4; // u32 length, bytes
}

/// The size of an exec result: rows affected, then the last inserted row
/// id, two little-endian i64.
pub(crate) const EXEC_RESULT_SIZE: usize = 16;
