package host

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/netnstest"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
)

const convexDir = "examples/convex-backend"

// buildConvexServer builds the example's native service.
func buildConvexServer(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "convex-server")
	cmd := exec.Command("go", "build", "-o", bin, "./server")
	cmd.Dir = filepath.Join("..", convexDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the convex server: %v\n%s", err, out)
	}
	return bin
}

// convexManifest is the example's own app.yaml with this topology's
// address and interface and the server just built.
func convexManifest(t testing.TB, vp *vipPlatform, server string) *manifest.Manifest {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", convexDir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	m.VIP.Address, m.VIP.Interface = vp.vip.String(), netnstest.Iface
	m.Backend.Command = server
	return m
}

type convexDoc struct {
	ID  int64           `json:"id"`
	Doc json.RawMessage `json:"doc"`
}

// convexGet asks the convex server behind the VIP for a table, from the
// client namespace, and returns the documents and the node that served.
func convexGet(vp *vipPlatform, table string, timeout time.Duration) ([]convexDoc, string, error) {
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: vp.topo.Client.Dial, DisableKeepAlives: true}}
	resp, err := hc.Get(fmt.Sprintf("http://%s:3210/tables/%s", vp.vip.Addr(), table))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	var docs []convexDoc
	err = json.Unmarshal(body, &docs)
	return docs, resp.Header.Get("X-Node"), err
}

// TestConvexBackendExample runs examples/convex-backend end to end: three
// hosts in network namespaces, documents written through the app's API
// and read back through the native server on the VIP, then the active
// machine dies and the new active's server, on the same VIP, serves every
// acknowledged document.
func TestConvexBackendExample(t *testing.T) {
	vp := newVIPPlatform(t, 3)
	m := convexManifest(t, vp, buildConvexServer(t))
	c := connect(t, vp.host("n1"))
	deploy(t, c, m, testwasm.Build(t, convexDir))
	for i := range 5 {
		mustCall(t, c, "convex", "put", fmt.Sprintf(`{"table":"messages","doc":{"n":%d}}`, i))
	}
	active := vp.active("convex", time.Time{})
	var docs []convexDoc
	var servedBy string
	waitFor(t, 30*time.Second, "the convex server on the vip", func() bool {
		var err error
		docs, servedBy, err = convexGet(vp, "messages", 500*time.Millisecond)
		return err == nil
	})
	if len(docs) != 5 || servedBy != active {
		t.Fatalf("before the failover: %d documents served by %s, want 5 by %s", len(docs), servedBy, active)
	}

	killed := time.Now()
	if err := vp.nodes[active].Down(); err != nil {
		t.Fatal(err)
	}
	vp.kill(active)
	waitFor(t, 60*time.Second, "the convex server on the vip after the failover", func() bool {
		var err error
		docs, servedBy, err = convexGet(vp, "messages", 200*time.Millisecond)
		return err == nil && servedBy != active
	})
	t.Logf("%s died; %s served the documents on the vip after %v", active, servedBy, time.Since(killed).Round(time.Millisecond))
	if len(docs) != 5 {
		t.Fatalf("after the failover: %d documents, want every acknowledged one (5): %v", len(docs), docs)
	}
	caller := connect(t, vp.host(servedBy))
	mustCall(t, caller, "convex", "put", `{"table":"messages","doc":{"n":5}}`)
	waitFor(t, 10*time.Second, "the new document on the vip", func() bool {
		docs, _, _ = convexGet(vp, "messages", 500*time.Millisecond)
		return len(docs) == 6
	})
}
