package placement_test

import (
	"fmt"
	"testing"

	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
)

func spread(name string, p *manifest.Placement) placement.App {
	return placement.App{Name: name, Mode: manifest.ModeSpread, Placement: p}
}

func replicas(name string, n int, p *manifest.Placement) placement.App {
	return placement.App{Name: name, Mode: manifest.ModeReplicas, Replicas: n, Placement: p}
}

func only(keep ...string) []placement.Node {
	var out []placement.Node
	for _, n := range five() {
		for _, k := range keep {
			if n.ID == k {
				out = append(out, n)
			}
		}
	}
	return out
}

func with(nodes []placement.Node, f func(*placement.Node), which ...string) []placement.Node {
	for i := range nodes {
		for _, w := range which {
			if nodes[i].ID == w {
				f(&nodes[i])
			}
		}
	}
	return nodes
}

func eight() []placement.Node {
	var out []placement.Node
	for i := 1; i <= 8; i++ {
		out = append(out, placement.Node{ID: fmt.Sprintf("n%d", i)})
	}
	out[0].Labels = map[string]string{"zone": "a"}
	return out
}

func TestReasons(t *testing.T) {
	zoneA := &manifest.Placement{Labels: map[string]string{"zone": "a"}}
	tests := []struct {
		name   string
		apps   []placement.App
		nodes  []placement.Node
		prev   map[string]placement.Assignment
		app    string
		placed []string
		reason string
	}{
		{name: "selector matches nothing", app: "x", nodes: five(),
			apps:   []placement.App{spread("x", sel("zone", manifest.OpIn, "x"))},
			reason: "no node matches selector zone in [x]"},
		{name: "replicas short of cordoned nodes", app: "w", nodes: with(only("n1", "n2", "n4", "n5"), cordon, "n4", "n5"),
			apps:   []placement.App{replicas("w", 3, nil)},
			placed: ids("n1", "n2"),
			reason: "only 2 of 3 replicas: n4, n5 are cordoned"},
		{name: "replicas short, several causes", app: "w", nodes: with(five(), cordon, "n4", "n5"),
			apps:   []placement.App{replicas("w", 3, &manifest.Placement{Nodes: ids("n1", "n2", "n4", "n5")})},
			placed: ids("n1", "n2"),
			reason: "only 2 of 3 replicas: n3 is not in placement.nodes; n4, n5 are cordoned"},
		{name: "more replicas than nodes", app: "w", nodes: five(),
			apps:   []placement.App{replicas("w", 7, nil)},
			placed: ids("n1", "n2", "n3", "n4", "n5"),
			reason: "only 5 of 7 replicas: the cluster has 5 nodes"},
		{name: "no nodes", app: "x", apps: []placement.App{spread("x", nil)}, reason: "no nodes"},
		{name: "rule order", app: "x", nodes: with(with(five(), drain, "n1"), cordon, "n2"),
			apps:   []placement.App{spread("x", zoneA)},
			reason: "no eligible node: n3, n4, n5 do not have label zone=a; n1 is draining; n2 is cordoned"},
		{name: "long lists are cut", app: "x", nodes: with(eight(), drain, "n1"),
			apps:   []placement.App{spread("x", zoneA)},
			reason: "no eligible node: n2, n3, n4, n5, n6 and 2 more do not have label zone=a; n1 is draining"},
		{name: "all cordoned", app: "x", nodes: with(five(), cordon, "n1", "n2", "n3", "n4", "n5"),
			apps:   []placement.App{{Name: "x"}},
			reason: "every node is cordoned"},
		{name: "all draining", app: "x", nodes: with(five(), drain, "n1", "n2", "n3", "n4", "n5"),
			apps:   []placement.App{{Name: "x"}},
			reason: "every node is draining"},
		{name: "unknown nodes", app: "x", nodes: five(),
			apps:   []placement.App{spread("x", &manifest.Placement{Nodes: ids("n9")})},
			reason: "no node is in placement.nodes"},
		{name: "avoid all", app: "x", nodes: only("n1", "n2"),
			apps:   []placement.App{spread("x", &manifest.Placement{Avoid: ids("n1", "n2")})},
			reason: "every node is in placement.avoid"},
		{name: "with an app not deployed", app: "x", nodes: five(),
			apps:   []placement.App{spread("x", &manifest.Placement{With: ids("ghost")})},
			reason: "no node runs ghost (ghost is not deployed)"},
		{name: "with an app not placed", app: "x", nodes: five(),
			apps: []placement.App{spread("x", &manifest.Placement{With: ids("db")}),
				spread("db", sel("gpu", manifest.OpEquals, "no"))},
			reason: "no node runs db (db is not placed)"},
		{name: "with, partly", app: "x", nodes: five(),
			apps:   []placement.App{replicas("x", 3, &manifest.Placement{With: ids("db")}), db},
			placed: ids("n3", "n5"),
			reason: "only 2 of 3 replicas: n1, n2, n4 do not run db"},
		{name: "away from an app everywhere", app: "x", nodes: five(),
			apps:   []placement.App{spread("x", &manifest.Placement{AwayFrom: ids("api")}), spread("api", nil)},
			reason: "every node runs api (awayFrom)"},
		{name: "cycle", app: "a", nodes: five(),
			apps: []placement.App{spread("a", &manifest.Placement{With: ids("b")}),
				spread("b", &manifest.Placement{With: ids("a")})},
			reason: "placement rules form a cycle: a with b, b with a"},
		{name: "cycle of with and awayFrom", app: "b", nodes: five(),
			apps: []placement.App{spread("a", &manifest.Placement{With: ids("b")}),
				spread("b", &manifest.Placement{AwayFrom: ids("a")})},
			reason: "placement rules form a cycle: a with b, b awayFrom a"},
		{name: "with itself", app: "a", nodes: five(),
			apps:   []placement.App{spread("a", &manifest.Placement{With: ids("a")})},
			reason: "placement rules form a cycle: a with a"},
		{name: "after a cycle", app: "c", nodes: five(),
			apps: []placement.App{spread("a", &manifest.Placement{With: ids("b")}),
				spread("b", &manifest.Placement{With: ids("a")}),
				spread("c", &manifest.Placement{With: ids("a")})},
			reason: "no node runs a (a is not placed)"},
		{name: "duplicate app", app: "x", nodes: five(),
			apps:   []placement.App{spread("x", nil), replicas("x", 2, nil)},
			reason: `more than one app is named "x"`},
		{name: "unknown mode", app: "x", nodes: five(),
			apps:   []placement.App{{Name: "x", Mode: "many"}},
			reason: `unknown mode "many"`},
		{name: "unknown pattern", app: "x", nodes: five(),
			apps:   []placement.App{{Name: "x", Mode: manifest.ModeSpread, Pattern: "mesh"}},
			reason: `unknown pattern "mesh"`},
		{name: "no replicas", app: "x", nodes: five(),
			apps:   []placement.App{replicas("x", 0, nil)},
			reason: "replicas is 0; it must be at least 1"},
		{name: "ring singleton", app: "x", nodes: five(),
			apps:   []placement.App{{Name: "x", Pattern: manifest.PatternRing}},
			reason: "pattern ring needs mode spread or replicas"},
		{name: "ring too large", app: "x", nodes: five(),
			apps:   []placement.App{{Name: "x", Mode: manifest.ModeSpread, Pattern: manifest.PatternRing, Partitions: 5000}},
			reason: "partitions is 5000; it must be 1 to 4096"},
		{name: "move to an unknown node", app: "x", nodes: only("n1"),
			apps:   []placement.App{{Name: "x", MoveTo: "n9"}},
			placed: ids("n1"),
			reason: "cannot move to n9: no such node"},
		{name: "move to a cordoned node", app: "x", nodes: with(only("n1", "n2"), cordon, "n2"),
			prev:   map[string]placement.Assignment{"x": {Nodes: ids("n1", "n2")}},
			apps:   []placement.App{{Name: "x", MoveTo: "n2"}},
			placed: ids("n1", "n2"),
			reason: "cannot move to n2: it is cordoned"},
		{name: "move to a draining node", app: "x", nodes: with(only("n1", "n2"), drain, "n2"),
			apps:   []placement.App{{Name: "x", MoveTo: "n2"}},
			placed: ids("n1"),
			reason: "cannot move to n2: it is draining"},
		{name: "move to an ineligible node", app: "x", nodes: five(),
			apps:   []placement.App{{Name: "x", MoveTo: "n5", Placement: zoneA}},
			placed: ids("n1", "n2"),
			reason: "cannot move to n5: it does not have label zone=a"},
		{name: "singleton only on cordoned nodes", app: "x", nodes: with(only("n1", "n2"), cordon, "n1", "n2"),
			prev:   map[string]placement.Assignment{"x": {Nodes: ids("n1")}},
			apps:   []placement.App{{Name: "x"}},
			placed: ids("n1"),
			reason: "every eligible node is cordoned; it stays on n1"},
		{name: "fine", app: "x", nodes: five(),
			apps:   []placement.App{replicas("x", 5, nil)},
			placed: ids("n1", "n2", "n3", "n4", "n5")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placement.Compute(tt.apps, tt.nodes, tt.prev)[tt.app]
			if got.Reason != tt.reason {
				t.Errorf("reason\n got %q\nwant %q", got.Reason, tt.reason)
			}
			if !sameSet(got.Nodes, tt.placed) {
				t.Errorf("nodes %v, want %v", got.Nodes, tt.placed)
			}
		})
	}
}
