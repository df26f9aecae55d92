//! basic, in Rust: the smallest go-cluster app. A greeting that reads the
//! manifest's config, and a counter kept in the app's own KV store that
//! any number of instances on any nodes can increment without losing an
//! update. The same app as ../../../examples/basic in Go.

use gocluster::{kv, App, Error, ErrorKind};

/// Registers the handlers; `export!` runs it once per instance.
fn setup(app: &mut App) {
    app.handle("greet", greet).handle("incr", incr);
}

gocluster::export!(setup);

/// Replies "<greeting>, <payload>!", the greeting coming from the
/// manifest's config.
fn greet(payload: &[u8]) -> Result<Vec<u8>, Error> {
    let greeting = gocluster::config("greeting").unwrap_or_else(|| "Hello".to_string());
    let mut out = Vec::with_capacity(greeting.len() + payload.len() + 3);
    out.extend_from_slice(greeting.as_bytes());
    out.extend_from_slice(b", ");
    out.extend_from_slice(payload);
    out.push(b'!');
    Ok(out)
}

const COUNTER_KEY: &str = "counter";

/// Adds one to the counter and replies its new value in decimal. The
/// read-modify-write is a compare-and-set: create the key when it is
/// absent, else update it at the revision read, and start over when
/// another instance wrote first.
fn incr(_: &[u8]) -> Result<String, Error> {
    loop {
        match increment() {
            Err(e) if e.kind() == ErrorKind::Conflict => continue,
            Err(e) => return Err(e),
            Ok(n) => return Ok(n.to_string()),
        }
    }
}

/// One attempt; `Conflict` means another write came first.
fn increment() -> Result<u64, Error> {
    let entry = match kv::get(COUNTER_KEY) {
        Err(e) if e.kind() == ErrorKind::NotFound => return kv::create(COUNTER_KEY, "1").map(|_| 1),
        other => other?,
    };
    let n: u64 = std::str::from_utf8(&entry.value).ok().and_then(|s| s.parse().ok()).ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("counter holds {:?}, not a number", String::from_utf8_lossy(&entry.value)),
        )
    })?;
    kv::update(COUNTER_KEY, (n + 1).to_string(), entry.revision)?;
    Ok(n + 1)
}

// The handlers' logic runs natively too; there the host functions answer
// unavailable, so greet falls back to its default greeting.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greet_native() {
        assert_eq!(greet(b"world").unwrap(), b"Hello, world!");
    }

    #[test]
    fn incr_needs_a_host() {
        assert_eq!(incr(b"").unwrap_err().kind(), ErrorKind::Unavailable);
    }
}
