package placement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ozanturksever/go-cluster/manifest"
)

// cand is an eligible node for one app.
type cand struct {
	id       string
	score    int    // manifest Score: the prefer weights it matches
	weight   uint64 // rendezvous weight of (app, node)
	held     bool   // in the previous assignment
	cordoned bool
}

// rank orders candidates best first: higher score, then higher rendezvous
// weight, then node id, so the order is total and never depends on input
// order.
func rank(a, b cand) int {
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	if c := cmp.Compare(b.weight, a.weight); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// rankUncordonedFirst is rank with every cordoned node after every other:
// cordoned nodes are never chosen first while another will do.
func rankUncordonedFirst(a, b cand) int {
	if a.cordoned != b.cordoned {
		if b.cordoned {
			return -1
		}
		return 1
	}
	return rank(a, b)
}

// place computes one app's assignment on the cluster as it stands.
func (c *cluster) place(app App, prev Assignment, st func(string) string) Assignment {
	out := Assignment{App: app.Name}
	app, bad := normalize(app)
	if bad != "" {
		out.Reason = bad
		return out
	}
	cands, causes := c.candidates(app, prev, st)
	pin, pinReason := c.pin(app, causes)
	chosen := choose(app, cands, pin)
	first := pin
	if first == "" && app.Mode == manifest.ModeSingleton && len(prev.Nodes) > 0 {
		if i := slices.IndexFunc(chosen, func(x cand) bool { return x.id == prev.Nodes[0] }); i >= 0 && !chosen[i].cordoned {
			first = prev.Nodes[0]
		}
	}
	out.Nodes = orderNodes(chosen, first)
	if app.Pattern == manifest.PatternRing && len(out.Nodes) > 0 {
		out.Partitions = partition(app.Name, out.Nodes, app.Partitions)
	}
	out.Reason = join(c.shortfall(app, out.Nodes, causes), pinReason, cordonedOnly(app, chosen))
	return out
}

// normalize fills the manifest's defaults into a hand-built app and says
// what makes it unplaceable, if anything.
func normalize(app App) (App, string) {
	switch app.Mode {
	case "":
		app.Mode = manifest.ModeSingleton
	case manifest.ModeSingleton, manifest.ModeSpread:
	case manifest.ModeReplicas:
		if app.Replicas < 1 {
			return app, fmt.Sprintf("replicas is %d; it must be at least 1", app.Replicas)
		}
	default:
		return app, "unknown mode " + quote(string(app.Mode))
	}
	switch app.Pattern {
	case "", manifest.PatternActivePassive, manifest.PatternPool:
	case manifest.PatternRing:
		if app.Mode == manifest.ModeSingleton {
			return app, "pattern ring needs mode spread or replicas"
		}
		if app.Partitions == 0 {
			app.Partitions = manifest.DefaultPartitions
		}
		if app.Partitions < 1 || app.Partitions > manifest.MaxPartitions {
			return app, fmt.Sprintf("partitions is %d; it must be 1 to %d", app.Partitions, manifest.MaxPartitions)
		}
	default:
		return app, "unknown pattern " + quote(string(app.Pattern))
	}
	return app, ""
}

// candidates returns the nodes the app may run on, and for every node
// index the cause that rules it out (the zero cause for candidates).
func (c *cluster) candidates(app App, prev Assignment, st func(string) string) ([]cand, []cause) {
	causes := make([]cause, len(c.nodes))
	cands := make([]cand, 0, len(c.nodes))
	for i, n := range c.nodes {
		held := slices.Contains(prev.Nodes, n.ID)
		info := c.info(i)
		switch {
		case !app.Placement.Eligible(info):
			causes[i] = explain(app.Placement, info, st)
		case n.Draining:
			causes[i] = causeDraining
		case n.Cordoned && !held:
			causes[i] = causeCordoned
		default:
			cands = append(cands, cand{
				id:       n.ID,
				score:    app.Placement.Score(info),
				weight:   nodeWeight(app.Name, n.ID),
				held:     held,
				cordoned: n.Cordoned,
			})
		}
	}
	slices.SortFunc(cands, rank)
	return cands, causes
}

// pin returns the operator's move target when it can be honoured, or why
// not.
func (c *cluster) pin(app App, causes []cause) (string, string) {
	to := app.MoveTo
	if to == "" {
		return "", ""
	}
	i, known := c.index[to]
	switch {
	case !known:
		return "", fmt.Sprintf("cannot move to %s: no such node", to)
	case causes[i].one != "":
		return "", fmt.Sprintf("cannot move to %s: it %s", to, causes[i].one)
	case c.nodes[i].Cordoned:
		return "", fmt.Sprintf("cannot move to %s: it %s", to, causeCordoned.one)
	}
	return to, ""
}

// choose picks the nodes the app runs on from the ranked candidates.
func choose(app App, cands []cand, pin string) []cand {
	if app.Mode != manifest.ModeReplicas {
		return cands
	}
	chosen := make([]cand, 0, min(app.Replicas, len(cands)))
	for _, x := range cands {
		if x.id == pin {
			chosen = append(chosen, x)
		}
	}
	// Previous holders first, so nothing moves that need not; among them
	// uncordoned ones, so a shrink leaves cordoned nodes first.
	held := slices.DeleteFunc(slices.Clone(cands), func(x cand) bool { return !x.held || x.id == pin })
	slices.SortFunc(held, rankUncordonedFirst)
	for _, x := range held {
		if len(chosen) < app.Replicas {
			chosen = append(chosen, x)
		}
	}
	for _, x := range cands {
		if len(chosen) < app.Replicas && !x.held && x.id != pin {
			chosen = append(chosen, x)
		}
	}
	return chosen
}

// orderNodes lists the chosen nodes preferred first: first (when set),
// then the rest by rank with cordoned nodes last.
func orderNodes(chosen []cand, first string) []string {
	if len(chosen) == 0 {
		return nil // as a stored assignment reads back
	}
	sorted := slices.Clone(chosen)
	slices.SortFunc(sorted, rankUncordonedFirst)
	ids := make([]string, 0, len(sorted))
	if first != "" {
		ids = append(ids, first)
	}
	for _, x := range sorted {
		if x.id != first {
			ids = append(ids, x.id)
		}
	}
	return ids
}

// shortfall explains an app placed on fewer nodes than asked.
func (c *cluster) shortfall(app App, placed []string, causes []cause) string {
	if len(c.nodes) == 0 {
		return "no nodes"
	}
	if len(placed) == 0 {
		text, all := describe(c.nodes, causes)
		if all {
			return text
		}
		return "no eligible node: " + text
	}
	if app.Mode != manifest.ModeReplicas || len(placed) >= app.Replicas {
		return ""
	}
	text, _ := describe(c.nodes, causes)
	if text == "" {
		text = fmt.Sprintf("the cluster has %d %s", len(c.nodes), plural(len(c.nodes), "node", "nodes"))
	}
	return fmt.Sprintf("only %d of %d replicas: %s", len(placed), app.Replicas, text)
}

// cordonedOnly notes a singleton whose preferred active is a cordoned node:
// it happens only when no other node is eligible, and the operator should
// know the app has nowhere to fail over to.
func cordonedOnly(app App, chosen []cand) string {
	if app.Mode != manifest.ModeSingleton || len(chosen) == 0 || slices.ContainsFunc(chosen, func(x cand) bool { return !x.cordoned }) {
		return ""
	}
	ids := make([]string, len(chosen))
	for i, x := range chosen {
		ids[i] = x.id
	}
	return "every eligible node is cordoned; it stays on " + names(ids)
}

func join(parts ...string) string {
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
	return strings.Join(parts, "; ")
}
