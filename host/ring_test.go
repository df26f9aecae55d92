package host

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/client"
)

// owners returns, per partition of app, the live hosts that serve it now.
func (p *platform) owners(app string) map[int][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int][]string{}
	for node, h := range p.hosts {
		for _, s := range h.OwnSpans() {
			if s.App == app && s.Ended.IsZero() {
				out[s.Partition] = append(out[s.Partition], node)
			}
		}
	}
	return out
}

// converged waits until every partition has exactly one live owner.
func (p *platform) converged(app string, partitions int) {
	p.t.Helper()
	waitFor(p.t, 60*time.Second, app+" ring ownership", func() bool {
		o := p.owners(app)
		if len(o) != partitions {
			return false
		}
		for _, nodes := range o {
			if len(nodes) != 1 {
				return false
			}
		}
		return true
	})
}

// checkRing asserts no partition was ever served by two nodes at once.
func checkRing(t testing.TB, p *platform, app string) {
	t.Helper()
	byPart := map[int][]OwnSpan{}
	p.mu.Lock()
	for _, h := range p.all {
		for _, s := range h.OwnSpans() {
			if s.App == app {
				byPart[s.Partition] = append(byPart[s.Partition], s)
			}
		}
	}
	p.mu.Unlock()
	for part, spans := range byPart {
		sort.Slice(spans, func(i, j int) bool { return spans[i].Began.Before(spans[j].Began) })
		for i := 1; i < len(spans); i++ {
			prev, next := spans[i-1], spans[i]
			if prev.Ended.IsZero() || prev.Ended.After(next.Began) {
				t.Errorf("partition %d owned by %s (until %v) and %s (from %v) at once", part, prev.Node, prev.Ended, next.Node, next.Began)
			}
		}
	}
}

// TestRingOwnership deploys a ring app on three nodes, calls it by key
// from every node, kills a node and brings it back: after every change
// each partition has exactly one owner, and none ever had two.
func TestRingOwnership(t *testing.T) {
	const parts = 16
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	m := testManifest(t, "cache", fmt.Sprintf("mode: spread\npattern: ring\npartitions: %d\nlimits: {instances: 1}\n", parts))
	deploy(t, c, m, testapp(t))
	p.converged("cache", parts)

	for _, node := range []string{"n1", "n2", "n3"} {
		cl := connect(t, p.host(node))
		for k := range 8 {
			key := fmt.Sprintf("key-%d", k)
			out, err := cl.Call(context.Background(), "cache", "echo", []byte(key), client.CallOptions{Key: key, Timeout: 20 * time.Second})
			if err != nil || string(out) != key {
				t.Fatalf("call via %s with key %s = %q, %v", node, key, out, err)
			}
		}
	}

	p.kill("n2")
	p.converged("cache", parts)
	p.start("n2")
	p.converged("cache", parts)
	waitFor(t, 60*time.Second, "n2 to own partitions again", func() bool {
		for _, nodes := range p.owners("cache") {
			if nodes[0] == "n2" {
				return true
			}
		}
		return false
	})
	checkRing(t, p, "cache")
}
