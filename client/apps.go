package client

import (
	"context"
	"errors"
	"sort"

	"github.com/ozanturksever/go-cluster/registry"
)

// App is an app as `go-cluster apps` shows it: its current deployment and
// how it runs on each node.
type App struct {
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Revision  uint64            `json:"revision"`
	Digest    string            `json:"digest"`
	Status    string            `json:"status"`    // running, loading, failed, pending
	Instances int               `json:"instances"` // wasm instances over all nodes
	Nodes     []registry.Status `json:"nodes"`
	Error     string            `json:"error,omitempty"`
	// Reason says why the app is pending or runs on fewer nodes than asked,
	// as the scheduler found it.
	Reason string `json:"reason,omitempty"`
}

// Apps lists every deployed app with the nodes' reports and the
// scheduler's placement joined in.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	deps, err := c.registry.List(ctx)
	if err != nil {
		return nil, err
	}
	reports, err := c.registry.Reports(ctx)
	if err != nil {
		return nil, err
	}
	places, err := c.Placements(ctx)
	if errors.Is(err, registry.ErrNoPlatform) {
		// A host still opening its buckets: nothing is placed yet.
		places, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	live, err := c.liveNodes(ctx)
	if err != nil {
		return nil, err
	}
	byApp := map[string][]registry.Status{}
	for _, r := range reports {
		if live != nil && !live[r.Node] {
			continue // a crashed host never clears its reports
		}
		byApp[r.App] = append(byApp[r.App], r)
	}
	out := make([]App, 0, len(deps))
	for _, d := range deps {
		a := App{Name: d.App, Version: d.Version, Revision: d.Revision, Digest: d.Digest, Nodes: byApp[d.App]}
		a.Status, a.Error = summarize(d.Revision, a.Nodes)
		a.Reason = placementReason(places, d.App)
		for _, n := range a.Nodes {
			if n.Revision == d.Revision && n.State == registry.StateRunning {
				a.Instances += n.Instances
			}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// placementReason is the scheduler's word on app: why it is not placed,
// or why not as asked.
func placementReason(places map[string]registry.Placement, app string) string {
	p, ok := places[app]
	switch {
	case !ok:
		return notPlaced
	case len(p.Nodes) == 0 && p.Reason == "":
		return "no node can run it"
	}
	return p.Reason
}

// summarize folds the nodes' reports on the current revision into one word.
func summarize(rev uint64, nodes []registry.Status) (status, errText string) {
	counts := map[registry.State]int{}
	for _, n := range nodes {
		if n.Revision != rev {
			counts[registry.StateLoading]++
			continue
		}
		counts[n.State]++
		if n.State == registry.StateFailed && errText == "" {
			errText = n.Error
		}
	}
	switch {
	case counts[registry.StateFailed] > 0:
		return "failed", errText
	case counts[registry.StateLoading] > 0:
		return "loading", ""
	case counts[registry.StateRunning] > 0:
		return "running", ""
	}
	return "pending", ""
}

// liveNodes is the set of member node ids; nil when the platform keeps no
// membership yet (then no report is filtered out).
func (c *Client) liveNodes(ctx context.Context) (map[string]bool, error) {
	nodes, err := c.Nodes(ctx)
	if errors.Is(err, registry.ErrNoPlatform) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		live[n.ID] = true
	}
	return live, nil
}
