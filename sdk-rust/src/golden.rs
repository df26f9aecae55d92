//! The SDK's encoders and decoders against the golden vectors every SDK
//! shares: abi/testdata/values.txt, partitions.txt and lists.txt in the
//! repository this crate lives in. The format of each file is described at
//! its top.

use crate::db::{ExecResult, Row, Rows, Statement, Value};
use crate::encoding::{self, decode_sent};
use std::path::PathBuf;

fn testdata(name: &str) -> Vec<(usize, Vec<String>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../abi/testdata").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {}", path.display(), e));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split(' ').map(str::to_string).collect()))
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    if s == "-" {
        return vec![];
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A STR: "%XX" is a byte, a lone "-" the empty string.
fn unescape(s: &str) -> Vec<u8> {
    if s == "-" {
        return vec![];
    }
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn text(s: &str) -> String {
    String::from_utf8(unescape(s)).expect("golden TEXT is UTF-8")
}

fn item(s: &str) -> Value {
    let (t, v) = s.split_once(':').unwrap_or((s, ""));
    match t {
        "null" => Value::Null,
        "int" => Value::Integer(v.parse().unwrap()),
        "real" => Value::Real(match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            _ => v.parse().unwrap(),
        }),
        "text" => Value::Text(text(v)),
        "blob" => Value::Blob(unescape(v)),
        _ => panic!("bad item {}", s),
    }
}

fn items(s: &str) -> Vec<Value> {
    if s == "-" {
        return vec![];
    }
    s.split(',').map(item).collect()
}

/// Values compare by bits, so -0 and 0 differ as they do on the wire.
fn same(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Value::Real(x), Value::Real(y)) => x.to_bits() == y.to_bits(),
            _ => x == y,
        })
}

fn statements(f: &[String]) -> Vec<Statement> {
    if f.len() == 1 && f[0] == "-" {
        return vec![];
    }
    f.chunks(2).map(|c| Statement { sql: text(&c[0]), params: items(&c[1]) }).collect()
}

fn same_statements(a: &[Statement], b: &[Statement]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.sql == y.sql && same(&x.params, &y.params))
}

fn encode<T: ?Sized>(f: impl Fn(&mut Vec<u8>, &T), v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out, v);
    out
}

#[test]
fn values_txt() {
    let mut counted = std::collections::BTreeMap::new();
    for (line, f) in testdata("values.txt") {
        let (enc, ok, b) = (f[0].as_str(), f[1] == "ok", hex(&f[2]));
        let d = &f[3..];
        let at = format!("values.txt:{}: {}", line, f.join(" "));
        *counted.entry(enc.to_string()).or_insert(0) += 1;
        match enc {
            "value" => match decode_sent::value(&b) {
                Some(v) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want = item(&d[0]);
                    assert!(same(&[v], std::slice::from_ref(&want)), "{}", at);
                    assert_eq!(encode(encoding::put_value, &want), b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "values" => match decode_sent::values(&b) {
                Some(v) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want = items(&d[0]);
                    assert!(same(&v, &want), "{}", at);
                    assert_eq!(encode(encoding::put_values, &want[..]), b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "statement" => match decode_sent::statement(&b) {
                Some(s) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want = Statement { sql: text(&d[0]), params: items(&d[1]) };
                    assert!(same_statements(&[s], std::slice::from_ref(&want)), "{}", at);
                    let mut out = Vec::new();
                    encoding::put_statement(&mut out, &want.sql, &want.params);
                    assert_eq!(out, b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "batch" => match decode_sent::batch(&b) {
                Some(s) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want = statements(d);
                    assert!(same_statements(&s, &want), "{}", at);
                    assert_eq!(encode(encoding::put_batch, &want[..]), b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "exec" => match encoding::decode_exec_result(&b) {
                Some(r) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want =
                        ExecResult { rows_affected: d[0].parse().unwrap(), last_insert_id: d[1].parse().unwrap() };
                    assert_eq!(r, want, "{}", at);
                    assert_eq!(decode_sent::put_exec_result(&want), b, "{}", at);
                    assert_eq!(encoding::decode_exec_results(&b, 1), Some(vec![want]), "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "rows" => match encoding::decode_rows(&b) {
                Some(r) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let columns: Vec<String> = if d[0] == "-" { vec![] } else { d[0].split(',').map(text).collect() };
                    let rows: Vec<Row> = d[1..].iter().map(|s| Row::from(items(s))).collect();
                    assert_eq!(r.columns, columns, "{}", at);
                    assert_eq!(r.rows.len(), rows.len(), "{}", at);
                    for (got, want) in r.rows.iter().zip(&rows) {
                        assert!(same(got, want), "{}", at);
                    }
                    assert_eq!(decode_sent::put_rows(&Rows { columns, rows }), b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "message" => match encoding::decode_message(&b) {
                Some((source, topic, data)) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want = (text(&d[0]), text(&d[1]), unescape(&d[2]));
                    assert_eq!((source.clone(), topic.clone(), data.clone()), want, "{}", at);
                    assert_eq!(decode_sent::put_list(&[source.as_bytes(), topic.as_bytes(), &data]), b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            _ => panic!("{}: unknown encoding {}", at, enc),
        }
    }
    // Every encoding is covered, so a vector file that grew a new kind of
    // line fails above rather than being skipped.
    for enc in ["value", "values", "statement", "batch", "exec", "rows", "message"] {
        assert!(counted.get(enc).copied().unwrap_or(0) > 0, "no {} vectors", enc);
    }
}

#[test]
fn partitions_txt() {
    let mut n = 0;
    for (line, f) in testdata("partitions.txt") {
        let at = format!("partitions.txt:{}: {}", line, f.join(" "));
        let b = hex(&f[1]);
        match (f[0].as_str(), encoding::decode_partitions(&b)) {
            ("ok", Some(p)) => {
                let want: Vec<u32> =
                    if f[2] == "-" { vec![] } else { f[2].split(',').map(|s| s.parse().unwrap()).collect() };
                assert_eq!(p, want, "{}", at);
                assert_eq!(decode_sent::put_partitions(&want), b, "{}", at);
            }
            ("bad", None) => {}
            _ => panic!("{}: wrong outcome", at),
        }
        n += 1;
    }
    assert!(n > 10);
}

#[test]
fn lists_txt() {
    let mut counted = std::collections::BTreeMap::new();
    for (line, f) in testdata("lists.txt") {
        let at = format!("lists.txt:{}: {}", line, f.join(" "));
        let (enc, ok, b) = (f[0].as_str(), f[1] == "ok", hex(&f[2]));
        *counted.entry(enc.to_string()).or_insert(0) += 1;
        match enc {
            "list" => match encoding::decode_list(&b) {
                Some(items) => {
                    assert!(ok, "{}: decoded a bad vector", at);
                    let want: Vec<Vec<u8>> = f[4..].iter().map(|s| unescape(s)).collect();
                    assert_eq!(f[3].parse::<usize>().unwrap(), want.len(), "{}", at);
                    assert_eq!(items, want, "{}", at);
                    let refs: Vec<&[u8]> = want.iter().map(|w| &w[..]).collect();
                    assert_eq!(decode_sent::put_list(&refs), b, "{}", at);
                }
                None => assert!(!ok, "{}: refused", at),
            },
            "execs" => {
                let n: usize = f[3].parse().unwrap();
                match encoding::decode_exec_results(&b, n) {
                    Some(res) => {
                        assert!(ok, "{}: decoded a bad vector", at);
                        let want: Vec<ExecResult> = f[4..]
                            .chunks(2)
                            .map(|c| ExecResult {
                                rows_affected: c[0].parse().unwrap(),
                                last_insert_id: c[1].parse().unwrap(),
                            })
                            .collect();
                        assert_eq!(res, want, "{}", at);
                        let enc: Vec<u8> = want.iter().flat_map(decode_sent::put_exec_result).collect();
                        assert_eq!(enc, b, "{}", at);
                    }
                    None => assert!(!ok, "{}: refused", at),
                }
            }
            _ => panic!("{}: unknown encoding {}", at, enc),
        }
    }
    for enc in ["list", "execs"] {
        assert!(counted.get(enc).copied().unwrap_or(0) > 0, "no {} vectors", enc);
    }
}
