package placement

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// dep is one app's rule about another: it is placed after that app.
type dep struct {
	to   string
	rule string // "with" or "awayFrom"
}

// deps returns the apps a must be placed after, sorted. Apps that are not
// in the computation constrain nothing and are left out.
func deps(a App, apps map[string]App) []dep {
	if a.Placement == nil {
		return nil
	}
	var out []dep
	for _, w := range a.Placement.With {
		if _, ok := apps[w]; ok {
			out = append(out, dep{w, "with"})
		}
	}
	for _, x := range a.Placement.AwayFrom {
		other, ok := apps[x]
		if !ok || x == a.Name {
			continue // away from itself: its instances never share a node anyway
		}
		// Two apps away from each other need only one of them to keep
		// away: the one whose name sorts later does.
		if other.Placement != nil && slices.Contains(other.Placement.AwayFrom, a.Name) && a.Name < x {
			continue
		}
		out = append(out, dep{x, "awayFrom"})
	}
	slices.SortFunc(out, func(p, q dep) int { return cmp.Or(cmp.Compare(p.to, q.to), cmp.Compare(p.rule, q.rule)) })
	return slices.CompactFunc(out, func(p, q dep) bool { return p.to == q.to })
}

// placementOrder returns the app names in an order where every app comes
// after the apps its rules depend on, and, apart, the apps caught in a
// cycle of rules with the reason. It is Tarjan's strongly connected
// components algorithm: a component is emitted only after every component
// it depends on, which is exactly the order placement needs.
func placementOrder(apps map[string]App) (order []string, cycles map[string]string) {
	t := tarjan{
		apps:  apps,
		deps:  make(map[string][]dep, len(apps)),
		index: make(map[string]int, len(apps)),
		low:   make(map[string]int, len(apps)),
		on:    make(map[string]bool),
	}
	for name, a := range apps {
		t.deps[name] = deps(a, apps)
	}
	cycles = make(map[string]string)
	t.emit = func(scc []string) {
		if len(scc) == 1 && !slices.ContainsFunc(t.deps[scc[0]], func(d dep) bool { return d.to == scc[0] }) {
			order = append(order, scc[0])
			return
		}
		reason := t.cycleReason(scc)
		for _, name := range scc {
			cycles[name] = reason
		}
	}
	for _, name := range slices.Sorted(maps.Keys(apps)) {
		if _, seen := t.index[name]; !seen {
			t.visit(name)
		}
	}
	return order, cycles
}

type tarjan struct {
	apps  map[string]App
	deps  map[string][]dep
	index map[string]int
	low   map[string]int
	on    map[string]bool
	stack []string
	next  int
	emit  func(scc []string)
}

// visit recurses once per app along its rules; rule chains are as deep as
// the apps a person writes, so recursion depth is not a concern.
func (t *tarjan) visit(v string) {
	t.index[v], t.low[v] = t.next, t.next
	t.next++
	t.stack = append(t.stack, v)
	t.on[v] = true
	for _, d := range t.deps[v] {
		if _, seen := t.index[d.to]; !seen {
			t.visit(d.to)
			t.low[v] = min(t.low[v], t.low[d.to])
		} else if t.on[d.to] {
			t.low[v] = min(t.low[v], t.index[d.to])
		}
	}
	if t.low[v] != t.index[v] {
		return
	}
	var scc []string
	for {
		w := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.on[w] = false
		scc = append(scc, w)
		if w == v {
			break
		}
	}
	slices.Sort(scc)
	t.emit(scc)
}

// cycleReason names the rules that form the cycle, e.g.
// "placement rules form a cycle: a with b, b with a".
func (t *tarjan) cycleReason(scc []string) string {
	var rules []string
	for _, name := range scc {
		for _, d := range t.deps[name] {
			if slices.Contains(scc, d.to) {
				rules = append(rules, name+" "+d.rule+" "+d.to)
			}
		}
	}
	return "placement rules form a cycle: " + strings.Join(rules, ", ")
}
