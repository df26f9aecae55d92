package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/registry"
)

// Member is a live node with the operator's standing requests on it.
type Member struct {
	registry.Node
	Cordoned bool `json:"cordoned,omitempty"` // takes nothing new
	Draining bool `json:"draining,omitempty"` // keeps nothing
}

// State is one word for the member's scheduling state.
func (m Member) State() string {
	switch {
	case m.Draining:
		return "draining"
	case m.Cordoned:
		return "cordoned"
	}
	return "ready"
}

// Ops is the operators' standing requests, as the scheduler reads them.
type Ops struct {
	Cordoned map[string]bool   `json:"cordoned"` // by node
	Draining map[string]bool   `json:"draining"` // by node
	Moves    map[string]string `json:"moves"`    // app -> node
}

// bucket binds a platform bucket by name. A missing bucket means no host
// ever ran the platform on this NATS.
func (c *Client) bucket(ctx context.Context, name string) (jetstream.KeyValue, error) {
	kv, err := c.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, registry.ErrNoPlatform
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open bucket %s: %w", name, natsErr(err))
	}
	return kv, nil
}

// scan calls fn with the current value of every key of the bucket named
// name; deleted and expired keys are skipped.
func (c *Client) scan(ctx context.Context, name string, fn func(jetstream.KeyValueEntry)) error {
	kv, err := c.bucket(ctx, name)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("cannot read bucket %s: %w", name, natsErr(err))
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot read bucket %s: %w", name, natsErr(ctx.Err()))
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("cannot read bucket %s: the watch ended: %w", name, abi.ErrUnavailable)
			}
			if e == nil {
				return nil
			}
			fn(e)
		}
	}
}

// Nodes returns the live members of the platform, sorted by id. Each
// holds a membership lease whose value is its registry.Node; a record
// that does not parse is skipped rather than failing the listing.
func (c *Client) Nodes(ctx context.Context) ([]registry.Node, error) {
	var out []registry.Node
	err := c.scan(ctx, c.layout.NodesBucket(), func(e jetstream.KeyValueEntry) {
		info, err := lease.ParseEntry(e)
		var n registry.Node
		if err != nil || json.Unmarshal(info.Value, &n) != nil || n.ID == "" {
			return
		}
		out = append(out, n)
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list nodes: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Ops returns the operators' standing requests.
func (c *Client) Ops(ctx context.Context) (Ops, error) {
	ops := Ops{Cordoned: map[string]bool{}, Draining: map[string]bool{}, Moves: map[string]string{}}
	err := c.scan(ctx, c.layout.OpsBucket(), func(e jetstream.KeyValueEntry) {
		kind, name, _ := strings.Cut(e.Key(), ".")
		switch kind {
		case "cordon":
			ops.Cordoned[name] = true
		case "drain":
			ops.Draining[name] = true
		case "move":
			ops.Moves[name] = string(e.Value())
		}
	})
	if err != nil {
		return Ops{}, fmt.Errorf("cannot read operator requests: %w", err)
	}
	return ops, nil
}

// Members returns the live nodes with their cordon and drain state.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	ops, err := c.Ops(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(nodes))
	for i, n := range nodes {
		out[i] = Member{Node: n, Cordoned: ops.Cordoned[n.ID], Draining: ops.Draining[n.ID]}
	}
	return out, nil
}

// Placements returns where the scheduler placed each app, by app.
func (c *Client) Placements(ctx context.Context) (map[string]registry.Placement, error) {
	out := map[string]registry.Placement{}
	err := c.scan(ctx, c.layout.PlacementsBucket(), func(e jetstream.KeyValueEntry) {
		var p registry.Placement
		if json.Unmarshal(e.Value(), &p) == nil {
			out[e.Key()] = p
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read placements: %w", err)
	}
	return out, nil
}

// Cordon keeps new placements off node; what runs there stays.
func (c *Client) Cordon(ctx context.Context, node string) error {
	return c.putNodeOp(ctx, "cordon", layout.CordonKey(node), node)
}

// Drain moves everything off node and keeps it off.
func (c *Client) Drain(ctx context.Context, node string) error {
	return c.putNodeOp(ctx, "drain", layout.DrainKey(node), node)
}

// Uncordon clears both cordon and drain: node takes placements again.
// It answers abi.ErrNotFound for a node that is neither live nor cordoned
// or drained, which is most likely a typo.
func (c *Client) Uncordon(ctx context.Context, node string) error {
	kv, err := c.bucket(ctx, c.layout.OpsBucket())
	if err != nil {
		return fmt.Errorf("cannot uncordon %s: %w", node, err)
	}
	ops, err := c.Ops(ctx)
	if err != nil {
		return fmt.Errorf("cannot uncordon %s: %w", node, err)
	}
	if !ops.Cordoned[node] && !ops.Draining[node] {
		if err := c.checkMember(ctx, node); err != nil {
			return fmt.Errorf("cannot uncordon: %w", err)
		}
		return nil
	}
	for _, key := range []string{layout.CordonKey(node), layout.DrainKey(node)} {
		if err := kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("cannot uncordon %s: %w", node, natsErr(err))
		}
	}
	return nil
}

// putNodeOp records an operator request on a live node. The value is only
// for people reading the bucket: the scheduler goes by the key.
func (c *Client) putNodeOp(ctx context.Context, verb, key, node string) error {
	if err := c.checkMember(ctx, node); err != nil {
		return fmt.Errorf("cannot %s: %w", verb, err)
	}
	kv, err := c.bucket(ctx, c.layout.OpsBucket())
	if err != nil {
		return fmt.Errorf("cannot %s %s: %w", verb, node, err)
	}
	if _, err := kv.Put(ctx, key, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		return fmt.Errorf("cannot %s %s: %w", verb, node, natsErr(err))
	}
	return nil
}

// checkMember answers abi.ErrNotFound, naming the live nodes, when node
// is not one of them.
func (c *Client) checkMember(ctx context.Context, node string) error {
	if err := layout.ValidNode(node); err != nil {
		return fmt.Errorf("%w: %w", err, abi.ErrInvalid)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		if n.ID == node {
			return nil
		}
		ids[i] = n.ID
	}
	return fmt.Errorf("no live node %q (live: %s; `go-cluster nodes` lists them): %w", node, orNone(ids), abi.ErrNotFound)
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// Move asks the scheduler to run app on node first (for a singleton, to
// make it the active). The request stands until cleared: Move with node ""
// clears it. The app must be deployed and the node live and schedulable;
// the scheduler may still refuse (the node lacks a label the app needs),
// and says so in the placement's Reason.
func (c *Client) Move(ctx context.Context, app, node string) error {
	kv, err := c.bucket(ctx, c.layout.OpsBucket())
	if err != nil {
		return fmt.Errorf("cannot move %s: %w", app, err)
	}
	if node == "" {
		if err := kv.Delete(ctx, layout.MoveKey(app)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("cannot clear the move of %s: %w", app, natsErr(err))
		}
		return nil
	}
	if _, err := c.registry.Current(ctx, app); err != nil {
		if errors.Is(err, abi.ErrNotFound) {
			return fmt.Errorf("cannot move %s: it is not deployed (`go-cluster apps` lists what is): %w", app, abi.ErrNotFound)
		}
		return fmt.Errorf("cannot move %s: %w", app, err)
	}
	if err := c.checkMovable(ctx, node); err != nil {
		return fmt.Errorf("cannot move %s to %s: %w", app, node, err)
	}
	if _, err := kv.Put(ctx, layout.MoveKey(app), []byte(node)); err != nil {
		return fmt.Errorf("cannot move %s: %w", app, natsErr(err))
	}
	return nil
}

// checkMovable refuses a target the scheduler would refuse for its state.
func (c *Client) checkMovable(ctx context.Context, node string) error {
	if err := c.checkMember(ctx, node); err != nil {
		return err
	}
	ops, err := c.Ops(ctx)
	if err != nil {
		return err
	}
	switch {
	case ops.Draining[node]:
		return fmt.Errorf("%s is draining (`go-cluster uncordon %s` first): %w", node, node, abi.ErrInvalid)
	case ops.Cordoned[node]:
		return fmt.Errorf("%s is cordoned (`go-cluster uncordon %s` first): %w", node, node, abi.ErrInvalid)
	}
	return nil
}

// WaitPlacement watches app's placement until done accepts it or ctx
// ends, and returns the placement done accepted.
func (c *Client) WaitPlacement(ctx context.Context, app string, done func(registry.Placement) bool) (registry.Placement, error) {
	var last registry.Placement
	err := c.watch(ctx, c.layout.PlacementsBucket(), app, func(e jetstream.KeyValueEntry) bool {
		var p registry.Placement
		if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &p) != nil {
			return false
		}
		last = p
		return done(p)
	})
	return last, err
}

// watch calls fn with every value of the keys matching filter in the
// bucket named name (the current ones first) until fn answers true or
// ctx ends.
func (c *Client) watch(ctx context.Context, name, filter string, fn func(jetstream.KeyValueEntry) bool) error {
	kv, err := c.bucket(ctx, name)
	if err != nil {
		return err
	}
	w, err := kv.WatchFiltered(ctx, []string{filter})
	if err != nil {
		return fmt.Errorf("cannot watch %s: %w", name, natsErr(err))
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return natsErr(ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("cannot watch %s: the watch ended: %w", name, abi.ErrUnavailable)
			}
			if e != nil && fn(e) {
				return nil
			}
		}
	}
}

// natsErr wraps a NATS error with the abi sentinel that says what kind of
// failure it is, so callers can errors.Is it without importing NATS.
func natsErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return fmt.Errorf("%w (%w)", abi.ErrNotFound, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (%w)", abi.ErrTimeout, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w (%w)", abi.ErrUnavailable, err)
}
