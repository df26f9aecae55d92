package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
)

// callerManifest is a testapp manifest whose api includes call, the
// method that makes the guest call another app.
func callerManifest(t testing.TB, name, yamlExtra string) *manifest.Manifest {
	t.Helper()
	src := "name: " + name + "\nversion: 1.0.0\nwasm: app.wasm\n" +
		"api: [echo, fail, kv, events, call]\n" + yamlExtra
	m, err := manifest.Parse([]byte(src))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// guestCall asks app's guest to call target's method.
type guestCall struct {
	App     string `json:"app"`
	Method  string `json:"method"`
	Payload string `json:"payload,omitempty"`
	Key     string `json:"key,omitempty"`
}

func callVia(t testing.TB, c *client.Client, app string, req guestCall) (string, error) {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return call(t, c, app, "call", string(b))
}

// TestCallsFromAGuest: a guest reaches the apps its manifest lists and
// itself, is denied any other, sees the callee's status as its own error,
// and the callee acts with its own capabilities only.
func TestCallsFromAGuest(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	wasm := testapp(t)
	deploy(t, c, callerManifest(t, "users", ""), wasm)
	deploy(t, c, callerManifest(t, "front", "calls: [users]\ndata: {kv: true}\n"), wasm)
	deploy(t, c, callerManifest(t, "lonely", ""), wasm)

	out, err := callVia(t, c, "front", guestCall{App: "users", Method: "echo", Payload: "hi"})
	if err != nil || out != "hi" {
		t.Fatalf("front -> users.echo = %q, %v", out, err)
	}
	if out, err := callVia(t, c, "front", guestCall{App: "front", Method: "echo", Payload: "me"}); err != nil || out != "me" {
		t.Errorf("front -> front.echo = %q, %v", out, err)
	}

	_, err = callVia(t, c, "lonely", guestCall{App: "users", Method: "echo"})
	if !errors.Is(err, abi.ErrDenied) {
		t.Errorf("lonely -> users: %v, want denied", err)
	}

	// The callee's status crosses both hops: users -> front's guest ->
	// front's caller.
	for _, s := range []abi.Status{abi.StatusNotFound, abi.StatusConflict, abi.StatusLimit} {
		_, err := callVia(t, c, "front", guestCall{App: "users", Method: "fail", Payload: fmt.Sprintf("%d:nope", s)})
		if !errors.Is(err, s.Err()) {
			t.Errorf("users failed with %v; front's caller got %v", s, err)
		}
	}

	// front may use kv; users may not, and calling it from front lends
	// it nothing.
	req, _ := json.Marshal(kvReq{Op: "put", Key64: []byte("k"), Value64: []byte("v")})
	if _, err := call(t, c, "front", "kv", string(req)); err != nil {
		t.Fatalf("front's own kv: %v", err)
	}
	_, err = callVia(t, c, "front", guestCall{App: "users", Method: "kv", Payload: string(req)})
	if !errors.Is(err, abi.ErrDenied) {
		t.Errorf("users' kv called from front: %v, want denied", err)
	}

	_, err = callVia(t, c, "front", guestCall{App: "users", Method: "nosuch"})
	if !errors.Is(err, abi.ErrUnavailable) {
		t.Errorf("a method nothing serves: %v, want unavailable", err)
	}
	_, err = callVia(t, c, "front", guestCall{App: "users", Method: "bad.method"})
	if !errors.Is(err, abi.ErrInvalid) {
		t.Errorf("a method name with a dot: %v, want invalid", err)
	}
	_, err = callVia(t, c, "front", guestCall{App: "users", Method: "echo", Key: "a\r\nGc-Caller: users"})
	if !errors.Is(err, abi.ErrInvalid) {
		t.Errorf("a key with a line break: %v, want invalid", err)
	}
}

// TestCallCarriesCallerIdentity listens on a method subject itself, as
// the guest cannot read headers yet, and checks what the host sent.
func TestCallCarriesCallerIdentity(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	deploy(t, c, callerManifest(t, "front", "calls: [users]\n"), testapp(t))

	nc, err := nats.Connect(h.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var got nats.Header
	sub, err := nc.Subscribe(h.layout.APISubject("users", "whoami"), func(m *nats.Msg) {
		mu.Lock()
		got = m.Header
		mu.Unlock()
		_ = m.Respond([]byte("seen"))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	out, err := callVia(t, c, "front", guestCall{App: "users", Method: "whoami", Key: "k7"})
	if err != nil || out != "seen" {
		t.Fatalf("front -> users.whoami = %q, %v", out, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for name, want := range map[string]string{CallerHeader: "front", CallerNodeHeader: "n1", "Gc-Key": "k7"} {
		if v := got.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
}

// TestCallReachesRingOwner: a guest on any node calling a ring app with a
// key is served by the node that owns the key's partition.
func TestCallReachesRingOwner(t *testing.T) {
	const parts = 16
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	wasm := testapp(t)
	deploy(t, c, callerManifest(t, "cache", fmt.Sprintf("mode: spread\npattern: ring\npartitions: %d\nlimits: {instances: 1}\n", parts)), wasm)
	deploy(t, c, callerManifest(t, "front", "mode: spread\ncalls: [cache]\n"), wasm)
	p.converged("cache", parts)

	for _, node := range []string{"n1", "n2", "n3"} {
		cl := connect(t, p.host(node))
		for k := range 8 {
			key := fmt.Sprintf("key-%d", k)
			part := placement.PartitionOf([]byte(key), parts)
			b, _ := json.Marshal(guestCall{App: "cache", Method: "events", Key: key})
			out, err := cl.Call(context.Background(), "front", "call", b, client.CallOptions{Timeout: 20 * time.Second})
			if err != nil {
				t.Fatalf("via %s, key %s: %v", node, key, err)
			}
			var rep struct {
				Owned []int `json:"owned"`
			}
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("events reply %q: %v", out, err)
			}
			if !slices.Contains(rep.Owned, part) {
				t.Errorf("via %s, key %s (partition %d) served by a node owning %v", node, key, part, rep.Owned)
			}
		}
	}
}
