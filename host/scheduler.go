package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/placement"
	"github.com/ozanturksever/go-cluster/registry"
)

// Placement is an app's placement as stored.
type Placement = registry.Placement

// scheduler runs on every host; the one holding the scheduler lease
// computes placements from deployments, live members and operator
// requests and writes them. It is level-triggered: each pass recomputes
// everything, so a missed event costs only a pass.
type scheduler struct {
	h    *Host
	kick chan struct{}
}

// resyncEvery bounds how long a missed event can leave placements stale.
const resyncEvery = 5 * time.Second

func (s *scheduler) run(ctx context.Context) {
	l, err := lease.New(lease.Config{KV: s.h.b.leases, Key: layout.SchedulerLeaseKey, Holder: s.h.instance,
		Value: []byte(s.h.cfg.NodeID), Logger: s.h.log, Metrics: s.h.leaseMetrics})
	if err != nil {
		s.h.log.Error("cannot run the scheduler", "err", err)
		return
	}
	for ctx.Err() == nil {
		term, err := l.Campaign(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.h.log.Warn("scheduler campaign failed; retrying", "err", err)
				sleepCtx(ctx, s.h.cfg.Retry)
			}
			continue
		}
		s.h.log.Info("scheduling", "token", term.Token())
		s.lead(ctx, term)
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = term.Resign(rctx)
			cancel()
			return
		}
		s.h.log.Warn("scheduler lease lost", "err", term.Err())
	}
}

// lead places apps until the term or the host's ctx ends.
func (s *scheduler) lead(hostCtx context.Context, term *lease.Term) {
	ctx, cancel := context.WithCancel(term.Context())
	defer cancel()
	stop := context.AfterFunc(hostCtx, cancel)
	defer stop()
	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()
	for {
		if err := s.pass(ctx, term.Token()); err != nil && ctx.Err() == nil {
			s.h.log.Warn("cannot place apps; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
		// Let a burst of changes settle into one pass.
		sleepCtx(ctx, 20*time.Millisecond)
	}
}

// pass computes every placement and writes those that changed.
func (s *scheduler) pass(ctx context.Context, token uint64) error {
	deps, err := s.h.registry.List(ctx)
	if err != nil {
		return err
	}
	ops, err := readOps(ctx, s.h.b.ops)
	if err != nil {
		return err
	}
	prev, err := readPlacements(ctx, s.h.b.placements)
	if err != nil {
		return err
	}
	var nodes []placement.Node
	for _, n := range s.h.members.list() {
		nodes = append(nodes, placement.Node{ID: n.ID, Labels: n.Labels, Cordoned: ops.cordoned[n.ID], Draining: ops.draining[n.ID]})
	}
	apps := make([]placement.App, 0, len(deps))
	wanted := map[string]bool{}
	for _, d := range deps {
		a := placement.AppFromManifest(d.Manifest)
		a.MoveTo = ops.moves[d.App]
		apps = append(apps, a)
		wanted[d.App] = true
	}
	prevA := make(map[string]placement.Assignment, len(prev))
	for k, p := range prev {
		prevA[k] = p.Assignment
	}
	next := placement.Compute(apps, nodes, prevA)
	for app, a := range next {
		if old, ok := prev[app]; ok && sameAssignment(old.Assignment, a) {
			continue
		}
		b, _ := json.Marshal(Placement{Assignment: a, Token: token})
		if _, err := s.h.b.placements.Put(ctx, app, b); err != nil {
			return err
		}
		s.h.log.Info("placed", "app", app, "nodes", strings.Join(a.Nodes, ","), "reason", a.Reason)
	}
	for app := range prev {
		if !wanted[app] {
			if err := s.h.b.placements.Delete(ctx, app); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return err
			}
		}
	}
	return nil
}

func sameAssignment(a, b placement.Assignment) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// opsState is the operators' standing requests.
type opsState struct {
	cordoned, draining map[string]bool
	moves              map[string]string
}

func readOps(ctx context.Context, kv jetstream.KeyValue) (opsState, error) {
	st := opsState{cordoned: map[string]bool{}, draining: map[string]bool{}, moves: map[string]string{}}
	err := scanKV(ctx, kv, func(e jetstream.KeyValueEntry) {
		kind, name, _ := strings.Cut(e.Key(), ".")
		switch kind {
		case "cordon":
			st.cordoned[name] = true
		case "drain":
			st.draining[name] = true
		case "move":
			st.moves[name] = string(e.Value())
		}
	})
	return st, err
}

func readPlacements(ctx context.Context, kv jetstream.KeyValue) (map[string]Placement, error) {
	out := map[string]Placement{}
	err := scanKV(ctx, kv, func(e jetstream.KeyValueEntry) {
		var p Placement
		if json.Unmarshal(e.Value(), &p) == nil {
			out[e.Key()] = p
		}
	})
	return out, err
}

// scanKV calls fn with the current value of every key of kv.
func scanKV(ctx context.Context, kv jetstream.KeyValue, fn func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		e, err := nextEntry(ctx, w)
		if err != nil || e == nil {
			return err
		}
		fn(e)
	}
}

// errWatchClosed is a KV watch whose updates channel closed under it.
var errWatchClosed = errors.New("watch closed")

// nextEntry waits for w's next entry. A nil entry with a nil error marks
// the end of the watch's initial values.
func nextEntry(ctx context.Context, w jetstream.KeyWatcher) (jetstream.KeyValueEntry, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case e, ok := <-w.Updates():
		if !ok {
			return nil, errWatchClosed
		}
		return e, nil
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// follow kicks the scheduler on every change it places by: membership,
// deployments and operator requests.
func (s *scheduler) follow(ctx context.Context) {
	members := s.h.members.subscribe()
	var wg sync.WaitGroup
	defer wg.Wait()
	kick := func() {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	for _, kv := range []jetstream.KeyValue{s.h.b.ops, s.h.registry.Apps()} {
		wg.Go(func() {
			for ctx.Err() == nil {
				w, err := kv.WatchAll(ctx, jetstream.UpdatesOnly())
				if err != nil {
					sleepCtx(ctx, s.h.cfg.Retry)
					continue
				}
				// Not a range over Updates: a watch whose connection closed
				// under it may never close its channel.
				for {
					if _, err := nextEntry(ctx, w); err != nil {
						break
					}
					kick()
				}
				_ = w.Stop()
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-members:
			kick()
		}
	}
}
