//! distributed-cache: a key-value cache spread over every node of the
//! platform (`mode: spread`, `pattern: ring`). The ring's partitions are
//! shared out among the nodes; each key belongs to one partition
//! ([`gocluster::partition_of`]) and is served by the node that owns it,
//! from memory in front of the app's KV. When a node leaves, the nodes
//! that take its partitions over read their keys back from the KV.
//!
//! API: `set` (`KEY=VALUE`), `get` (`KEY`), `delete` (`KEY`), `stats`.
//!
//! A call sent with its key (`go-cluster call cache get K --key K`) is
//! routed by the host to the owner of the key's partition, from whichever
//! node takes it. A call without a key is served by the node it reaches
//! if that node owns the key, and refused otherwise: passing it on from
//! here would be a call to this app from inside a call, and with one
//! instance per node (see app.yaml) that call can come back to this very
//! node, whose only instance is busy waiting for it.

mod store;
mod wire;

use gocluster::App;
use std::cell::RefCell;
use std::rc::Rc;
use store::{HostKv, Store};
use wire::{Op, Request};

fn setup(app: &mut App) {
    // A bad ring size panics here, which fails the deploy with the message.
    let ring = wire::ring_size(gocluster::config("partitions").as_deref()).unwrap_or_else(|e| panic!("{}", e));
    let cache = Rc::new(RefCell::new(Store::new(HostKv, ring)));
    for op in [Op::Set, Op::Get, Op::Delete] {
        let c = cache.clone();
        app.handle(op.method(), move |p: &[u8]| c.borrow_mut().apply(&Request::parse(op, p)?));
    }
    let c = cache.clone();
    app.handle("stats", move |_: &[u8]| Ok(c.borrow().stats().to_json()));
    let c = cache.clone();
    app.on_own(move |ps| c.borrow_mut().own(ps));
    app.on_release(move |ps| {
        cache.borrow_mut().release(ps);
        Ok(())
    });
}

gocluster::export!(setup);
