package placement

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ozanturksever/go-cluster/manifest"
)

// cause is why a node cannot take an app, worded three ways so a report
// reads naturally for one node, several, or all of them.
type cause struct {
	order int    // rule precedence: reports list causes in rule order
	one   string // "n4 is cordoned"
	many  string // "n4, n5 are cordoned"
	all   string // "every node is cordoned"
}

// Rule precedence in reports: the manifest's static rules first, then the
// rules about other apps, then node state, so a node that would not match
// anyway is not reported as merely cordoned.
const (
	ruleNodes = iota
	ruleAvoid
	ruleLabels
	ruleSelectors
	ruleWith
	ruleAwayFrom
	ruleDraining
	ruleCordoned
	ruleOther
)

var (
	causeDraining = cause{ruleDraining, "is draining", "are draining", "every node is draining"}
	causeCordoned = cause{ruleCordoned, "is cordoned", "are cordoned", "every node is cordoned"}
	causeListed   = cause{ruleNodes, "is not in placement.nodes", "are not in placement.nodes", "no node is in placement.nodes"}
	causeAvoided  = cause{ruleAvoid, "is in placement.avoid", "are in placement.avoid", "every node is in placement.avoid"}
	// causeOther stands for a rule manifest.Eligible knows and explain
	// does not: a report must never claim a node was fine.
	causeOther = cause{ruleOther, "does not satisfy the placement rules", "do not satisfy the placement rules", "no node satisfies the placement rules"}
)

// explain returns the first rule of p that node n fails. It reads the
// rules as (*manifest.Placement).Eligible does, which stays the authority:
// explain only words its verdict.
func explain(p *manifest.Placement, n manifest.NodeInfo, st func(string) string) cause {
	if p == nil {
		return causeOther
	}
	if len(p.Nodes) > 0 && !slices.Contains(p.Nodes, n.ID) {
		return causeListed
	}
	if slices.Contains(p.Avoid, n.ID) {
		return causeAvoided
	}
	for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
		s := manifest.Selector{Key: k, Op: manifest.OpEquals, Values: []string{p.Labels[k]}}
		if !s.Matches(n.Labels) {
			l := "label " + k + "=" + p.Labels[k]
			return cause{ruleLabels, "does not have " + l, "do not have " + l, "no node has " + l}
		}
	}
	for _, s := range p.Selectors {
		if !s.Matches(n.Labels) {
			t := "selector " + selectorString(s)
			return cause{ruleSelectors, "does not match " + t, "do not match " + t, "no node matches " + t}
		}
	}
	for _, a := range p.With {
		if !slices.Contains(n.Apps, a) {
			all := "no node runs " + a
			if why := st(a); why != "" {
				all += " (" + why + ")"
			}
			return cause{ruleWith, "does not run " + a, "do not run " + a, all}
		}
	}
	for _, a := range p.AwayFrom {
		if slices.Contains(n.Apps, a) {
			return cause{ruleAwayFrom, "runs " + a + " (awayFrom)", "run " + a + " (awayFrom)", "every node runs " + a + " (awayFrom)"}
		}
	}
	return causeOther
}

func selectorString(s manifest.Selector) string {
	switch s.Op {
	case manifest.OpExists, manifest.OpNotExists:
		return s.Key + " " + string(s.Op)
	case manifest.OpEquals:
		return s.Key + " equals " + strings.Join(s.Values, ", ")
	}
	return s.Key + " " + string(s.Op) + " [" + strings.Join(s.Values, ", ") + "]"
}

// describe words the causes of the nodes ruled out, grouped by cause in
// rule order. all reports that one cause ruled out every node, and the
// text is then that cause's "all" form.
func describe(nodes []Node, causes func(int) cause) (text string, all bool) {
	type group struct {
		c   cause
		ids []string
	}
	var groups []*group
	byText := make(map[string]*group)
	for i := range nodes {
		c := causes(i)
		if c.one == "" {
			continue
		}
		g := byText[c.one]
		if g == nil {
			g = &group{c: c}
			byText[c.one] = g
			groups = append(groups, g)
		}
		g.ids = append(g.ids, nodes[i].ID)
	}
	if len(groups) == 1 && len(groups[0].ids) == len(nodes) {
		return groups[0].c.all, true
	}
	slices.SortFunc(groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(a.c.order, b.c.order), cmp.Compare(a.c.one, b.c.one))
	})
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = names(g.ids) + " " + plural(len(g.ids), g.c.one, g.c.many)
	}
	return strings.Join(parts, "; "), false
}

// maxNames bounds how many node ids one report lists, so a 50-node cluster
// still gives a readable line.
const maxNames = 5

// names lists ids ("n1, n2 and n3" reads worse in a list of groups than
// "n1, n2, n3"), cut after maxNames.
func names(ids []string) string {
	if len(ids) <= maxNames {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:maxNames], ", "), len(ids)-maxNames)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// quote quotes a name taken from input, so an empty or odd one is visible.
func quote(s string) string { return strconv.Quote(s) }
