package host

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
)

func loadBasic(t testing.TB) (*manifest.Manifest, []byte) {
	t.Helper()
	m, err := manifest.Parse(mustRead(t, "../"+basicDir+"/app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m, testwasm.Build(t, basicDir)
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBasicEndToEnd(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	m, wasm := loadBasic(t)
	d := deploy(t, c, m, wasm)

	if got := mustCall(t, c, "basic", "greet", "world"); !strings.Contains(got, "world") {
		t.Fatalf("greet = %q, want it to contain the payload", got)
	}
	for i := 1; i <= 3; i++ {
		if got := mustCall(t, c, "basic", "incr", ""); got != fmt.Sprint(i) {
			t.Fatalf("incr #%d = %q", i, got)
		}
	}
	a := waitState(t, c, "basic", d.Revision, "running")
	if a.Instances < 1 || len(a.Nodes) != 1 || a.Nodes[0].Node != "n1" {
		t.Fatalf("apps shows %+v", a)
	}

	// Reads go to the KV stream's leader: a direct get may be answered by
	// a replica that has not applied the last write.
	st, err := h.js.Stream(context.Background(), "KV_"+h.layout.AppKV("basic"))
	if err != nil {
		t.Fatal(err)
	}
	if st.CachedInfo().Config.AllowDirect {
		t.Error("the app's KV stream allows direct gets")
	}

	metrics := httpGet(t, "http://"+h.HTTPAddr()+"/metrics")
	for _, want := range []string{
		`gocluster_app_calls_total{app="basic",method="greet",node="n1",outcome="ok"} 1`,
		`gocluster_app_calls_total{app="basic",method="incr",node="n1",outcome="ok"} 3`,
		`gocluster_app_call_duration_seconds_bucket{app="basic",method="greet",node="n1",outcome="ok",le=`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := httpGet(t, "http://"+h.HTTPAddr()+"/readyz"); !strings.Contains(got, "ready") {
		t.Errorf("/readyz = %q", got)
	}
	if got := httpGet(t, "http://"+h.HTTPAddr()+"/healthz"); !strings.Contains(got, "ok") {
		t.Errorf("/healthz = %q", got)
	}
}

// TestConcurrentIncr runs calls on every instance at once; the counter's
// compare-and-set keeps every increment.
func TestConcurrentIncr(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	m, wasm := loadBasic(t)
	deploy(t, c, m, wasm)

	const n = 40
	var wg sync.WaitGroup
	seen := make(chan string, n)
	for range n {
		wg.Go(func() {
			out, err := call(t, c, "basic", "incr", "")
			if err != nil {
				t.Error(err)
				return
			}
			seen <- out
		})
	}
	wg.Wait()
	close(seen)
	distinct := map[string]bool{}
	for s := range seen {
		if distinct[s] {
			t.Errorf("two increments returned %s", s)
		}
		distinct[s] = true
	}
	if got := mustCall(t, c, "basic", "incr", ""); got != fmt.Sprint(n+1) {
		t.Fatalf("after %d concurrent increments the next is %s", n, got)
	}
}

func TestRedeployRollbackUndeploy(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	wasm := testapp(t)
	ctx := context.Background()

	v1 := testManifest(t, "app", "config: {v: one}\n")
	deploy(t, c, v1, wasm)
	if got := mustCall(t, c, "app", "config", "v"); got != "one" {
		t.Fatalf("v1 config = %q", got)
	}
	v2 := testManifest(t, "app", "config: {v: two}\n")
	v2.Version = "1.1.0"
	d2 := deploy(t, c, v2, wasm)
	if got := mustCall(t, c, "app", "config", "v"); got != "two" {
		t.Fatalf("v2 config = %q", got)
	}
	// Deploying the same again changes nothing.
	if again, err := c.Deploy(ctx, v2, wasm, nil); err != nil || again.Revision != d2.Revision {
		t.Fatalf("identical redeploy = %+v, %v; want revision %d", again, err, d2.Revision)
	}

	back, err := c.Registry().Rollback(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "app", back.Revision, "running")
	if back.Version != "1.0.0" || mustCall(t, c, "app", "config", "v") != "one" {
		t.Fatalf("rollback went to %s", back.Version)
	}
	fwd, err := c.Registry().Rollback(ctx, "app", "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "app", fwd.Revision, "running")
	if got := mustCall(t, c, "app", "config", "v"); got != "two" {
		t.Fatalf("rollback to 1.1.0 serves config %q", got)
	}
	if _, err := c.Registry().Rollback(ctx, "app", "9.9.9"); err == nil {
		t.Fatal("rollback to a version never deployed succeeded")
	}

	if err := c.Registry().Undeploy(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "undeployed app to stop answering", func() bool {
		_, err := call(t, c, "app", "echo", "x")
		return err != nil
	})
	hist, err := c.Registry().History(ctx, "app")
	if err != nil || len(hist) != 4 {
		t.Fatalf("history = %d entries, %v; want 4", len(hist), err)
	}
}

// TestRestartServesAgain closes a host and opens a new one on the same
// data directory: it serves its apps from its local copies.
func TestRestartServesAgain(t *testing.T) {
	cfg := testConfig(t, "n1")
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Open(ctx); err != nil {
		t.Fatal(err)
	}
	c := connect(t, h)
	m, wasm := loadBasic(t)
	deploy(t, c, m, wasm)
	mustCall(t, c, "basic", "incr", "")
	c.Close()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}

	h2 := startHost(t, cfg)
	c2 := connect(t, h2)
	if got := mustCall(t, c2, "basic", "incr", ""); got != "2" {
		t.Fatalf("after restart incr = %q, want 2", got)
	}
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
