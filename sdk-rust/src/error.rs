//! Errors cross the boundary as a status code with a message, never as a
//! trap. Every host function failure becomes an [`Error`] whose
//! [`ErrorKind`] is the status, carrying the host's explanation when it has
//! one; a handler's `Err` reaches its caller as that status and text.

use crate::abi::status;
use std::fmt;

/// The kind of an [`Error`]: one per non-OK status of the ABI.
///
/// The status of an error that crosses apps is kept, so
/// `e.kind() == ErrorKind::NotFound` works whatever number of calls the
/// error passed through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// An absent key, config value, method or row.
    NotFound,
    /// A failed create or compare-and-set, a constraint violation, a lock
    /// held by another.
    Conflict,
    /// The manifest does not grant what was asked.
    Denied,
    /// A payload or result over the app's limits.
    Limit,
    /// The operation ran out of time.
    Timeout,
    /// Nothing can serve it here and now: no host (a native build), a
    /// read-only database, no instance of the called app.
    Unavailable,
    /// Bad arguments: a key too long, bad SQL, a malformed encoding.
    Invalid,
    /// Anything else; also an unknown status.
    Internal,
}

impl ErrorKind {
    /// Every kind, in status order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Denied,
        ErrorKind::Limit,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::Invalid,
        ErrorKind::Internal,
    ];

    /// The ABI status code of this kind, e.g. 1 for `NotFound`.
    pub fn status(self) -> i32 {
        match self {
            ErrorKind::NotFound => status::NOT_FOUND,
            ErrorKind::Conflict => status::CONFLICT,
            ErrorKind::Denied => status::DENIED,
            ErrorKind::Limit => status::LIMIT,
            ErrorKind::Timeout => status::TIMEOUT,
            ErrorKind::Unavailable => status::UNAVAILABLE,
            ErrorKind::Invalid => status::INVALID,
            ErrorKind::Internal => status::INTERNAL,
        }
    }

    /// The kind of a non-OK status code, `None` for OK and unknown codes.
    pub fn from_status(code: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.status() == code)
    }

    /// The status name the host uses, e.g. `"not_found"`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Denied => "denied",
            ErrorKind::Limit => "limit",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Internal => "internal",
        }
    }

    /// The text of an error of this kind without a message; the same as
    /// the host's and sdk-go's sentinel errors, so the SDK can tell when
    /// the host's message adds nothing.
    fn text(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Denied => "denied",
            ErrorKind::Limit => "limit exceeded",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// An error: a kind (the status) and a message.
///
/// Return one from a handler to choose both what the caller sees as the
/// status and its text:
///
/// ```
/// use gocluster::{Error, ErrorKind};
///
/// fn get_user(id: &[u8]) -> Result<Vec<u8>, Error> {
///     Err(Error::new(ErrorKind::NotFound, format!("no user {}", String::from_utf8_lossy(id))))
/// }
/// assert_eq!(get_user(b"7").unwrap_err().to_string(), "no user 7");
/// ```
///
/// An `ErrorKind` converts into an `Error` without a message, so `?` and
/// `Err(ErrorKind::Conflict.into())` both work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of kind with message (which may be empty).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message: the host's explanation (SQLite's text, who holds a
    /// lock, a callee's own message) or the handler's; empty when there is
    /// none.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error a host function's negative return and the host's message
    /// make. A message that only repeats the kind's text is dropped; an
    /// unknown status is `Internal` and says so.
    pub(crate) fn from_host(ret: i32, message: Option<String>) -> Error {
        let code = ret.wrapping_neg();
        match ErrorKind::from_status(code) {
            Some(kind) => match message {
                Some(m) if m != kind.text() => Error::new(kind, m),
                _ => Error::from(kind),
            },
            None => {
                let mut text = format!("host returned unknown status({})", code);
                if let Some(m) = message {
                    text.push_str(": ");
                    text.push_str(&m);
                }
                Error::new(ErrorKind::Internal, text)
            }
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error { kind, message: String::new() }
    }
}

/// The message, or the kind's text when there is none. No status prefix:
/// this is what crosses the boundary beside the status.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.kind.text())
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.status(), i as i32 + 1);
            assert_eq!(ErrorKind::from_status(k.status()), Some(*k));
        }
        assert_eq!(ErrorKind::from_status(0), None);
        assert_eq!(ErrorKind::from_status(9), None);
        assert_eq!(ErrorKind::from_status(-1), None);
    }

    #[test]
    fn from_host() {
        let e = Error::from_host(-2, Some("held by node-b".into()));
        assert_eq!((e.kind(), e.message()), (ErrorKind::Conflict, "held by node-b"));
        // A message that repeats the sentinel adds nothing.
        let e = Error::from_host(-1, Some("not found".into()));
        assert_eq!((e.kind(), e.message()), (ErrorKind::NotFound, ""));
        assert_eq!(e.to_string(), "not found");
        let e = Error::from_host(-6, None);
        assert_eq!(e, Error::from(ErrorKind::Unavailable));
        let e = Error::from_host(-42, Some("boom".into()));
        assert_eq!((e.kind(), e.message()), (ErrorKind::Internal, "host returned unknown status(42): boom"));
        let e = Error::from_host(0, None);
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn display() {
        assert_eq!(Error::from(ErrorKind::Limit).to_string(), "limit exceeded");
        assert_eq!(Error::new(ErrorKind::Invalid, "bad key").to_string(), "bad key");
        assert_eq!(ErrorKind::Unavailable.name(), "unavailable");
    }
}
