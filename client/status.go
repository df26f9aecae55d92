package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
)

// StatePending is an instance the scheduler placed that has not reported
// yet: its host is fetching the module or has not seen the placement.
const StatePending registry.State = "pending"

// Status is the platform at a glance: its nodes and, per app, where it is
// placed and what role each instance plays.
type Status struct {
	Nodes []Member    `json:"nodes"`
	Apps  []AppStatus `json:"apps"`
}

// AppStatus is one app across the nodes.
type AppStatus struct {
	App      string           `json:"app"`
	Version  string           `json:"version"`
	Revision uint64           `json:"revision"`
	Mode     manifest.Mode    `json:"mode"`
	Pattern  manifest.Pattern `json:"pattern"`
	// Active and Epoch are the node holding an active-passive app's lease
	// and the fencing token of its term; empty when no node holds it.
	Active string `json:"active,omitempty"`
	Epoch  uint64 `json:"epoch,omitempty"`
	// Placed is where the scheduler put the app, preferred first; nil
	// while it is not placed yet.
	Placed []string `json:"placed"`
	// Reason says why the app runs on fewer nodes than asked, was not
	// moved as asked, or is "pending" placement.
	Reason string `json:"reason,omitempty"`
	// MoveTo is the operator's standing move request, if any.
	MoveTo    string     `json:"moveTo,omitempty"`
	Instances []Instance `json:"instances"`

	Deployment *registry.Deployment `json:"-"`
	Placement  *registry.Placement  `json:"-"` // nil while not placed
}

// Instance is the app on one node: placed there, reporting from there,
// or both.
type Instance struct {
	Node string `json:"node"`
	// Role is active, standby, pool or ring (registry.Role*); empty while
	// the instance is not running.
	Role       string         `json:"role,omitempty"`
	Token      uint64         `json:"token,omitempty"`      // the active's fencing token
	Partitions int            `json:"partitions,omitempty"` // ring partitions owned
	State      registry.State `json:"state"`
	Revision   uint64         `json:"revision,omitempty"` // the deployment it runs or tried
	Instances  int            `json:"instances"`          // wasm instances
	Placed     bool           `json:"placed"`             // false: it is leaving this node
	Error      string         `json:"error,omitempty"`
	// DB is where this node's copy of the app's database stands.
	DB *registry.DBStatus `json:"db,omitempty"`
	// VIP is the virtual address this node holds for the app (active).
	VIP string `json:"vip,omitempty"`
	// Backend is the app's backend on this node: the active's, or the
	// failure that made this node step down.
	Backend *registry.BackendStatus `json:"backend,omitempty"`
}

// Status reads deployments, placements, reports, leases and members and
// joins them, app by app.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	members, err := c.Members(ctx)
	if err != nil {
		return nil, err
	}
	deps, err := c.registry.List(ctx)
	if err != nil {
		return nil, err
	}
	places, err := c.Placements(ctx)
	if err != nil {
		return nil, err
	}
	reports, err := c.registry.Reports(ctx)
	if err != nil {
		return nil, err
	}
	actives, err := c.actives(ctx)
	if err != nil {
		return nil, err
	}
	ops, err := c.Ops(ctx)
	if err != nil {
		return nil, err
	}
	byApp := map[string][]registry.Status{}
	for _, r := range reports {
		byApp[r.App] = append(byApp[r.App], r)
	}
	st := &Status{Nodes: members, Apps: make([]AppStatus, 0, len(deps))}
	for _, d := range deps {
		a := appStatus(d, places, byApp[d.App], actives[d.App])
		a.MoveTo = ops.Moves[d.App]
		st.Apps = append(st.Apps, a)
	}
	return st, nil
}

// notPlaced is the Reason of an app the scheduler has not placed yet.
const notPlaced = "the scheduler has not placed it yet"

func appStatus(d *registry.Deployment, places map[string]registry.Placement, reports []registry.Status, active lease.Info) AppStatus {
	a := AppStatus{App: d.App, Version: d.Version, Revision: d.Revision, Mode: d.Manifest.Mode,
		Pattern: d.Manifest.Pattern, Deployment: d, Reason: notPlaced, Instances: []Instance{}}
	if active.Token != 0 {
		a.Active, a.Epoch = string(active.Value), active.Token
	}
	byNode := map[string]*Instance{}
	if p, ok := places[d.App]; ok {
		a.Placement, a.Placed, a.Reason = &p, p.Nodes, p.Reason
		if len(p.Nodes) == 0 && a.Reason == "" {
			a.Reason = "no node can run it"
		}
		for _, n := range p.Nodes {
			byNode[n] = &Instance{Node: n, State: StatePending, Placed: true}
		}
	}
	for _, r := range reports {
		in := byNode[r.Node]
		if in == nil {
			in = &Instance{Node: r.Node}
			byNode[r.Node] = in
		}
		in.Role, in.Token, in.Partitions, in.State = r.Role, r.Token, r.Partitions, r.State
		in.Revision, in.Instances, in.Error, in.DB = r.Revision, r.Instances, r.Error, r.DB
		in.VIP, in.Backend = r.VIP, r.Backend
		if r.State != registry.StateRunning {
			in.Role, in.Token = "", 0
		}
	}
	for _, in := range byNode {
		a.Instances = append(a.Instances, *in)
	}
	sort.Slice(a.Instances, func(i, j int) bool { return a.Instances[i].Node < a.Instances[j].Node })
	return a
}

// actives reads every app's active lease, by app.
func (c *Client) actives(ctx context.Context) (map[string]lease.Info, error) {
	out := map[string]lease.Info{}
	err := c.scan(ctx, c.layout.LeasesBucket(), func(e jetstream.KeyValueEntry) {
		app, ok := strings.CutPrefix(e.Key(), layout.AppLeaseKey(""))
		if !ok {
			return
		}
		if info, err := lease.ParseEntry(e); err == nil {
			out[app] = info
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the active leases: %w", err)
	}
	return out, nil
}

// Stepdown is a hand-over that was asked for.
type Stepdown struct {
	Node string // the node that is stepping down
	// Token is the highest fencing token of the app known when the
	// request was sent: the term being ended, or 0 if none was known.
	Token uint64
}

// Stepdown asks app's active instance to hand over: it stops serving as
// the active, releases the lease and stays out of the next election for a
// short cool-down, so another node takes over (or, when it is the only
// candidate, it takes the role again after the cool-down, with a new
// token). WaitActive follows the hand-over.
func (c *Client) Stepdown(ctx context.Context, app string) (Stepdown, error) {
	before := c.lastToken(ctx, app)
	resp, err := c.nc.RequestWithContext(ctx, c.layout.StepdownSubject(app), nil)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return Stepdown{}, c.explainNoActive(ctx, app)
	case errors.Is(err, context.DeadlineExceeded):
		return Stepdown{}, fmt.Errorf("cannot step %s down: its active did not answer in time (see `go-cluster status`): %w", app, abi.ErrTimeout)
	case err != nil:
		return Stepdown{}, fmt.Errorf("cannot step %s down: %w (%w)", app, abi.ErrUnavailable, err)
	}
	return Stepdown{Node: string(resp.Data), Token: before}, nil
}

// lastToken is the highest fencing token of app's terms known now, from
// its lease and its nodes' reports: every later term has a higher one.
// Both are read, since either may trail (a report not yet written, a
// lease read that failed).
func (c *Client) lastToken(ctx context.Context, app string) uint64 {
	var token uint64
	if kv, err := c.bucket(ctx, c.layout.LeasesBucket()); err == nil {
		if info, err := lease.Current(ctx, kv, layout.AppLeaseKey(app)); err == nil {
			token = info.Token
		}
	}
	if reports, err := c.registry.Reports(ctx); err == nil {
		for _, r := range reports {
			if r.App == app && r.Role == registry.RoleActive {
				token = max(token, r.Token)
			}
		}
	}
	return token
}

// explainNoActive tells an unknown app from one without an active role
// from one that is between actives.
func (c *Client) explainNoActive(ctx context.Context, app string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	d, err := c.registry.Current(ctx, app)
	if errors.Is(err, abi.ErrNotFound) {
		return fmt.Errorf("cannot step %s down: it is not deployed (`go-cluster apps` lists what is): %w", app, abi.ErrNotFound)
	}
	if err == nil && d.Manifest.Pattern != manifest.PatternActivePassive {
		return fmt.Errorf("cannot step %s down: its pattern is %s, which has no active instance (only active-passive apps have one): %w", app, d.Manifest.Pattern, abi.ErrInvalid)
	}
	return fmt.Errorf("cannot step %s down: no active instance of %s right now (one is elected within seconds of a failover; see `go-cluster status`): %w", app, app, abi.ErrUnavailable)
}

// WaitActive follows the nodes' reports on app until one reports it
// active with a fencing token above after, and returns that report. Every
// new term has a higher token than the ones before it, so after = the
// token of a term that ended waits for its successor.
func (c *Client) WaitActive(ctx context.Context, app string, after uint64) (registry.Status, error) {
	st, err := c.WaitReport(ctx, app, func(st registry.Status) bool {
		return st.Role == registry.RoleActive && st.Token > after
	})
	if err != nil {
		return registry.Status{}, fmt.Errorf("no node reported %s active after token %d: %w", app, after, err)
	}
	return st, nil
}

// WaitReport follows the nodes' reports on app (the current ones first)
// until done accepts one, and returns it.
func (c *Client) WaitReport(ctx context.Context, app string, done func(registry.Status) bool) (registry.Status, error) {
	var found registry.Status
	err := c.watch(ctx, c.layout.StatusBucket(), layout.StatusWatch(app), func(e jetstream.KeyValueEntry) bool {
		var st registry.Status
		if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &st) != nil || !done(st) {
			return false
		}
		found = st
		return true
	})
	return found, err
}
