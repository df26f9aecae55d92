package placement

import (
	"cmp"
	"slices"

	"github.com/ozanturksever/go-cluster/manifest"
)

// Node is a cluster member as the scheduler sees it.
type Node struct {
	ID     string
	Labels map[string]string
	// Cordoned: no new placements; what already runs here stays.
	Cordoned bool
	// Draining: nothing stays; everything moves off.
	Draining bool
}

// App is what placement needs to know about one app.
type App struct {
	Name string
	// Mode is how many instances run; empty means manifest.ModeSingleton.
	Mode manifest.Mode
	// Replicas is the instance count with manifest.ModeReplicas.
	Replicas int
	// Pattern is how instances share work; only manifest.PatternRing
	// changes the result (it adds partitions). Empty means the manifest's
	// default for the mode.
	Pattern manifest.Pattern
	// Partitions is the ring size with manifest.PatternRing; 0 means
	// manifest.DefaultPartitions.
	Partitions int
	// Placement is the manifest's rules; nil allows every node.
	Placement *manifest.Placement
	// MoveTo is the operator's "move APP to NODE": that node comes first
	// (the preferred active) and, with replicas, holds one.
	MoveTo string
}

// AppFromManifest returns the placement view of m. MoveTo is left empty: it
// is an operator's decision, not part of the manifest.
func AppFromManifest(m *manifest.Manifest) App {
	return App{
		Name:       m.Name,
		Mode:       m.Mode,
		Replicas:   m.Replicas,
		Pattern:    m.Pattern,
		Partitions: m.Partitions,
		Placement:  m.Placement,
	}
}

// Assignment is where one app runs.
type Assignment struct {
	App string `json:"app"`
	// Nodes run an instance each, preferred first: Nodes[0] is the
	// preferred active of a singleton.
	Nodes []string `json:"nodes,omitempty"`
	// Partitions, with pattern ring, lists each node's partitions in
	// ascending order; every node of Nodes has an entry, possibly empty.
	Partitions map[string][]int `json:"partitions,omitempty"`
	// Reason says why the app runs on fewer nodes than asked or was not
	// moved as asked; empty when it runs as asked.
	Reason string `json:"reason,omitempty"`
}

// Compute places apps on nodes. prev is the previous assignment by app
// name (nil for none); it keeps instances where they are when the rules
// allow. The result has one Assignment for every app name in apps. See the
// package documentation for the rules.
func Compute(apps []App, nodes []Node, prev map[string]Assignment) map[string]Assignment {
	c := newCluster(nodes)
	out := make(map[string]Assignment, len(apps))
	byName := make(map[string]App, len(apps))
	for _, a := range apps {
		if _, dup := byName[a.Name]; dup {
			out[a.Name] = Assignment{App: a.Name, Reason: "more than one app is named " + quote(a.Name)}
			continue
		}
		byName[a.Name] = a
	}
	for name := range out {
		delete(byName, name)
	}
	order, cycles := placementOrder(byName)
	for name, reason := range cycles {
		out[name] = Assignment{App: name, Reason: reason}
	}
	st := func(app string) string { return status(app, byName, out) }
	for _, name := range order {
		a := c.place(byName[name], prev[name], st)
		out[name] = a
		c.record(a)
	}
	return out
}

// status explains why app runs nowhere, for the "with" reason; "" when it
// runs somewhere.
func status(app string, known map[string]App, out map[string]Assignment) string {
	if a, ok := out[app]; ok && len(a.Nodes) > 0 {
		return ""
	}
	if _, ok := known[app]; !ok {
		if _, dup := out[app]; !dup {
			return app + " is not deployed"
		}
	}
	return app + " is not placed"
}

// cluster is the nodes, sorted by id, and the apps placed on each so far.
type cluster struct {
	nodes []Node
	index map[string]int
	apps  [][]string
}

func newCluster(nodes []Node) *cluster {
	sorted := slices.Clone(nodes)
	slices.SortStableFunc(sorted, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	c := &cluster{index: make(map[string]int, len(sorted))}
	for _, n := range sorted {
		if n.ID == "" {
			continue // "" means "no node" in Owner and Moves
		}
		if i, dup := c.index[n.ID]; dup {
			c.nodes[i] = merge(c.nodes[i], n)
			continue
		}
		c.index[n.ID] = len(c.nodes)
		c.nodes = append(c.nodes, n)
	}
	c.apps = make([][]string, len(c.nodes))
	return c
}

// merge combines two entries for one node id the same way whatever their
// order: the strictest state, and only the labels both agree on.
func merge(a, b Node) Node {
	labels := make(map[string]string)
	for k, v := range a.Labels {
		if w, ok := b.Labels[k]; ok && w == v {
			labels[k] = v
		}
	}
	return Node{ID: a.ID, Labels: labels, Cordoned: a.Cordoned || b.Cordoned, Draining: a.Draining || b.Draining}
}

// record notes a's instances so later apps' with and awayFrom rules see
// them.
func (c *cluster) record(a Assignment) {
	for _, id := range a.Nodes {
		i := c.index[id]
		c.apps[i] = append(c.apps[i], a.App)
	}
}

func (c *cluster) info(i int) manifest.NodeInfo {
	n := c.nodes[i]
	return manifest.NodeInfo{ID: n.ID, Labels: n.Labels, Apps: c.apps[i]}
}
