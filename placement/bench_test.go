package placement

import (
	"fmt"
	"testing"
)

// benchCluster is a cluster of exactly n nodes and a apps drawn like the
// property tests' (a third of the non-singleton apps are rings), without
// with and awayFrom rules so that every app is placed and paid for.
func benchCluster(a, n int) ([]App, []Node) {
	s := seeded(1)
	g := gen{nodes: n, apps: a}
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = g.node(s, i+1)
		nodes[i].Cordoned, nodes[i].Draining = false, false
	}
	apps := make([]App, a)
	for i := range apps {
		apps[i] = g.app(s, i, a, n)
	}
	return apps, nodes
}

// BenchmarkCompute is the scheduler's steady state: the same cluster again,
// with the previous assignment.
func BenchmarkCompute(b *testing.B) {
	for _, size := range []struct{ apps, nodes int }{{100, 5}, {1000, 50}} {
		b.Run(fmt.Sprintf("%dapps-%dnodes", size.apps, size.nodes), func(b *testing.B) {
			apps, nodes := benchCluster(size.apps, size.nodes)
			prev := Compute(apps, nodes, nil)
			b.ReportAllocs()
			for b.Loop() {
				Compute(apps, nodes, prev)
			}
		})
	}
}

func BenchmarkPartitionOf(b *testing.B) {
	key := []byte("user:1234567")
	for b.Loop() {
		PartitionOf(key, 256)
	}
}
