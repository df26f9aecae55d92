package placement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ozanturksever/go-cluster/manifest"
)

// cand is an eligible node for one app. It holds no pointers, so sorting
// candidates moves plain words (no write barriers), which is most of what
// Compute does on a large cluster.
type cand struct {
	node     int    // index in cluster.nodes, which are sorted by id
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
	return cmp.Compare(a.node, b.node) // the same order as the ids
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
	cands, held := c.candidates(app, prev)
	causes := func(i int) cause { return c.why(app, i, held[i], st) }
	pin, pinReason := c.pin(app, causes)
	chosen := choose(app, cands, pin)
	first := pin
	if first < 0 {
		first = c.keepFirst(app, prev, chosen)
	}
	out.Nodes = c.orderNodes(chosen, first)
	if app.Pattern == manifest.PatternRing && len(out.Nodes) > 0 {
		out.Partitions = partition(app.Name, out.Nodes, app.Partitions)
	}
	out.Reason = join(c.shortfall(app, out.Nodes, causes), pinReason, cordonedOnly(app, out.Nodes, chosen))
	return out
}

// keepFirst returns the node index of a singleton's previous preferred
// active when it is still chosen and not cordoned, else -1: moving the
// active role is a failover, done only when it must be.
func (c *cluster) keepFirst(app App, prev Assignment, chosen []cand) int {
	if app.Mode != manifest.ModeSingleton || len(prev.Nodes) == 0 {
		return -1
	}
	for _, x := range chosen {
		if c.nodes[x.node].ID == prev.Nodes[0] && !x.cordoned {
			return x.node
		}
	}
	return -1
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

// candidates returns the nodes the app may run on, best first, and which
// nodes the previous assignment had, by node index.
func (c *cluster) candidates(app App, prev Assignment) ([]cand, []bool) {
	held := make([]bool, len(c.nodes))
	for _, id := range prev.Nodes {
		if i, ok := c.index[id]; ok {
			held[i] = true
		}
	}
	cands := make([]cand, 0, len(c.nodes))
	for i, n := range c.nodes {
		if n.Draining || n.Cordoned && !held[i] {
			continue
		}
		info := c.info(i)
		if !app.Placement.Eligible(info) {
			continue
		}
		cands = append(cands, cand{
			node:     i,
			score:    app.Placement.Score(info),
			weight:   nodeWeight(app.Name, n.ID),
			held:     held[i],
			cordoned: n.Cordoned,
		})
	}
	slices.SortFunc(cands, rankUncordonedFirst)
	return cands, held
}

// why returns what rules node i out for the app, the zero cause when
// nothing does. It mirrors candidates, which skips the wording: most
// nodes ruled out are never reported.
func (c *cluster) why(app App, i int, held bool, st func(string) string) cause {
	n, info := c.nodes[i], c.info(i)
	switch {
	case !app.Placement.Eligible(info):
		return explain(app.Placement, info, st)
	case n.Draining:
		return causeDraining
	case n.Cordoned && !held:
		return causeCordoned
	}
	return cause{}
}

// pin returns the node index of the operator's move target when it can be
// honoured (-1 when there is none), or why not.
func (c *cluster) pin(app App, causes func(int) cause) (int, string) {
	to := app.MoveTo
	if to == "" {
		return -1, ""
	}
	i, known := c.index[to]
	switch {
	case !known:
		return -1, fmt.Sprintf("cannot move to %s: no such node", to)
	case causes(i).one != "":
		return -1, fmt.Sprintf("cannot move to %s: it %s", to, causes(i).one)
	case c.nodes[i].Cordoned:
		return -1, fmt.Sprintf("cannot move to %s: it %s", to, causeCordoned.one)
	}
	return i, ""
}

// choose picks the nodes the app runs on from the ranked candidates, and
// returns them ranked.
func choose(app App, cands []cand, pin int) []cand {
	if app.Mode != manifest.ModeReplicas {
		return cands
	}
	chosen := make([]cand, 0, min(app.Replicas, len(cands)))
	for _, x := range cands {
		if x.node == pin {
			chosen = append(chosen, x)
		}
	}
	// Previous holders first, so nothing moves that need not; cands puts
	// uncordoned ones first, so a shrink leaves cordoned nodes first.
	for _, x := range cands {
		if len(chosen) < app.Replicas && x.held && x.node != pin {
			chosen = append(chosen, x)
		}
	}
	for _, x := range cands {
		if len(chosen) < app.Replicas && !x.held && x.node != pin {
			chosen = append(chosen, x)
		}
	}
	slices.SortFunc(chosen, rankUncordonedFirst)
	return chosen
}

// orderNodes lists the ids of the chosen nodes, which are in rank order
// with cordoned nodes last, with first (when not -1) moved to the front.
func (c *cluster) orderNodes(chosen []cand, first int) []string {
	if len(chosen) == 0 {
		return nil // as a stored assignment reads back
	}
	ids := make([]string, 0, len(chosen))
	if first >= 0 {
		ids = append(ids, c.nodes[first].ID)
	}
	for _, x := range chosen {
		if x.node != first {
			ids = append(ids, c.nodes[x.node].ID)
		}
	}
	return ids
}

// shortfall explains an app placed on fewer nodes than asked.
func (c *cluster) shortfall(app App, placed []string, causes func(int) cause) string {
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
func cordonedOnly(app App, placed []string, chosen []cand) string {
	if app.Mode != manifest.ModeSingleton || len(chosen) == 0 || slices.ContainsFunc(chosen, func(x cand) bool { return !x.cordoned }) {
		return ""
	}
	return "every eligible node is cordoned; it stays on " + names(placed)
}

func join(parts ...string) string {
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
	return strings.Join(parts, "; ")
}
