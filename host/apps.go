package host

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/registry"
)

// apps reconciles the apps this host runs with the platform's deployments.
// It is level-triggered: each pass compares what should run with what does
// and fixes the difference, so a missed or repeated event does no harm.
//
// Threading: run owns the maps; stopAll is called after run returned.
type apps struct {
	h       *Host
	want    map[string]*registry.Deployment // from the registry
	running map[string]*app
	failed  map[string]failure // the last load that failed, by app
}

type failure struct {
	revision  uint64
	err       error
	retryable bool
	at        time.Time
}

func newApps(h *Host) *apps {
	return &apps{h: h, want: map[string]*registry.Deployment{}, running: map[string]*app{}, failed: map[string]failure{}}
}

// run follows the registry until ctx ends, re-watching after a lost watch.
// On a lost NATS it keeps every app as it runs.
func (s *apps) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		s.h.log.Warn("deployment watch lost; apps keep running, retrying", "err", err, "in", s.h.cfg.Retry)
		select {
		case <-time.After(s.h.cfg.Retry):
		case <-ctx.Done():
		}
	}
}

func (s *apps) follow(ctx context.Context) error {
	w, err := s.h.registry.Watch(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	seen := map[string]bool{}
	synced := false
	for {
		nctx, cancel := context.WithTimeout(ctx, s.h.cfg.Retry)
		ch, err := w.Next(nctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			s.retryFailed(ctx)
			continue
		case err != nil:
			return err
		}
		switch {
		case ch.Synced:
			s.resync(seen)
			synced = true
			s.reconcileAll(ctx)
			s.markReady()
			continue
		case ch.Err != nil:
			s.h.log.Error("cannot read deployment; the app keeps its current state", "app", ch.App, "err", ch.Err)
			continue
		case ch.Deployment == nil:
			delete(s.want, ch.App)
		default:
			s.want[ch.App] = ch.Deployment
		}
		seen[ch.App] = true
		if synced {
			s.reconcile(ctx, ch.App)
		}
	}
}

// resync forgets wanted apps that a fresh watch no longer shows.
func (s *apps) resync(seen map[string]bool) {
	for name := range s.want {
		if !seen[name] {
			delete(s.want, name)
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

// reconcile makes app name run as wanted: start, replace or stop it.
func (s *apps) reconcile(ctx context.Context, name string) {
	want, cur := s.want[name], s.running[name]
	switch {
	case want == nil && cur == nil:
		delete(s.failed, name)
	case want == nil:
		s.stop(ctx, name, cur)
	case cur != nil && cur.dep.Revision == want.Revision:
		// Running as wanted.
	default:
		if f, ok := s.failed[name]; ok && f.revision == want.Revision && !f.retryable {
			return // the same deployment would fail the same way
		}
		s.start(ctx, want, cur)
	}
	s.updateGauges()
}

func (s *apps) start(ctx context.Context, dep *registry.Deployment, old *app) {
	h := s.h
	log := h.log.With("app", dep.App, "version", dep.Version, "revision", dep.Revision)
	s.report(ctx, dep, registry.StateLoading, nil, 0)
	began := time.Now()
	a, err := h.startApp(ctx, dep)
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
	s.running[dep.App] = a
	delete(s.failed, dep.App)
	if old != nil {
		old.stop(ctx)
	}
	h.metrics.loads.WithLabelValues(dep.App, "ok").Inc()
	h.metrics.loadTime.WithLabelValues(dep.App).Observe(time.Since(began).Seconds())
	log.Info("app serving", "digest", dep.Digest[:12], "took", time.Since(began).Round(time.Millisecond))
	s.report(ctx, dep, registry.StateRunning, nil, a.stats().Instances)
}

func (s *apps) stop(ctx context.Context, name string, a *app) {
	a.stop(ctx)
	delete(s.running, name)
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
		delete(s.running, name)
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
