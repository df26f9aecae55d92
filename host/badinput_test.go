package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/internal/faultproxy"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/plugins"
)

// TestBadModulesAreRefused deploys modules no host could run: each is
// refused before anything is recorded, with the reason, and the app that
// already runs keeps serving.
func TestBadModulesAreRefused(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	deploy(t, c, testManifest(t, "good", ""), testapp(t))

	tests := []struct {
		name string
		wasm []byte
		want error
		says string
	}{
		{"garbage", []byte("this is not wasm at all"), plugins.ErrNotWasm, "not a wasm module"},
		{"truncated", testapp(t)[:100], plugins.ErrNotWasm, ""},
		{"missing exports", testwasm.Build(t, "plugins/testdata/guests/noexports"), abi.ErrNotAnApp, "gocluster_v1_handle"},
		{"unknown abi version", testwasm.Build(t, "plugins/testdata/guests/v9"), abi.ErrUnknownVersion, "gocluster_v9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Deploy(context.Background(), testManifest(t, "bad", ""), tt.wasm, nil)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("deploy err = %v, want %v mentioning %q", err, tt.want, tt.says)
			}
			if _, err := c.Registry().Current(context.Background(), "bad"); !errors.Is(err, abi.ErrNotFound) {
				t.Fatalf("a refused deploy was recorded: %v", err)
			}
			if got := mustCall(t, c, "good", "echo", "still here"); got != "still here" {
				t.Fatalf("good app answered %q", got)
			}
		})
	}
}

// TestBadModuleRecordedDirectly bypasses the client's check: the host
// refuses to run the module, says why in the app's status, and keeps
// serving the other apps.
func TestBadModuleRecordedDirectly(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	deploy(t, c, testManifest(t, "good", ""), testapp(t))
	d, err := c.Registry().Deploy(context.Background(), testManifest(t, "bad", ""), []byte("\x00asm garbage"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := waitState(t, c, "bad", d.Revision, "failed")
	if !strings.Contains(a.Error, "wasm") {
		t.Fatalf("status error %q does not say what is wrong", a.Error)
	}
	if got := mustCall(t, c, "good", "echo", "x"); got != "x" {
		t.Fatalf("good app answered %q", got)
	}
}

func TestBadManifestNamesField(t *testing.T) {
	tests := []struct{ yaml, field string }{
		{"version: 1.0.0\nwasm: a.wasm\napi: [x]\n", "name"},
		{"name: a\nversion: one\nwasm: a.wasm\napi: [x]\n", "version"},
		{"name: a\nversion: 1.0.0\nwasm: a.wasm\napi: []\n", "api"},
		{"name: a\nversion: 1.0.0\nwasm: a.wasm\napi: [x]\nlimits: {memory: lots}\n", "limits.memory"},
		{"name: a\nversion: 1.0.0\nwasm: a.wasm\napi: [x]\nmode: everywhere\n", "mode"},
		{"name: a\nversion: 1.0.0\nwasm: a.wasm\napi: [x]\nbogus: 1\n", "bogus"},
	}
	for _, tt := range tests {
		_, err := manifest.Parse([]byte(tt.yaml))
		if !errors.Is(err, abi.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Parse(%q) err = %v, want one naming %s", tt.yaml, err, tt.field)
		}
	}
}

// TestHostileGuests runs guests that loop, grow memory, panic, send or
// ask too much: each call fails with the right status, only that call is
// affected, and the next call on the same app succeeds.
func TestHostileGuests(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	wasm := testapp(t)
	deploy(t, c, testManifest(t, "victim", "limits: {timeout: 300ms, memory: 32MiB, payload: 64KiB, instances: 2}\n"), wasm)
	deploy(t, c, testManifest(t, "bystander", ""), wasm)

	tests := []struct {
		name, method, payload string
		want                  abi.Status
		says                  string
	}{
		{"loop forever", "loop", "", abi.StatusTimeout, "timeout"},
		{"grow without end", "grow", "", abi.StatusLimit, "memory"},
		{"panic", "panic", "", abi.StatusInternal, ""},
		{"payload over limit", "echo", strings.Repeat("x", 65*1024), abi.StatusLimit, "payload"},
		{"reply over limit", "big", "100000", abi.StatusLimit, ""},
		{"guest error", "fail", "2:already there", abi.StatusConflict, "already there"},
		{"unknown method", "nope", "", abi.StatusNotFound, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, c, "victim", tt.method, tt.payload)
			wantStatus(t, err, tt.want, tt.says)
			if got := mustCall(t, c, "victim", "echo", "next"); got != "next" {
				t.Fatalf("next call answered %q", got)
			}
			if got := mustCall(t, c, "bystander", "echo", "fine"); got != "fine" {
				t.Fatalf("bystander answered %q", got)
			}
		})
	}
	_, err := call(t, c, "nosuchapp", "echo", "")
	wantStatus(t, err, abi.StatusNotFound, "unknown app")
}

// TestDeployWithNATSUnreachable cuts the link to NATS under a connected
// client: the deploy fails with a clear error and nothing is recorded.
func TestDeployWithNATSUnreachable(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	_, err := client.Connect(context.Background(), client.Config{URL: "nats://127.0.0.1:1", Timeout: time.Second})
	if !errors.Is(err, abi.ErrUnavailable) || !strings.Contains(err.Error(), "go-cluster host") {
		t.Fatalf("connect to nothing: %v", err)
	}

	proxy, err := faultproxy.New(strings.TrimPrefix(h.ClientURL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c, err := client.Connect(context.Background(), client.Config{URL: proxy.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	proxy.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Deploy(ctx, testManifest(t, "cut", ""), testapp(t), nil)
	if err == nil {
		t.Fatal("deploy through a cut link succeeded")
	}
	if !errors.Is(err, abi.ErrUnavailable) && !errors.Is(err, abi.ErrTimeout) {
		t.Fatalf("deploy err = %v, want unavailable or timeout", err)
	}
	direct := connect(t, h)
	if _, err := direct.Registry().Current(context.Background(), "cut"); !errors.Is(err, abi.ErrNotFound) {
		t.Fatalf("a failed deploy left a record: %v", err)
	}
}
