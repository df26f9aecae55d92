package placement

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/manifest"
)

const seeds = 400

func shuffle[T any](s source, xs []T) []T {
	xs = slices.Clone(xs)
	for i := len(xs) - 1; i > 0; i-- {
		j := s.intn(i + 1)
		xs[i], xs[j] = xs[j], xs[i]
	}
	return xs
}

// TestDeterministic: the same input gives the same output, whatever the
// order of apps and nodes, and the input is left as it was.
func TestDeterministic(t *testing.T) {
	g := gen{nodes: 8, apps: 10, linked: true, moves: true, odd: true}
	for seed := range uint64(seeds) {
		s := seeded(seed)
		apps, nodes := g.cluster(s)
		prev := Compute(apps, nodes, nil)
		before, _ := json.Marshal([]any{apps, nodes, prev})
		want := Compute(apps, nodes, prev)
		if again := Compute(apps, nodes, prev); !reflect.DeepEqual(again, want) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		if got := Compute(shuffle(s, apps), shuffle(s, nodes), prev); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: input order changed the result\n got %v\nwant %v", seed, got, want)
		}
		if after, _ := json.Marshal([]any{apps, nodes, prev}); string(after) != string(before) {
			t.Fatalf("seed %d: Compute changed its input", seed)
		}
	}
}

// TestConstraintsHold checks every output against the rules, for random
// clusters, with and without a previous assignment.
func TestConstraintsHold(t *testing.T) {
	g := gen{nodes: 8, apps: 12, linked: true, moves: true}
	for seed := range uint64(seeds) {
		s := seeded(seed)
		apps, nodes := g.cluster(s)
		first := Compute(apps, nodes, nil)
		checkAll(t, seed, apps, nodes, nil, first)
		// Change node states and go again from the first result.
		for i := range nodes {
			if s.intn(4) == 0 {
				nodes[i].Cordoned, nodes[i].Draining = s.intn(2) == 0, s.intn(4) == 0
			}
		}
		checkAll(t, seed, apps, nodes, first, Compute(apps, nodes, first))
	}
}

func checkAll(t *testing.T, seed uint64, apps []App, nodes []Node, prev, out map[string]Assignment) {
	t.Helper()
	if len(out) != len(apps) {
		t.Fatalf("seed %d: %d assignments for %d apps", seed, len(out), len(apps))
	}
	onNode := map[string][]string{}
	for _, a := range out {
		for _, id := range a.Nodes {
			onNode[id] = append(onNode[id], a.App)
		}
	}
	for _, app := range apps {
		if err := check(app, nodes, prev[app.Name], out[app.Name], onNode); err != "" {
			t.Fatalf("seed %d: %s: %s\napp %+v %+v\nnodes %+v\nprev %v\ngot %+v", seed, app.Name, err, app, app.Placement, nodes, prev[app.Name], out[app.Name])
		}
	}
}

// check returns what is wrong with one app's assignment, or "".
func check(app App, nodes []Node, prev, a Assignment, onNode map[string][]string) string {
	byID := map[string]Node{}
	for _, n := range nodes {
		byID[n.ID] = n
	}
	info := func(id string) manifest.NodeInfo {
		others := slices.DeleteFunc(slices.Clone(onNode[id]), func(x string) bool { return x == app.Name })
		return manifest.NodeInfo{ID: id, Labels: byID[id].Labels, Apps: others}
	}
	if len(a.Nodes) == 0 && a.Reason == "" {
		return "placed nowhere without a reason"
	}
	if len(slices.Compact(slices.Sorted(slices.Values(a.Nodes)))) != len(a.Nodes) {
		return "a node is listed twice"
	}
	for _, id := range a.Nodes {
		n, ok := byID[id]
		switch {
		case !ok:
			return id + " is not a node"
		case n.Draining:
			return id + " is draining"
		case n.Cordoned && !slices.Contains(prev.Nodes, id):
			return id + " is cordoned and new"
		case !app.Placement.Eligible(info(id)):
			return id + " breaks a rule"
		}
	}
	if len(a.Nodes) > 0 && byID[a.Nodes[0]].Cordoned && slices.ContainsFunc(a.Nodes, func(id string) bool { return !byID[id].Cordoned }) {
		return "a cordoned node comes first"
	}
	if app.MoveTo != "" && len(a.Nodes) > 0 && !strings.Contains(a.Reason, "cannot move") && a.Nodes[0] != app.MoveTo {
		return "the move was neither done nor explained"
	}
	if msg := checkCount(app, nodes, prev, a, info); msg != "" {
		return msg
	}
	if app.Pattern == manifest.PatternRing && len(a.Nodes) > 0 {
		return checkPartitions(a, cmpOr(app.Partitions, manifest.DefaultPartitions))
	}
	return ""
}

// checkCount: replicas never exceed N, and an app placed on fewer nodes
// than it could take says why. Apps with awayFrom are left out of the
// second half: which of two apps keeps away depends on the order.
func checkCount(app App, nodes []Node, prev, a Assignment, info func(string) manifest.NodeInfo) string {
	if app.Mode == manifest.ModeReplicas && len(a.Nodes) > app.Replicas {
		return "too many replicas"
	}
	if app.Placement != nil && len(app.Placement.AwayFrom) > 0 || len(a.Nodes) == 0 {
		return ""
	}
	full := app.Mode == manifest.ModeReplicas && len(a.Nodes) == app.Replicas
	for _, n := range nodes {
		open := !n.Draining && (!n.Cordoned || slices.Contains(prev.Nodes, n.ID)) && app.Placement.Eligible(info(n.ID))
		if open && !full && !slices.Contains(a.Nodes, n.ID) {
			return n.ID + " could take an instance and did not"
		}
	}
	if app.Mode == manifest.ModeReplicas && !full && !strings.HasPrefix(a.Reason, "only ") {
		return "short of replicas without a reason"
	}
	return ""
}

func checkPartitions(a Assignment, partitions int) string {
	seen := make([]int, partitions)
	for id, ps := range a.Partitions {
		if !slices.Contains(a.Nodes, id) {
			return "partitions on " + id + ", not one of the app's nodes"
		}
		if !slices.IsSorted(ps) {
			return "partitions not sorted"
		}
		for _, p := range ps {
			if p < 0 || p >= partitions {
				return "partition out of range"
			}
			seen[p]++
		}
	}
	for p, n := range seen {
		if n != 1 || Owner(a, p) == "" {
			return "a partition without exactly one owner"
		}
	}
	return ""
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// TestMinimalMovement: a node leaving moves only what was on it; a node
// joining takes at most one replica (only of apps short of replicas) and
// about 1/n of each ring, and nothing else moves.
func TestMinimalMovement(t *testing.T) {
	g := gen{nodes: 8, apps: 10}
	for seed := range uint64(seeds) {
		s := seeded(seed)
		apps, nodes := g.cluster(s)
		if len(nodes) == 0 {
			continue
		}
		before := Compute(apps, nodes, nil)
		gone := nodes[s.intn(len(nodes))].ID
		rest := slices.DeleteFunc(slices.Clone(nodes), func(n Node) bool { return n.ID == gone })
		after := Compute(apps, rest, before)
		joined := g.node(s, 99)
		grown := Compute(apps, append(slices.Clone(nodes), joined), before)
		for _, app := range apps {
			b := before[app.Name]
			if msg := checkLeave(app, b, after[app.Name], gone); msg != "" {
				t.Fatalf("seed %d: %s after %s left: %s\nbefore %v\nafter  %v", seed, app.Name, gone, msg, b, after[app.Name])
			}
			if msg := checkJoin(app, b, grown[app.Name], joined.ID); msg != "" {
				t.Fatalf("seed %d: %s after %s joined: %s\nbefore %v\nafter  %v", seed, app.Name, joined.ID, msg, b, grown[app.Name])
			}
		}
	}
}

func checkLeave(app App, b, a Assignment, gone string) string {
	kept := slices.DeleteFunc(slices.Clone(b.Nodes), func(id string) bool { return id == gone })
	c := Moves(b, a)
	switch {
	case !slices.Equal(c.Removed, ids(gone)) && len(c.Removed) > 0:
		return "removed more than the node that left"
	case len(c.Added) > 1 || len(c.Added) == 1 && (app.Mode != manifest.ModeReplicas || len(kept) == len(b.Nodes)):
		return "added instances that did not replace one"
	case app.Mode == manifest.ModeSingleton && first(b) != gone && first(a) != first(b):
		return "the preferred node changed"
	}
	for _, m := range c.Partitions {
		if m.From != gone && !slices.Contains(c.Added, m.To) {
			return "a partition moved between nodes that stayed"
		}
	}
	return ""
}

func checkJoin(app App, b, a Assignment, joined string) string {
	c := Moves(b, a)
	switch {
	case len(c.Removed) > 0:
		return "removed an instance"
	case len(c.Added) > 0 && !slices.Equal(c.Added, ids(joined)):
		return "added an instance elsewhere"
	case len(c.Added) > 0 && app.Mode == manifest.ModeReplicas && len(b.Nodes) >= app.Replicas:
		return "added a replica beyond the count"
	case app.Mode == manifest.ModeSingleton && first(a) != first(b) && first(b) != "":
		return "the preferred node changed"
	}
	if len(c.Partitions) == 0 {
		return ""
	}
	p := cmpOr(app.Partitions, manifest.DefaultPartitions)
	share := float64(p) / float64(len(a.Nodes))
	if limit := int(math.Ceil(share + 4*math.Sqrt(share) + 1)); len(c.Partitions) > limit {
		return "too many partitions moved"
	}
	for _, m := range c.Partitions {
		if m.To != joined {
			return "a partition moved between nodes that stayed"
		}
	}
	return ""
}

func ids(s ...string) []string { return s }

// TestExplainAgrees: every node manifest.Eligible refuses gets a real
// cause, and every node it accepts none.
func TestExplainAgrees(t *testing.T) {
	g := gen{nodes: 6, apps: 6, linked: true}
	st := func(string) string { return "" }
	for seed := range uint64(seeds) {
		s := seeded(seed)
		n := g.node(s, 1+s.intn(6))
		p := g.rules(s, "a0", 6, 6)
		info := manifest.NodeInfo{ID: n.ID, Labels: n.Labels}
		for i := range 6 {
			if s.intn(2) == 0 {
				info.Apps = append(info.Apps, "a"+string(rune('0'+i)))
			}
		}
		c := explain(p, info, st)
		if ok := p.Eligible(info); ok != (c == causeOther) {
			t.Fatalf("seed %d: Eligible %v but cause %q\n%+v\n%+v", seed, ok, c.one, p, info)
		}
	}
}
