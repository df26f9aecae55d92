//! Lifecycle events tell an instance what happens to its app: it starts
//! and stops, its node becomes the active one or a standby (pattern
//! active-passive), nodes join and leave the app's group, and its node
//! comes to own or release partitions (pattern ring). Subscribed events
//! arrive the same way. Register handlers on the [`App`] for the events
//! that matter; the others succeed without doing anything.
//!
//! The host delivers events one at a time and never while a call runs in
//! the instance. A handler may use every host function. Returning an
//! error refuses the event: the host learns its status and message, the
//! instance keeps its previous role and partitions, and the host decides
//! what follows (after a refused `on_active`, it steps down).
//!
//! An instance that starts while its node is already active, a standby or
//! owner of partitions is told so before its first call: `on_start`, then
//! `on_active` or `on_passive`, then `on_own` with every partition its
//! node owns. If it refuses any of these the host discards it.
//!
//! ```
//! use gocluster::App;
//!
//! fn setup(app: &mut App) {
//!     app.on_active(|| {
//!         gocluster::info("this node now runs the schedule");
//!         Ok(())
//!     })
//!     .on_own(|partitions| {
//!         gocluster::log!(gocluster::Level::Info, "warming {:?}", partitions);
//!         Ok(())
//!     });
//! }
//! # setup(&mut App::default());
//! ```

use crate::abi::event;
use crate::app::App;
use crate::encoding::{decode_message, decode_partitions};
use crate::error::{Error, ErrorKind};
use crate::events::Event;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

/// What an instance was last told its node is for the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// No role yet, or the app's pattern has none.
    None,
    /// This node holds the app's lease.
    Active,
    /// This node is a warm standby.
    Passive,
}

thread_local! {
    static ROLE: Cell<Role> = const { Cell::new(Role::None) };
    static OWNED: RefCell<BTreeSet<u32>> = RefCell::new(BTreeSet::new());
}

/// The role this instance was last told, by `on_active` or `on_passive`.
/// It changes only when the handler succeeded.
pub fn role() -> Role {
    ROLE.with(Cell::get)
}

/// The partitions this instance's node owns, ascending: those of accepted
/// `on_own` events minus those of `on_release` events.
pub fn owned() -> Vec<u32> {
    OWNED.with(|o| o.borrow().iter().copied().collect())
}

/// Whether this instance's node owns partition `p`.
pub fn owns(p: u32) -> bool {
    OWNED.with(|o| o.borrow().contains(&p))
}

macro_rules! register {
    ($(#[$doc:meta])* $name:ident, $($arg:ty)?) => {
        $(#[$doc])*
        ///
        /// # Panics
        ///
        /// When registered twice.
        pub fn $name<F>(&mut self, f: F) -> &mut App
        where
            F: FnMut($($arg)?) -> Result<(), Error> + 'static,
        {
            assert!(self.$name.is_none(), concat!("gocluster: ", stringify!($name), " registered twice"));
            self.$name = Some(Box::new(f));
            self
        }
    };
}

impl App {
    register!(
        /// Registers `f` to run when the instance starts, before its first
        /// call. It may refuse: an instance whose `on_start` fails never
        /// serves, and a deploy whose first instance fails reports the app
        /// as failed.
        on_start,
    );
    register!(
        /// Registers `f` to run before the host closes the instance. A
        /// courtesy, not a guarantee: an instance that traps, or a host
        /// that is killed, stops without it.
        on_stop,
    );
    register!(
        /// Registers `f` to run when this node becomes the active one of
        /// an active-passive app. An error makes the host step down
        /// instead of running half active.
        on_active,
    );
    register!(
        /// Registers `f` to run when this node becomes, or is at start, a
        /// warm standby of an active-passive app.
        on_passive,
    );
    register!(
        /// Registers `f` to run with the node id when a node joins the
        /// app's group. Member events are news: an instance that starts
        /// later is not told of earlier joins.
        on_member_join, &str
    );
    register!(
        /// Registers `f` to run with the node id when a node leaves the
        /// app's group.
        on_member_leave, &str
    );
    register!(
        /// Registers `f` to run when this node comes to own partitions
        /// (ascending) of a ring app. Another node owned them until it
        /// released them, so `f` may load their state.
        on_own, &[u32]
    );
    register!(
        /// Registers `f` to run when this node gives up partitions. The
        /// host hands them to another node only after `f` returned or ran
        /// out of time, so `f` may flush their state.
        on_release, &[u32]
    );
    register!(
        /// Registers `f` to run for each event the app subscribed to. An
        /// error refuses the event: for a durable subscription the host
        /// delivers it again later, so `f` should be idempotent. Without
        /// a handler events are taken in and dropped.
        on_event, &Event
    );
}

/// Runs the handler of one lifecycle event and records the new state once
/// the handler accepted it.
pub(crate) fn deliver(app: &mut App, kind: i32, payload: &[u8]) -> Result<(), Error> {
    match kind {
        event::START => run(&mut app.on_start),
        event::STOP => run(&mut app.on_stop),
        event::ACTIVE => becomes(Role::Active, &mut app.on_active),
        event::PASSIVE => becomes(Role::Passive, &mut app.on_passive),
        event::MEMBER_JOIN => node(&mut app.on_member_join, payload),
        event::MEMBER_LEAVE => node(&mut app.on_member_leave, payload),
        event::OWN => change_owned(true, &mut app.on_own, payload),
        event::RELEASE => change_owned(false, &mut app.on_release, payload),
        event::MESSAGE => message(app, payload),
        // A kind from a later host of this major version: not ours to
        // refuse.
        _ => Ok(()),
    }
}

fn run(f: &mut crate::app::Hook) -> Result<(), Error> {
    match f {
        Some(f) => f(),
        None => Ok(()),
    }
}

fn becomes(r: Role, f: &mut crate::app::Hook) -> Result<(), Error> {
    run(f)?;
    ROLE.with(|role| role.set(r));
    Ok(())
}

fn node(f: &mut crate::app::NodeHook, payload: &[u8]) -> Result<(), Error> {
    match f {
        Some(f) => f(&String::from_utf8_lossy(payload)),
        None => Ok(()),
    }
}

fn change_owned(own: bool, f: &mut crate::app::PartitionsHook, payload: &[u8]) -> Result<(), Error> {
    let parts =
        decode_partitions(payload).ok_or_else(|| Error::new(ErrorKind::Invalid, "malformed partitions payload"))?;
    if let Some(f) = f {
        f(&parts)?;
    }
    OWNED.with(|o| {
        let mut o = o.borrow_mut();
        for p in parts {
            if own {
                o.insert(p);
            } else {
                o.remove(&p);
            }
        }
    });
    Ok(())
}

fn message(app: &mut App, payload: &[u8]) -> Result<(), Error> {
    let (source, topic, data) =
        decode_message(payload).ok_or_else(|| Error::new(ErrorKind::Invalid, "malformed event payload"))?;
    match &mut app.on_event {
        Some(f) => f(&Event { source, topic, data }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode_sent::{put_list, put_partitions};
    use std::rc::Rc;

    fn reset() {
        ROLE.with(|r| r.set(Role::None));
        OWNED.with(|o| o.borrow_mut().clear());
    }

    #[test]
    fn state_follows_accepted_events() {
        reset();
        let log = Rc::new(RefCell::new(Vec::<String>::new()));
        let mut app = App::default();
        let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
        let refuse = Rc::new(Cell::new(true));
        let r = refuse.clone();
        app.on_active(move || {
            if r.get() {
                return Err(Error::new(ErrorKind::Unavailable, "not ready"));
            }
            Ok(())
        })
        .on_member_join(move |n| {
            l1.borrow_mut().push(format!("join {}", n));
            Ok(())
        })
        .on_own(move |p| {
            l2.borrow_mut().push(format!("own {:?}", p));
            Ok(())
        })
        .on_release(move |p| {
            l3.borrow_mut().push(format!("release {:?}", p));
            Ok(())
        })
        .on_event(move |e| {
            l4.borrow_mut().push(format!("{} {} {}", e.source, e.topic, String::from_utf8_lossy(&e.data)));
            Ok(())
        });

        assert_eq!(deliver(&mut app, event::START, b"").map_err(|e| e.kind()), Ok(()));
        let e = deliver(&mut app, event::ACTIVE, b"").unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::Unavailable, "not ready"));
        assert_eq!(role(), Role::None);
        refuse.set(false);
        deliver(&mut app, event::ACTIVE, b"").unwrap();
        assert_eq!(role(), Role::Active);
        deliver(&mut app, event::PASSIVE, b"").unwrap();
        assert_eq!(role(), Role::Passive);

        deliver(&mut app, event::MEMBER_JOIN, b"node-b").unwrap();
        deliver(&mut app, event::OWN, &put_partitions(&[1, 5, 9])).unwrap();
        deliver(&mut app, event::RELEASE, &put_partitions(&[5])).unwrap();
        assert_eq!(owned(), vec![1, 9]);
        assert!(owns(9) && !owns(5));
        let e = deliver(&mut app, event::OWN, &put_partitions(&[3, 2])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
        assert_eq!(owned(), vec![1, 9]);

        deliver(&mut app, event::MESSAGE, &put_list(&[b"orders", b"created", b"{}"])).unwrap();
        assert_eq!(deliver(&mut app, event::MESSAGE, b"\x01").unwrap_err().kind(), ErrorKind::Invalid);
        deliver(&mut app, 99, b"whatever").unwrap();
        deliver(&mut app, event::STOP, b"").unwrap();

        assert_eq!(*log.borrow(), vec!["join node-b", "own [1, 5, 9]", "release [5]", "orders created {}"]);
    }

    #[test]
    #[should_panic(expected = "on_stop registered twice")]
    fn twice() {
        App::default().on_stop(|| Ok(())).on_stop(|| Ok(()));
    }
}
