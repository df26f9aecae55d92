package placement_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
)

func prevOf(app string, nodes ...string) map[string]placement.Assignment {
	return map[string]placement.Assignment{app: {App: app, Nodes: nodes}}
}

func preferNode(node string) *manifest.Placement {
	return &manifest.Placement{Prefer: []manifest.Preference{{Node: node, Weight: 100}}}
}

func TestSingletonKeepsItsActive(t *testing.T) {
	app := placement.App{Name: "convex", Placement: preferNode("n1")}
	prev := prevOf("convex", "n3", "n1", "n2", "n4", "n5")
	tests := []struct {
		name  string
		nodes []placement.Node
		first string
		last  string
	}{
		{"a better node does not take over", five(), "n3", ""},
		{"cordoned: the best other node", with(five(), cordon, "n3"), "n1", "n3"},
		{"draining: gone", with(five(), drain, "n3"), "n1", ""},
		{"gone", only("n1", "n2", "n4", "n5"), "n1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placement.Compute([]placement.App{app}, tt.nodes, prev)["convex"]
			if got.Nodes[0] != tt.first {
				t.Errorf("nodes %v, want %s first", got.Nodes, tt.first)
			}
			if tt.last != "" && got.Nodes[len(got.Nodes)-1] != tt.last {
				t.Errorf("nodes %v, want %s last", got.Nodes, tt.last)
			}
			if got.Reason != "" {
				t.Errorf("reason %q", got.Reason)
			}
		})
	}
	// Without a previous assignment the preference decides.
	if got := placement.Compute([]placement.App{app}, five(), nil)["convex"]; got.Nodes[0] != "n1" {
		t.Errorf("nodes %v, want n1 first", got.Nodes)
	}
	// A move beats both.
	app.MoveTo = "n4"
	if got := placement.Compute([]placement.App{app}, five(), prev)["convex"]; got.Nodes[0] != "n4" || got.Reason != "" {
		t.Errorf("nodes %v (%q), want n4 first", got.Nodes, got.Reason)
	}
}

func TestReplicasStay(t *testing.T) {
	prev := prevOf("w", "n1", "n2", "n3")
	tests := []struct {
		name  string
		app   placement.App
		nodes []placement.Node
		want  []string // exact set; nil: see keep
		keep  []string // must be among the nodes
		first string
	}{
		{name: "a preference does not evict", app: replicas("w", 3, preferNode("n5")), nodes: five(), want: ids("n1", "n2", "n3")},
		{name: "a new node does not evict", app: replicas("w", 3, nil),
			nodes: append(five(), placement.Node{ID: "n0"}), want: ids("n1", "n2", "n3")},
		{name: "shrink drops cordoned first", app: replicas("w", 2, nil), nodes: with(five(), cordon, "n1"), want: ids("n2", "n3")},
		{name: "grow keeps all", app: replicas("w", 4, preferNode("n5")), nodes: five(), want: ids("n1", "n2", "n3", "n5")},
		{name: "drain replaces one", app: replicas("w", 3, preferNode("n5")), nodes: with(five(), drain, "n2"), want: ids("n1", "n3", "n5")},
		{name: "move pins", app: placement.App{Name: "w", Mode: manifest.ModeReplicas, Replicas: 3, MoveTo: "n4"},
			nodes: five(), keep: ids("n4"), first: "n4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placement.Compute([]placement.App{tt.app}, tt.nodes, prev)["w"]
			if tt.want != nil && !sameSet(got.Nodes, tt.want) {
				t.Errorf("nodes %v, want %v", got.Nodes, tt.want)
			}
			if !subset(tt.keep, got.Nodes) || len(got.Nodes) != tt.app.Replicas {
				t.Errorf("nodes %v, want %d including %v", got.Nodes, tt.app.Replicas, tt.keep)
			}
			if tt.first != "" && got.Nodes[0] != tt.first {
				t.Errorf("nodes %v, want %s first", got.Nodes, tt.first)
			}
			if moved := placement.Moves(prev["w"], got); len(moved.Removed) > max(0, 3-tt.app.Replicas)+1 {
				t.Errorf("removed %v", moved.Removed)
			}
		})
	}
}

func TestMutualAwayFrom(t *testing.T) {
	a := replicas("a", 2, &manifest.Placement{AwayFrom: ids("b")})
	b := replicas("b", 3, &manifest.Placement{AwayFrom: ids("a")})
	got := placement.Compute([]placement.App{b, a}, five(), nil)
	if got["a"].Reason != "" || got["b"].Reason != "" {
		t.Fatalf("reasons %q, %q", got["a"].Reason, got["b"].Reason)
	}
	for _, n := range got["a"].Nodes {
		if slices.Contains(got["b"].Nodes, n) {
			t.Errorf("a %v and b %v share %s", got["a"].Nodes, got["b"].Nodes, n)
		}
	}
}

func TestWithChain(t *testing.T) {
	apps := []placement.App{
		spread("c", &manifest.Placement{With: ids("b")}),
		spread("b", &manifest.Placement{With: ids("a")}),
		{Name: "a", Placement: &manifest.Placement{Nodes: ids("n2", "n4")}},
		spread("d", &manifest.Placement{With: ids("a", "c"), AwayFrom: ids("x")}),
		{Name: "x", Placement: &manifest.Placement{Nodes: ids("n4")}},
	}
	got := placement.Compute(apps, five(), nil)
	for app, want := range map[string][]string{"a": ids("n2", "n4"), "b": ids("n2", "n4"), "c": ids("n2", "n4"), "d": ids("n2")} {
		if !sameSet(got[app].Nodes, want) || got[app].Reason != "" {
			t.Errorf("%s on %v (%q), want %v", app, got[app].Nodes, got[app].Reason, want)
		}
	}
}

func TestDuplicateNodesMerge(t *testing.T) {
	nodes := []placement.Node{
		{ID: "n1", Labels: map[string]string{"zone": "a", "disk": "ssd"}},
		{ID: "n1", Labels: map[string]string{"zone": "a", "disk": "hdd"}, Cordoned: true},
		{ID: "n2", Labels: map[string]string{"zone": "a"}},
	}
	apps := []placement.App{
		spread("zone", &manifest.Placement{Labels: map[string]string{"zone": "a"}}),
		spread("disk", sel("disk", manifest.OpExists)),
	}
	want := placement.Compute(apps, nodes, nil)
	slices.Reverse(nodes)
	if got := placement.Compute(apps, nodes, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("order changed the result:\n%v\n%v", got, want)
	}
	if !sameSet(want["zone"].Nodes, ids("n2")) || want["disk"].Nodes != nil {
		t.Errorf("got %v", want)
	}
}

func TestAppFromManifest(t *testing.T) {
	m, err := manifest.Parse([]byte(`
name: cache
version: 1.0.0
wasm: cache.wasm
mode: replicas
replicas: 2
pattern: ring
placement: {labels: {zone: a}}
api: [get]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := placement.App{Name: "cache", Mode: manifest.ModeReplicas, Replicas: 2, Pattern: manifest.PatternRing,
		Partitions: 256, Placement: &manifest.Placement{Labels: map[string]string{"zone": "a"}}}
	if got := placement.AppFromManifest(m); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMoves(t *testing.T) {
	prev := placement.Assignment{Nodes: ids("n1", "n2"), Partitions: map[string][]int{"n1": {0, 2}, "n2": {1, 3}}}
	next := placement.Assignment{Nodes: ids("n2", "n3"), Partitions: map[string][]int{"n2": {1, 2, 3}, "n3": {0}}}
	got := placement.Moves(prev, next)
	want := placement.Change{
		Added: ids("n3"), Removed: ids("n1"), PreferredFrom: "n1", PreferredTo: "n2",
		Partitions: []placement.PartitionMove{{Partition: 0, From: "n1", To: "n3"}, {Partition: 2, From: "n1", To: "n2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got.Empty() || !placement.Moves(next, next).Empty() {
		t.Error("Empty is wrong")
	}
}

func TestOwner(t *testing.T) {
	a := placement.Assignment{Nodes: ids("n1", "n2"), Partitions: map[string][]int{"n1": {0, 2}, "n2": {1, 2}}}
	for p, want := range []string{"n1", "n2", "n1", ""} {
		if got := placement.Owner(a, p); got != want {
			t.Errorf("Owner(%d) = %q, want %q", p, got, want)
		}
	}
	if got := placement.Owner(placement.Assignment{}, 0); got != "" {
		t.Errorf("Owner of nothing = %q", got)
	}
}

// TestAssignmentJSON: an assignment read back from storage is the one
// written, so feeding it back as prev changes nothing.
func TestAssignmentJSON(t *testing.T) {
	apps := []placement.App{
		{Name: "cache", Mode: manifest.ModeSpread, Pattern: manifest.PatternRing, Partitions: 3},
		{Name: "x", Placement: &manifest.Placement{Nodes: ids("n9")}},
	}
	want := placement.Compute(apps, five(), nil)
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]placement.Assignment
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
	}
	if again := placement.Compute(apps, five(), got); !reflect.DeepEqual(again, want) {
		t.Errorf("recomputed from the stored form:\n got %v\nwant %v", again, want)
	}
}
