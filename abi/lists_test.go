package abi

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
)

const listsVectors = "testdata/lists.txt"

// A listsVector is one line of testdata/lists.txt.
type listsVector struct {
	line  int
	enc   string
	ok    bool
	bytes []byte
	n     int
	rest  []string
}

func readListsVectors(t *testing.T) []listsVector {
	t.Helper()
	var out []listsVector
	for _, g := range readGolden(t, listsVectors, "N...") {
		v := listsVector{line: g.line, enc: g.enc, ok: g.ok, bytes: g.bytes, rest: g.rest[1:]}
		if g.rest[0] != "-" {
			var err error
			if v.n, err = strconv.Atoi(g.rest[0]); err != nil {
				t.Fatalf("%s:%d: %v", listsVectors, v.line, err)
			}
		}
		out = append(out, v)
	}
	return out
}

// TestListsVectors checks the host's List and exec result encoders and
// decoders against the golden vectors the SDKs share.
func TestListsVectors(t *testing.T) {
	seen := map[string]int{}
	for _, v := range readListsVectors(t) {
		seen[v.enc]++
		switch v.enc {
		case "list":
			checkListVector(t, v)
		case "execs":
			checkExecsVector(t, v)
		default:
			t.Fatalf("%s:%d: unknown encoding %q", listsVectors, v.line, v.enc)
		}
	}
	for _, enc := range []string{"list", "execs"} {
		if seen[enc] == 0 {
			t.Errorf("no %s vectors", enc)
		}
	}
}

func checkListVector(t *testing.T, v listsVector) {
	t.Helper()
	got, err := DecodeList(v.bytes)
	if !v.ok {
		if err == nil {
			t.Errorf("%s:%d: DecodeList(%x) = %q, want an error", listsVectors, v.line, v.bytes, got)
		}
		return
	}
	if len(v.rest) != v.n {
		t.Fatalf("%s:%d: %d items for a count of %d", listsVectors, v.line, len(v.rest), v.n)
	}
	want := make([][]byte, v.n)
	for i, s := range v.rest {
		str, perr := parseStr(s)
		if perr != nil {
			t.Fatalf("%s:%d: %v", listsVectors, v.line, perr)
		}
		want[i] = []byte(str)
	}
	if err != nil || !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("%s:%d: DecodeList = %q, %v; want %q", listsVectors, v.line, got, err, want)
	}
	if enc := AppendList(nil, want...); !bytes.Equal(enc, v.bytes) || ListSize(want...) != len(v.bytes) {
		t.Errorf("%s:%d: AppendList = %x, want %x", listsVectors, v.line, enc, v.bytes)
	}
}

// decodeExecResults reads n exec results back to back, as an SDK does
// with db_batch's result.
func decodeExecResults(b []byte, n int) ([]ExecResult, error) {
	if len(b) != n*ExecResultSize {
		return nil, ErrBadValues
	}
	out := make([]ExecResult, 0, n)
	for i := 0; i < len(b); i += ExecResultSize {
		r, err := DecodeExecResult(b[i : i+ExecResultSize])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func checkExecsVector(t *testing.T, v listsVector) {
	t.Helper()
	got, err := decodeExecResults(v.bytes, v.n)
	if !v.ok {
		if err == nil {
			t.Errorf("%s:%d: %x decoded as %d results: %v", listsVectors, v.line, v.bytes, v.n, got)
		}
		return
	}
	if len(v.rest) != 2*v.n {
		t.Fatalf("%s:%d: %d numbers for %d results", listsVectors, v.line, len(v.rest), v.n)
	}
	var want []ExecResult
	var enc []byte
	for i := 0; i < len(v.rest); i += 2 {
		ra, err1 := strconv.ParseInt(v.rest[i], 10, 64)
		id, err2 := strconv.ParseInt(v.rest[i+1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s:%d: bad numbers", listsVectors, v.line)
		}
		r := ExecResult{RowsAffected: ra, LastInsertID: id}
		want = append(want, r)
		enc = AppendExecResult(enc, r)
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s:%d: decoded %v, %v; want %v", listsVectors, v.line, got, err, want)
	}
	if !bytes.Equal(enc, v.bytes) {
		t.Errorf("%s:%d: encoded %x, want %x", listsVectors, v.line, enc, v.bytes)
	}
}
