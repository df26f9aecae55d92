package host

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
)

const extismappDir = "plugins/testdata/guests/extismapp"

// extismManifest is the manifest of the extismapp guest, an Extism plugin
// (see its source for the methods).
func extismManifest(t testing.TB, name string) *manifest.Manifest {
	t.Helper()
	src := "name: " + name + "\nversion: 1.0.0\nwasm: app.wasm\n" +
		"api: [greet, host, kv_get, kv_roundtrip, fail_with_status, config, events]\n" +
		"data: {kv: true}\nconfig: {colour: blue}\n"
	m, err := manifest.Parse([]byte(src))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// TestExtismPluginServes deploys an Extism plugin on a single node and
// calls it through the client: its capabilities are the real ones.
func TestExtismPluginServes(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	deploy(t, c, extismManifest(t, "ext"), testwasm.Build(t, extismappDir))

	if got := mustCall(t, c, "ext", "greet", "cluster"); got != "Hello, cluster!" {
		t.Errorf("greet = %q", got)
	}
	if got := mustCall(t, c, "ext", "config", "colour"); got != "blue" {
		t.Errorf("config = %q", got)
	}

	// A write in one call, read back in another, through NATS KV.
	put := mustCall(t, c, "ext", "host", `{"fn":"kv_put","req":{"key":"greeting","value":"aGVsbG8="}}`)
	var rev struct{ Revision uint64 }
	if err := json.Unmarshal([]byte(put), &rev); err != nil || rev.Revision == 0 {
		t.Fatalf("kv_put = %s, %v", put, err)
	}
	if got := mustCall(t, c, "ext", "kv_get", "greeting"); got != "hello" {
		t.Errorf("kv_get = %q", got)
	}
	_, err := call(t, c, "ext", "kv_get", "absent")
	wantStatus(t, err, abi.StatusNotFound, "not found")
	if !errors.Is(err, abi.ErrNotFound) {
		t.Errorf("kv_get absent: %v does not match abi.ErrNotFound", err)
	}

	var rep struct {
		Put, Updated                    uint64
		Got                             string
		CreateConflict, MissingNotFound bool
		Keys                            []string
	}
	out := mustCall(t, c, "ext", "kv_roundtrip", `{"key":"k1","value":"v"}`)
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("kv_roundtrip = %s: %v", out, err)
	}
	if rep.Got != "v" || rep.Updated <= rep.Put || !rep.CreateConflict || !rep.MissingNotFound || len(rep.Keys) != 1 || rep.Keys[0] != "k1" {
		t.Errorf("kv_roundtrip = %+v", rep)
	}

	_, err = call(t, c, "ext", "fail_with_status", "conflict: taken")
	wantStatus(t, err, abi.StatusConflict, "taken")

	// The only node holds the lease: the plugin is told it is active.
	waitFor(t, 30*time.Second, "the plugin to be told it is active", func() bool {
		out, err := call(t, c, "ext", "events", "")
		return err == nil && strings.Contains(out, `{"kind":"active"}`)
	})
}
