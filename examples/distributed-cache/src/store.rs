//! The cache of one node: a map in memory per partition the node owns, in
//! front of the app's KV, which is the truth. Writes go to the KV first and
//! then to memory, so memory never holds what the KV lacks and a node that
//! takes a partition over finds every acknowledged write there.
//!
//! A partition's memory starts empty when the node comes to own it and
//! fills as keys are read (a miss reads the KV once) or written. Loading a
//! whole partition up front would hold up the hand-over, and listing the
//! KV by prefix walks every key of the app.
//!
//! Memory also remembers keys that are absent: deleted here, or missing
//! when read. Reads of the KV may be answered by a replica a moment behind
//! the last write, so reading a key just deleted could bring its old value
//! back.

use crate::wire::{kv_key, Op, Request, Stats};
use gocluster::{kv, partition_of, Error, ErrorKind};
use std::collections::{BTreeMap, HashMap};

/// The KV operations the cache needs: the app's KV in a host, a map in
/// tests.
pub trait Kv {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error>;
    fn delete(&mut self, key: &[u8]) -> Result<(), Error>;
}

/// The app's own KV bucket.
pub struct HostKv;

impl Kv for HostKv {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match kv::get(key) {
            Ok(e) => Ok(Some(e.value)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        kv::put(key, value).map(|_| ())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), Error> {
        kv::delete(key)
    }
}

/// What memory knows of each key it has seen: its value, or None when the
/// key is absent.
type Partition = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// The partitions this node owns with their cached keys, and counters.
pub struct Store<K: Kv> {
    kv: K,
    ring: u32,
    owned: BTreeMap<u32, Partition>,
    stats: Stats,
}

impl<K: Kv> Store<K> {
    /// A store of a ring of `ring` partitions that owns none yet.
    pub fn new(kv: K, ring: u32) -> Store<K> {
        Store { kv, ring, owned: BTreeMap::new(), stats: Stats::default() }
    }

    /// Whether this node owns key's partition.
    #[cfg(test)]
    pub fn owns_key(&self, key: &[u8]) -> bool {
        self.owned.contains_key(&partition_of(key, self.ring))
    }

    /// Starts owning partitions, their memory empty. A partition outside
    /// the ring means config.partitions is smaller than the manifest's:
    /// refused, so that it shows in the host's log.
    pub fn own(&mut self, partitions: &[u32]) -> Result<(), Error> {
        if let Some(p) = partitions.iter().find(|&&p| p >= self.ring) {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "partition {} is outside a ring of {}: config.partitions must equal the manifest's partitions",
                    p, self.ring
                ),
            ));
        }
        for &p in partitions {
            self.owned.entry(p).or_default();
        }
        Ok(())
    }

    /// Stops owning partitions and forgets their memory: the next owner
    /// reads them from the KV, and this node may own them again later,
    /// after writes it did not see.
    pub fn release(&mut self, partitions: &[u32]) {
        for p in partitions {
            self.owned.remove(p);
        }
    }

    /// Serves a request whose key's partition this node owns.
    pub fn apply(&mut self, req: &Request) -> Result<Vec<u8>, Error> {
        match req.op {
            Op::Set => self.set(req.key, req.value).map(|()| Vec::new()),
            Op::Get => self.get(req.key),
            Op::Delete => self.delete(req.key).map(|()| Vec::new()),
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let p = self.owner_of(key)?;
        self.stats.kv_writes += 1;
        let res = self.kv.put(&kv_key(p, key), value);
        self.remember(p, key, res.is_ok(), Some(value.to_vec()));
        res
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), Error> {
        let p = self.owner_of(key)?;
        self.stats.kv_writes += 1;
        let res = self.kv.delete(&kv_key(p, key));
        self.remember(p, key, res.is_ok(), None);
        res
    }

    /// Takes what a write left in the KV into memory. A write that failed
    /// may or may not have landed: memory forgets the key, and the next
    /// get reads the KV.
    fn remember(&mut self, p: u32, key: &[u8], landed: bool, value: Option<Vec<u8>>) {
        let mem = self.owned.get_mut(&p).expect("owner_of checked");
        if landed {
            mem.insert(key.to_vec(), value);
        } else {
            mem.remove(key);
        }
    }

    fn get(&mut self, key: &[u8]) -> Result<Vec<u8>, Error> {
        let p = self.owner_of(key)?;
        let known = match self.owned[&p].get(key) {
            Some(known) => {
                self.stats.hits += 1;
                known.clone()
            }
            None => {
                self.stats.misses += 1;
                self.stats.kv_reads += 1;
                let read = self.kv.get(&kv_key(p, key))?;
                self.owned.get_mut(&p).expect("owner_of checked").insert(key.to_vec(), read.clone());
                read
            }
        };
        known.ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no key {}", String::from_utf8_lossy(key))))
    }

    /// The partition of key, which this node must own: the host sends a
    /// call that carries its key to the owner, one without a key to any
    /// node.
    fn owner_of(&self, key: &[u8]) -> Result<u32, Error> {
        let p = partition_of(key, self.ring);
        if !self.owned.contains_key(&p) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "this node does not own partition {} of key {}: send the call with the key (--key) to reach its owner",
                    p,
                    String::from_utf8_lossy(key)
                ),
            ));
        }
        Ok(p)
    }

    /// This node's counters and what it holds now.
    pub fn stats(&self) -> Stats {
        let keys = self.owned.values().map(|m| m.values().filter(|v| v.is_some()).count()).sum();
        Stats { partitions: self.owned.len(), keys, ..self.stats }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::partition_prefix;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A KV shared by the stores of several "nodes", failing on demand.
    #[derive(Clone, Default)]
    struct MapKv {
        data: Rc<RefCell<BTreeMap<Vec<u8>, Vec<u8>>>>,
        down: Rc<RefCell<bool>>,
    }

    impl MapKv {
        fn check(&self) -> Result<(), Error> {
            if *self.down.borrow() {
                return Err(Error::new(ErrorKind::Unavailable, "kv down"));
            }
            Ok(())
        }
    }

    impl Kv for MapKv {
        fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
            self.check()?;
            Ok(self.data.borrow().get(key).cloned())
        }
        fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
            self.check()?;
            self.data.borrow_mut().insert(key.to_vec(), value.to_vec());
            Ok(())
        }
        fn delete(&mut self, key: &[u8]) -> Result<(), Error> {
            self.check()?;
            self.data.borrow_mut().remove(key);
            Ok(())
        }
    }

    const RING: u32 = 8;

    fn req(op: Op, payload: &[u8]) -> Request<'_> {
        Request::parse(op, payload).unwrap()
    }

    fn all() -> Vec<u32> {
        (0..RING).collect()
    }

    #[test]
    fn write_through_then_hits() {
        let kv = MapKv::default();
        let mut s = Store::new(kv.clone(), RING);
        s.own(&all()).unwrap();
        s.apply(&req(Op::Set, b"a=1")).unwrap();
        s.apply(&req(Op::Set, b"a=2")).unwrap();
        assert_eq!(s.apply(&req(Op::Get, b"a")).unwrap(), b"2");
        let p = partition_of("a", RING);
        assert_eq!(kv.data.borrow().get(&kv_key(p, b"a")).unwrap(), b"2");
        assert!(kv_key(p, b"a").starts_with(partition_prefix(p).as_bytes()));
        s.apply(&req(Op::Delete, b"a")).unwrap();
        assert_eq!(s.apply(&req(Op::Get, b"a")).unwrap_err().kind(), ErrorKind::NotFound);
        assert!(kv.data.borrow().is_empty());
        let st = s.stats();
        assert_eq!((st.hits, st.misses, st.kv_reads, st.kv_writes, st.keys), (2, 0, 0, 3, 0));
    }

    #[test]
    fn absent_keys_are_remembered() {
        let kv = MapKv::default();
        let mut s = Store::new(kv.clone(), RING);
        s.own(&all()).unwrap();
        for _ in 0..3 {
            assert_eq!(s.apply(&req(Op::Get, b"nope")).unwrap_err().kind(), ErrorKind::NotFound);
        }
        assert_eq!((s.stats().misses, s.stats().kv_reads, s.stats().hits), (1, 1, 2));

        // A replica behind the delete still answers with the old value:
        // memory knows better.
        s.apply(&req(Op::Set, b"a=1")).unwrap();
        s.apply(&req(Op::Delete, b"a")).unwrap();
        let p = partition_of("a", RING);
        kv.data.borrow_mut().insert(kv_key(p, b"a"), b"1".to_vec());
        assert_eq!(s.apply(&req(Op::Get, b"a")).unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[test]
    fn new_owner_reads_the_kv() {
        let kv = MapKv::default();
        let mut old = Store::new(kv.clone(), RING);
        old.own(&all()).unwrap();
        for i in 0..100 {
            old.apply(&req(Op::Set, format!("k{}=v{}", i, i).as_bytes())).unwrap();
        }
        let moved: Vec<u32> = (0..RING / 2).collect();
        old.release(&moved);
        let mut new = Store::new(kv, RING);
        new.own(&moved).unwrap();
        for i in 0..100 {
            let key = format!("k{}", i);
            let (owner, other) = if new.owns_key(key.as_bytes()) { (&mut new, &mut old) } else { (&mut old, &mut new) };
            assert_eq!(owner.apply(&req(Op::Get, key.as_bytes())).unwrap(), format!("v{}", i).as_bytes());
            assert_eq!(other.apply(&req(Op::Get, key.as_bytes())).unwrap_err().kind(), ErrorKind::Unavailable);
        }
        let (o, n) = (old.stats(), new.stats());
        assert_eq!((o.misses, o.kv_reads), (0, 0));
        assert_eq!((n.hits, n.misses, n.kv_reads), (0, n.keys as u64, n.keys as u64));
        assert_eq!(o.keys + n.keys, 100);
        assert!(n.keys > 0 && o.keys > 0);
        assert_eq!((o.partitions, n.partitions), (4, 4));
    }

    #[test]
    fn release_forgets() {
        let kv = MapKv::default();
        let mut s = Store::new(kv.clone(), RING);
        s.own(&all()).unwrap();
        s.apply(&req(Op::Set, b"a=1")).unwrap();
        let p = partition_of("a", RING);
        s.release(&[p]);
        // Another owner changed it meanwhile.
        kv.data.borrow_mut().insert(kv_key(p, b"a"), b"2".to_vec());
        s.own(&[p]).unwrap();
        assert_eq!(s.apply(&req(Op::Get, b"a")).unwrap(), b"2");
    }

    #[test]
    fn kv_failures() {
        let kv = MapKv::default();
        let mut s = Store::new(kv.clone(), RING);
        s.own(&all()).unwrap();
        s.apply(&req(Op::Set, b"a=1")).unwrap();
        *kv.down.borrow_mut() = true;
        assert_eq!(s.apply(&req(Op::Set, b"a=2")).unwrap_err().kind(), ErrorKind::Unavailable);
        // Memory dropped the key: it is read again, not served stale.
        assert_eq!(s.apply(&req(Op::Get, b"a")).unwrap_err().kind(), ErrorKind::Unavailable);
        *kv.down.borrow_mut() = false;
        assert_eq!(s.apply(&req(Op::Get, b"a")).unwrap(), b"1");
    }

    #[test]
    fn ring_mismatch_is_refused() {
        let mut s = Store::new(MapKv::default(), RING);
        let e = s.own(&[1, RING]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
        assert!(e.message().contains("config.partitions"));
        assert_eq!(s.stats().partitions, 0);
    }
}
