//go:build !wasip1

package sdk

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// encodeRows is the host's side of the rows encoding, for the memHost.
func encodeRows(t testing.TB, cols []string, rows ...[]any) []byte {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(cols)))
	for _, c := range cols {
		b = appendBytes(b, c)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(rows)))
	for _, row := range rows {
		for _, v := range row {
			var ok bool
			if b, ok = appendArg(b, v); !ok {
				t.Fatalf("cannot encode %T", v)
			}
		}
	}
	return b
}

func TestExec(t *testing.T) {
	h := useHost(t)
	h.dbResult = Result{RowsAffected: 2, LastInsertID: 77}
	res, err := Exec("INSERT INTO t(a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", 1, "x", nil, 2.5, []byte{0})
	if err != nil || res != h.dbResult {
		t.Fatalf("Exec = %+v, %v", res, err)
	}
	want := memStmt{"exec", "INSERT INTO t(a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", []any{int64(1), "x", nil, 2.5, []byte{0}}}
	if len(h.db) != 1 || !reflect.DeepEqual(h.db[0], want) {
		t.Errorf("host ran %+v, want %+v", h.db, want)
	}
	if _, err := Exec("CREATE TABLE t(a)"); err != nil || h.db[1].args != nil {
		t.Errorf("Exec without arguments: %v, host saw %+v", err, h.db[1])
	}
	if h.lastErrors != 0 {
		t.Errorf("successful calls asked for the last error %d times", h.lastErrors)
	}
}

func TestQuery(t *testing.T) {
	h := useHost(t)
	h.dbRows = encodeRows(t, []string{"id", "name", "score", "avatar", "note"},
		[]any{int64(1), "ann", 9.5, []byte{0x89}, nil},
		[]any{int64(2), "bob", nil, []byte{}, "✓"},
	)
	rows, err := Query("SELECT * FROM users WHERE team = ? AND active = ?", "red", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "name", "score", "avatar", "note"}; !reflect.DeepEqual(rows.Columns, want) {
		t.Errorf("Columns = %q, want %q", rows.Columns, want)
	}
	want := []Row{{int64(1), "ann", 9.5, []byte{0x89}, nil}, {int64(2), "bob", nil, []byte{}, "✓"}}
	if !reflect.DeepEqual(rows.Rows, want) {
		t.Errorf("Rows = %#v, want %#v", rows.Rows, want)
	}
	if got := h.db[0]; got.fn != "query" || !reflect.DeepEqual(got.args, []any{"red", int64(1)}) {
		t.Errorf("host ran %+v", got)
	}

	h.dbRows = encodeRows(t, []string{"n"})
	if rows, err := Query("SELECT n FROM empty"); err != nil || len(rows.Rows) != 0 || len(rows.Columns) != 1 {
		t.Errorf("empty result = %+v, %v", rows, err)
	}
}

func TestQueryBigResultIsTaken(t *testing.T) {
	h := useHost(t)
	big := strings.Repeat("x", scratchSize)
	h.dbRows = encodeRows(t, []string{"v"}, []any{big}, []any{"small"})
	rows, err := Query("SELECT v FROM t")
	if err != nil || len(rows.Rows) != 2 || rows.Rows[0][0] != big || rows.Rows[1][0] != "small" {
		t.Fatalf("Query = %d rows, %v", len(rows.Rows), err)
	}
	if h.takes != 1 {
		t.Errorf("takes = %d, want 1", h.takes)
	}
}

func TestQueryMalformedRows(t *testing.T) {
	h := useHost(t)
	for _, b := range [][]byte{
		{1, 0, 0, 0},
		{0, 0, 0, 0, 1, 0, 0, 0},
		append(encodeRows(t, []string{"a"}, []any{int64(1)}), 0),
		{1, 0, 0, 0, 1, 0, 0, 0, 'a', 1, 0, 0, 0, 9},
		{1, 0, 0, 0, 1, 0, 0, 0, 'a', 0xff, 0xff, 0xff, 0xff},
	} {
		h.dbRows = b
		if rows, err := Query("SELECT a FROM t"); !errors.Is(err, ErrInternal) {
			t.Errorf("rows %x: %+v, %v; want ErrInternal", b, rows, err)
		}
	}
}

func TestBatch(t *testing.T) {
	h := useHost(t)
	res, err := Batch(
		Stmt{SQL: "UPDATE a SET n = n - ? WHERE id = ?", Args: []any{5, "x"}},
		Stmt{SQL: "DELETE FROM log"},
		Stmt{SQL: "INSERT INTO b VALUES (?)", Args: []any{[]byte("z")}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Result{{1, 100}, {2, 101}, {3, 102}}; !reflect.DeepEqual(res, want) {
		t.Errorf("results = %v, want %v", res, want)
	}
	want := []memStmt{
		{"batch", "UPDATE a SET n = n - ? WHERE id = ?", []any{int64(5), "x"}},
		{"batch", "DELETE FROM log", []any{}},
		{"batch", "INSERT INTO b VALUES (?)", []any{[]byte("z")}},
	}
	if !reflect.DeepEqual(h.db, want) {
		t.Errorf("host ran %+v, want %+v", h.db, want)
	}

	h.db = nil
	if res, err := Batch(); res != nil || err != nil || h.db != nil {
		t.Errorf("empty batch = %v, %v; host ran %v", res, err, h.db)
	}

	// Enough statements that the results do not fit the scratch buffer.
	stmts := make([]Stmt, scratchSize/execResultSize+1)
	for i := range stmts {
		stmts[i] = Stmt{SQL: "INSERT INTO t VALUES (?)", Args: []any{i}}
	}
	res, err = Batch(stmts...)
	if err != nil || len(res) != len(stmts) || res[len(res)-1] != (Result{int64(len(stmts)), int64(99 + len(stmts))}) {
		t.Errorf("big batch: %d results, %v", len(res), err)
	}
	if h.takes != 1 {
		t.Errorf("takes = %d, want 1", h.takes)
	}

	h.dbBatchN = 1
	if _, err := Batch(Stmt{SQL: "a"}, Stmt{SQL: "b"}); !errors.Is(err, ErrInternal) {
		t.Errorf("a host answering 1 result for 2 statements: %v", err)
	}
}

func TestDBRefusedBeforeTheHost(t *testing.T) {
	h := useHost(t)
	long := strings.Repeat(" ", MaxSQLLen+1)
	calls := []struct {
		name string
		do   func() error
		msg  string
	}{
		{"exec arg", func() error { _, err := Exec("?", time.Second); return err }, "argument 1: the database takes no time.Duration"},
		{"query arg", func() error { _, err := Query("?, ?", 1, struct{}{}); return err }, "argument 2: the database takes no struct {}"},
		{"batch arg", func() error {
			_, err := Batch(Stmt{SQL: "a"}, Stmt{SQL: "?", Args: []any{uint64(1 << 63)}})
			return err
		}, "statement 2: argument 1: 9223372036854775808 is over the INTEGER range"},
		{"exec sql", func() error { _, err := Exec(long); return err }, "SQL must be at most 1 MiB"},
		{"query sql", func() error { _, err := Query(long); return err }, "SQL must be at most 1 MiB"},
		{"batch sql", func() error { _, err := Batch(Stmt{SQL: long}); return err }, "statement 1: SQL must be at most 1 MiB"},
	}
	for _, c := range calls {
		err := c.do()
		if !errors.Is(err, ErrInvalid) || err.Error() != c.msg {
			t.Errorf("%s: %v, want ErrInvalid %q", c.name, err, c.msg)
		}
	}
	if len(h.db) != 0 {
		t.Errorf("refused statements reached the host: %+v", h.db)
	}
}

func TestDBErrorsCarryTheHostMessage(t *testing.T) {
	h := useHost(t)
	tests := []struct {
		status Status
		msg    string
	}{
		{StatusInvalid, `near "SELEC": syntax error`},
		{StatusConflict, "UNIQUE constraint failed: users.email"},
		{StatusUnavailable, "read-only: this node is passive"},
		{StatusDenied, ""},
		{StatusTimeout, strings.Repeat("busy ", scratchSize/4)}, // over scratch: taken
	}
	for _, tt := range tests {
		h.dbFail, h.errMsg = -int32(tt.status), tt.msg
		for name, do := range map[string]func() error{
			"exec":  func() error { _, err := Exec("SELEC 1"); return err },
			"query": func() error { _, err := Query("SELEC 1"); return err },
			"batch": func() error { _, err := Batch(Stmt{SQL: "SELEC 1"}); return err },
		} {
			err := do()
			if !errors.Is(err, tt.status.Err()) || StatusOf(err) != tt.status {
				t.Errorf("%s failing with %v: %v", name, tt.status, err)
				continue
			}
			if tt.msg == "" {
				if err != tt.status.Err() {
					t.Errorf("%s failing with %v without a message: %#v, want the sentinel", name, tt.status, err)
				}
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Message != tt.msg || err.Error() != tt.msg {
				t.Errorf("%s failing with %v: %.40q, want the host's message %.40q", name, tt.status, err, tt.msg)
			}
		}
	}
}

func TestDBWithoutHost(t *testing.T) {
	if _, err := Exec("SELECT 1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Exec without a host: %v", err)
	}
	if _, err := Query("SELECT 1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Query without a host: %v", err)
	}
	if _, err := Batch(Stmt{SQL: "SELECT 1"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Batch without a host: %v", err)
	}
}

func TestScan(t *testing.T) {
	row := Row{int64(42), "ann", 2.5, []byte("png"), nil, int64(0), int64(-1)}
	var (
		id     int64
		name   string
		score  float64
		avatar []byte
		note   any
		off    bool
		neg    int8
	)
	if err := row.Scan(&id, &name, &score, &avatar, &note, &off, &neg); err != nil {
		t.Fatal(err)
	}
	if id != 42 || name != "ann" || score != 2.5 || string(avatar) != "png" || note != nil || off || neg != -1 {
		t.Errorf("scanned %v %q %v %q %v %v %v", id, name, score, avatar, note, off, neg)
	}

	ok := []struct {
		v    any
		dest any
		want any
	}{
		{int64(7), new(int), 7},
		{int64(-7), new(int32), int32(-7)},
		{int64(math.MaxInt16), new(int16), int16(math.MaxInt16)},
		{int64(math.MaxInt64), new(uint64), uint64(math.MaxInt64)},
		{int64(math.MaxUint32), new(uint32), uint32(math.MaxUint32)},
		{int64(65535), new(uint16), uint16(65535)},
		{int64(255), new(uint8), uint8(255)},
		{int64(3), new(uint), uint(3)},
		{int64(3), new(float64), 3.0},
		{int64(3), new(float32), float32(3)},
		{1.25, new(float32), float32(1.25)},
		{int64(2), new(bool), true},
		{"text", new([]byte), []byte("text")},
		{[]byte("blob"), new(string), "blob"},
		{nil, new([]byte), []byte(nil)},
		{2.5, new(any), 2.5},
		{nil, new(any), nil},
	}
	for _, tt := range ok {
		if err := (Row{tt.v}).Scan(tt.dest); err != nil {
			t.Errorf("Scan(%#v into %T): %v", tt.v, tt.dest, err)
			continue
		}
		if got := reflect.ValueOf(tt.dest).Elem().Interface(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Scan(%#v into %T) = %#v, want %#v", tt.v, tt.dest, got, tt.want)
		}
	}

	bad := []struct {
		v    any
		dest any
		msg  string
	}{
		{nil, new(string), "scan column 0: cannot store NULL in *string"},
		{nil, new(int64), "scan column 0: cannot store NULL in *int64"},
		{int64(128), new(int8), "scan column 0: cannot store INTEGER 128 in *int8"},
		{int64(-1), new(uint64), "scan column 0: cannot store INTEGER -1 in *uint64"},
		{int64(1 << 32), new(uint32), "scan column 0: cannot store INTEGER 4294967296 in *uint32"},
		{2.5, new(int64), "scan column 0: cannot store REAL 2.5 in *int64"},
		{"1", new(int64), "scan column 0: cannot store TEXT in *int64"},
		{[]byte("1"), new(float64), "scan column 0: cannot store BLOB in *float64"},
		{1.0, new(bool), "scan column 0: cannot store REAL 1 in *bool"},
		{int64(1), new(string), "scan column 0: cannot store INTEGER 1 in *string"},
		{int64(1), int64(0), "scan column 0: cannot store INTEGER 1 in int64"},
		{int64(1), new(Result), "scan column 0: cannot store INTEGER 1 in *sdk.Result"},
	}
	for _, tt := range bad {
		if err := (Row{tt.v}).Scan(tt.dest); err == nil || err.Error() != tt.msg {
			t.Errorf("Scan(%#v into %T) = %v, want %q", tt.v, tt.dest, err, tt.msg)
		}
	}
	if err := (Row{int64(1), int64(2)}).Scan(&id); err == nil || err.Error() != "scan: 1 destinations for 2 columns" {
		t.Errorf("Scan with too few destinations: %v", err)
	}
	// A failed Scan leaves the destinations before the failing column set.
	id, name = 0, ""
	if err := (Row{int64(5), nil}).Scan(&id, &name); err == nil || id != 5 {
		t.Errorf("Scan(5, NULL) = %v, id %d", err, id)
	}
}
