//! conform: the Rust guest of the ABI conformance suite, the twin of
//! `plugins/testdata/guests/conform` (Go). The table
//! `abi/testdata/conformance.txt` runs against both from
//! `host/conformance_test.go`; both interpret the same operations with
//! their SDK and answer in the same bytes, so a difference between the
//! SDKs fails the suite. The Go guest's sources document the methods, the
//! operations and the fields each one answers.

use gocluster::db::{self, Statement, Value};
use gocluster::{kv, lock, App, Call, Error, ErrorKind, Event, Level, Role};
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    /// What the lifecycle handlers were told, in order.
    static RECORDS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn record(what: String) -> Result<(), Error> {
    RECORDS.with(|r| r.borrow_mut().push(what));
    Ok(())
}

fn join(parts: &[u32]) -> String {
    parts.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")
}

fn setup(app: &mut App) {
    app.handle("run", run)
        .handle("echo", |p: &[u8]| Ok(p.to_vec()))
        .handle("fail", fail)
        .handle("slow", slow)
        .handle("panic", |p: &[u8]| -> Result<Vec<u8>, Error> {
            panic!("conform panics: {}", String::from_utf8_lossy(p))
        })
        .on_start(|| record("start".into()))
        .on_active(|| record("active".into()))
        .on_passive(|| record("passive".into()))
        .on_stop(|| record("stop".into()))
        .on_member_join(|n: &str| record(format!("member_join {}", n)))
        .on_member_leave(|n: &str| record(format!("member_leave {}", n)))
        .on_own(|p: &[u32]| record(format!("own {}", join(p))))
        .on_release(|p: &[u32]| record(format!("release {}", join(p))))
        .on_event(|e: &Event| {
            let mut key = format!("event:{}:", e.topic).into_bytes();
            key.extend_from_slice(&e.data);
            kv::put(key, &e.source).map(|_| ())
        });
}

gocluster::export!(setup);

/// A request this guest cannot read: the run call fails with it, as no
/// outcome could report it.
fn protocol(what: &str) -> Error {
    Error::new(ErrorKind::Invalid, format!("conform: {}", what))
}

/// A step's result as the reply carries it.
struct Outcome {
    status: &'static str,
    fields: Vec<Vec<u8>>,
}

/// An outcome, or a request this guest cannot read.
type Step = Result<Outcome, Error>;

fn ok(fields: Vec<Vec<u8>>) -> Step {
    Ok(Outcome { status: "ok", fields })
}

/// Reports an SDK error: its status and text, as its caller would see them.
fn failed(e: Error) -> Step {
    Ok(Outcome { status: e.kind().name(), fields: vec![e.to_string().into_bytes()] })
}

/// The outcome of an SDK result, its fields made by `f`.
fn outcome<T>(r: Result<T, Error>, f: impl FnOnce(T) -> Vec<Vec<u8>>) -> Step {
    match r {
        Ok(v) => ok(f(v)),
        Err(e) => failed(e),
    }
}

fn none(r: Result<(), Error>) -> Step {
    outcome(r, |()| vec![])
}

fn dec<T: ToString>(n: T) -> Vec<u8> {
    n.to_string().into_bytes()
}

fn run(payload: &[u8]) -> Result<Vec<u8>, Error> {
    let steps = split_list(payload).ok_or_else(|| protocol("request is not a List"))?;
    let mut reply = Vec::new();
    for s in steps {
        let o = run_step(s)?;
        let mut items: Vec<&[u8]> = vec![o.status.as_bytes()];
        items.extend(o.fields.iter().map(|f| &f[..]));
        put_item(&mut reply, &list(&items));
    }
    Ok(reply)
}

/// One argument: bytes, or a statement break of db_batch.
struct Arg {
    b: Vec<u8>,
    sep: bool,
}

fn run_step(step: &[u8]) -> Step {
    let items = split_list(step).ok_or_else(|| protocol("step is not a List"))?;
    let (op, rest) = items.split_first().ok_or_else(|| protocol("empty step"))?;
    let args = rest.iter().map(|w| expand(w)).collect::<Result<Vec<Arg>, Error>>()?;
    let want = |n: usize| if args.len() == n { Ok(()) } else { Err(protocol("wrong argument count")) };
    let a = &args;
    match *op {
        b"abi_version" => ok(vec![dec(gocluster::abi_version())]),
        b"config" => want(1).and_then(|_| op_config(a)),
        b"log" => want(2).and_then(|_| op_log(a)),
        b"last_error" => op_last_error(),
        b"take" => want(1).and_then(|_| op_take(a)),
        b"kv_get" => want(1).and_then(|_| outcome(kv::get(&a[0].b), |e| vec![e.value, dec(e.revision)])),
        b"kv_put" => want(2).and_then(|_| outcome(kv::put(&a[0].b, &a[1].b), |r| vec![dec(r)])),
        b"kv_create" => want(2).and_then(|_| outcome(kv::create(&a[0].b, &a[1].b), |r| vec![dec(r)])),
        b"kv_update" => want(3).and_then(|_| op_kv_update(a)),
        b"kv_delete" => want(1).and_then(|_| none(kv::delete(&a[0].b))),
        b"kv_keys" => want(1).and_then(|_| outcome(kv::keys(&a[0].b), |k| k)),
        b"call" => op_call(a),
        b"db_exec" => op_db_exec(a),
        b"db_query" => op_db_query(a),
        b"db_batch" => op_db_batch(a),
        b"lock_acquire" => want(3).and_then(|_| op_lock_acquire(a)),
        b"lock_renew" => want(3).and_then(|_| op_lock_renew(a)),
        b"lock_release" => want(2).and_then(|_| op_lock_release(a)),
        b"event_publish" => want(2).and_then(|_| none(gocluster::publish(text(&a[0])?, &a[1].b))),
        b"lifecycle" => ok(RECORDS.with(|r| r.borrow().iter().map(|s| s.clone().into_bytes()).collect())),
        b"role" => ok(vec![role_name(gocluster::role()).as_bytes().to_vec()]),
        b"owned" => ok(gocluster::owned().into_iter().map(dec).collect()),
        _ => Err(protocol(&format!("unknown operation {:?}", String::from_utf8_lossy(op)))),
    }
}

fn expand(w: &[u8]) -> Result<Arg, Error> {
    match w.first() {
        Some(b'=') => Ok(Arg { b: w[1..].to_vec(), sep: false }),
        Some(b'/') if w.len() == 1 => Ok(Arg { b: Vec::new(), sep: true }),
        Some(b'*') if w.len() >= 5 => {
            let n = u32::from_le_bytes([w[1], w[2], w[3], w[4]]) as usize;
            let unit = &w[5..];
            if n as u64 * unit.len().max(1) as u64 > 16 << 20 {
                return Err(protocol("repeat over 16 MiB"));
            }
            Ok(Arg { b: unit.repeat(n), sep: false })
        }
        _ => Err(protocol("bad argument tag")),
    }
}

/// The argument as text, for the SDK functions that take `&str`.
fn text(a: &Arg) -> Result<&str, Error> {
    std::str::from_utf8(&a.b).map_err(|_| protocol("argument is not UTF-8"))
}

fn unsigned(a: &Arg) -> Result<u64, Error> {
    let s = text(a)?;
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(protocol("want an unsigned decimal"));
    }
    s.parse().map_err(|_| protocol("want an unsigned decimal"))
}

/// A duration: decimal milliseconds, at most 2^31-1, or nanoseconds with
/// the suffix "ns", at most 2^63-1 (the Go guest's range).
fn millis(a: &Arg) -> Result<Duration, Error> {
    if let Some(ns) = a.b.strip_suffix(b"ns") {
        let n = unsigned(&Arg { b: ns.to_vec(), sep: false })?;
        if n > i64::MAX as u64 {
            return Err(protocol("nanoseconds out of range"));
        }
        return Ok(Duration::from_nanos(n));
    }
    let n = unsigned(a)?;
    if n > i32::MAX as u64 {
        return Err(protocol("milliseconds out of range"));
    }
    Ok(Duration::from_millis(n))
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::None => "none",
        Role::Active => "active",
        Role::Passive => "passive",
    }
}

/// Splits the ABI List encoding: each item a little-endian u32 length
/// then its bytes.
fn split_list(mut b: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        if n > (b.len() - 4) as u64 {
            return None;
        }
        let n = n as usize;
        out.push(&b[4..4 + n]);
        b = &b[4 + n..];
    }
    Some(out)
}

fn put_item(dst: &mut Vec<u8>, item: &[u8]) {
    dst.extend_from_slice(&(item.len() as u32).to_le_bytes());
    dst.extend_from_slice(item);
}

fn list(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for it in items {
        put_item(&mut out, it);
    }
    out
}

fn fail(p: &[u8]) -> Result<Vec<u8>, Error> {
    let s = String::from_utf8_lossy(p);
    let (name, msg) = s.split_once(':').unwrap_or((&s, ""));
    match ErrorKind::ALL.iter().find(|k| k.name() == name) {
        Some(k) => Err(Error::new(*k, msg)),
        None => Err(protocol("fail wants status:message")),
    }
}

fn slow(p: &[u8]) -> Result<Vec<u8>, Error> {
    let wait = millis(&Arg { b: p.to_vec(), sep: false })?;
    // Whoever holds "slow" keeps it long past any wait, so the second
    // acquire waits exactly `wait` in the host.
    let _ = lock::acquire("slow", lock::MAX_TTL);
    match lock::acquire_wait("slow", lock::MIN_TTL, wait) {
        Ok(_) => Err(Error::new(ErrorKind::Internal, "conform: the slow lock was free")),
        Err(e) => Err(e),
    }
}

fn op_config(a: &[Arg]) -> Step {
    match gocluster::config(text(&a[0])?) {
        Some(v) => ok(vec![v.into_bytes()]),
        None => failed(ErrorKind::NotFound.into()),
    }
}

fn op_log(a: &[Arg]) -> Step {
    let level = match &a[0].b[..] {
        b"0" => Level::Debug,
        b"1" => Level::Info,
        b"2" => Level::Warn,
        b"3" => Level::Error,
        _ => return Err(protocol("log level 0 to 3")),
    };
    gocluster::log(level, text(&a[1])?);
    ok(vec![])
}

// The raw host functions: the SDK calls them only inside its own
// functions, so their own answers need a direct import.
#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "gocluster_v1")]
extern "C" {
    #[link_name = "last_error"]
    fn raw_last_error(out_ptr: *mut u8, out_cap: usize) -> i32;
    #[link_name = "take"]
    fn raw_take(ptr: *mut u8, len: usize) -> i32;
}

// Outside wasm there is no host: UNAVAILABLE, as the SDK answers.
#[cfg(not(target_arch = "wasm32"))]
unsafe fn raw_last_error(_: *mut u8, _: usize) -> i32 {
    -6
}
#[cfg(not(target_arch = "wasm32"))]
unsafe fn raw_take(_: *mut u8, _: usize) -> i32 {
    -6
}

/// A raw host function's negated status, with the empty message the host
/// keeps for them.
fn raw_failed(ret: i32) -> Step {
    let kind = ErrorKind::from_status(-ret).unwrap_or(ErrorKind::Internal);
    Ok(Outcome { status: kind.name(), fields: vec![Vec::new()] })
}

fn op_last_error() -> Step {
    let mut buf = vec![0u8; 64 << 10];
    // SAFETY: the host writes inside buf only.
    let n = unsafe { raw_last_error(buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return raw_failed(n);
    }
    let n = n as usize;
    if n > buf.len() {
        buf = vec![0u8; n];
        // SAFETY: take writes exactly n bytes into buf or nothing.
        let ret = unsafe { raw_take(buf.as_mut_ptr(), n) };
        if ret < 0 {
            return raw_failed(ret);
        }
    }
    buf.truncate(n);
    ok(vec![buf])
}

fn op_take(a: &[Arg]) -> Step {
    let n = unsigned(&a[0])?;
    if n > 1 << 20 {
        return Err(protocol("take length 0 to 1 MiB"));
    }
    let mut buf = vec![0u8; n as usize + 1];
    // SAFETY: take writes at most n bytes into buf.
    let ret = unsafe { raw_take(buf.as_mut_ptr(), n as usize) };
    if ret < 0 {
        return raw_failed(ret);
    }
    buf.truncate(n as usize);
    ok(vec![buf])
}

fn op_kv_update(a: &[Arg]) -> Step {
    let rev = unsigned(&a[2])?;
    outcome(kv::update(&a[0].b, &a[1].b, rev), |r| vec![dec(r)])
}

fn op_call(a: &[Arg]) -> Step {
    if a.len() < 3 || a.len() > 5 {
        return Err(protocol("call APP METHOD PAYLOAD [KEY [MS]]"));
    }
    let mut c = Call::new(text(&a[0])?, text(&a[1])?);
    if a.len() > 3 {
        c = c.key(&a[3].b);
    }
    if a.len() > 4 {
        c = c.timeout(millis(&a[4])?);
    }
    outcome(c.send(&a[2].b), |out| vec![out])
}

fn op_lock_acquire(a: &[Arg]) -> Step {
    let (ttl, wait) = (millis(&a[1])?, millis(&a[2])?);
    outcome(lock::acquire_wait(&a[0].b, ttl, wait), |l| vec![dec(l.token())])
}

fn op_lock_renew(a: &[Arg]) -> Step {
    let (token, ttl) = (unsigned(&a[1])?, millis(&a[2])?);
    none(lock::Lock::from_token(a[0].b.clone(), token).renew(ttl))
}

fn op_lock_release(a: &[Arg]) -> Step {
    let token = unsigned(&a[1])?;
    none(lock::Lock::from_token(a[0].b.clone(), token).release())
}

fn op_db_exec(a: &[Arg]) -> Step {
    let (sql, params) = statement(a)?;
    outcome(db::exec(&sql, &params), |r| vec![dec(r.rows_affected), dec(r.last_insert_id)])
}

fn op_db_query(a: &[Arg]) -> Step {
    let (sql, params) = statement(a)?;
    outcome(db::query(&sql, &params), |rows| {
        let mut fields = vec![dec(rows.columns.len())];
        fields.extend(rows.columns.into_iter().map(String::into_bytes));
        for row in rows.rows {
            fields.extend(row.iter().map(encode_value));
        }
        fields
    })
}

fn op_db_batch(a: &[Arg]) -> Step {
    let mut stmts = Vec::new();
    for group in a.split(|x| x.sep).filter(|_| !a.is_empty()) {
        let (sql, params) = statement(group)?;
        stmts.push(Statement::new(sql, params));
    }
    outcome(db::batch(&stmts), |res| {
        res.iter().flat_map(|r| vec![dec(r.rows_affected), dec(r.last_insert_id)]).collect()
    })
}

/// Reads SQL then values, each in the abi encoding.
fn statement(a: &[Arg]) -> Result<(String, Vec<Value>), Error> {
    let (sql, rest) = a.split_first().ok_or_else(|| protocol("a statement needs its SQL"))?;
    let params = rest.iter().map(|x| decode_value(&x.b)).collect::<Result<Vec<_>, _>>()?;
    Ok((text(sql)?.to_string(), params))
}

fn decode_value(b: &[u8]) -> Result<Value, Error> {
    let bad = || protocol("bad value argument");
    let (t, rest) = b.split_first().ok_or_else(bad)?;
    let word = || {
        let mut w = [0u8; 8];
        w.copy_from_slice(rest);
        u64::from_le_bytes(w)
    };
    let bytes = || {
        if rest.len() < 4 || u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize != rest.len() - 4 {
            return Err(bad());
        }
        Ok(rest[4..].to_vec())
    };
    match (*t, rest.len()) {
        (0, 0) => Ok(Value::Null),
        (1, 8) => Ok(Value::Integer(word() as i64)),
        (2, 8) => Ok(Value::Real(f64::from_bits(word()))),
        (3, _) => String::from_utf8(bytes()?).map(Value::Text).map_err(|_| protocol("TEXT argument is not UTF-8")),
        (4, _) => Ok(Value::Blob(bytes()?)),
        _ => Err(bad()),
    }
}

/// The abi encoding of a value the SDK returned.
fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::Null => out.push(0),
        Value::Integer(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Real(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Text(s) => {
            out.push(3);
            put_item(&mut out, s.as_bytes());
        }
        Value::Blob(b) => {
            out.push(4);
            put_item(&mut out, b);
        }
    }
    out
}
