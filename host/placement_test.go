package host

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/registry"
)

// runningOn returns the nodes that report app running at its current
// revision, sorted.
func runningOn(t testing.TB, p *platform, app string) []string {
	c := connect(t, p.anyHost())
	apps, err := c.Apps(context.Background())
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range apps {
		if a.Name != app {
			continue
		}
		for _, n := range a.Nodes {
			if n.Revision == a.Revision && n.State == registry.StateRunning && p.host(n.Node) != nil {
				out = append(out, n.Node)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (p *platform) anyHost() *Host {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.hosts))
	for id := range p.hosts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return p.hosts[ids[0]]
}

func waitRunningOn(t testing.TB, p *platform, app string, want ...string) {
	t.Helper()
	sort.Strings(want)
	var got []string
	if !poll(60*time.Second, 50*time.Millisecond, func() bool {
		got = runningOn(t, p, app)
		return slices.Equal(got, want)
	}) {
		t.Fatalf("%s runs on %v, want %v", app, got, want)
	}
}

func setOp(t testing.TB, p *platform, key, val string) {
	t.Helper()
	if _, err := p.anyHost().b.ops.Put(context.Background(), key, []byte(val)); err != nil {
		t.Fatal(err)
	}
}

// TestPlacementOnPlatform runs five labelled nodes and apps of every mode
// with label, node-list and anti-affinity rules, then drains, moves and
// kills: every app runs where its rules say, and says why when it cannot.
func TestPlacementOnPlatform(t *testing.T) {
	labels := map[string]map[string]string{
		"n1": {"zone": "a"}, "n2": {"zone": "a"}, "n3": {"zone": "b"}, "n4": {"zone": "b"}, "n5": {"zone": "c"},
	}
	p := newLabelledPlatform(t, 3, 5, labels)
	c := connect(t, p.host("n1"))
	wasm := testapp(t)
	one := "limits: {instances: 1}\n"
	deploy(t, c, testManifest(t, "web", "mode: spread\npattern: pool\nplacement: {labels: {zone: a}}\n"+one), wasm)
	deploy(t, c, testManifest(t, "db", "mode: singleton\nplacement: {nodes: [n3, n4]}\n"+one), wasm)
	deploy(t, c, testManifest(t, "worker", "mode: replicas\nreplicas: 3\npattern: pool\nplacement: {awayFrom: [db]}\n"+one), wasm)

	waitRunningOn(t, p, "web", "n1", "n2")
	waitRunningOn(t, p, "db", "n3", "n4")
	waitRunningOn(t, p, "worker", "n1", "n2", "n5")
	if got := mustCall(t, c, "worker", "echo", "pool"); got != "pool" {
		t.Fatalf("worker echo = %q", got)
	}

	// Drain n1: nothing stays there.
	setOp(t, p, layout.DrainKey("n1"), "")
	waitRunningOn(t, p, "web", "n2")
	waitRunningOn(t, p, "worker", "n2", "n5")
	apps, err := c.Apps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.Name == "worker" && !strings.Contains(a.Error+a.Reason, "2 of 3") {
			t.Errorf("worker on 2 of 3 nodes says %q", a.Error+a.Reason)
		}
	}

	// Move db's active to the other node.
	first := p.active("db", time.Time{})
	target := "n3"
	if first == "n3" {
		target = "n4"
	}
	moved := time.Now()
	setOp(t, p, layout.MoveKey("db"), target)
	waitFor(t, 60*time.Second, "db's move to "+target+" to take", func() bool {
		for _, a := range p.activations("db") {
			if a.Node == target && a.Ended.IsZero() && a.Began.After(moved) {
				return true
			}
		}
		return false
	})
	checkFencing(t, p.activations("db"))
}
