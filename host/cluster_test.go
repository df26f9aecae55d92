package host

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// clusterConfigs returns n host configs whose embedded NATS servers route
// to each other.
func clusterConfigs(t testing.TB, n int) []Config {
	t.Helper()
	ports := make([]int, n)
	routes := make([]string, n)
	for i := range ports {
		ports[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = testConfig(t, fmt.Sprintf("n%d", i+1))
		cfgs[i].ClusterListen = fmt.Sprintf("127.0.0.1:%d", ports[i])
		cfgs[i].Routes = append(append([]string{}, routes[:i]...), routes[i+1:]...)
	}
	return cfgs
}

// startCluster opens n hosts at once (a clustered JetStream forms only
// when enough of them are up) and waits until all are ready.
func startCluster(t testing.TB, n int) []*Host {
	t.Helper()
	cfgs := clusterConfigs(t, n)
	hosts := make([]*Host, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		h, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		hosts[i] = h
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			errs[i] = h.Open(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %s: %v", cfgs[i].NodeID, err)
		}
	}
	for _, h := range hosts {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = h.Close(ctx)
		})
		select {
		case <-h.Ready():
		case <-time.After(60 * time.Second):
			t.Fatalf("%s not ready", h.NodeID())
		}
	}
	return hosts
}

func TestThreeNodeEmbeddedCluster(t *testing.T) {
	hosts := startCluster(t, 3)
	for _, h := range hosts {
		if h.replicas != 3 {
			t.Fatalf("%s creates buckets with %d replicas, want 3", h.NodeID(), h.replicas)
		}
	}
	c1 := connect(t, hosts[0])
	m, wasm := loadBasic(t)
	deploy(t, c1, m, wasm)
	c3 := connect(t, hosts[2])
	if got := mustCall(t, c3, "basic", "greet", "from n3"); got != "Hello, from n3!" {
		t.Fatalf("greet via n3 = %q", got)
	}
	// The counter is in an R3 bucket: every node's instances share it.
	for i := 1; i <= 6; i++ {
		cl := c1
		if i%2 == 0 {
			cl = c3
		}
		if got := mustCall(t, cl, "basic", "incr", ""); got != fmt.Sprint(i) {
			t.Fatalf("incr #%d = %q", i, got)
		}
	}
}
