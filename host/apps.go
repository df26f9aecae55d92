package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
)

// apps reconciles the apps this host runs with the platform's deployments
// and the scheduler's placements: an app runs here when it is deployed and
// its placement names this node. It is level-triggered: each pass compares
// what should run with what does and fixes the difference, so a missed or
// repeated event does no harm.
//
// Threading: run owns the maps; stopAll is called after run returned.
type apps struct {
	h       *Host
	events  chan appEvent
	want    map[string]*registry.Deployment // from the registry
	placed  map[string]Placement            // from the scheduler
	running map[string]*app
	failed  map[string]failure // the last load that failed, by app

	runMu sync.RWMutex // guards writes to running, and reads from other goroutines
}

// get returns the app running here under name, from any goroutine.
func (s *apps) get(name string) *app {
	s.runMu.RLock()
	defer s.runMu.RUnlock()
	return s.running[name]
}

type failure struct {
	revision  uint64
	err       error
	retryable bool
	at        time.Time
}

// appEvent is one change from a watch. synced marks the end of a watch's
// initial values; seen then lists every app the watch showed.
type appEvent struct {
	source    string // "deploy" or "place"
	app       string
	dep       *registry.Deployment
	placement *Placement
	synced    bool
	seen      map[string]bool
}

func newApps(h *Host) *apps {
	return &apps{h: h, events: make(chan appEvent, 64), want: map[string]*registry.Deployment{},
		placed: map[string]Placement{}, running: map[string]*app{}, failed: map[string]failure{}}
}

// run follows deployments and placements until ctx ends. On a lost NATS
// it keeps every app as it runs.
func (s *apps) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.watchLoop(ctx, "deploy", s.followDeployments) })
	wg.Go(func() { s.watchLoop(ctx, "place", s.followPlacements) })
	defer wg.Wait()
	retry := time.NewTicker(s.h.cfg.Retry)
	defer retry.Stop()
	membersChanged := s.h.members.subscribe()
	known := s.memberSet()
	synced := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			s.retryFailed(ctx)
		case <-membersChanged:
			known = s.tellMembers(ctx, known)
		case ev := <-s.events:
			if ev.synced {
				s.resync(ev)
				synced[ev.source] = true
				if synced["deploy"] && synced["place"] {
					s.reconcileAll(ctx)
					s.markReady()
				}
				continue
			}
			s.apply(ev)
			if synced["deploy"] && synced["place"] {
				s.reconcile(ctx, ev.app)
			}
		}
	}
}

func (s *apps) apply(ev appEvent) {
	switch ev.source {
	case "deploy":
		if ev.dep == nil {
			delete(s.want, ev.app)
		} else {
			s.want[ev.app] = ev.dep
		}
	case "place":
		if ev.placement == nil {
			delete(s.placed, ev.app)
		} else {
			s.placed[ev.app] = *ev.placement
		}
	}
}

// resync forgets what a fresh watch no longer shows.
func (s *apps) resync(ev appEvent) {
	if ev.source == "deploy" {
		for name := range s.want {
			if !ev.seen[name] {
				delete(s.want, name)
			}
		}
		return
	}
	for name := range s.placed {
		if !ev.seen[name] {
			delete(s.placed, name)
		}
	}
}

func (s *apps) send(ctx context.Context, ev appEvent) bool {
	select {
	case s.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchLoop runs follow again after a lost watch, with a pause.
func (s *apps) watchLoop(ctx context.Context, what string, follow func(context.Context) error) {
	for ctx.Err() == nil {
		err := follow(ctx)
		if ctx.Err() != nil {
			return
		}
		s.h.log.Warn("watch lost; apps keep running, retrying", "watch", what, "err", err, "in", s.h.cfg.Retry)
		sleepCtx(ctx, s.h.cfg.Retry)
	}
}

func (s *apps) followDeployments(ctx context.Context) error {
	w, err := s.h.registry.Watch(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	seen := map[string]bool{}
	revs := map[string]uint64{} // each app's last deployment revision, for undeploy events
	synced := false
	for {
		ch, err := w.Next(ctx)
		if err != nil {
			return err
		}
		switch {
		case ch.Synced:
			synced = true
			if !s.send(ctx, appEvent{source: "deploy", synced: true, seen: seen}) {
				return ctx.Err()
			}
			continue
		case ch.Err != nil:
			s.h.log.Error("cannot read deployment; the app keeps its current state", "app", ch.App, "err", ch.Err)
			continue
		}
		seen[ch.App] = true
		if synced {
			s.h.announceDeploy(ch.App, ch.Deployment, revs[ch.App])
		}
		if ch.Deployment != nil {
			revs[ch.App] = ch.Deployment.Revision
		}
		if !s.send(ctx, appEvent{source: "deploy", app: ch.App, dep: ch.Deployment}) {
			return ctx.Err()
		}
	}
}

func (s *apps) followPlacements(ctx context.Context) error {
	w, err := s.h.b.placements.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	seen := map[string]bool{}
	for {
		e, err := nextEntry(ctx, w)
		if err != nil {
			return err
		}
		if e == nil {
			if !s.send(ctx, appEvent{source: "place", synced: true, seen: seen}) {
				return ctx.Err()
			}
			continue
		}
		ev := appEvent{source: "place", app: e.Key()}
		if e.Operation() == jetstream.KeyValuePut {
			var p Placement
			if err := json.Unmarshal(e.Value(), &p); err != nil {
				s.h.log.Error("cannot read placement", "app", e.Key(), "err", err)
				continue
			}
			ev.placement = &p
		}
		seen[e.Key()] = true
		if !s.send(ctx, ev) {
			return ctx.Err()
		}
	}
}

func (s *apps) markReady() {
	select {
	case <-s.h.ready:
	default:
		close(s.h.ready)
	}
}

func (s *apps) reconcileAll(ctx context.Context) {
	names := map[string]bool{}
	for n := range s.want {
		names[n] = true
	}
	for n := range s.running {
		names[n] = true
	}
	for _, n := range sortedNames(names) {
		s.reconcile(ctx, n)
	}
}

func (s *apps) retryFailed(ctx context.Context) {
	for name, f := range s.failed {
		if f.retryable {
			s.reconcile(ctx, name)
		}
	}
	s.updateGauges()
}

func (s *apps) memberSet() map[string]bool {
	out := map[string]bool{}
	for _, n := range s.h.members.list() {
		out[n.ID] = true
	}
	return out
}

// tellMembers passes nodes that joined or left since known to every app
// running here (on_member_join / on_member_leave) and returns the new set.
func (s *apps) tellMembers(ctx context.Context, known map[string]bool) map[string]bool {
	now := s.memberSet()
	for id := range now {
		if !known[id] {
			s.h.announceMember(manifest.EventNodeJoin, id)
			s.eachApp(ctx, func(ctx context.Context, a *app) error { return a.plug.MemberJoined(ctx, id) })
		}
	}
	for id := range known {
		if !now[id] {
			s.h.announceMember(manifest.EventNodeLeave, id)
			s.eachApp(ctx, func(ctx context.Context, a *app) error { return a.plug.MemberLeft(ctx, id) })
		}
	}
	return now
}

func (s *apps) eachApp(ctx context.Context, f func(context.Context, *app) error) {
	for name, a := range s.running {
		cctx, cancel := context.WithTimeout(ctx, a.timeout())
		if err := f(cctx, a); err != nil {
			s.h.log.Warn("member event not delivered", "app", name, "err", err)
		}
		cancel()
	}
}

// placedHere reports whether app's placement names this node.
func (s *apps) placedHere(name string) (Placement, bool) {
	p, ok := s.placed[name]
	if !ok {
		return p, false
	}
	return p, slices.Contains(p.Nodes, s.h.cfg.NodeID)
}

// reconcile makes app name run as wanted: start, replace, re-place or
// stop it.
func (s *apps) reconcile(ctx context.Context, name string) {
	want, cur := s.want[name], s.running[name]
	p, here := s.placedHere(name)
	if !here {
		want = nil
	}
	switch {
	case want == nil && cur == nil:
		delete(s.failed, name)
	case want == nil:
		s.stop(ctx, name, cur)
	case cur != nil && cur.dep.Revision == want.Revision:
		cur.place(p)
	default:
		if f, ok := s.failed[name]; ok && f.revision == want.Revision && !f.retryable {
			return // the same deployment would fail the same way
		}
		s.start(ctx, want, p, cur)
	}
	s.updateGauges()
}

func (s *apps) start(ctx context.Context, dep *registry.Deployment, p Placement, old *app) {
	h := s.h
	log := h.log.With("app", dep.App, "version", dep.Version, "revision", dep.Revision)
	s.report(ctx, dep, registry.StateLoading, nil, 0)
	began := time.Now()
	a, err := h.startApp(ctx, dep, p)
	if err != nil {
		retry := isRetryable(err)
		s.failed[dep.App] = failure{revision: dep.Revision, err: err, retryable: retry, at: time.Now()}
		h.metrics.loads.WithLabelValues(dep.App, "error").Inc()
		log.Error("cannot start app", "err", err, "retrying", retry)
		if retry {
			// Still on its way: say why it waits, but not "failed".
			s.report(ctx, dep, registry.StateLoading, fmt.Errorf("retrying: %w", err), 0)
			return
		}
		s.report(ctx, dep, registry.StateFailed, err, 0)
		return
	}
	// The new deployment serves before the old one stops: both share the
	// queue group, so callers see no gap.
	s.runMu.Lock()
	s.running[dep.App] = a
	s.runMu.Unlock()
	delete(s.failed, dep.App)
	if old != nil {
		old.stop(ctx)
	}
	h.metrics.loads.WithLabelValues(dep.App, "ok").Inc()
	h.metrics.loadTime.WithLabelValues(dep.App).Observe(time.Since(began).Seconds())
	log.Info("app serving", "digest", dep.Digest[:12], "took", time.Since(began).Round(time.Millisecond))
	h.reportRunning(ctx, a)
}

func (s *apps) stop(ctx context.Context, name string, a *app) {
	a.stop(ctx)
	s.runMu.Lock()
	delete(s.running, name)
	s.runMu.Unlock()
	delete(s.failed, name)
	s.h.metrics.forget(name)
	if err := s.h.registry.ClearReport(ctx, name, s.h.cfg.NodeID); err != nil {
		s.h.log.Warn("cannot clear app status", "app", name, "err", err)
	}
	s.h.log.Info("app stopped", "app", name)
}

func (s *apps) report(ctx context.Context, dep *registry.Deployment, st registry.State, err error, instances int) {
	r := registry.Status{App: dep.App, Node: s.h.cfg.NodeID, Revision: dep.Revision, Digest: dep.Digest,
		State: st, Instances: instances, At: time.Now().UTC()}
	if err != nil {
		r.Error = err.Error()
	}
	if err := s.h.registry.Report(ctx, r); err != nil {
		s.h.log.Warn("cannot report app status", "app", dep.App, "err", err)
	}
}

func (s *apps) updateGauges() {
	s.h.metrics.apps.Set(float64(len(s.running)))
	for name, a := range s.running {
		st := a.stats()
		s.h.metrics.instances.WithLabelValues(name, "idle").Set(float64(st.Idle))
		s.h.metrics.instances.WithLabelValues(name, "busy").Set(float64(st.Busy))
	}
}

// stopAll stops every app; the registry is left as it is.
func (s *apps) stopAll(ctx context.Context) {
	for name, a := range s.running {
		a.stop(ctx)
		if err := s.h.registry.ClearReport(ctx, name, s.h.cfg.NodeID); err != nil {
			s.h.log.Debug("cannot clear app status", "app", name, "err", err)
		}
		s.runMu.Lock()
		delete(s.running, name)
		s.runMu.Unlock()
	}
}

// isRetryable tells a failure that may pass (NATS away) from one that
// will not (a bad module): only the former is retried without a new deploy.
func isRetryable(err error) bool {
	return errors.Is(err, abi.ErrUnavailable) || errors.Is(err, abi.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
