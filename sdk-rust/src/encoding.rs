//! The binary encodings the host and every SDK share; the host's `abi`
//! package specifies them and `abi/testdata/*.txt` holds their golden
//! vectors (tested in `golden.rs`). Every integer is little endian.
//!
//! A value is a type byte then its data: NULL nothing, INTEGER an i64,
//! REAL the f64's bits, TEXT and BLOB a u32 length then the bytes. Values
//! (a statement's parameters, one row) are a u32 count then that many
//! values. A statement is a u32 SQL length, the SQL, then its values; a
//! batch a u32 count then that many statements. An exec result is two i64:
//! rows affected, then the last inserted row id. Rows are a u32 column
//! count, each name as a u32 length then bytes, a u32 row count, then each
//! row as column-count values. A List is items back to back, each a u32
//! length then its bytes. Partitions are u32s, strictly ascending.

use crate::abi::{value_type, EXEC_RESULT_SIZE, PARTITION_SIZE};
use crate::db::{ExecResult, Row, Rows, Statement, Value};

pub(crate) fn put_u32(dst: &mut Vec<u8>, v: u32) {
    dst.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(dst: &mut Vec<u8>, b: &[u8]) {
    put_u32(dst, b.len() as u32);
    dst.extend_from_slice(b);
}

pub(crate) fn put_value(dst: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => dst.push(value_type::NULL),
        Value::Integer(i) => {
            dst.push(value_type::INTEGER);
            dst.extend_from_slice(&i.to_le_bytes());
        }
        Value::Real(f) => {
            dst.push(value_type::REAL);
            dst.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Text(s) => {
            dst.push(value_type::TEXT);
            put_bytes(dst, s.as_bytes());
        }
        Value::Blob(b) => {
            dst.push(value_type::BLOB);
            put_bytes(dst, b);
        }
    }
}

pub(crate) fn put_values(dst: &mut Vec<u8>, vals: &[Value]) {
    put_u32(dst, vals.len() as u32);
    for v in vals {
        put_value(dst, v);
    }
}

pub(crate) fn put_statement(dst: &mut Vec<u8>, sql: &str, params: &[Value]) {
    put_bytes(dst, sql.as_bytes());
    put_values(dst, params);
}

pub(crate) fn put_batch(dst: &mut Vec<u8>, stmts: &[Statement]) {
    put_u32(dst, stmts.len() as u32);
    for s in stmts {
        put_statement(dst, &s.sql, &s.params);
    }
}

/// Reads the encodings. Every method returns `None` once the input runs
/// short or is malformed, so decoders read with `?`.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }

    /// A u32 length, then that many bytes.
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// A count of items that each take at least `min` bytes. A count the
    /// rest cannot hold is refused, so hostile input cannot make a decoder
    /// allocate.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as u64;
        if n * min as u64 > self.b.len() as u64 {
            return None;
        }
        Some(n as usize)
    }

    pub(crate) fn value(&mut self) -> Option<Value> {
        let t = self.take(1)?[0];
        Some(match t {
            value_type::NULL => Value::Null,
            value_type::INTEGER => Value::Integer(self.u64()? as i64),
            value_type::REAL => Value::Real(f64::from_bits(self.u64()?)),
            value_type::TEXT => Value::Text(text(self.bytes()?)),
            value_type::BLOB => Value::Blob(self.bytes()?.to_vec()),
            _ => return None,
        })
    }

    #[cfg(test)]
    fn values(&mut self) -> Option<Vec<Value>> {
        let n = self.count(1)?;
        (0..n).map(|_| self.value()).collect()
    }

    #[cfg(test)]
    fn statement(&mut self) -> Option<Statement> {
        let sql = text(self.bytes()?);
        Some(Statement { sql, params: self.values()? })
    }

    /// Succeeds when everything was read.
    pub(crate) fn done(&self) -> Option<()> {
        if self.b.is_empty() {
            Some(())
        } else {
            None
        }
    }
}

/// TEXT as the host sends it. SQLite does not enforce UTF-8, so invalid
/// sequences become U+FFFD rather than failing a whole query.
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Decodes the rows encoding spanning all of `b`.
pub(crate) fn decode_rows(b: &[u8]) -> Option<Rows> {
    let mut r = Reader::new(b);
    let nc = r.count(4)?;
    let columns = (0..nc).map(|_| r.bytes().map(text)).collect::<Option<Vec<_>>>()?;
    let nr = r.count(nc)?;
    if nc == 0 && nr > 0 {
        return None; // rows without columns cannot be told apart
    }
    let mut rows = Vec::with_capacity(nr);
    for _ in 0..nr {
        let row = (0..nc).map(|_| r.value()).collect::<Option<Vec<_>>>()?;
        rows.push(Row::from(row));
    }
    r.done()?;
    Some(Rows { columns, rows })
}

/// Decodes one exec result; `b` holds EXEC_RESULT_SIZE bytes.
pub(crate) fn decode_exec_result(b: &[u8]) -> Option<ExecResult> {
    let mut r = Reader::new(b);
    let res = ExecResult { rows_affected: r.u64()? as i64, last_insert_id: r.u64()? as i64 };
    r.done()?;
    Some(res)
}

/// Decodes `n` exec results, back to back, spanning all of `b`.
pub(crate) fn decode_exec_results(b: &[u8], n: usize) -> Option<Vec<ExecResult>> {
    if b.len() != n * EXEC_RESULT_SIZE {
        return None;
    }
    b.chunks(EXEC_RESULT_SIZE).map(decode_exec_result).collect()
}

/// Splits a List into its items.
pub(crate) fn decode_list(b: &[u8]) -> Option<Vec<&[u8]>> {
    let mut r = Reader::new(b);
    let mut items = Vec::new();
    while r.done().is_none() {
        items.push(r.bytes()?);
    }
    Some(items)
}

/// Splits the payload of an event message: the List source, topic, data.
pub(crate) fn decode_message(b: &[u8]) -> Option<(String, String, Vec<u8>)> {
    match decode_list(b)?.as_slice() {
        [source, topic, data] => Some((text(source), text(topic), data.to_vec())),
        _ => None,
    }
}

/// Reads the partitions encoding: little-endian u32s, strictly ascending.
pub(crate) fn decode_partitions(b: &[u8]) -> Option<Vec<u32>> {
    if b.len() % PARTITION_SIZE != 0 {
        return None;
    }
    let mut out: Vec<u32> = Vec::with_capacity(b.len() / PARTITION_SIZE);
    for c in b.chunks(PARTITION_SIZE) {
        let p = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        if matches!(out.last(), Some(&last) if p <= last) {
            return None;
        }
        out.push(p);
    }
    Some(out)
}

/// The decoders only the golden tests need: the SDK sends these encodings
/// but never receives them.
#[cfg(test)]
pub(crate) mod decode_sent {
    use super::*;

    pub(crate) fn value(b: &[u8]) -> Option<Value> {
        let mut r = Reader::new(b);
        let v = r.value()?;
        r.done().map(|_| v)
    }

    pub(crate) fn values(b: &[u8]) -> Option<Vec<Value>> {
        let mut r = Reader::new(b);
        let v = r.values()?;
        r.done().map(|_| v)
    }

    pub(crate) fn statement(b: &[u8]) -> Option<Statement> {
        let mut r = Reader::new(b);
        let s = r.statement()?;
        r.done().map(|_| s)
    }

    pub(crate) fn batch(b: &[u8]) -> Option<Vec<Statement>> {
        let mut r = Reader::new(b);
        let n = r.count(8)?;
        let out = (0..n).map(|_| r.statement()).collect::<Option<Vec<_>>>()?;
        r.done().map(|_| out)
    }

    pub(crate) fn put_partitions(parts: &[u32]) -> Vec<u8> {
        parts.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    pub(crate) fn put_list(items: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for it in items {
            put_bytes(&mut out, it);
        }
        out
    }

    pub(crate) fn put_exec_result(r: &ExecResult) -> Vec<u8> {
        let mut out = r.rows_affected.to_le_bytes().to_vec();
        out.extend_from_slice(&r.last_insert_id.to_le_bytes());
        out
    }

    pub(crate) fn put_rows(r: &Rows) -> Vec<u8> {
        let mut out = Vec::new();
        put_u32(&mut out, r.columns.len() as u32);
        for c in &r.columns {
            put_bytes(&mut out, c.as_bytes());
        }
        put_u32(&mut out, r.rows.len() as u32);
        for row in &r.rows {
            for v in row.iter() {
                put_value(&mut out, v);
            }
        }
        out
    }
}
