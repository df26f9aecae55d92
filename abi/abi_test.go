package abi

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestStatusRoundTrip(t *testing.T) {
	for _, s := range Statuses() {
		if got, ok := StatusByName(s.String()); !ok || got != s {
			t.Errorf("StatusByName(%q) = %v, %v; want %v", s.String(), got, ok, s)
		}
		if got := StatusFromCode(s.Code()); got != s {
			t.Errorf("StatusFromCode(%q) = %v, want %v", s.Code(), got, s)
		}
		if s == StatusOK {
			continue
		}
		wrapped := fmt.Errorf("cannot do it: %w", s.Err())
		if got := StatusOf(wrapped); got != s {
			t.Errorf("StatusOf(%v) = %v, want %v", wrapped, got, s)
		}
		e := fmt.Errorf("outer: %w", NewError(s, "detail"))
		if !errors.Is(e, s.Err()) {
			t.Errorf("errors.Is(%v, %v) = false", e, s.Err())
		}
		if StatusOf(e) != s {
			t.Errorf("StatusOf(%v) = %v", e, StatusOf(e))
		}
	}
	if StatusOf(errors.New("boom")) != StatusInternal {
		t.Error("unknown errors must be internal")
	}
	if Status(99).Err() != ErrInternal || StatusFromCode("999") != StatusInternal {
		t.Error("unknown statuses must be internal")
	}
	if s, ok := StatusByName("nope"); ok {
		t.Errorf("StatusByName(nope) = %v, want none", s)
	}
}

func TestList(t *testing.T) {
	items := [][]byte{[]byte("a"), {}, []byte("\xff\x00>*"), bytes.Repeat([]byte("k"), 300)}
	enc := AppendList(nil, items...)
	if len(enc) != ListSize(items...) {
		t.Fatalf("ListSize = %d, encoded %d", ListSize(items...), len(enc))
	}
	got, err := DecodeList(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for i := range items {
		if !bytes.Equal(got[i], items[i]) {
			t.Errorf("item %d = %q, want %q", i, got[i], items[i])
		}
	}
	for _, bad := range [][]byte{{1}, {1, 0, 0}, {5, 0, 0, 0, 'a'}, {0xff, 0xff, 0xff, 0xff}} {
		if _, err := DecodeList(bad); !errors.Is(err, ErrBadList) {
			t.Errorf("DecodeList(%x) err = %v, want ErrBadList", bad, err)
		}
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte{})
	f.Add(AppendList(nil, []byte("x"), []byte("yz")))
	f.Add([]byte{3, 0, 0, 0, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := DecodeList(b)
		if err != nil {
			return
		}
		if re := AppendList(nil, items...); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding %x gave %x", b, re)
		}
	})
}

func TestDetect(t *testing.T) {
	native := []string{ExportBuffer, ExportHandle, ExportInitialize}
	tests := []struct {
		name    string
		imports []string
		exports []string
		want    Kind
		err     error
	}{
		{"native", []string{"wasi_snapshot_preview1", ImportModule}, native, KindNative, nil},
		{"native exports only", nil, native, KindNative, nil},
		{"extism", []string{ExtismModule}, []string{"greet"}, KindExtism, nil},
		{"unknown import version", []string{"gocluster_v9"}, native, 0, ErrUnknownVersion},
		{"unknown export version", nil, []string{"gocluster_v2_handle", "gocluster_v2_buffer"}, 0, ErrUnknownVersion},
		{"missing handle", []string{ImportModule}, []string{ExportBuffer}, 0, ErrMissingExport},
		{"missing everything", []string{ImportModule}, nil, 0, ErrMissingExport},
		{"plain module", []string{"wasi_snapshot_preview1"}, []string{"_start"}, 0, ErrNotAnApp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.imports, tt.exports)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("Detect = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
