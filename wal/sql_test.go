package wal

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"modernc.org/sqlite"

	"github.com/ozanturksever/go-cluster/abi"
)

func TestTypedRoundTrip(t *testing.T) {
	p := newPlatform(t)
	d := open(t, p.config(t, "a", Async))
	promote(t, d, 1)
	exec(t, d, "CREATE TABLE v (id INTEGER PRIMARY KEY, x)") // no affinity: the class is kept
	values := []abi.Value{
		abi.Null(),
		abi.Integer(0), abi.Integer(math.MaxInt64), abi.Integer(math.MinInt64),
		abi.Real(0), abi.Real(-1.5), abi.Real(math.MaxFloat64), abi.Real(math.SmallestNonzeroFloat64),
		abi.Text(""), abi.Text("héllo wörld ✓"), abi.Text("12"), abi.Text("with\x00nul"),
		abi.Blob(nil), abi.Blob([]byte{}), abi.Blob([]byte{0, 1, 2, 255}), abi.Blob([]byte("12")),
	}
	for i, v := range values {
		r := exec(t, d, "INSERT INTO v (id, x) VALUES (?, ?)", abi.Integer(int64(i)), v)
		if r.RowsAffected != 1 || r.LastInsertID != int64(i) {
			t.Fatalf("insert %d: %+v", i, r)
		}
	}
	rows := query(t, d, "SELECT x, typeof(x) FROM v ORDER BY id")
	if len(rows.Columns) != 2 || rows.Columns[0] != "x" {
		t.Fatalf("columns %v", rows.Columns)
	}
	for i, want := range values {
		got := rows.Rows[i][0]
		if want.Type == abi.TypeBlob && want.Bytes == nil {
			want = abi.Blob([]byte{})
		}
		if !sameValue(got, want) {
			t.Errorf("value %d: got %s %+v, want %s %+v (stored as %s)", i, got.Type, got, want.Type, want, rows.Rows[i][1].String())
		}
	}
}

func sameValue(a, b abi.Value) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case abi.TypeInteger:
		return a.Int == b.Int
	case abi.TypeReal:
		return a.Real == b.Real
	case abi.TypeText, abi.TypeBlob:
		return bytes.Equal(a.Bytes, b.Bytes) && (a.Bytes == nil) == (b.Bytes == nil)
	}
	return true
}

func TestDateColumnsStayText(t *testing.T) {
	p := newPlatform(t)
	d := open(t, p.config(t, "a", Async))
	promote(t, d, 1)
	exec(t, d, "CREATE TABLE e (d DATE, ts DATETIME, n TIMESTAMP)")
	exec(t, d, "INSERT INTO e VALUES ('2024-02-03', '2024-02-03 04:05:06', 1700000000)")
	rows := query(t, d, "SELECT d, ts, n FROM e")
	want := []abi.Value{abi.Text("2024-02-03"), abi.Text("2024-02-03 04:05:06"), abi.Integer(1700000000)}
	for i, w := range want {
		if got := rows.Rows[0][i]; !sameValue(got, w) {
			t.Errorf("column %d: got %s %q, want %s %q", i, got.Type, got.Bytes, w.Type, w.Bytes)
		}
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	p := newPlatform(t)
	d := open(t, p.config(t, "a", Sync))
	promote(t, d, 1)
	exec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
	ctx := ctxLong(t)
	res, err := d.Batch(ctx, []abi.Statement{
		{SQL: "INSERT INTO kv VALUES (?, ?)", Params: []abi.Value{abi.Text("a"), abi.Integer(1)}},
		{SQL: "INSERT INTO kv VALUES (?, ?)", Params: []abi.Value{abi.Text("b"), abi.Integer(2)}},
	})
	if err != nil || len(res) != 2 || res[1].LastInsertID != 2 {
		t.Fatalf("batch: %v %+v", err, res)
	}
	_, err = d.Batch(ctx, []abi.Statement{
		{SQL: "INSERT INTO kv VALUES ('c', 3)"},
		{SQL: "UPDATE kv SET v = 100"},
		{SQL: "INSERT INTO kv VALUES ('a', 4)"}, // duplicate key
	})
	if !errors.Is(err, abi.ErrConflict) || !strings.Contains(err.Error(), "UNIQUE constraint failed") || !strings.Contains(err.Error(), "statement 2") {
		t.Fatalf("failing batch: %v", err)
	}
	rows := query(t, d, "SELECT k, v FROM kv ORDER BY k")
	if len(rows.Rows) != 2 || rows.Rows[0][1].Int != 1 || rows.Rows[1][1].Int != 2 {
		t.Fatalf("after the failed batch: %+v", rows.Rows)
	}
}

func TestErrorMapping(t *testing.T) {
	p := newPlatform(t)
	d := open(t, p.config(t, "a", Async))
	ctx := ctxLong(t)
	if _, err := d.Exec(ctx, "CREATE TABLE t (x)", nil); !errors.Is(err, ErrNotWriter) || !errors.Is(err, abi.ErrUnavailable) {
		t.Fatalf("exec on a standby: %v", err)
	}
	promote(t, d, 1)
	exec(t, d, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT NOT NULL)")
	exec(t, d, "INSERT INTO t (s) VALUES (?)", abi.Text(strings.Repeat("x", 1000)))
	cases := []struct {
		name string
		err  error
		is   error
		text string
	}{
		{"syntax", execErr(d, "SELEC 1", nil), abi.ErrInvalid, "syntax error"},
		{"no table", execErr(d, "INSERT INTO nope VALUES (1)", nil), abi.ErrInvalid, "no such table"},
		{"not null", execErr(d, "INSERT INTO t (s) VALUES (NULL)", nil), abi.ErrConflict, "NOT NULL constraint failed"},
		{"primary key", execErr(d, "INSERT INTO t (id, s) VALUES (1, 'y')", nil), abi.ErrConflict, "UNIQUE constraint failed"},
		{"bad type", execErr(d, "INSERT INTO t (s) VALUES (?)", []abi.Value{{Type: 9}}), abi.ErrInvalid, "unknown type"},
		{"write through query", queryErr(d, "DELETE FROM t", 0), abi.ErrInvalid, "readonly"},
		{"limit", queryErr(d, "SELECT s FROM t", 100), abi.ErrLimit, "100 bytes"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.is) || !strings.Contains(c.err.Error(), c.text) {
			t.Errorf("%s: %v, want %v containing %q", c.name, c.err, c.is, c.text)
		}
	}
	var se *sqlite.Error
	if !errors.As(cases[0].err, &se) {
		t.Errorf("the driver's error is not kept: %T", cases[0].err)
	}
	if _, err := d.Query(ctx, "SELECT s FROM t", nil, 2000); err != nil {
		t.Errorf("query under the limit: %v", err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "SELECT 1", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("exec after close: %v", err)
	}
	if d.Status().Role != RoleClosed {
		t.Errorf("role after close: %s", d.Status().Role)
	}
}

func execErr(d *DB, sql string, params []abi.Value) error {
	_, err := d.Exec(context.Background(), sql, params)
	if err == nil {
		return errors.New("no error")
	}
	return err
}

func queryErr(d *DB, sql string, max int) error {
	_, err := d.Query(context.Background(), sql, nil, max)
	if err == nil {
		return errors.New("no error")
	}
	return err
}

// Transactions are Batch's: a guest's own BEGIN, SAVEPOINT or COMMIT is
// refused, inside a batch too, and the batch stays all or nothing.
func TestGuestTransactionsRefused(t *testing.T) {
	p := newPlatform(t)
	d := open(t, p.config(t, "a", Sync))
	promote(t, d, 1)
	exec(t, d, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	ctx := ctxLong(t)
	for _, q := range []string{"BEGIN", "BEGIN IMMEDIATE", "SAVEPOINT s", "COMMIT", "ROLLBACK", "END"} {
		if _, err := d.Exec(ctx, q, nil); !errors.Is(err, abi.ErrDenied) {
			t.Errorf("exec %s: %v", q, err)
		}
		if _, err := d.Query(ctx, q, nil, 0); !errors.Is(err, abi.ErrDenied) {
			t.Errorf("query %s: %v", q, err)
		}
	}
	_, err := d.Batch(ctx, []abi.Statement{
		{SQL: "INSERT INTO t (id) VALUES (1)"},
		{SQL: "COMMIT"},
		{SQL: "INSERT INTO t (id) VALUES (2)"},
	})
	if !errors.Is(err, abi.ErrDenied) {
		t.Fatalf("batch with a COMMIT: %v", err)
	}
	if n := count(d, "t"); n != 0 {
		t.Fatalf("%d rows after the refused batch", n)
	}
	if _, err := d.Batch(ctx, []abi.Statement{{SQL: "INSERT INTO t (id) VALUES (1)"}, {SQL: "INSERT INTO t (id) VALUES (2)"}}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO t (id) VALUES (3)")
	if n := count(d, "t"); n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
}
