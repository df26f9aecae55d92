//go:build !wasip1

package sdk

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestKV(t *testing.T) {
	h := useHost(t)
	key := "k\x00\xff.*>"
	if _, _, err := KVGet(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get absent: %v", err)
	}
	rev, err := KVCreate(key, []byte("v1"))
	if err != nil || rev == 0 {
		t.Fatalf("create: %d %v", rev, err)
	}
	if _, err := KVCreate(key, []byte("again")); !errors.Is(err, ErrConflict) {
		t.Fatalf("create existing: %v", err)
	}
	val, got, err := KVGet(key)
	if err != nil || string(val) != "v1" || got != rev {
		t.Fatalf("get = %q %d %v, want v1 %d", val, got, err, rev)
	}
	if _, err := KVUpdate(key, []byte("stale"), rev+100); !errors.Is(err, ErrConflict) {
		t.Fatalf("update with stale rev: %v", err)
	}
	rev2, err := KVUpdate(key, []byte("v2"), rev)
	if err != nil || rev2 <= rev {
		t.Fatalf("update = %d %v", rev2, err)
	}
	rev3, err := KVPut(key, nil)
	if err != nil || rev3 <= rev2 {
		t.Fatalf("put = %d %v", rev3, err)
	}
	if val, _, err := KVGet(key); err != nil || val == nil || len(val) != 0 {
		t.Fatalf("get empty value = %#v %v, want empty non-nil", val, err)
	}
	if err := KVDelete(key); err != nil {
		t.Fatal(err)
	}
	if err := KVDelete(key); err != nil {
		t.Fatalf("delete absent: %v", err)
	}
	if _, _, err := KVGet(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if h.takes != 0 {
		t.Errorf("small results used take %d times", h.takes)
	}
}

func TestKVLargeValueUsesTake(t *testing.T) {
	h := useHost(t)
	big := bytes.Repeat([]byte("0123456789"), scratchSize/5)
	if _, err := KVPut("big", big); err != nil {
		t.Fatal(err)
	}
	val, rev, err := KVGet("big")
	if err != nil || !bytes.Equal(val, big) || rev == 0 {
		t.Fatalf("get big: %d bytes rev %d err %v", len(val), rev, err)
	}
	if h.takes != 1 {
		t.Errorf("take called %d times, want 1", h.takes)
	}
	// The copy is the caller's: changing it changes nothing else.
	val[0] = 'X'
	if again, _, _ := KVGet("big"); again[0] != '0' {
		t.Error("returned value aliases shared memory")
	}
}

func TestKVKeys(t *testing.T) {
	h := useHost(t)
	var want []string
	for _, k := range []string{"a/1", "a/2", "a/\xff", "b", "a"} {
		if _, err := KVPut(k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	want = []string{"a", "a/1", "a/2", "a/\xff"}
	if got, err := KVKeys("a"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("keys(a) = %q %v, want %q", got, err, want)
	}
	if got, err := KVKeys("zzz"); err != nil || len(got) != 0 {
		t.Fatalf("keys(zzz) = %q %v", got, err)
	}
	// A listing larger than scratch goes through take.
	long := strings.Repeat("k", MaxKeyLen-4)
	for i := range 40 {
		if _, err := KVPut(long+string(rune('A'+i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := KVKeys("kk")
	if err != nil || len(got) != 40 || got[0] != long+"A" {
		t.Fatalf("long listing: %d keys, err %v", len(got), err)
	}
	if h.takes != 1 {
		t.Errorf("take called %d times, want 1", h.takes)
	}
}

func TestKVRejectsBadKeys(t *testing.T) {
	h := useHost(t)
	h.fail = -int32(StatusInternal) // must not be reached
	for _, key := range []string{"", strings.Repeat("k", MaxKeyLen+1)} {
		errs := []error{}
		_, _, err := KVGet(key)
		errs = append(errs, err)
		_, err = KVPut(key, nil)
		errs = append(errs, err)
		_, err = KVCreate(key, nil)
		errs = append(errs, err)
		_, err = KVUpdate(key, nil, 1)
		errs = append(errs, err)
		errs = append(errs, KVDelete(key))
		for i, err := range errs {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("key of %d bytes, op %d: %v, want invalid", len(key), i, err)
			}
		}
	}
	if _, err := KVKeys(strings.Repeat("p", MaxKeyLen+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long prefix: %v", err)
	}
}

func TestKVHostErrors(t *testing.T) {
	h := useHost(t)
	for _, s := range []Status{StatusDenied, StatusLimit, StatusTimeout, StatusUnavailable, StatusInternal, 99} {
		h.fail = -int32(s)
		_, _, err := KVGet("k")
		if !errors.Is(err, s.Err()) || StatusOf(err) != min(s, StatusInternal) {
			t.Errorf("host status %v: err %v (status %v)", s, err, StatusOf(err))
		}
		if _, err := KVKeys(""); !errors.Is(err, s.Err()) {
			t.Errorf("keys with host status %v: %v", s, err)
		}
	}
}

func TestNoHost(t *testing.T) {
	testHost = nil
	if _, _, err := KVGet("k"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("get: %v", err)
	}
	if _, err := KVPut("k", nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("put: %v", err)
	}
	if _, err := KVKeys(""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("keys: %v", err)
	}
	if v, ok := Config("greeting"); ok || v != "" {
		t.Errorf("config = %q %v", v, ok)
	}
	if v := ABIVersion(); v != 0 {
		t.Errorf("ABIVersion = %d", v)
	}
	LogInfo("goes nowhere")
}

func TestDecodeList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", []string{}, true},
		{"\x01\x00\x00\x00a", []string{"a"}, true},
		{"\x00\x00\x00\x00\x02\x00\x00\x00\xff\x00", []string{"", "\xff\x00"}, true},
		{"\x01", nil, false},
		{"\x02\x00\x00\x00a", nil, false},
		{"\x01\x00\x00\x00ab", nil, false},
		{"\xff\xff\xff\xff", nil, false},
	}
	for _, tt := range tests {
		got, ok := decodeList(tt.in)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("decodeList(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeList([]string{"a", "", "\xff\x00"}))
	f.Add([]byte{5, 0, 0, 0, 'a'})
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, ok := decodeList(string(b))
		if !ok {
			return
		}
		if re := encodeList(items); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding %x gave %x", b, re)
		}
	})
}
