//! The app's own SQL database, SQLite, which the host keeps and
//! replicates. The manifest grants it; without the grant every function
//! answers [`ErrorKind::Denied`].
//!
//! Parameters bind to the statement's `?` (or `?NNN`) by position and are
//! [`Value`]s; most Rust values convert with `.into()`:
//!
//! ```
//! use gocluster::db::{self, Value};
//!
//! fn signup(email: &str) -> gocluster::Result<i64> {
//!     let res = db::exec("INSERT INTO users(email) VALUES (?)", &[email.into()])?;
//!     Ok(res.last_insert_id)
//! }
//!
//! fn names(team: i64) -> gocluster::Result<Vec<String>> {
//!     let rows = db::query("SELECT name FROM users WHERE team = ?", &[team.into()])?;
//!     rows.rows.iter().map(|row| row.get::<String>(0)).collect()
//! }
//! # assert_eq!(signup("a@b").unwrap_err().kind(), gocluster::ErrorKind::Unavailable);
//! ```
//!
//! Errors carry the host's message, such as SQLite's text:
//!
//! - `Invalid`: bad SQL, parameters or encodings;
//! - `Conflict`: a constraint (UNIQUE, CHECK, FOREIGN KEY...) failed;
//! - `Unavailable`: the database is read-only here (any instance but the
//!   active one of an active-passive app, or a writer a newer one fenced
//!   off);
//! - `Timeout`: the database stayed busy;
//! - `Limit`: a query's result is over the app's payload limit;
//! - `Denied`: the manifest grants no database.
//!
//! With the manifest's durability `sync`, a write returns only once it is
//! replicated.

use crate::abi::{EXEC_RESULT_SIZE, MAX_SQL_LEN};
use crate::encoding;
use crate::error::{Error, ErrorKind};
use crate::host;
use crate::runtime::{check, fetch};
use std::convert::TryFrom;
use std::ops::Deref;

/// One SQL value, as SQLite's storage classes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The SQLite name of the value's type, e.g. `"INTEGER"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "INTEGER",
            Value::Real(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value converted to `T` by the rules of [`FromValue`].
    pub fn get<T: FromValue>(&self) -> Result<T, Error> {
        T::from_value(self).ok_or_else(|| {
            Error::new(ErrorKind::Internal, format!("cannot read {} as {}", describe(self), std::any::type_name::<T>()))
        })
    }
}

/// Names a value's type, with the number for INTEGER and REAL, for errors.
fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => format!("INTEGER {}", i),
        Value::Real(f) => format!("REAL {}", f),
        _ => v.type_name().to_string(),
    }
}

macro_rules! integer_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::Integer(v as i64) }
        }
    )*};
}
integer_from!(i8, i16, i32, i64, u8, u16, u32);

/// Integers over `i64::MAX` have no INTEGER: a fencing token fits, a
/// random u64 may not.
impl TryFrom<u64> for Value {
    type Error = Error;
    fn try_from(v: u64) -> Result<Value, Error> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| Error::new(ErrorKind::Invalid, format!("{} is over the INTEGER range", v)))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Integer(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Real(v as f64)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(v)
    }
}
/// `None` is NULL.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// A Rust type a column value reads into, with sdk-go's `Scan` rules:
///
/// - [`Value`] takes any value as it is;
/// - `Option<T>` takes NULL as `None`, anything else as `T` does;
/// - `String` takes TEXT, or BLOB that is UTF-8;
/// - `Vec<u8>` takes BLOB or TEXT;
/// - integers take INTEGER that fits;
/// - `f64` and `f32` take REAL or INTEGER;
/// - `bool` takes INTEGER: 0 is false, anything else true.
///
/// Anything else fails, such as NULL into `String`: read a nullable
/// column into an `Option`.
pub trait FromValue: Sized {
    /// The value as `Self`, `None` when it does not convert.
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for Value {
    fn from_value(v: &Value) -> Option<Value> {
        Some(v.clone())
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            _ => T::from_value(v).map(Some),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<String> {
        match v {
            Value::Text(s) => Some(s.clone()),
            Value::Blob(b) => String::from_utf8(b.clone()).ok(),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Vec<u8>> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            Value::Text(s) => Some(s.clone().into_bytes()),
            _ => None,
        }
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<f64> {
        match *v {
            Value::Real(f) => Some(f),
            Value::Integer(i) => Some(i as f64),
            _ => None,
        }
    }
}
impl FromValue for f32 {
    fn from_value(v: &Value) -> Option<f32> {
        f64::from_value(v).map(|f| f as f32)
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<bool> {
        match *v {
            Value::Integer(i) => Some(i != 0),
            _ => None,
        }
    }
}
macro_rules! integer_to {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Option<$t> {
                match *v {
                    Value::Integer(i) => <$t>::try_from(i).ok(),
                    _ => None,
                }
            }
        }
    )*};
}
integer_to!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// One row of a query's result: one value per column. It derefs to
/// `[Value]`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Row(Vec<Value>);

impl Row {
    /// The value of column `i` converted to `T` (see [`FromValue`]).
    /// Fails with `Internal` for a column out of range or a value that
    /// does not convert, naming the column.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, Error> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| Error::new(ErrorKind::Internal, format!("column {} of a row of {}", i, self.0.len())))?;
        v.get().map_err(|e| Error::new(e.kind(), format!("column {}: {}", i, e.message())))
    }

    /// The row's values.
    pub fn into_values(self) -> Vec<Value> {
        self.0
    }
}

impl From<Vec<Value>> for Row {
    fn from(v: Vec<Value>) -> Row {
        Row(v)
    }
}

impl Deref for Row {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

/// The whole result of a query.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Rows {
    /// The result's column names.
    pub columns: Vec<String>,
    /// The result's rows, each with one value per column.
    pub rows: Vec<Row>,
}

impl Rows {
    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// What a statement that returns no rows reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExecResult {
    /// The number of rows the statement inserted, updated or deleted.
    pub rows_affected: i64,
    /// The rowid of the most recent successful INSERT into a rowid table
    /// on the app's database connection.
    pub last_insert_id: i64,
}

/// One statement of a [`batch`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Statement {
    /// A statement with its parameters.
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Statement {
        Statement { sql: sql.into(), params }
    }
}

fn check_sql(sql: &str) -> Result<(), Error> {
    if sql.len() > MAX_SQL_LEN {
        return Err(Error::new(ErrorKind::Invalid, "SQL must be at most 1 MiB"));
    }
    Ok(())
}

/// The params encoding: nothing at all for no parameters.
fn encode_params(sql: &str, params: &[Value]) -> Result<Vec<u8>, Error> {
    check_sql(sql)?;
    let mut p = Vec::new();
    if !params.is_empty() {
        encoding::put_values(&mut p, params);
    }
    Ok(p)
}

/// Runs one SQL statement that returns no rows (CREATE, INSERT, UPDATE,
/// DELETE...) with `params` bound to its parameters.
pub fn exec(sql: &str, params: &[Value]) -> Result<ExecResult, Error> {
    let p = encode_params(sql, params)?;
    let mut out = [0u8; EXEC_RESULT_SIZE];
    // SAFETY: the host reads sql and p and writes EXEC_RESULT_SIZE bytes.
    check(unsafe { host::gc_db_exec(sql.as_ptr(), sql.len(), p.as_ptr(), p.len(), out.as_mut_ptr()) })?;
    Ok(encoding::decode_exec_result(&out).expect("16 bytes are an exec result"))
}

/// Runs one SQL query with `params` bound to its parameters and returns
/// its whole result.
///
/// The result crosses from the host in one piece, so it must stay under
/// the app's payload limit (`Limit` otherwise): page large tables with
/// LIMIT.
pub fn query(sql: &str, params: &[Value]) -> Result<Rows, Error> {
    let p = encode_params(sql, params)?;
    // SAFETY: the host reads sql and p and writes inside (ptr, cap).
    let b = fetch(|ptr, cap| unsafe { host::gc_db_query(sql.as_ptr(), sql.len(), p.as_ptr(), p.len(), ptr, cap) })?;
    encoding::decode_rows(&b).ok_or_else(|| Error::new(ErrorKind::Internal, "host sent malformed rows"))
}

/// Runs `stmts` in one transaction, all or nothing, and returns one
/// [`ExecResult`] per statement. When one fails none takes effect, and
/// the error is that statement's. No statements do nothing.
///
/// ```
/// use gocluster::db::{batch, Statement};
///
/// fn transfer(from: i64, to: i64, amount: i64) -> gocluster::Result<()> {
///     batch(&[
///         Statement::new("UPDATE accounts SET balance = balance - ? WHERE id = ?", vec![amount.into(), from.into()]),
///         Statement::new("UPDATE accounts SET balance = balance + ? WHERE id = ?", vec![amount.into(), to.into()]),
///     ])?;
///     Ok(())
/// }
/// # assert!(transfer(1, 2, 5).is_err());
/// ```
pub fn batch(stmts: &[Statement]) -> Result<Vec<ExecResult>, Error> {
    if stmts.is_empty() {
        return Ok(Vec::new());
    }
    for (i, s) in stmts.iter().enumerate() {
        check_sql(&s.sql).map_err(|e| Error::new(e.kind(), format!("statement {}: {}", i + 1, e)))?;
    }
    let mut enc = Vec::new();
    encoding::put_batch(&mut enc, stmts);
    // SAFETY: the host reads enc and writes inside (ptr, cap).
    let b = fetch(|ptr, cap| unsafe { host::gc_db_batch(enc.as_ptr(), enc.len(), ptr, cap) })?;
    encoding::decode_exec_results(&b, stmts.len()).ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("host sent {} bytes of results for {} statements", b.len(), stmts.len()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode_sent;
    use crate::host::fake::{install, Fake};
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn conversions() {
        assert_eq!(Value::from(7u8), Value::Integer(7));
        assert_eq!(Value::from(true), Value::Integer(1));
        assert_eq!(Value::from(None::<i64>), Value::Null);
        assert_eq!(Value::from(Some("a")), Value::Text("a".into()));
        assert_eq!(Value::try_from(u64::MAX).unwrap_err().kind(), ErrorKind::Invalid);
        assert_eq!(Value::try_from(5u64).unwrap(), Value::Integer(5));

        let row = Row::from(vec![Value::Integer(300), Value::Null, Value::Text("hi".into()), Value::Real(1.5)]);
        assert_eq!(row.get::<i64>(0).unwrap(), 300);
        assert_eq!(row.get::<f64>(0).unwrap(), 300.0);
        assert!(row.get::<u8>(0).is_err());
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert!(row.get::<String>(1).is_err());
        assert_eq!(row.get::<Vec<u8>>(2).unwrap(), b"hi");
        assert_eq!(row.get::<Option<String>>(2).unwrap().as_deref(), Some("hi"));
        assert!(row.get::<i64>(3).is_err());
        let e = row.get::<i64>(9).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(row.get::<Value>(3).unwrap(), Value::Real(1.5));
    }

    /// The (sql, params) of each db_exec.
    type Seen = Rc<RefCell<Vec<(Vec<u8>, Vec<u8>)>>>;

    #[derive(Default)]
    struct Db {
        seen: Seen,
    }

    impl Fake for Db {
        fn db_exec(&mut self, sql: &[u8], params: &[u8], out: &mut [u8]) -> i32 {
            self.seen.borrow_mut().push((sql.to_vec(), params.to_vec()));
            out.copy_from_slice(&decode_sent::put_exec_result(&ExecResult { rows_affected: 1, last_insert_id: 42 }));
            0
        }
        fn db_query(&mut self, _: &[u8], _: &[u8], out: &mut [u8]) -> i32 {
            let rows = Rows {
                columns: vec!["id".into(), "name".into()],
                rows: vec![Row::from(vec![Value::Integer(1), Value::Text("ann".into())])],
            };
            let b = decode_sent::put_rows(&rows);
            out[..b.len()].copy_from_slice(&b);
            b.len() as i32
        }
        fn db_batch(&mut self, batch: &[u8], out: &mut [u8]) -> i32 {
            let n = decode_sent::batch(batch).unwrap().len();
            let b: Vec<u8> = (0..n)
                .flat_map(|i| decode_sent::put_exec_result(&ExecResult { rows_affected: i as i64, last_insert_id: 0 }))
                .collect();
            out[..b.len()].copy_from_slice(&b);
            b.len() as i32
        }
    }

    #[test]
    fn exec_query_batch() {
        let db = Db::default();
        let seen = db.seen.clone();
        let _g = install(db);
        let r = exec("INSERT INTO t VALUES (?)", &["x".into()]).unwrap();
        assert_eq!(r, ExecResult { rows_affected: 1, last_insert_id: 42 });
        exec("DELETE FROM t", &[]).unwrap();
        let seen = seen.borrow();
        assert_eq!(decode_sent::values(&seen[0].1).unwrap(), vec![Value::Text("x".into())]);
        assert!(seen[1].1.is_empty(), "no params means no bytes");

        let rows = query("SELECT id, name FROM t", &[]).unwrap();
        assert_eq!(rows.column("name"), Some(1));
        assert_eq!(rows.rows[0].get::<String>(1).unwrap(), "ann");

        let res = batch(&[Statement::new("A", vec![]), Statement::new("B", vec![1.into()])]).unwrap();
        assert_eq!(res.len(), 2);
        assert_eq!(res[1].rows_affected, 1);
        assert_eq!(batch(&[]).unwrap(), vec![]);
    }

    #[test]
    fn sql_too_long() {
        let sql = "x".repeat(MAX_SQL_LEN + 1);
        assert_eq!(exec(&sql, &[]).unwrap_err().kind(), ErrorKind::Invalid);
        let e = batch(&[Statement::new(sql, vec![])]).unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::Invalid, "statement 1: SQL must be at most 1 MiB"));
    }
}
