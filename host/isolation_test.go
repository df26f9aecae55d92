package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/layout"
)

var hostileKeys = [][]byte{
	[]byte("*"), []byte(">"), []byte(".."), []byte("a.b"), []byte("a.*"), []byte("x.>"),
	[]byte("\xff\xfe\x00bin"), []byte("$KV.gc_default_kv_b.secret"), []byte("../kv_b/secret"),
	[]byte("secret"), bytes.Repeat([]byte("k"), abi.MaxKeyLen),
}

// TestIsolation deploys apps a and b and tries every KV entry point of a
// with hostile keys to reach b's data. Nothing of b's is ever seen.
func TestIsolation(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	wasm := testapp(t)
	deploy(t, c, testManifest(t, "a", "data: {kv: true}\n"), wasm)
	deploy(t, c, testManifest(t, "b", "data: {kv: true}\n"), wasm)
	deploy(t, c, testManifest(t, "nokv", ""), wasm)

	for _, k := range hostileKeys {
		if _, err := kv(t, c, "b", kvReq{Op: "put", Key64: k, Value64: []byte("b's")}); err != nil {
			t.Fatalf("b put %q: %v", k, err)
		}
	}
	for _, k := range hostileKeys {
		if _, err := kv(t, c, "a", kvReq{Op: "get", Key64: k}); !errors.Is(err, abi.ErrNotFound) {
			t.Errorf("a get %q = %v, want not found", k, err)
		}
		if _, err := kv(t, c, "a", kvReq{Op: "update", Key64: k, Value64: []byte("a's"), Rev: 1}); err == nil {
			t.Errorf("a update %q over b's revision succeeded", k)
		}
		if _, err := kv(t, c, "a", kvReq{Op: "create", Key64: k, Value64: []byte("a's")}); err != nil {
			t.Errorf("a create %q: %v (b's key must not exist for a)", k, err)
		}
		if _, err := kv(t, c, "a", kvReq{Op: "delete", Key64: k}); err != nil {
			t.Errorf("a delete %q: %v", k, err)
		}
	}
	for _, bad := range [][]byte{{}, bytes.Repeat([]byte("k"), abi.MaxKeyLen+1)} {
		for _, op := range []string{"get", "put", "create", "update", "delete"} {
			_, err := kv(t, c, "a", kvReq{Op: op, Key64: bad, Value64: []byte("v"), Rev: 1})
			if !errors.Is(err, abi.ErrInvalid) {
				t.Errorf("a %s with a key of %d bytes = %v, want invalid", op, len(bad), err)
			}
		}
	}
	for _, prefix := range [][]byte{nil, []byte("*"), []byte(">"), []byte("$KV"), []byte("..")} {
		r, err := kv(t, c, "a", kvReq{Op: "keys", Prefix: prefix})
		if err != nil || len(r.Keys64) != 0 {
			t.Errorf("a keys %q = %q, %v; want none (a deleted its own)", prefix, r.Keys64, err)
		}
	}
	// b still has every key with its own value.
	for _, k := range hostileKeys {
		r, err := kv(t, c, "b", kvReq{Op: "get", Key64: k})
		if err != nil || string(r.Value64) != "b's" {
			t.Errorf("b get %q = %q, %v", k, r.Value64, err)
		}
	}
	r, err := kv(t, c, "b", kvReq{Op: "keys"})
	if err != nil || len(r.Keys64) != len(hostileKeys) {
		t.Errorf("b keys = %d, %v; want %d", len(r.Keys64), err, len(hostileKeys))
	}
	// An app without the kv grant is denied, whatever the key.
	for _, op := range []string{"get", "put", "create", "update", "delete", "keys"} {
		_, err := kv(t, c, "nokv", kvReq{Op: op, Key64: []byte("secret"), Value64: []byte("v"), Rev: 1})
		if !errors.Is(err, abi.ErrDenied) {
			t.Errorf("nokv %s = %v, want denied", op, err)
		}
	}
	// On the NATS side every key of b's sits in b's bucket, one token each.
	js, _ := jetstream.New(c.Conn())
	l, _ := layout.New(layout.DefaultPlatform)
	bkv, err := js.KeyValue(context.Background(), l.AppKV("b"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := bkv.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.ContainsAny(k, ".*>") {
			t.Errorf("stored key %q is not a single literal token", k)
		}
	}
}

// TestRawABIAttack runs a guest that calls every host function with
// out-of-bounds pointers and lengths: each is refused as invalid, and the
// host keeps serving.
func TestRawABIAttack(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	m := testManifest(t, "raw", "data: {kv: true}\n")
	m.API = []string{"attack", "attack_log", "attack_reply", "echo"}
	deploy(t, c, m, testwasm.Build(t, "plugins/testdata/guests/raw"))
	out := mustCall(t, c, "raw", "attack", "")
	var codes map[string]int32
	if err := json.Unmarshal([]byte(out), &codes); err != nil {
		t.Fatalf("attack reply %q: %v", out, err)
	}
	if len(codes) == 0 {
		t.Fatal("attack tried nothing")
	}
	for fn, code := range codes {
		if code != -int32(abi.StatusInvalid) {
			t.Errorf("%s with hostile pointers returned %d, want %d", fn, code, -abi.StatusInvalid)
		}
	}
	if got := mustCall(t, c, "raw", "attack", ""); got != out {
		t.Errorf("second attack answered differently: %q", got)
	}
	if got := mustCall(t, c, "raw", "attack_log", ""); got != "ok" {
		t.Errorf("attack_log = %q", got)
	}
	if _, err := call(t, c, "raw", "attack_reply", ""); err == nil {
		t.Error("a reply from out of bounds succeeded")
	}
	if got := mustCall(t, c, "raw", "echo", "alive"); got != "alive" {
		t.Errorf("echo after the attacks = %q", got)
	}
}
