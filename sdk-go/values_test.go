package sdk

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The database encodings are shared by every host and SDK; their golden
// vectors live with the host's contract.
const valuesVectors = "../abi/testdata/values.txt"

// valuesVector is one line of the golden vectors: ENCODING ok|bad HEX
// DECODED..., the file's header explains the notation.
type valuesVector struct {
	line    int
	enc     string
	ok      bool
	bytes   []byte
	decoded []string
}

func readValuesVectors(t testing.TB) []valuesVector {
	t.Helper()
	f, err := os.Open(valuesVectors)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SKIP: %s not found: the SDK is outside the go-cluster repository", valuesVectors)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []valuesVector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || (fields[1] != "ok" && fields[1] != "bad") {
			t.Fatalf("line %d: %q", n, line)
		}
		v := valuesVector{line: n, enc: fields[0], ok: fields[1] == "ok", decoded: fields[3:]}
		if fields[2] != "-" {
			if v.bytes, err = hex.DecodeString(fields[2]); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no vectors read")
	}
	return out
}

// vecStr reads a STR: %XX is a byte, a lone "-" the empty string.
func vecStr(t testing.TB, s string) string {
	t.Helper()
	if s == "-" {
		return ""
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			t.Fatalf("truncated escape in %q", s)
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			t.Fatalf("bad escape in %q", s)
		}
		b = append(b, byte(c))
		i += 2
	}
	return string(b)
}

func vecList(s string) []string {
	if s == "-" {
		return nil
	}
	return strings.Split(s, ",")
}

// vecItem reads an ITEM as the Go value the SDK uses for it.
func vecItem(t testing.TB, s string) any {
	t.Helper()
	if s == "null" {
		return nil
	}
	typ, arg, _ := strings.Cut(s, ":")
	switch typ {
	case "int":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	case "real":
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	case "text":
		return vecStr(t, arg)
	case "blob":
		return []byte(vecStr(t, arg))
	}
	t.Fatalf("bad item %q", s)
	return nil
}

func vecItems(t testing.TB, s string) []any {
	t.Helper()
	var out []any
	for _, it := range vecList(s) {
		out = append(out, vecItem(t, it))
	}
	return out
}

// sameValue compares row values exactly: reals by their bits, no bytes
// equal to empty bytes.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		f, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(f)
	case []byte:
		c, ok := b.([]byte)
		return ok && bytes.Equal(a, c)
	}
	return a == b
}

func sameRow(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestValuesGolden checks the SDK's encoders (value, values, statement,
// batch: what the SDK sends) and decoders (exec, rows, message: what it
// receives) against every vector of the encodings it has a side of.
func TestValuesGolden(t *testing.T) {
	checked := map[string]int{}
	for _, v := range readValuesVectors(t) {
		f := v.decoded
		var got []byte // the encoding, for the encoders' vectors
		var err error
		switch {
		case v.enc == "value" && v.ok:
			var ok bool
			got, ok = appendArg(nil, vecItem(t, f[0]))
			if !ok {
				err = errors.New("refused")
			}
		case v.enc == "values" && v.ok:
			got, err = appendArgs(nil, vecItems(t, f[0]))
		case v.enc == "statement" && v.ok:
			got, err = appendStatement(nil, vecStr(t, f[0]), vecItems(t, f[1]))
		case v.enc == "batch" && v.ok:
			var stmts []Stmt
			for i := 0; i+1 < len(f); i += 2 {
				stmts = append(stmts, Stmt{SQL: vecStr(t, f[i]), Args: vecItems(t, f[i+1])})
			}
			got, err = appendBatch(nil, stmts)
		case v.enc == "exec":
			res, err := decodeExecResults(v.bytes, 1)
			if !v.ok {
				if err == nil {
					t.Errorf("line %d: decodeExecResults(%x) = %v, want an error", v.line, v.bytes, res)
				}
				break
			}
			a, _ := strconv.ParseInt(f[0], 10, 64)
			b, _ := strconv.ParseInt(f[1], 10, 64)
			if err != nil || len(res) != 1 || res[0] != (Result{a, b}) {
				t.Errorf("line %d: decodeExecResults(%x) = %v, %v; want %d %d", v.line, v.bytes, res, err, a, b)
			}
		case v.enc == "rows":
			rows, err := decodeRows(bytes.Clone(v.bytes))
			if !v.ok {
				if err == nil {
					t.Errorf("line %d: decodeRows(%x) = %+v, want an error", v.line, v.bytes, rows)
				}
				break
			}
			var cols []string
			for _, c := range vecList(f[0]) {
				cols = append(cols, vecStr(t, c))
			}
			if err != nil || len(rows.Columns) != len(cols) || len(rows.Rows) != len(f)-1 {
				t.Errorf("line %d: decodeRows(%x) = %+v, %v", v.line, v.bytes, rows, err)
				break
			}
			for i, c := range cols {
				if rows.Columns[i] != c {
					t.Errorf("line %d: column %d = %q, want %q", v.line, i, rows.Columns[i], c)
				}
			}
			for i, want := range f[1:] {
				if w := vecItems(t, want); !sameRow(rows.Rows[i], w) {
					t.Errorf("line %d: row %d = %#v, want %#v", v.line, i, rows.Rows[i], w)
				}
			}
		case v.enc == "message":
			e, ok := decodeMessage(v.bytes)
			if !v.ok {
				if ok {
					t.Errorf("line %d: decodeMessage(%x) = %+v, want refused", v.line, v.bytes, e)
				}
				break
			}
			want := Event{Source: vecStr(t, f[0]), Topic: vecStr(t, f[1]), Data: []byte(vecStr(t, f[2]))}
			if !ok || e.Source != want.Source || e.Topic != want.Topic || !bytes.Equal(e.Data, want.Data) {
				t.Errorf("line %d: decodeMessage(%x) = %+v, %v; want %+v", v.line, v.bytes, e, ok, want)
			}
		default:
			continue // the SDK only encodes these; the host decodes them
		}
		checked[v.enc]++
		if v.enc == "exec" || v.enc == "rows" || v.enc == "message" {
			continue // a decoder's vector, checked above
		}
		if err != nil || !bytes.Equal(got, v.bytes) {
			t.Errorf("line %d: encoding %s %v = %x, %v; want %x", v.line, v.enc, f, got, err, v.bytes)
		}
	}
	for _, enc := range []string{"value", "values", "statement", "batch", "exec", "rows", "message"} {
		if checked[enc] == 0 {
			t.Errorf("no %s vectors checked", enc)
		}
	}
}

func TestArgTypes(t *testing.T) {
	integer := func(v int64) []byte { return binary.LittleEndian.AppendUint64([]byte{typeInteger}, uint64(v)) }
	real := func(v float64) []byte { return binary.LittleEndian.AppendUint64([]byte{typeReal}, math.Float64bits(v)) }
	tests := []struct {
		arg  any
		want []byte
	}{
		{nil, []byte{typeNull}},
		{int(-3), integer(-3)},
		{int8(-128), integer(-128)},
		{int16(32767), integer(32767)},
		{int32(-1 << 31), integer(-1 << 31)},
		{int64(math.MinInt64), integer(math.MinInt64)},
		{uint8(255), integer(255)},
		{uint16(65535), integer(65535)},
		{uint32(math.MaxUint32), integer(math.MaxUint32)},
		{uint(7), integer(7)},
		{uint64(math.MaxInt64), integer(math.MaxInt64)},
		{true, integer(1)},
		{false, integer(0)},
		{float32(1.5), real(1.5)},
		{float64(-0.25), real(-0.25)},
		{"", []byte{typeText, 0, 0, 0, 0}},
		{"hé", []byte{typeText, 3, 0, 0, 0, 'h', 0xc3, 0xa9}},
		{[]byte(nil), []byte{typeBlob, 0, 0, 0, 0}},
		{[]byte{0, 0xff}, []byte{typeBlob, 2, 0, 0, 0, 0, 0xff}},
	}
	for _, tt := range tests {
		got, ok := appendArg([]byte("x"), tt.arg)
		if !ok || !bytes.Equal(got, append([]byte("x"), tt.want...)) {
			t.Errorf("appendArg(%T %v) = %x, %v; want %x", tt.arg, tt.arg, got, ok, tt.want)
		}
	}
	type userID int64
	for _, bad := range []any{uintptr(1), userID(1), struct{}{}, []string{"a"}, new(int), 1i, map[string]int{}, time.Second} {
		_, err := appendArgs(nil, []any{1, bad})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("argument 2: the database takes no %T", bad)) {
			t.Errorf("appendArgs(%T) error = %v", bad, err)
		}
	}
	for _, over := range []any{uint(math.MaxInt64 + 1), uint64(math.MaxUint64)} {
		_, err := appendArgs(nil, []any{over})
		if !errors.Is(err, ErrInvalid) || err.Error() != fmt.Sprintf("argument 1: %d is over the INTEGER range", over) {
			t.Errorf("appendArgs(%T %d) error = %v", over, over, err)
		}
	}
}

func TestDecodeRowsShares(t *testing.T) {
	// columns "a", "b"; one row: BLOB "xy", TEXT "zw"
	b := []byte{2, 0, 0, 0, 1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b', 1, 0, 0, 0,
		typeBlob, 2, 0, 0, 0, 'x', 'y', typeText, 2, 0, 0, 0, 'z', 'w'}
	rows, err := decodeRows(b)
	if err != nil {
		t.Fatal(err)
	}
	blob := rows.Rows[0][0].([]byte)
	if cap(blob) != 2 {
		t.Errorf("a blob's capacity is %d, want its length", cap(blob))
	}
	_ = append(blob, '!')
	if rows.Rows[0][1] != "zw" || rows.Columns[1] != "b" {
		t.Errorf("appending to a blob overwrote the next value: %+v", rows)
	}
	if cap(rows.Rows[0]) != 2 {
		t.Errorf("a row's capacity is %d, want its length", cap(rows.Rows[0]))
	}
}

// FuzzDecodeRows checks that decodeRows never panics, refuses with an
// internal error, and gives every row one value per column of the types
// Row documents.
func FuzzDecodeRows(f *testing.F) {
	for _, v := range readValuesVectors(f) {
		if v.enc == "rows" {
			f.Add(v.bytes)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := decodeRows(b)
		if err != nil {
			if !errors.Is(err, ErrInternal) {
				t.Fatalf("decodeRows(%x): error %v is not internal", b, err)
			}
			return
		}
		for i, row := range rows.Rows {
			if len(row) != len(rows.Columns) {
				t.Fatalf("decodeRows(%x): row %d has %d values for %d columns", b, i, len(row), len(rows.Columns))
			}
			for _, v := range row {
				switch v.(type) {
				case nil, int64, float64, string, []byte:
				default:
					t.Fatalf("decodeRows(%x): value of type %T", b, v)
				}
			}
		}
		if len(rows.Columns) == 0 && len(rows.Rows) > 0 {
			t.Fatalf("decodeRows(%x): rows without columns", b)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, v := range readValuesVectors(f) {
		if v.enc == "message" {
			f.Add(v.bytes)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := decodeMessage(b)
		if !ok {
			return
		}
		n := 12 + len(e.Source) + len(e.Topic) + len(e.Data)
		if n != len(b) {
			t.Fatalf("decodeMessage(%x) = %+v, which is %d bytes", b, e, n)
		}
	})
}

func TestDecodeMessageCopiesNames(t *testing.T) {
	b := []byte{1, 0, 0, 0, 's', 1, 0, 0, 0, 't', 1, 0, 0, 0, 'd'}
	e, ok := decodeMessage(b)
	if !ok {
		t.Fatal("refused")
	}
	clear(b)
	if e.Source != "s" || e.Topic != "t" || !reflect.DeepEqual(e.Data, []byte{0}) {
		t.Errorf("after the buffer changed: %+v; want the names kept and the data shared", e)
	}
}
