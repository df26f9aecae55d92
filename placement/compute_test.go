package placement_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
)

// five is the cluster most tests use:
//
//	n1 zone=a disk=ssd  rack=r1
//	n2 zone=a disk=hdd  rack=r2
//	n3 zone=b disk=ssd  gpu=yes
//	n4 zone=b disk=nvme
//	n5 zone=c
func five() []placement.Node {
	return []placement.Node{
		{ID: "n1", Labels: map[string]string{"zone": "a", "disk": "ssd", "rack": "r1"}},
		{ID: "n2", Labels: map[string]string{"zone": "a", "disk": "hdd", "rack": "r2"}},
		{ID: "n3", Labels: map[string]string{"zone": "b", "disk": "ssd", "gpu": "yes"}},
		{ID: "n4", Labels: map[string]string{"zone": "b", "disk": "nvme"}},
		{ID: "n5", Labels: map[string]string{"zone": "c"}},
	}
}

func ids(s ...string) []string { return s }

func sel(key string, op manifest.SelectorOp, values ...string) *manifest.Placement {
	return &manifest.Placement{Selectors: []manifest.Selector{{Key: key, Op: op, Values: values}}}
}

// constraint is one kind of rule and the nodes of five() it allows.
type constraint struct {
	name      string
	placement *manifest.Placement
	nodes     func([]placement.Node) // changes node state
	prev      []string               // previous holders
	moveTo    string
	allowed   []string
	first     string   // the expected preferred node, when determined
	replicas2 []string // the expected two replicas, when determined
}

var constraints = []constraint{
	{name: "none", allowed: ids("n1", "n2", "n3", "n4", "n5")},
	{name: "nodes", placement: &manifest.Placement{Nodes: ids("n2", "n4")}, allowed: ids("n2", "n4"), replicas2: ids("n2", "n4")},
	{name: "labels", placement: &manifest.Placement{Labels: map[string]string{"zone": "a"}}, allowed: ids("n1", "n2"), replicas2: ids("n1", "n2")},
	{name: "equals", placement: sel("disk", manifest.OpEquals, "ssd"), allowed: ids("n1", "n3"), replicas2: ids("n1", "n3")},
	{name: "in", placement: sel("zone", manifest.OpIn, "a", "c"), allowed: ids("n1", "n2", "n5")},
	{name: "notin", placement: sel("disk", manifest.OpNotIn, "ssd"), allowed: ids("n2", "n4", "n5")},
	{name: "exists", placement: sel("gpu", manifest.OpExists), allowed: ids("n3"), first: "n3", replicas2: ids("n3")},
	{name: "notexists", placement: sel("disk", manifest.OpNotExists), allowed: ids("n5"), first: "n5", replicas2: ids("n5")},
	{name: "avoid", placement: &manifest.Placement{Avoid: ids("n1", "n3")}, allowed: ids("n2", "n4", "n5")},
	{name: "prefer", placement: &manifest.Placement{Prefer: []manifest.Preference{
		{Labels: map[string]string{"rack": "r2"}, Weight: 50}, {Node: "n4", Weight: 10}}},
		allowed: ids("n1", "n2", "n3", "n4", "n5"), first: "n2", replicas2: ids("n2", "n4")},
	{name: "with", placement: &manifest.Placement{With: ids("db")}, allowed: ids("n3", "n5"), replicas2: ids("n3", "n5")},
	{name: "awayFrom", placement: &manifest.Placement{AwayFrom: ids("db")}, allowed: ids("n1", "n2", "n4")},
	{name: "cordon", nodes: state("n1", "n2", cordon), allowed: ids("n3", "n4", "n5")},
	{name: "cordon keeps", nodes: state("n1", "n2", cordon), prev: ids("n1", "n3"),
		allowed: ids("n1", "n3", "n4", "n5"), replicas2: ids("n1", "n3")},
	{name: "drain", nodes: state("n1", "n2", drain), prev: ids("n1", "n3"), allowed: ids("n3", "n4", "n5")},
	{name: "move", moveTo: "n4", allowed: ids("n1", "n2", "n3", "n4", "n5"), first: "n4"},
	{name: "move held", moveTo: "n5", prev: ids("n1", "n2"), allowed: ids("n1", "n2", "n3", "n4", "n5"), first: "n5"},
}

func cordon(n *placement.Node) { n.Cordoned = true }
func drain(n *placement.Node)  { n.Draining = true }

// state applies f to the named nodes.
func state(a, b string, f func(*placement.Node)) func([]placement.Node) {
	return func(nodes []placement.Node) {
		for i := range nodes {
			if nodes[i].ID == a || nodes[i].ID == b {
				f(&nodes[i])
			}
		}
	}
}

// db runs on n3 and n5, for the with and awayFrom rules.
var db = placement.App{Name: "db", Mode: manifest.ModeSpread, Placement: &manifest.Placement{Nodes: ids("n3", "n5")}}

// TestModesAndConstraints runs every mode against every kind of rule.
func TestModesAndConstraints(t *testing.T) {
	modes := []placement.App{
		{Mode: manifest.ModeSingleton},
		{Mode: manifest.ModeSpread},
		{Mode: manifest.ModeReplicas, Replicas: 2},
		{Mode: manifest.ModeSpread, Pattern: manifest.PatternRing, Partitions: 64},
	}
	for _, m := range modes {
		for _, k := range constraints {
			t.Run(fmt.Sprintf("%s%s/%s", m.Mode, m.Pattern, k.name), func(t *testing.T) {
				nodes := five()
				if k.nodes != nil {
					k.nodes(nodes)
				}
				app := m
				app.Name, app.Placement, app.MoveTo = "app", k.placement, k.moveTo
				var prev map[string]placement.Assignment
				if k.prev != nil {
					prev = map[string]placement.Assignment{"app": {App: "app", Nodes: k.prev}}
				}
				got := placement.Compute([]placement.App{app, db}, nodes, prev)["app"]
				checkAgainst(t, app, k, got)
			})
		}
	}
}

func checkAgainst(t *testing.T, app placement.App, k constraint, got placement.Assignment) {
	t.Helper()
	short := app.Mode == manifest.ModeReplicas && len(k.allowed) < 2
	if (got.Reason != "") != short {
		t.Errorf("reason %q, want one: %v", got.Reason, short)
	}
	want := k.allowed
	if app.Mode == manifest.ModeReplicas {
		want = k.replicas2
	}
	switch {
	case want != nil && !sameSet(got.Nodes, want):
		t.Errorf("nodes %v, want %v", got.Nodes, want)
	case !subset(got.Nodes, k.allowed):
		t.Errorf("nodes %v, not all in %v", got.Nodes, k.allowed)
	case app.Mode == manifest.ModeReplicas && len(got.Nodes) != min(2, len(k.allowed)):
		t.Errorf("nodes %v, want %d of them", got.Nodes, min(2, len(k.allowed)))
	}
	if k.first != "" && (len(got.Nodes) == 0 || got.Nodes[0] != k.first) {
		t.Errorf("nodes %v, want %s first", got.Nodes, k.first)
	}
	if app.Pattern == manifest.PatternRing {
		checkRing(t, got, app.Partitions)
	}
}

func checkRing(t *testing.T, a placement.Assignment, partitions int) {
	t.Helper()
	if len(a.Partitions) != len(a.Nodes) {
		t.Errorf("partitions for %d nodes, want %d", len(a.Partitions), len(a.Nodes))
	}
	count := 0
	for n, ps := range a.Partitions {
		if !slices.Contains(a.Nodes, n) {
			t.Errorf("partitions on %s, which is not among %v", n, a.Nodes)
		}
		if !slices.IsSorted(ps) {
			t.Errorf("%s's partitions are not sorted", n)
		}
		count += len(ps)
	}
	if count != partitions {
		t.Errorf("%d partitions assigned, want %d", count, partitions)
	}
	for p := range partitions {
		if placement.Owner(a, p) == "" {
			t.Errorf("partition %d has no owner", p)
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func subset(a, of []string) bool {
	for _, x := range a {
		if !slices.Contains(of, x) {
			return false
		}
	}
	return true
}
