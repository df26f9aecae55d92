package layout

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

// natsKeyRe is what nats.go accepts as a KV key.
var natsKeyRe = regexp.MustCompile(`^[-/_=\.a-zA-Z0-9]+$`)

func TestEncodeKeyHostile(t *testing.T) {
	if MaxKeyLen != abi.MaxKeyLen {
		t.Fatalf("MaxKeyLen %d != abi.MaxKeyLen %d", MaxKeyLen, abi.MaxKeyLen)
	}
	keys := [][]byte{
		[]byte("*"), []byte(">"), []byte(".."), []byte("a.b"), []byte("a b"),
		[]byte("\xff\xfe\x00"), []byte("=41"), []byte("A"), []byte("$KV.other.x"),
		bytes.Repeat([]byte("."), MaxKeyLen),
	}
	seen := map[string]string{}
	for _, k := range keys {
		enc, err := EncodeKey(k)
		if err != nil {
			t.Fatalf("EncodeKey(%q): %v", k, err)
		}
		if !natsKeyRe.MatchString(enc) || strings.ContainsAny(enc, ".*>") {
			t.Errorf("EncodeKey(%q) = %q is not a single plain token", k, enc)
		}
		if prev, dup := seen[enc]; dup {
			t.Errorf("%q and %q both encode to %q", prev, k, enc)
		}
		seen[enc] = string(k)
		dec, err := DecodeKey(enc)
		if err != nil || !bytes.Equal(dec, k) {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", enc, dec, err, k)
		}
	}
	for _, bad := range [][]byte{nil, {}, bytes.Repeat([]byte("k"), MaxKeyLen+1)} {
		if _, err := EncodeKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("EncodeKey(len %d) err = %v, want ErrBadKey", len(bad), err)
		}
	}
}

func FuzzDecodeKey(f *testing.F) {
	f.Add("abc")
	f.Add("a=2Eb")
	f.Add("=zz")
	f.Add("=2e")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := DecodeKey(s)
		if err != nil {
			return
		}
		enc, err := EncodeKey(k)
		if err != nil || enc != s {
			t.Fatalf("DecodeKey(%q) = %q, re-encoded %q, %v", s, k, enc, err)
		}
	})
}

func FuzzEncodeKey(f *testing.F) {
	f.Add([]byte("a.b"))
	f.Fuzz(func(t *testing.T, k []byte) {
		enc, err := EncodeKey(k)
		if err != nil {
			return
		}
		if !natsKeyRe.MatchString(enc) || strings.ContainsAny(enc, ".*>") {
			t.Fatalf("EncodeKey(%q) = %q", k, enc)
		}
		if dec, err := DecodeKey(enc); err != nil || !bytes.Equal(dec, k) {
			t.Fatalf("round trip of %q gave %q, %v", k, dec, err)
		}
	})
}

func TestNames(t *testing.T) {
	l, err := New("prod")
	if err != nil {
		t.Fatal(err)
	}
	bucketRe := regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	for _, b := range []string{l.AppsBucket(), l.StatusBucket(), l.WasmStore(), l.AppKV("my-app")} {
		if !bucketRe.MatchString(b) {
			t.Errorf("bucket %q is not a valid bucket name", b)
		}
	}
	if l.AppKV("a") == l.AppKV("b") {
		t.Error("apps share a bucket")
	}
	if app, ok := AppOfDeployKey(DeployKey("basic")); !ok || app != "basic" {
		t.Errorf("AppOfDeployKey = %q, %v", app, ok)
	}
	for _, bad := range []string{"", "Prod", "1a", "a.b", "a*", strings.Repeat("a", 33)} {
		if _, err := New(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("New(%q) err = %v", bad, err)
		}
	}
	for _, bad := range []string{"", "a.b", "*", ">", "-a"} {
		if err := ValidNode(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidNode(%q) err = %v", bad, err)
		}
	}
}
