//! checks: a test app that drives every capability of the SDK against a
//! real host. Each method runs one area and replies "ok" or fails with
//! what went wrong; hostcheck.sh deploys it and calls them all.

use gocluster::db::{self, Statement, Value};
use gocluster::{kv, lock, App, Call, Error, ErrorKind, Event, Role};
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    /// The lifecycle events this instance was told.
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn seen(what: String) {
    SEEN.with(|s| s.borrow_mut().push(what));
}

fn setup(app: &mut App) {
    app.handle("echo", |p: &[u8]| Ok(p.to_vec()))
        .handle("fail", |p: &[u8]| -> Result<Vec<u8>, Error> {
            Err(Error::new(ErrorKind::Conflict, format!("refused {}", String::from_utf8_lossy(p))))
        })
        .handle("panic", |_: &[u8]| -> Result<Vec<u8>, Error> { panic!("on purpose") })
        .handle("abi", |_: &[u8]| Ok(gocluster::abi_version().to_string()))
        .handle("kv", |_: &[u8]| check_kv().map(|()| "ok"))
        .handle("db", |_: &[u8]| check_db().map(|()| "ok"))
        .handle("lock", |_: &[u8]| check_lock().map(|()| "ok"))
        .handle("call", |_: &[u8]| check_call().map(|()| "ok"))
        .handle("publish", |p: &[u8]| gocluster::publish("ping", p).map(|()| "ok"))
        .handle("seen", |_: &[u8]| Ok(SEEN.with(|s| s.borrow().join("|"))))
        .handle("last-event", |_: &[u8]| kv::get("last-event").map(|e| e.value))
        .on_start(|| {
            seen("start".into());
            Ok(())
        })
        .on_active(|| {
            seen("active".into());
            Ok(())
        })
        .on_passive(|| {
            seen("passive".into());
            Ok(())
        })
        // An event goes to one instance of the pool, so it is kept in KV
        // where every instance can read it back.
        .on_event(|e: &Event| {
            let what = format!("{} {} {}", e.source, e.topic, String::from_utf8_lossy(&e.data));
            kv::put("last-event", what).map(|_| ())
        });
}

gocluster::export!(setup);

/// Fails with `what` unless `ok`.
fn expect(ok: bool, what: impl Into<String>) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Internal, what))
    }
}

fn kind_is<T: std::fmt::Debug>(r: Result<T, Error>, kind: ErrorKind, what: &str) -> Result<Error, Error> {
    match r {
        Err(e) if e.kind() == kind => Ok(e),
        other => Err(Error::new(ErrorKind::Internal, format!("{}: want {:?}, got {:?}", what, kind, other))),
    }
}

fn check_kv() -> Result<(), Error> {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let rev = kv::put("big", &big)?;
    let e = kv::get("big")?;
    expect(e.value == big && e.revision == rev, "big value read back differs")?;
    kv::delete("c/1")?;
    let r1 = kv::create("c/1", "a")?;
    kind_is(kv::create("c/1", "b"), ErrorKind::Conflict, "second create")?;
    kind_is(kv::update("c/1", "b", r1 + 1000), ErrorKind::Conflict, "stale update")?;
    kv::update("c/1", "b", r1)?;
    kv::put(b"c/\xff*.>".as_ref(), "odd key")?;
    let keys = kv::keys("c/")?;
    expect(keys == vec![b"c/1".to_vec(), b"c/\xff*.>".to_vec()], format!("keys {:?}", keys))?;
    kv::delete("c/1")?;
    kind_is(kv::get("c/1"), ErrorKind::NotFound, "deleted key")?;
    kind_is(kv::get(""), ErrorKind::Invalid, "empty key")?;
    Ok(())
}

fn check_db() -> Result<(), Error> {
    db::exec(
        "CREATE TABLE IF NOT EXISTS users(id INTEGER PRIMARY KEY, email TEXT UNIQUE, score REAL, avatar BLOB)",
        &[],
    )?;
    db::exec("DELETE FROM users", &[])?;
    let r = db::exec(
        "INSERT INTO users(email, score, avatar) VALUES (?, ?, ?)",
        &["ann@example.com".into(), 9.5.into(), Value::Blob(vec![0, 1, 255])],
    )?;
    expect(r.rows_affected == 1 && r.last_insert_id > 0, format!("insert {:?}", r))?;
    let e = kind_is(
        db::exec("INSERT INTO users(email) VALUES (?)", &["ann@example.com".into()]),
        ErrorKind::Conflict,
        "duplicate",
    )?;
    expect(e.message().contains("UNIQUE"), format!("duplicate message {:?}", e.message()))?;
    kind_is(db::exec("SELEC nonsense", &[]), ErrorKind::Invalid, "bad SQL")?;
    let res = db::batch(&[
        Statement::new("INSERT INTO users(email) VALUES (?)", vec!["bob@example.com".into()]),
        Statement::new(
            "UPDATE users SET score = score + ? WHERE email = ?",
            vec![0.5.into(), "ann@example.com".into()],
        ),
    ])?;
    expect(res.len() == 2 && res[1].rows_affected == 1, format!("batch {:?}", res))?;
    let rows = db::query("SELECT id, email, score, avatar FROM users ORDER BY id", &[])?;
    expect(rows.columns == ["id", "email", "score", "avatar"], format!("columns {:?}", rows.columns))?;
    expect(rows.rows.len() == 2, format!("{} rows", rows.rows.len()))?;
    let ann = &rows.rows[0];
    expect(ann.get::<String>(1)? == "ann@example.com" && ann.get::<f64>(2)? == 10.0, format!("ann {:?}", ann))?;
    expect(ann.get::<Vec<u8>>(3)? == [0, 1, 255], "avatar")?;
    expect(rows.rows[1].get::<Option<f64>>(2)?.is_none(), "bob's score is NULL")?;
    // A result larger than the first try fetches with take.
    let wide = db::query("SELECT hex(randomblob(3000))", &[])?;
    expect(wide.rows[0].get::<String>(0)?.len() == 6000, "wide row")?;
    Ok(())
}

fn check_lock() -> Result<(), Error> {
    let ttl = Duration::from_secs(5);
    let held = lock::acquire("job", ttl)?;
    let e = kind_is(lock::acquire("job", ttl), ErrorKind::Conflict, "second acquire")?;
    expect(!e.message().is_empty(), "conflict has no message")?;
    held.renew(ttl)?;
    let token = held.token();
    kind_is(lock::Lock::from_token("job", token + 1).release(), ErrorKind::Conflict, "wrong token")?;
    held.release()?;
    let again = lock::acquire_wait("job", ttl, Duration::from_millis(100))?;
    expect(again.token() > token, "tokens grow")?;
    again.release()
}

fn check_call() -> Result<(), Error> {
    let out = gocluster::call("rscheck", "echo", b"hi")?;
    expect(out == b"hi", "echo")?;
    let out = Call::new("rscheck", "echo").key("k").timeout(Duration::from_secs(2)).send(b"keyed")?;
    expect(out == b"keyed", "keyed echo")?;
    let e = kind_is(gocluster::call("rscheck", "fail", b"x"), ErrorKind::Conflict, "callee error")?;
    expect(e.message() == "refused x", format!("callee message {:?}", e.message()))?;
    kind_is(gocluster::call("nobody", "x", b""), ErrorKind::Denied, "call to an app not listed")?;
    expect(gocluster::role() == Role::Active, format!("role {:?}", gocluster::role()))?;
    expect(gocluster::config("mode").as_deref() == Some("test"), "config")?;
    gocluster::log!(gocluster::Level::Info, "checks: call ok, role {:?}", gocluster::role());
    Ok(())
}
