package manifest

import (
	"strings"
	"testing"
)

func TestValidatePlacement(t *testing.T) {
	pl := func(p Placement) func(*Manifest) { return func(m *Manifest) { m.Placement = &p } }
	sel := func(s ...Selector) func(*Manifest) { return pl(Placement{Selectors: s}) }
	pref := func(p ...Preference) func(*Manifest) { return pl(Placement{Prefer: p}) }
	runValid(t, []validCase{
		{"empty", pl(Placement{}), "", ""},
		{"full", pl(Placement{
			Nodes: []string{"n1", "node_2", "3"}, Labels: map[string]string{"zone": "a", "k8s.io/role": ""},
			Selectors: []Selector{{Key: "disk", Op: OpIn, Values: []string{"ssd"}}, {Key: "spot", Op: OpNotExists}},
			Avoid:     []string{"n9"}, Prefer: []Preference{{Node: "n1", Weight: 100}, {Labels: map[string]string{"rack": "r1"}, Weight: 1}},
			With: []string{"convex"}, AwayFrom: []string{"batch"},
		}), "", ""},
		{"node bad", pl(Placement{Nodes: []string{"n 1"}}), "placement.nodes[0]", `"n 1" is not a valid node id`},
		{"node dash first", pl(Placement{Nodes: []string{"-n"}}), "placement.nodes[0]", "not a valid node id"},
		{"node repeat", pl(Placement{Nodes: []string{"n1", "n1"}}), "placement.nodes[1]", "listed twice"},
		{"node long", pl(Placement{Nodes: []string{strings.Repeat("n", 65)}}), "placement.nodes[0]", "the limit is 64"},
		{"label key bad", pl(Placement{Labels: map[string]string{"-a": "x"}}), "placement.labels.-a", "not a valid label key"},
		{"label key empty", pl(Placement{Labels: map[string]string{"": "x"}}), `placement.labels[""]`, "not a valid label key"},
		{"label value bad", pl(Placement{Labels: map[string]string{"zone": "a b"}}), "placement.labels.zone", "not a valid label value"},

		{"selector in", sel(Selector{Key: "zone", Op: OpIn, Values: []string{"a", "b"}}), "", ""},
		{"selector notin", sel(Selector{Key: "zone", Op: OpNotIn, Values: []string{"a"}}), "", ""},
		{"selector exists", sel(Selector{Key: "gpu", Op: OpExists}), "", ""},
		{"selector equals", sel(Selector{Key: "tier", Op: OpEquals, Values: []string{"gold"}}), "", ""},
		{"selector no key", sel(Selector{Op: OpExists}), "placement.selectors[0].key", "required"},
		{"selector bad key", sel(Selector{Key: "a b", Op: OpExists}), "placement.selectors[0].key", "not a valid label key"},
		{"selector bad op", sel(Selector{Key: "k", Op: "has"}), "placement.selectors[0].op", `"has" is not one of in, notin, exists, notexists, equals`},
		{"selector no op", sel(Selector{Key: "k"}), "placement.selectors[0].op", "required"},
		{"selector in empty", sel(Selector{Key: "k", Op: OpIn}), "placement.selectors[0].values", "required with op: in"},
		{"selector notin empty", sel(Selector{Key: "k", Op: OpNotIn}), "placement.selectors[0].values", "required with op: notin"},
		{"selector exists values", sel(Selector{Key: "k", Op: OpExists, Values: []string{"x"}}), "placement.selectors[0].values", "not allowed with op: exists"},
		{"selector notexists values", sel(Selector{Key: "k", Op: OpNotExists, Values: []string{"x"}}), "placement.selectors[0].values", "not allowed"},
		{"selector equals two", sel(Selector{Key: "k", Op: OpEquals, Values: []string{"a", "b"}}), "placement.selectors[0].values", "exactly one value, not 2"},
		{"selector bad value", sel(Selector{Key: "k", Op: OpIn, Values: []string{"a", "b c"}}), "placement.selectors[0].values[1]", "not a valid label value"},

		{"avoid bad", pl(Placement{Avoid: []string{"n/1"}}), "placement.avoid[0]", "not a valid node id"},
		{"avoid in nodes", pl(Placement{Nodes: []string{"n1", "n2"}, Avoid: []string{"n2"}}), "placement.avoid[0]", "also in placement.nodes"},

		{"prefer neither", pref(Preference{Weight: 5}), "placement.prefer[0]", "needs labels or node"},
		{"prefer both", pref(Preference{Node: "n1", Labels: map[string]string{"a": "b"}, Weight: 5}), "placement.prefer[0]", "both labels and node"},
		{"prefer no weight", pref(Preference{Node: "n1"}), "placement.prefer[0].weight", "required (1 to 100)"},
		{"prefer weight over", pref(Preference{Node: "n1", Weight: 101}), "placement.prefer[0].weight", "101 is not 1 to 100"},
		{"prefer weight negative", pref(Preference{Node: "n1", Weight: -1}), "placement.prefer[0].weight", "-1 is not 1 to 100"},
		{"prefer bad node", pref(Preference{Node: "n 1", Weight: 1}), "placement.prefer[0].node", "not a valid node id"},
		{"prefer bad label", pref(Preference{Labels: map[string]string{"a": "b c"}, Weight: 1}), "placement.prefer[0].labels.a", "not a valid label value"},

		{"with bad", pl(Placement{With: []string{"Convex"}}), "placement.with[0]", "not a valid app name"},
		{"with self", pl(Placement{With: []string{"cache"}}), "placement.with[0]", "with itself"},
		{"awayFrom bad", pl(Placement{AwayFrom: []string{"x_"}}), "placement.awayFrom[0]", "not a valid app name"},
		{"awayFrom self", pl(Placement{AwayFrom: []string{"cache"}}), "placement.awayFrom[0]", "away from itself"},
		{"awayFrom and with", pl(Placement{With: []string{"a"}, AwayFrom: []string{"a"}}), "placement.awayFrom[0]", "also in placement.with"},
		{"awayFrom repeat", pl(Placement{AwayFrom: []string{"a", "a"}}), "placement.awayFrom[1]", "listed twice"},
	})
}

func TestEligibleAndScore(t *testing.T) {
	p := &Placement{
		Nodes:     []string{"n1", "n2", "n3", "n4"},
		Labels:    map[string]string{"zone": "a"},
		Selectors: []Selector{{Key: "disk", Op: OpIn, Values: []string{"ssd", "nvme"}}, {Key: "spot", Op: OpNotExists}},
		Avoid:     []string{"n4"},
		With:      []string{"db"},
		AwayFrom:  []string{"batch"},
		Prefer:    []Preference{{Node: "n2", Weight: 10}, {Labels: map[string]string{"rack": "r1"}, Weight: 50}},
	}
	good := map[string]string{"zone": "a", "disk": "ssd", "rack": "r1"}
	cases := []struct {
		name  string
		node  NodeInfo
		ok    bool
		score int
	}{
		{"all rules hold", NodeInfo{ID: "n1", Labels: good, Apps: []string{"db"}}, true, 50},
		{"named and rack", NodeInfo{ID: "n2", Labels: good, Apps: []string{"db"}}, true, 60},
		{"not in nodes", NodeInfo{ID: "n9", Labels: good, Apps: []string{"db"}}, false, 50},
		{"avoided", NodeInfo{ID: "n4", Labels: good, Apps: []string{"db"}}, false, 50},
		{"wrong zone", NodeInfo{ID: "n1", Labels: map[string]string{"zone": "b", "disk": "ssd"}, Apps: []string{"db"}}, false, 0},
		{"no disk", NodeInfo{ID: "n1", Labels: map[string]string{"zone": "a"}, Apps: []string{"db"}}, false, 0},
		{"spot", NodeInfo{ID: "n1", Labels: map[string]string{"zone": "a", "disk": "ssd", "spot": ""}, Apps: []string{"db"}}, false, 0},
		{"without db", NodeInfo{ID: "n1", Labels: good}, false, 50},
		{"with batch", NodeInfo{ID: "n1", Labels: good, Apps: []string{"db", "batch"}}, false, 50},
	}
	for _, tc := range cases {
		if got := p.Eligible(tc.node); got != tc.ok {
			t.Errorf("%s: Eligible = %v, want %v", tc.name, got, tc.ok)
		}
		if got := p.Score(tc.node); got != tc.score {
			t.Errorf("%s: Score = %d, want %d", tc.name, got, tc.score)
		}
	}
	var none *Placement
	if !none.Eligible(NodeInfo{ID: "x"}) || none.Score(NodeInfo{ID: "x"}) != 0 {
		t.Error("a nil placement must allow every node and score 0")
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := map[string]string{"zone": "a", "gpu": ""}
	cases := []struct {
		s    Selector
		want bool
	}{
		{Selector{Key: "zone", Op: OpIn, Values: []string{"a", "b"}}, true},
		{Selector{Key: "zone", Op: OpIn, Values: []string{"b"}}, false},
		{Selector{Key: "none", Op: OpIn, Values: []string{""}}, false},
		{Selector{Key: "zone", Op: OpNotIn, Values: []string{"b"}}, true},
		{Selector{Key: "zone", Op: OpNotIn, Values: []string{"a"}}, false},
		{Selector{Key: "none", Op: OpNotIn, Values: []string{"a"}}, true},
		{Selector{Key: "gpu", Op: OpExists}, true},
		{Selector{Key: "none", Op: OpExists}, false},
		{Selector{Key: "none", Op: OpNotExists}, true},
		{Selector{Key: "gpu", Op: OpNotExists}, false},
		{Selector{Key: "zone", Op: OpEquals, Values: []string{"a"}}, true},
		{Selector{Key: "zone", Op: OpEquals, Values: []string{"b"}}, false},
		{Selector{Key: "zone", Op: "bogus"}, false},
	}
	for _, tc := range cases {
		if got := tc.s.Matches(labels); got != tc.want {
			t.Errorf("%+v.Matches = %v, want %v", tc.s, got, tc.want)
		}
	}
}
