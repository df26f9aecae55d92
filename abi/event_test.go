package abi

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestEvents(t *testing.T) {
	want := []string{"start", "active", "passive", "stop", "member_join", "member_leave", "own", "release", "event"}
	evs := Events()
	if len(evs) != len(want) {
		t.Fatalf("Events() = %v, want %d kinds", evs, len(want))
	}
	for i, e := range evs {
		if int(e) != i+1 || e.String() != want[i] {
			t.Errorf("event %d = %d %q, want %d %q", i, e, e, i+1, want[i])
		}
	}
	for _, bad := range []Event{0, -1, 10, 1 << 20} {
		if got := bad.String(); got != "event("+strconv.Itoa(int(bad))+")" {
			t.Errorf("Event(%d).String() = %q", bad, got)
		}
	}
}

func TestExports(t *testing.T) {
	for _, e := range RequiredExports {
		if !slices.Contains(Exports, e) {
			t.Errorf("required export %s is not in Exports", e)
		}
	}
	// The event export is optional: a module without it stays loadable.
	if kind, err := Detect([]string{ImportModule}, RequiredExports); err != nil || kind != KindNative {
		t.Errorf("Detect without %s = %v, %v", ExportEvent, kind, err)
	}
}

// partitionVector is one line of testdata/partitions.txt.
type partitionVector struct {
	line  int
	ok    bool
	bytes []byte
	parts []int
}

// readPartitionVectors parses the golden vectors shared with the SDKs.
func readPartitionVectors(t testing.TB) []partitionVector {
	t.Helper()
	f, err := os.Open("testdata/partitions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []partitionVector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := parsePartitionVector(line)
		if err != nil {
			t.Fatalf("testdata/partitions.txt:%d: %v", n, err)
		}
		v.line = n
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parsePartitionVector(line string) (partitionVector, error) {
	var v partitionVector
	f := strings.Fields(line)
	if len(f) != 3 || (f[0] != "ok" && f[0] != "bad") {
		return v, errors.New("want: ok|bad HEX PARTS")
	}
	v.ok = f[0] == "ok"
	if f[1] != "-" {
		b, err := hex.DecodeString(f[1])
		if err != nil {
			return v, err
		}
		v.bytes = b
	}
	if f[2] == "-" {
		return v, nil
	}
	for _, s := range strings.Split(f[2], ",") {
		p, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return v, err
		}
		v.parts = append(v.parts, int(p))
	}
	return v, nil
}

func TestPartitionsGolden(t *testing.T) {
	vectors := readPartitionVectors(t)
	if len(vectors) < 10 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		got, err := DecodePartitions(v.bytes)
		if !v.ok {
			if !errors.Is(err, ErrBadPartitions) {
				t.Errorf("line %d: DecodePartitions(%x) = %v, %v; want ErrBadPartitions", v.line, v.bytes, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, v.parts) {
			t.Errorf("line %d: DecodePartitions(%x) = %v, %v; want %v", v.line, v.bytes, got, err, v.parts)
		}
		enc, err := AppendPartitions(nil, v.parts)
		if err != nil || !bytes.Equal(enc, v.bytes) {
			t.Errorf("line %d: AppendPartitions(%v) = %x, %v; want %x", v.line, v.parts, enc, err, v.bytes)
		}
	}
}

func TestAppendPartitionsRefuses(t *testing.T) {
	prefix := []byte("keep")
	for _, bad := range [][]int{{-1}, {math.MaxUint32 + 1}, {2, 1}, {3, 3}, {0, 5, 4}} {
		got, err := AppendPartitions(prefix, bad)
		if !errors.Is(err, ErrBadPartitions) || string(got) != "keep" {
			t.Errorf("AppendPartitions(%v) = %q, %v; want dst unchanged and ErrBadPartitions", bad, got, err)
		}
	}
	got, err := AppendPartitions(prefix, []int{1, 2})
	if err != nil || !bytes.Equal(got, []byte("keep\x01\x00\x00\x00\x02\x00\x00\x00")) {
		t.Errorf("AppendPartitions appending = %q, %v", got, err)
	}
}

func FuzzDecodePartitions(f *testing.F) {
	for _, v := range readPartitionVectors(f) {
		f.Add(v.bytes)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := DecodePartitions(b)
		if err != nil {
			if !errors.Is(err, ErrBadPartitions) {
				t.Fatalf("DecodePartitions(%x) error %v does not wrap ErrBadPartitions", b, err)
			}
			return
		}
		if len(parts) != len(b)/PartitionSize {
			t.Fatalf("DecodePartitions(%x) gave %d partitions", b, len(parts))
		}
		re, err := AppendPartitions(nil, parts)
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("re-encoding %x gave %x, %v", b, re, err)
		}
	})
}
