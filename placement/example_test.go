package placement_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
)

// The platform of the architecture picture: five nodes; convex active on
// n1 with standbys on n2 and n3; cache and api on every node, cache split
// into a 256-partition ring; worker on three of the five; scheduler on the
// nodes labelled for it.
func Example() {
	ssd := map[string]string{"disk": "ssd"}
	nodes := []placement.Node{
		{ID: "n1", Labels: ssd},
		{ID: "n2"},
		{ID: "n3", Labels: ssd},
		{ID: "n4", Labels: map[string]string{"scheduler": "true"}},
		{ID: "n5", Labels: map[string]string{"disk": "ssd", "scheduler": "true"}},
	}
	apps := []placement.App{
		{Name: "convex", Mode: manifest.ModeSingleton, Pattern: manifest.PatternActivePassive,
			Placement: &manifest.Placement{
				Nodes:  []string{"n1", "n2", "n3"},
				Prefer: []manifest.Preference{{Node: "n1", Weight: 100}},
			}},
		{Name: "cache", Mode: manifest.ModeSpread, Pattern: manifest.PatternRing, Partitions: 256},
		{Name: "api", Mode: manifest.ModeSpread, Pattern: manifest.PatternPool},
		{Name: "worker", Mode: manifest.ModeReplicas, Replicas: 3, Pattern: manifest.PatternPool,
			Placement: &manifest.Placement{
				Prefer: []manifest.Preference{{Labels: ssd, Weight: 50}},
			}},
		{Name: "scheduler", Mode: manifest.ModeSingleton, Pattern: manifest.PatternActivePassive,
			Placement: &manifest.Placement{Labels: map[string]string{"scheduler": "true"}}},
	}
	next := placement.Compute(apps, nodes, nil)
	for _, name := range []string{"convex", "cache", "api", "worker", "scheduler"} {
		a := next[name]
		fmt.Printf("%-9s %v", name, a.Nodes)
		if a.Partitions != nil {
			fmt.Print(" partitions:")
			for _, n := range slices.Sorted(maps.Keys(a.Partitions)) {
				fmt.Printf(" %s=%d", n, len(a.Partitions[n]))
			}
		}
		fmt.Println()
	}

	// Drain n1: convex fails over to a standby, worker takes a new node,
	// and cache's ring moves only n1's partitions.
	nodes[0].Draining = true
	after := placement.Compute(apps, nodes, next)
	fmt.Println("convex   ", after["convex"].Nodes)
	fmt.Println("worker   ", after["worker"].Nodes)
	moved := placement.Moves(next["cache"], after["cache"]).Partitions
	from := map[string]int{}
	for _, m := range moved {
		from[m.From]++
	}
	fmt.Println("cache     moved", len(moved), "partitions:", from)
	// Output:
	// convex    [n1 n3 n2]
	// cache     [n5 n3 n4 n1 n2] partitions: n1=54 n2=50 n3=56 n4=46 n5=50
	// api       [n5 n4 n3 n1 n2]
	// worker    [n3 n1 n5]
	// scheduler [n4 n5]
	// convex    [n3 n2]
	// worker    [n3 n5 n4]
	// cache     moved 54 partitions: map[n1:54]
}

func ExamplePartitionOf() {
	fmt.Println(placement.PartitionOf([]byte("user:42"), 256))
	fmt.Println(placement.PartitionOf([]byte(""), 256))
	// Output:
	// 102
	// 193
}
