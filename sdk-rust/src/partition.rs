//! The partition of a key in a ring app, as the host computes it to route
//! a keyed call (`placement.PartitionOf` in the host). A guest that keeps
//! state per partition needs the same answer: which partition a key's data
//! belongs to, and whether this node owns it ([`owns`](crate::owns)).

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;

/// The ring partition of `key`, 0 to `partitions - 1`, for a ring of
/// `partitions` partitions (the manifest's `partitions`). A ring of 0 or 1
/// partitions maps every key to 0.
///
/// The hash is part of the contract between the host and every SDK and
/// never changes: FNV-1a 64 of the key, its high half folded into the low
/// (`h ^= h >> 32`), modulo `partitions`.
///
/// ```
/// assert_eq!(gocluster::partition_of("user:42", 256), 102);
/// ```
pub fn partition_of(key: impl AsRef<[u8]>, partitions: u32) -> u32 {
    if partitions <= 1 {
        return 0;
    }
    let mut h = FNV_OFFSET;
    for &b in key.as_ref() {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h ^= h >> 32;
    (h % u64::from(partitions)) as u32
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    /// The values the host pins in placement's TestPartitionOf.
    #[test]
    fn agrees_with_the_host() {
        for &(key, partitions, want) in &[
            ("", 256, 193),
            ("a", 256, 192),
            ("user:42", 256, 102),
            ("user:43", 256, 209),
            ("hello world", 1000, 256),
            ("hello world", 4096, 1792),
            ("user:42", 1, 0),
            ("user:42", 0, 0),
        ] {
            assert_eq!(partition_of(key, partitions), want, "partition_of({:?}, {})", key, partitions);
        }
        // Keys are bytes, not text: the host hashes them as they are.
        assert_eq!(partition_of(b"\xff\x00bytes", 256), 53);
        assert_eq!(partition_of(b"\xff\x00bytes", 7), 6);
    }

    #[test]
    fn in_range() {
        for n in [2u32, 3, 255, 256, 4096, u32::MAX] {
            for i in 0..200 {
                assert!(partition_of(format!("k{}", i), n) < n);
            }
        }
    }
}
