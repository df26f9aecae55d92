package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/host/events"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/registry"
)

// Version is this build's version, recorded in the node's membership.
const Version = "0.1.0"

// MembershipTTL is how soon after its last renewal a node counts as gone:
// a crashed host is noticed by its key's expiry within this time.
const MembershipTTL = 3 * time.Second

// ErrDuplicateNode is a host started with the id of a node that is alive.
var ErrDuplicateNode = errors.New("node id already alive")

// NodeInfo is what a node tells the platform about itself.
type NodeInfo = registry.Node

// buckets are the platform's coordination buckets.
type buckets struct {
	nodes, leases, placements, ops, ring jetstream.KeyValue
}

func (h *Host) openBuckets(ctx context.Context) error {
	return h.retryOpen(ctx, "the coordination buckets", h.openBucketsOnce)
}

func (h *Host) openBucketsOnce(ctx context.Context) error {
	r := h.replicas
	var err error
	open := func(dst *jetstream.KeyValue, cfg jetstream.KeyValueConfig) {
		if err == nil {
			*dst, err = registry.EnsureKV(ctx, h.js, cfg)
		}
	}
	open(&h.b.nodes, lease.BucketConfig(h.layout.NodesBucket(), MembershipTTL, r))
	open(&h.b.leases, lease.BucketConfig(h.layout.LeasesBucket(), lease.DefaultTTL, r))
	open(&h.b.placements, jetstream.KeyValueConfig{Bucket: h.layout.PlacementsBucket(), History: 1, Replicas: r, Description: "go-cluster placements"})
	open(&h.b.ops, jetstream.KeyValueConfig{Bucket: h.layout.OpsBucket(), History: 1, Replicas: r, Description: "go-cluster operator requests"})
	open(&h.b.ring, jetstream.KeyValueConfig{Bucket: h.layout.RingBucket(), History: 1, Replicas: r, Description: "go-cluster ring ownership"})
	if err != nil {
		return fmt.Errorf("cannot open the platform's coordination buckets: %w", err)
	}
	if _, err := events.Ensure(ctx, h.js, events.StreamConfig(h.layout, r, eventsMaxAge)); err != nil {
		return fmt.Errorf("cannot open the platform's event stream: %w", err)
	}
	h.bus = events.New(h.js, h.layout)
	return nil
}

// eventsMaxAge is how long the event stream keeps an event: a durable
// subscriber that is away longer misses it.
const eventsMaxAge = 7 * 24 * time.Hour

func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// join takes this node's membership lease. A live host with the same id
// keeps renewing it, so the lease stays held and the join is refused; a
// crashed one's expires within MembershipTTL (waited for twice over, as
// expiry runs late on a loaded server) and the join goes through. A host
// restarted on its own data directory holds it under the same instance
// id and takes it back at once.
func (h *Host) join(ctx context.Context) error {
	info := NodeInfo{ID: h.cfg.NodeID, Labels: h.cfg.Labels, Address: h.ClientURL(), Version: Version,
		StartedAt: time.Now().UTC(), Instance: h.instance}
	val, _ := json.Marshal(info)
	l, err := lease.New(lease.Config{KV: h.b.nodes, Key: h.cfg.NodeID, Holder: h.instance, Value: val,
		TTL: MembershipTTL, Logger: h.log, Metrics: h.leaseMetrics})
	if err != nil {
		return err
	}
	h.member = l
	wait, cancel := context.WithTimeout(ctx, 2*MembershipTTL+time.Second)
	defer cancel()
	term, err := l.Campaign(wait)
	if err != nil {
		if other, cerr := lease.Current(ctx, h.b.nodes, h.cfg.NodeID); cerr == nil {
			var o NodeInfo
			_ = json.Unmarshal(other.Value, &o)
			return fmt.Errorf("cannot join as %q: %w (started %s, NATS %s); stop it or pick another --node", h.cfg.NodeID, ErrDuplicateNode, o.StartedAt.Format(time.RFC3339), o.Address)
		}
		return fmt.Errorf("cannot join as %q: %w", h.cfg.NodeID, err)
	}
	h.setMemberTerm(term)
	return nil
}

// keepMembership renews membership for the host's life; if it is lost
// (NATS unreachable too long) it campaigns again. Apps keep running.
func (h *Host) keepMembership(ctx context.Context) {
	for {
		term := h.memberTerm()
		select {
		case <-ctx.Done():
			return
		case <-term.Done():
		}
		h.log.Warn("membership lost; rejoining", "err", term.Err())
		next, err := h.member.Campaign(ctx)
		if err != nil {
			return
		}
		h.setMemberTerm(next)
	}
}

func (h *Host) setMemberTerm(t *lease.Term) {
	h.memberMu.Lock()
	h.memberT = t
	h.memberMu.Unlock()
}

func (h *Host) memberTerm() *lease.Term {
	h.memberMu.Lock()
	defer h.memberMu.Unlock()
	return h.memberT
}

// members tracks the live nodes from the membership bucket's watch.
//
// Threading: safe for concurrent use; run is called once.
type members struct {
	mu      sync.RWMutex
	nodes   map[string]NodeInfo
	started map[string]time.Time // every node seen, for events after it left
	synced  chan struct{}
	subs    []chan struct{} // kicked on every change
}

func newMembers() *members {
	return &members{nodes: map[string]NodeInfo{}, started: map[string]time.Time{}, synced: make(chan struct{})}
}

// subscribe returns a channel kicked (without blocking) on every change.
func (m *members) subscribe() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan struct{}, 1)
	m.subs = append(m.subs, ch)
	return ch
}

func (m *members) kick() {
	for _, ch := range m.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// list returns the live nodes sorted by id.
func (m *members) list() []NodeInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]NodeInfo, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (m *members) alive(id string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.nodes[id]
	return ok
}

// run follows the membership bucket until ctx ends.
func (m *members) run(ctx context.Context, h *Host) {
	for ctx.Err() == nil {
		err := m.follow(ctx, h.b.nodes)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("membership watch lost; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(h.cfg.Retry):
		}
	}
}

func (m *members) follow(ctx context.Context, kv jetstream.KeyValue) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	fresh := map[string]NodeInfo{}
	synced := false
	for {
		e, err := nextEntry(ctx, w)
		if err != nil {
			return err
		}
		if e == nil {
			m.replace(fresh)
			synced = true
			continue
		}
		set := m.put
		if !synced {
			set = func(id string, n *NodeInfo) { putInto(fresh, id, n) }
		}
		if e.Operation() != jetstream.KeyValuePut {
			set(e.Key(), nil)
			continue
		}
		li, err := lease.ParseEntry(e)
		var n NodeInfo
		if err != nil || json.Unmarshal(li.Value, &n) != nil {
			continue
		}
		set(e.Key(), &n)
	}
}

func putInto(m map[string]NodeInfo, id string, n *NodeInfo) {
	if n == nil {
		delete(m, id)
		return
	}
	m[id] = *n
}

// put records a change; renewals that change nothing kick no one.
func (m *members) put(id string, n *NodeInfo) {
	m.mu.Lock()
	old, had := m.nodes[id]
	putInto(m.nodes, id, n)
	if n != nil {
		m.started[id] = n.StartedAt
	}
	changed := had != (n != nil) || n != nil && !reflect.DeepEqual(old, *n)
	m.mu.Unlock()
	if changed {
		m.kick()
	}
}

// startedAt is when node's membership last began, zero if never seen.
func (m *members) startedAt(id string) time.Time {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.started[id]
}

func (m *members) replace(nodes map[string]NodeInfo) {
	m.mu.Lock()
	m.nodes = nodes
	for id, n := range nodes {
		m.started[id] = n.StartedAt
	}
	select {
	case <-m.synced:
	default:
		close(m.synced)
	}
	m.mu.Unlock()
	m.kick()
}

// Nodes returns the live members of the platform.
func (h *Host) Nodes() []NodeInfo { return h.members.list() }
