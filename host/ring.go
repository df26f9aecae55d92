package host

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/placement"
)

// ringDoc is a ring app's ownership table, one key per app in the ring
// bucket, changed only by compare-and-set: Owners[p] is the node that owns
// partition p, "" when none does.
type ringDoc struct {
	Owners []string `json:"owners"`
}

// OwnSpan records one node owning one partition, for the tests that check
// no partition is ever owned twice.
type OwnSpan struct {
	App       string
	Node      string
	Partition int
	Began     time.Time
	Ended     time.Time // zero while owned
}

// ring runs a ring app's partition ownership on this node. A partition
// changes hands in two compare-and-set steps: its owner releases it (the
// guest's on_release first, then the table) and only then may the node the
// scheduler assigned it to claim it (the table first, then on_own). An
// owner whose membership expired has stopped acting (its membership term
// ended locally first), so its partitions may be claimed without it.
type ring struct {
	a          *app
	partitions int

	mu     sync.Mutex
	want   []int        // this node's partitions in the placement
	owned  map[int]bool // partitions this node serves
	owners []string     // the last table seen
	spans  map[int]*OwnSpan
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	subs   []*nats.Subscription
}

func newRing(a *app, p Placement) *ring {
	r := &ring{a: a, partitions: a.dep.Manifest.Partitions, owned: map[int]bool{}, spans: map[int]*OwnSpan{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	r.setPlacement(p)
	return r
}

func (r *ring) setPlacement(p Placement) {
	r.mu.Lock()
	r.want = slices.Clone(p.Partitions[r.a.h.cfg.NodeID])
	r.mu.Unlock()
	r.poke()
}

func (r *ring) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *ring) start() error {
	if err := r.subscribe(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.run(ctx)
	}()
	return nil
}

func (r *ring) stop() {
	r.cancel()
	<-r.done
	unsubscribeAll(r.subs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.releaseAll(ctx)
}

// run converges this node's ownership with its assignment, on every
// change of the table, the placement or the membership.
func (r *ring) run(ctx context.Context) {
	h := r.a.h
	members := h.members.subscribe()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { r.watchTable(ctx) })
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		member := h.memberTerm()
		if member == nil || member.Context().Err() != nil {
			// Without membership others may take our partitions: stop.
			r.releaseLocal(ctx)
		} else if err := r.converge(ctx); err != nil && ctx.Err() == nil {
			h.log.Debug("ring not converged yet", "app", r.a.dep.App, "err", err)
		}
		var memberDone <-chan struct{}
		if member != nil {
			memberDone = member.Done()
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-members:
		case <-memberDone:
		case <-tick.C:
		}
	}
}

func (r *ring) watchTable(ctx context.Context) {
	key := r.a.dep.App
	for ctx.Err() == nil {
		w, err := r.a.h.b.ring.Watch(ctx, key)
		if err != nil {
			sleepCtx(ctx, r.a.h.cfg.Retry)
			continue
		}
		for {
			e, err := nextEntry(ctx, w)
			if err != nil {
				break
			}
			if e == nil {
				continue
			}
			var doc ringDoc
			if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &doc) == nil {
				r.mu.Lock()
				r.owners = doc.Owners
				r.mu.Unlock()
			}
			r.poke()
		}
		_ = w.Stop()
	}
}

// converge makes one pass: release what is no longer ours, claim what is
// ours and free.
func (r *ring) converge(ctx context.Context) error {
	doc, rev, err := r.read(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	want := map[int]bool{}
	for _, p := range r.want {
		want[p] = true
	}
	r.mu.Unlock()
	self := r.a.h.cfg.NodeID
	var drop, take []int
	for p, owner := range doc.Owners {
		switch {
		case owner == self && !want[p]:
			drop = append(drop, p)
		case want[p] && owner != self && (owner == "" || !r.a.h.members.alive(owner)):
			take = append(take, p)
		case want[p] && owner == self && !r.isOwned(p):
			take = append(take, p) // ours in the table, not yet served
		}
	}
	if len(drop) > 0 {
		if err := r.release(ctx, drop); err != nil {
			return err
		}
		for _, p := range drop {
			doc.Owners[p] = ""
		}
		if rev, err = r.write(ctx, doc, rev); err != nil {
			return err
		}
	}
	if len(take) > 0 {
		for _, p := range take {
			doc.Owners[p] = self
		}
		if _, err = r.write(ctx, doc, rev); err != nil {
			return err
		}
		return r.own(ctx, take)
	}
	return nil
}

func (r *ring) isOwned(p int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owned[p]
}

func (r *ring) read(ctx context.Context) (ringDoc, uint64, error) {
	doc := ringDoc{Owners: make([]string, r.partitions)}
	e, err := r.a.h.b.ring.Get(ctx, r.a.dep.App)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return doc, 0, nil
	}
	if err != nil {
		return doc, 0, err
	}
	var stored ringDoc
	if err := json.Unmarshal(e.Value(), &stored); err != nil {
		return doc, 0, err
	}
	copy(doc.Owners, stored.Owners)
	return doc, e.Revision(), nil
}

func (r *ring) write(ctx context.Context, doc ringDoc, rev uint64) (uint64, error) {
	b, _ := json.Marshal(doc)
	if rev == 0 {
		return r.a.h.b.ring.Create(ctx, r.a.dep.App, b)
	}
	return r.a.h.b.ring.Update(ctx, r.a.dep.App, b, rev)
}

// own starts serving ps: the table already names this node.
func (r *ring) own(ctx context.Context, ps []int) error {
	slices.Sort(ps)
	if err := r.a.plug.Own(ctx, ps); err != nil {
		r.a.h.log.Warn("on_own failed", "app", r.a.dep.App, "err", err)
	}
	now := time.Now()
	r.mu.Lock()
	for _, p := range ps {
		r.owned[p] = true
		span := &OwnSpan{App: r.a.dep.App, Node: r.a.h.cfg.NodeID, Partition: p, Began: now}
		r.spans[p] = span
		r.a.h.recordOwnSpan(span)
	}
	r.mu.Unlock()
	r.report()
	return nil
}

// release stops serving ps before the table lets them go.
func (r *ring) release(ctx context.Context, ps []int) error {
	r.mu.Lock()
	now := time.Now()
	for _, p := range ps {
		delete(r.owned, p)
		if s := r.spans[p]; s != nil {
			r.a.h.endOwnSpan(s, now)
			delete(r.spans, p)
		}
	}
	r.mu.Unlock()
	if err := r.a.plug.Release(ctx, ps); err != nil {
		r.a.h.log.Warn("on_release failed", "app", r.a.dep.App, "err", err)
	}
	r.report()
	return nil
}

// releaseLocal stops serving every partition without touching the table.
func (r *ring) releaseLocal(ctx context.Context) {
	r.mu.Lock()
	ps := make([]int, 0, len(r.owned))
	for p := range r.owned {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	if len(ps) > 0 {
		_ = r.release(ctx, ps)
	}
}

// releaseAll gives every partition back, in the table too.
func (r *ring) releaseAll(ctx context.Context) {
	r.releaseLocal(ctx)
	doc, rev, err := r.read(ctx)
	if err != nil || rev == 0 {
		return
	}
	changed := false
	for p, owner := range doc.Owners {
		if owner == r.a.h.cfg.NodeID {
			doc.Owners[p], changed = "", true
		}
	}
	if changed {
		_, _ = r.write(ctx, doc, rev)
	}
}

func (r *ring) report() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.a.h.reportRunning(ctx, r.a)
}

func (r *ring) ownedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.owned)
}

// Owned returns the partitions this node serves, sorted.
func (r *ring) ownedList() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, 0, len(r.owned))
	for p := range r.owned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// route decides where a call with key goes: "" to serve it here.
func (r *ring) route(key []byte) (owner string, partition int) {
	p := placement.PartitionOf(key, r.partitions)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owned[p] {
		return "", p
	}
	if p < len(r.owners) {
		return r.owners[p], p
	}
	return "?", p
}

// subscribe takes calls other nodes forward to this one.
func (r *ring) subscribe() error {
	h, m := r.a.h, r.a.dep.Manifest
	for _, method := range m.API {
		handler := r.a.handler(method, h.metrics.forMethod(m.Name, method))
		s, err := h.nc.Subscribe(h.layout.NodeSubject(h.cfg.NodeID, m.Name, method), func(msg *nats.Msg) {
			handler(msgRequest{msg})
		})
		if err != nil {
			unsubscribeAll(r.subs)
			return err
		}
		r.subs = append(r.subs, s)
	}
	return nil
}

// serveOrForward handles a keyed call here when this node owns the key's
// partition, otherwise forwards it to the owner, waiting out a hand-over.
// It reports whether the call was forwarded (or refused).
func (r *ring) serveOrForward(req micro.Request, method string) bool {
	key := []byte(req.Headers().Get(layout.KeyHeader))
	if len(key) == 0 {
		return false
	}
	h, name := r.a.h, r.a.dep.App
	forwarded := req.Subject() == h.layout.NodeSubject(h.cfg.NodeID, name, method)
	ctx, cancel := context.WithTimeout(h.callCtx, r.a.timeout()+time.Second)
	defer cancel()
	for {
		owner, p := r.route(key)
		if owner == "" {
			return false
		}
		if owner != "?" && owner != h.cfg.NodeID && !forwarded {
			msg := &nats.Msg{Subject: h.layout.NodeSubject(owner, name, method), Data: req.Data(), Header: nats.Header(req.Headers())}
			resp, err := h.nc.RequestMsgWithContext(ctx, msg)
			if err == nil && resp.Header.Get(unownedHeader) == "" {
				relay(req, resp)
				return true
			}
		}
		if forwarded {
			// The sender's table is ahead of or behind ours: it retries.
			if mr, ok := req.(msgRequest); ok {
				resp := nats.NewMsg(mr.m.Reply)
				resp.Header.Set(unownedHeader, "1")
				_ = mr.m.RespondMsg(resp)
			}
			return true
		}
		if ctx.Err() != nil {
			_ = req.Error(abi.StatusUnavailable.Code(), "no owner of partition "+strconv.Itoa(p)+" of "+name+" answered", nil)
			return true
		}
		sleepCtx(ctx, 25*time.Millisecond)
	}
}

// elsewhere tells whether a call is keyed to a partition this node does
// not own (or whose owner is not known yet), so that serving it means
// forwarding it. Calls forwarded here are answered at once either way.
func (r *ring) elsewhere(req micro.Request, method string) bool {
	key := req.Headers().Get(layout.KeyHeader)
	if key == "" || req.Subject() == r.a.h.layout.NodeSubject(r.a.h.cfg.NodeID, r.a.dep.App, method) {
		return false
	}
	owner, _ := r.route([]byte(key))
	return owner != ""
}

// unownedHeader marks a forwarded ring call the receiver does not own.
const unownedHeader = "Gc-Unowned"

// relay passes a response (or error) from another node back to the caller.
func relay(req micro.Request, resp *nats.Msg) {
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		_ = req.Error(code, resp.Header.Get(micro.ErrorHeader), nil)
		return
	}
	_ = req.Respond(resp.Data)
}
