//! What travels in calls and what is stored: requests, the KV key of a
//! cached key, and the stats reply. Text, so that the CLI can speak it:
//!
//! - `set`: `KEY=VALUE`, split at the first `=` (the value may hold more);
//! - `get`, `delete`: `KEY`;
//! - `stats`: nothing; the reply is one JSON object.
//!
//! A key is 1 to [`MAX_KEY_LEN`] bytes without control characters (the
//! host carries it in a header to route the call) and without `=`.

use gocluster::{Error, ErrorKind};

/// The KV key of a cached key starts with its partition, "p/0042/", so
/// that a partition's keys can be listed by prefix. Four digits cover the
/// largest ring a manifest allows (4096).
const KV_PREFIX_LEN: usize = 7;

/// The longest key: what a KV key leaves after the partition prefix.
pub const MAX_KEY_LEN: usize = gocluster::kv::MAX_KEY_LEN - KV_PREFIX_LEN;

/// The largest ring a manifest allows.
const MAX_RING: u32 = 4096;

/// A request's operation, named by its API method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Set,
    Get,
    Delete,
}

impl Op {
    pub fn method(self) -> &'static str {
        match self {
            Op::Set => "set",
            Op::Get => "get",
            Op::Delete => "delete",
        }
    }
}

/// A parsed set, get or delete.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub op: Op,
    pub key: &'a [u8],
    pub value: &'a [u8], // empty but for set
}

impl<'a> Request<'a> {
    pub fn parse(op: Op, payload: &'a [u8]) -> Result<Request<'a>, Error> {
        let (key, value) = match op {
            Op::Set => match payload.iter().position(|&b| b == b'=') {
                Some(i) => (&payload[..i], &payload[i + 1..]),
                None => return Err(invalid("set takes KEY=VALUE")),
            },
            Op::Get | Op::Delete => (payload, &[][..]),
        };
        check_key(key)?;
        Ok(Request { op, key, value })
    }
}

fn check_key(key: &[u8]) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(invalid(&format!("a key is 1 to {} bytes", MAX_KEY_LEN)));
    }
    if key.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'=') {
        return Err(invalid("a key may not hold control characters or '='"));
    }
    Ok(())
}

fn invalid(msg: &str) -> Error {
    Error::new(ErrorKind::Invalid, msg)
}

/// The KV key under which partition p keeps key.
pub fn kv_key(p: u32, key: &[u8]) -> Vec<u8> {
    let mut out = partition_prefix(p).into_bytes();
    out.extend_from_slice(key);
    out
}

/// The prefix of every KV key of partition p.
pub fn partition_prefix(p: u32) -> String {
    format!("p/{:04}/", p)
}

/// The ring size from the app's config (`partitions`), which must equal
/// the manifest's: the guest cannot read the manifest, and hashing keys
/// over another ring size would put them in other partitions than the
/// host routes them to.
pub fn ring_size(config: Option<&str>) -> Result<u32, String> {
    let s = config.ok_or("config.partitions is missing: set it to the manifest's partitions")?;
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_RING).contains(&n) => Ok(n),
        _ => Err(format!("config.partitions is {:?}, not a ring size from 1 to {}", s, MAX_RING)),
    }
}

/// One node's view, as `stats` answers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Partitions this node owns, and keys cached in memory for them.
    pub partitions: usize,
    pub keys: usize,
    /// Gets answered from memory, and those that had to read the KV.
    pub hits: u64,
    pub misses: u64,
    /// Reads and writes (puts and deletes) of the app's KV.
    pub kv_reads: u64,
    pub kv_writes: u64,
}

impl Stats {
    pub fn to_json(self) -> String {
        format!(
            r#"{{"partitions":{},"keys":{},"hits":{},"misses":{},"kv_reads":{},"kv_writes":{}}}"#,
            self.partitions, self.keys, self.hits, self.misses, self.kv_reads, self.kv_writes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = Request::parse(Op::Set, b"user:42=Ada=Lovelace").unwrap();
        assert_eq!((r.key, r.value), (&b"user:42"[..], &b"Ada=Lovelace"[..]));
        let r = Request::parse(Op::Set, b"k=").unwrap();
        assert_eq!((r.key, r.value), (&b"k"[..], &b""[..]));
        let r = Request::parse(Op::Get, "clé".as_bytes()).unwrap();
        assert_eq!((r.op, r.key, r.value), (Op::Get, "clé".as_bytes(), &b""[..]));
        assert_eq!(Request::parse(Op::Delete, b"k").unwrap().key, b"k");
    }

    #[test]
    fn bad_requests() {
        let long = vec![b'k'; MAX_KEY_LEN + 1];
        for (op, p) in [
            (Op::Set, &b"no value"[..]),
            (Op::Set, b"=v"),
            (Op::Get, b""),
            (Op::Get, b"a=b"),
            (Op::Get, b"line\nbreak"),
            (Op::Delete, b"\x7f"),
            (Op::Get, &long),
        ] {
            assert_eq!(Request::parse(op, p).unwrap_err().kind(), ErrorKind::Invalid, "{:?} {:?}", op, p);
        }
        assert!(Request::parse(Op::Get, &long[1..]).is_ok());
    }

    #[test]
    fn kv_keys_fit_the_kv() {
        assert_eq!(kv_key(42, b"user:42"), b"p/0042/user:42");
        assert_eq!(partition_prefix(4095), "p/4095/");
        assert_eq!(partition_prefix(0).len(), KV_PREFIX_LEN);
        assert_eq!(kv_key(4095, &[b'k'; MAX_KEY_LEN]).len(), gocluster::kv::MAX_KEY_LEN);
    }

    #[test]
    fn ring_sizes() {
        assert_eq!(ring_size(Some("256")), Ok(256));
        assert_eq!(ring_size(Some(" 1 ")), Ok(1));
        assert_eq!(ring_size(Some("4096")), Ok(4096));
        for bad in ["0", "4097", "-1", "many", ""] {
            assert!(ring_size(Some(bad)).unwrap_err().contains("not a ring size"), "{:?}", bad);
        }
        assert!(ring_size(None).unwrap_err().contains("missing"));
    }

    #[test]
    fn stats_json() {
        let s = Stats { partitions: 85, keys: 3, hits: 1, misses: 2, kv_reads: 2, kv_writes: 3 };
        assert_eq!(s.to_json(), r#"{"partitions":85,"keys":3,"hits":1,"misses":2,"kv_reads":2,"kv_writes":3}"#);
    }
}
