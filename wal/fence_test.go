package wal

import (
	"bytes"
	"testing"
	"time"
)

func gens(g ...generation) fence { return fence{Gens: g} }

func TestFenceValidity(t *testing.T) {
	at := time.Unix(0, 0).UTC()
	cases := []struct {
		name  string
		rec   fence
		gen   uint64
		txid  uint64
		valid bool
	}{
		{"empty record", gens(), 1, 1, false},
		{"only generation", gens(generation{Gen: 1, First: 1}), 1, 99, true},
		{"unknown generation", gens(generation{Gen: 1, First: 1}), 2, 1, false},
		{"before the boundary", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 11}), 1, 10, true},
		{"at the boundary", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 11}), 1, 11, false},
		{"past the boundary", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 11}), 1, 500, false},
		{"the newer generation", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 11}), 2, 500, true},
		{"compaction across generations", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 11}), 2, 5, true},
		{"pending successor leaves it open", gens(generation{Gen: 1, First: 1}, generation{Gen: 2}), 1, 500, true},
		{"pending generation", gens(generation{Gen: 1, First: 1}, generation{Gen: 2}), 2, 500, false},
		{"pending in the middle is skipped", gens(generation{Gen: 1, First: 1}, generation{Gen: 2}, generation{Gen: 3, First: 8}), 1, 8, false},
		{"pending in the middle is void", gens(generation{Gen: 1, First: 1}, generation{Gen: 2}, generation{Gen: 3, First: 8}), 2, 1, false},
		{"voided by a reset", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 50, Reset: true}), 1, 3, false},
		{"the reset itself", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 50, Reset: true}), 2, 50, true},
		{"pending reset voids nothing", gens(generation{Gen: 1, First: 1}, generation{Gen: 2, Reset: true}), 1, 3, true},
	}
	for _, c := range cases {
		for i := range c.rec.Gens {
			c.rec.Gens[i].Time = at
		}
		if got := c.rec.valid(c.gen, c.txid); got != c.valid {
			t.Errorf("%s: valid(%d, %d) = %v", c.name, c.gen, c.txid, got)
		}
	}
	r := gens(generation{Gen: 1, First: 1}, generation{Gen: 2, First: 11, Reset: true}, generation{Gen: 3})
	if r.base() != 2 || r.current(3) || r.current(2) || !r.sealed(1) || r.sealed(2) || r.lastGen() != 3 {
		t.Errorf("record helpers wrong on %+v", r)
	}
}

func TestFenceEncoding(t *testing.T) {
	r := gens(generation{Gen: 1, Token: 7, First: 1, Time: time.Unix(10, 0).UTC()},
		generation{Gen: 3, Token: 9, First: 20, Reset: true, Time: time.Unix(20, 0).UTC()})
	got, err := decodeFence(r.encode())
	if err != nil || !bytes.Equal(got.encode(), r.encode()) {
		t.Fatalf("round trip: %v %s", err, got.encode())
	}
	for _, bad := range []string{
		`{"v":2,"gens":[]}`,
		`{"v":1,"gens":[{"gen":2,"first":1},{"gen":1,"first":2}]}`,
		`{"v":1,"gens":[{"gen":0,"first":1}]}`,
		`{"v":1,"gens":[{"gen":1,"first":5},{"gen":2,"first":4}]}`,
		`[1,2]`,
	} {
		if _, err := decodeFence([]byte(bad)); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
	if f, err := decodeFence(nil); err != nil || len(f.Gens) != 0 {
		t.Errorf("empty value: %+v %v", f, err)
	}
}

func FuzzDecodeFence(f *testing.F) {
	f.Add([]byte(`{"v":1,"gens":[{"gen":1,"token":3,"first":1,"time":"2024-01-02T03:04:05Z"},{"gen":2,"token":4}]}`))
	f.Add([]byte(`{"v":1,"gens":[{"gen":5,"first":9,"reset":true,"time":"2024-01-02T03:04:05.123456789+02:00"}]}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeFence(b)
		if err != nil {
			return
		}
		if err := r.check(); err != nil {
			t.Fatalf("decoded a record that fails its check: %v", err)
		}
		e1 := r.encode()
		r2, err := decodeFence(e1)
		if err != nil {
			t.Fatalf("cannot decode own encoding %s: %v", e1, err)
		}
		if e2 := r2.encode(); !bytes.Equal(e1, e2) {
			t.Fatalf("encoding not stable:\n%s\n%s", e1, e2)
		}
		// The rule never panics and never admits a pending generation.
		for _, g := range r.Gens {
			if g.pending() && r.valid(g.Gen, 1) {
				t.Fatalf("pending generation %d valid", g.Gen)
			}
		}
	})
}

func TestObjectNames(t *testing.T) {
	name := objectName(12, 3, 5, 9)
	if name != "g12/3/0000000000000005-0000000000000009.ltx" {
		t.Fatalf("name %s", name)
	}
	gen, level, lo, hi, ok := parseObjectName(name)
	if !ok || gen != 12 || level != 3 || lo != 5 || hi != 9 {
		t.Fatalf("parse: %d %d %d %d %v", gen, level, lo, hi, ok)
	}
	for _, bad := range []string{"ltx/0/0000000000000001-0000000000000001.ltx", "g0/0/0000000000000001-0000000000000001.ltx",
		"g1/10/0000000000000001-0000000000000001.ltx", "g1/01/0000000000000001-0000000000000001.ltx",
		"g1/0/0000000000000002-0000000000000001.ltx", "g1/0/x.ltx", "g1/0/0000000000000001-0000000000000001.ltx/more"} {
		if _, _, _, _, ok := parseObjectName(bad); ok {
			t.Errorf("parsed %s", bad)
		}
	}
}
