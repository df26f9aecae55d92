package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/events"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/plugins"
	"github.com/ozanturksever/go-cluster/registry"
	"github.com/ozanturksever/go-cluster/wal"
)

// app is one deployment of an app running on this host: its wasm pool and
// its micro service.
type app struct {
	h    *Host
	dep  *registry.Deployment
	plug *plugins.App
	svc  micro.Service

	// work feeds the app's workers, one per pool instance. Its buffer
	// bounds the calls waiting; past it the NATS subscription buffers.
	work    chan job
	workers sync.WaitGroup

	mu       sync.RWMutex // guards stopping and sends on work
	stopping bool
	forwards sync.WaitGroup // calls a standby is forwarding

	role *role // active-passive apps only
	ops  *ops  // active-passive apps only: vip and backend
	ring *ring // ring apps only

	db      *wal.DB // with data.db
	writer  *writer
	sub     *events.Subscription // subscriptions that run on every node
	reports sync.WaitGroup       // the database's periodic status reports
	stopRep context.CancelFunc
	termSub atomic.Pointer[events.Subscription] // the active's durable subscription
}

// job is one request for a worker.
type job struct {
	req    micro.Request
	method string
	mm     *methodMetrics
}

// startApp loads dep's module and serves its API.
func (h *Host) startApp(ctx context.Context, dep *registry.Deployment, p Placement) (*app, error) {
	m := dep.Manifest
	wasm, err := h.module(ctx, dep.Digest)
	if err != nil {
		return nil, err
	}
	c, err := h.capsFor(ctx, m)
	if err != nil {
		return nil, err
	}
	a := &app{h: h, dep: dep, work: make(chan job, 4*m.Limits.Instances), writer: c.writer, db: c.db}
	c.fenced = func() {
		if a.role != nil {
			a.role.requestStepdown()
		}
	}
	plug, err := h.runtime.Load(ctx, m.Name, wasm, c, limitsOf(m))
	if err != nil {
		a.closeData(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("cannot load %s %s: %w", m.Name, m.Version, err)
	}
	a.plug = plug
	for range m.Limits.Instances {
		a.workers.Go(a.worker)
	}
	switch m.Pattern {
	case manifest.PatternActivePassive:
		if a.ops, err = newOps(a); err != nil {
			a.stop(context.WithoutCancel(ctx))
			return nil, err
		}
		a.role = newRole(a, p)
	case manifest.PatternRing:
		a.ring = newRing(a, p)
	}
	if err := a.serve(); err != nil {
		a.stop(context.WithoutCancel(ctx))
		return nil, err
	}
	if a.role != nil {
		a.role.start()
	}
	if a.ring != nil {
		if err := a.ring.start(); err != nil {
			a.stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("cannot serve ring %s: %w", m.Name, err)
		}
	}
	if a.db != nil {
		a.startDBReports()
	}
	if !a.subscribesWithTerm() {
		if a.sub, err = a.subscribe(ctx); err != nil {
			a.stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("cannot subscribe %s to its events: %w", m.Name, err)
		}
	}
	return a, nil
}

// reportRunning tells the platform how a running app serves here.
func (h *Host) reportRunning(ctx context.Context, a *app) {
	st := registry.Status{App: a.dep.App, Node: h.cfg.NodeID, Revision: a.dep.Revision, Digest: a.dep.Digest,
		State: registry.StateRunning, Instances: a.stats().Instances, Role: registry.RolePool, At: time.Now().UTC()}
	if a.ring != nil {
		st.Role, st.Partitions = registry.RoleRing, a.ring.ownedCount()
	}
	if a.role != nil {
		st.Role = registry.RoleStandby
		if token, ok := a.role.activeToken(); ok {
			st.Role, st.Token = registry.RoleActive, token
		}
	}
	st.DB = a.dbStatus()
	a.ops.report(&st)
	if err := h.registry.Report(ctx, st); err != nil {
		h.log.Warn("cannot report app status", "app", a.dep.App, "err", err)
	}
}

// place takes a new placement of a running app.
func (a *app) place(p Placement) {
	if a.role != nil {
		a.role.setPlacement(p)
	}
	if a.ring != nil {
		a.ring.setPlacement(p)
	}
}

func (a *app) timeout() time.Duration { return time.Duration(a.dep.Manifest.Limits.Timeout) }

func limitsOf(m *manifest.Manifest) plugins.Limits {
	return plugins.Limits{
		Memory:    uint64(m.Limits.Memory),
		Timeout:   time.Duration(m.Limits.Timeout),
		Instances: m.Limits.Instances,
		Payload:   int(m.Limits.Payload),
	}
}

func (h *Host) capsFor(ctx context.Context, m *manifest.Manifest) (*caps, error) {
	c := &caps{
		app: m.Name, config: m.Config, log: h.log.With("app", m.Name),
		calls: m.Calls, nc: h.nc, layout: h.layout, node: h.cfg.NodeID,
		writer: &writer{},
	}
	if err := h.openData(ctx, m, c); err != nil {
		c.close(context.WithoutCancel(ctx))
		return nil, err
	}
	if !m.Data.KV {
		return c, nil
	}
	kv, err := registry.EnsureKV(ctx, h.js, jetstream.KeyValueConfig{
		Bucket:      h.layout.AppKV(m.Name),
		Description: "go-cluster app " + m.Name,
		History:     1,
		Replicas:    h.replicas,
	})
	if err == nil {
		// An app reads its own writes: a call that set a key and the next
		// one that gets it may run on different nodes.
		kv, err = registry.WithLeaderReads(ctx, h.js, kv)
	}
	if err != nil {
		c.close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("cannot open the kv of %s: %w", m.Name, kvErr("open", err))
	}
	c.kv = kv
	return c, nil
}

// module returns a module's bytes from the local copy, or fetches and keeps
// one. The digest is checked either way.
func (h *Host) module(ctx context.Context, digest string) ([]byte, error) {
	path := h.cfg.path("modules", digest+".wasm")
	if b, err := os.ReadFile(path); err == nil && registry.Digest(b) == digest {
		return b, nil
	}
	b, err := h.registry.Wasm(ctx, digest)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, b); err != nil {
		h.log.Warn("cannot keep a local copy of a module", "digest", digest, "err", err)
	}
	return b, nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dirOf(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, os.PathSeparator); i >= 0 {
		return path[:i]
	}
	return "."
}

// serve registers the app as a micro service, one endpoint per api method.
func (a *app) serve() error {
	m := a.dep.Manifest
	svc, err := micro.AddService(a.h.nc, micro.Config{
		Name:        m.Name,
		Version:     m.Version,
		Description: fmt.Sprintf("go-cluster app %s (revision %d)", m.Name, a.dep.Revision),
		QueueGroup:  a.h.layout.APIQueue(),
		Metadata: map[string]string{
			"node": a.h.cfg.NodeID, "digest": a.dep.Digest,
			"revision": fmt.Sprint(a.dep.Revision),
		},
	})
	if err != nil {
		return fmt.Errorf("cannot serve %s: %w", m.Name, err)
	}
	for _, method := range m.API {
		mm := a.h.metrics.forMethod(m.Name, method)
		err := svc.AddEndpoint(method, a.handler(method, mm),
			micro.WithEndpointSubject(a.h.layout.APISubject(m.Name, method)))
		if err != nil {
			_ = svc.Stop()
			return fmt.Errorf("cannot serve %s.%s: %w", m.Name, method, err)
		}
	}
	a.svc = svc
	return nil
}

// handler hands each request to the app's workers so that calls run on
// as many instances as the pool has; the subscription callback only waits
// when the app is saturated. Long-lived workers keep their grown stacks,
// which a goroutine per call would grow again every time.
func (a *app) handler(method string, mm *methodMetrics) micro.HandlerFunc {
	return func(req micro.Request) { a.dispatch(req, method, mm) }
}

// dispatch queues a call for the workers, or, on a standby, forwards it to
// the active from a goroutine of its own: a forward waits on another node
// and must not hold up a worker this node may need if it becomes active.
func (a *app) dispatch(req micro.Request, method string, mm *methodMetrics) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.stopping {
		_ = req.Error(abi.StatusUnavailable.Code(), "app is stopping on this node", nil)
		return
	}
	if a.role != nil && !a.role.isActive() {
		a.role.notActive(req, method, mm)
		return
	}
	if a.ring != nil && a.ring.elsewhere(req, method) {
		// Same reason: two nodes forwarding to each other from their
		// workers would each wait on the other's busy workers.
		a.forwards.Go(func() { a.call(req, method, mm) })
		return
	}
	a.work <- job{req, method, mm}
}

func (a *app) worker() {
	for j := range a.work {
		a.call(j.req, j.method, j.mm)
	}
}

func (a *app) call(req micro.Request, method string, mm *methodMetrics) {
	if a.ring != nil && a.ring.serveOrForward(req, method) {
		return
	}
	if a.role != nil {
		if !a.role.enter() {
			// The role was lost after the call was queued.
			a.role.notActive(req, method, mm)
			return
		}
		defer a.role.leave()
	}
	start := time.Now()
	out, err := a.plug.Call(a.h.callCtx, method, req.Data())
	mm.observe(err, time.Since(start))
	if err == nil {
		err = req.Respond(out)
	} else {
		err = req.Error(abi.StatusOf(err).Code(), headerSafe(guestMessage(err)), nil)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		a.h.log.Debug("cannot respond", "app", a.dep.App, "method", method, "err", err)
	}
}

// guestMessage is what the caller sees of an error: the guest's own message
// when it returned a status, the host's reason otherwise.
func guestMessage(err error) string {
	var e *abi.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// headerSafe keeps an error message fit for a NATS header.
func headerSafe(s string) string {
	const maxLen = 1024
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return s
}

// stop gives up the active role, stops taking calls, waits for those in
// flight, and frees the pool.
func (a *app) stop(ctx context.Context) {
	if a.role != nil && a.role.cancel != nil {
		a.role.stop()
	}
	if a.ring != nil && a.ring.cancel != nil {
		a.ring.stop()
	}
	if a.svc != nil {
		_ = a.svc.Stop()
	}
	a.mu.Lock()
	if !a.stopping {
		a.stopping = true
		close(a.work)
	}
	a.mu.Unlock()
	a.workers.Wait()
	a.forwards.Wait()
	if a.stopRep != nil {
		a.stopRep()
		a.reports.Wait()
	}
	if a.sub != nil {
		if err := a.sub.Close(ctx); err != nil {
			a.h.log.Warn("cannot stop event subscription", "app", a.dep.App, "err", err)
		}
	}
	if err := a.plug.Close(ctx); err != nil {
		a.h.log.Warn("cannot close app", "app", a.dep.App, "err", err)
	}
	a.closeData(ctx)
}

// closeData closes the database after the guest is gone.
func (a *app) closeData(ctx context.Context) {
	if a.db == nil {
		return
	}
	if err := a.db.Close(ctx); err != nil {
		a.h.log.Warn("cannot close the database", "app", a.dep.App, "err", err)
	}
}

func (a *app) stats() plugins.Stats { return a.plug.Stats() }
