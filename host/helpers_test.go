package host

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/ozanturksever/go-cluster/internal/testwait"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
)

const (
	testappDir = "plugins/testdata/guests/testapp"
	basicDir   = "examples/basic"
)

// waitFor checks cond every 10ms until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, 10*time.Millisecond, what, cond)
}

var poll = testwait.Poll

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("GOCLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig(t testing.TB, node string) Config {
	return Config{
		NodeID:   node,
		DataDir:  t.TempDir(),
		Listen:   "127.0.0.1:-1",
		HTTPAddr: "127.0.0.1:0",
		Retry:    200 * time.Millisecond,
		Logger:   testLogger(t),
	}
}

// startHost opens a host with an embedded NATS; Cleanup closes it.
func startHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	select {
	case <-h.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("host not ready")
	}
	return h
}

func connect(t testing.TB, h *Host) *client.Client {
	t.Helper()
	c, err := client.Connect(context.Background(), client.Config{URL: h.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testManifest returns a valid manifest for the testapp guest.
func testManifest(t testing.TB, name, yamlExtra string) *manifest.Manifest {
	t.Helper()
	src := "name: " + name + "\nversion: 1.0.0\nwasm: app.wasm\n" +
		"api: [echo, fail, panic, loop, grow, big, hostcalls, kv, config, log, errorsis, events, insert, ids, sql, lock, publish, received]\n" + yamlExtra
	m, err := manifest.Parse([]byte(src))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// deploy deploys and waits until this platform serves that revision.
func deploy(t testing.TB, c *client.Client, m *manifest.Manifest, wasm []byte) *registry.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := c.Deploy(ctx, m, wasm, nil)
	if err != nil {
		t.Fatalf("deploy %s: %v", m.Name, err)
	}
	waitState(t, c, d.App, d.Revision, "running")
	return d
}

// waitState waits until app's revision has status on the platform.
func waitState(t testing.TB, c *client.Client, app string, rev uint64, status string) client.App {
	t.Helper()
	var got client.App
	waitFor(t, 60*time.Second, app+" "+status, func() bool {
		apps, err := c.Apps(context.Background())
		if err != nil {
			return false
		}
		for _, a := range apps {
			if a.Name == app && a.Revision == rev {
				got = a
				if a.Status == "failed" && status != "failed" {
					t.Fatalf("%s failed: %s", app, a.Error)
				}
				return a.Status == status
			}
		}
		return false
	})
	return got
}

func call(t testing.TB, c *client.Client, app, method string, payload string) (string, error) {
	t.Helper()
	out, err := c.Call(context.Background(), app, method, []byte(payload), client.CallOptions{Timeout: 20 * time.Second})
	return string(out), err
}

func mustCall(t testing.TB, c *client.Client, app, method string, payload string) string {
	t.Helper()
	out, err := call(t, c, app, method, payload)
	if err != nil {
		t.Fatalf("%s.%s(%q): %v", app, method, payload, err)
	}
	return out
}

func wantStatus(t testing.TB, err error, want abi.Status, contains string) {
	t.Helper()
	if abi.StatusOf(err) != want {
		t.Fatalf("err = %v (status %v), want status %v", err, abi.StatusOf(err), want)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("err = %q, want it to mention %q", err, contains)
	}
}

// kvReq is the testapp guest's kv request.
type kvReq struct {
	Op      string `json:"op"`
	Key64   []byte `json:"key64,omitempty"`
	Value64 []byte `json:"value64,omitempty"`
	Prefix  []byte `json:"prefix64,omitempty"`
	Rev     uint64 `json:"rev,omitempty"`
}

type kvResp struct {
	Value64 []byte   `json:"value64"`
	Rev     uint64   `json:"rev"`
	Keys64  [][]byte `json:"keys64"`
}

func kv(t testing.TB, c *client.Client, app string, req kvReq) (kvResp, error) {
	t.Helper()
	b, _ := json.Marshal(req)
	out, err := call(t, c, app, "kv", string(b))
	var r kvResp
	if err == nil {
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
			t.Fatalf("kv reply %q: %v", out, jerr)
		}
	}
	return r, err
}

func testapp(t testing.TB) []byte { return testwasm.Build(t, testappDir) }
