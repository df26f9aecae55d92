// Package host is a go-cluster node: it runs (or joins) NATS, watches the
// platform's deployments, runs each app's wasm with the capabilities its
// manifest grants, and serves each app's API as a NATS micro service.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ozanturksever/go-cluster/host/backend"
	"github.com/ozanturksever/go-cluster/host/events"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/plugins"
	"github.com/ozanturksever/go-cluster/registry"
	"github.com/ozanturksever/go-cluster/vip"
)

// ErrClosed is an operation on a host that is closed or not open.
var ErrClosed = errors.New("host is closed")

// Host is one node. New -> Open -> Close.
//
// Threading: Open and Close are called once each, from one goroutine; the
// accessors are safe for concurrent use after Open.
type Host struct {
	cfg     Config
	log     *slog.Logger
	layout  layout.Layout
	metrics *metrics

	ns       *server.Server // nil with an external NATS
	nc       *nats.Conn
	js       jetstream.JetStream
	dataNC   *nats.Conn // database replication's own connection
	dataJS   jetstream.JetStream
	registry *registry.Registry
	replicas int // of every bucket this host creates
	b        buckets
	bus      *events.Bus
	instance string   // this host's id among the platform's hosts
	dirLock  *os.File // held while the host runs

	members        *members
	member         *lease.Lease
	memberMu       sync.Mutex
	memberT        *lease.Term
	leaseMetrics   *lease.Metrics
	vipMetrics     *vip.Metrics
	backendMetrics *backend.Metrics
	sched          *scheduler

	actMu       sync.Mutex
	activations []*Activation
	ownSpans    []*OwnSpan
	runtime     *plugins.Runtime
	http        *http.Server
	httpAddr    net.Addr
	apps        *apps

	ready chan struct{}
	// cancel stops the reconciler; callCancel cuts calls still in flight
	// once Close's context ends.
	cancel     context.CancelFunc
	callCtx    context.Context
	callCancel context.CancelFunc
	wg         sync.WaitGroup
}

// New checks cfg and returns a host that is not yet running.
func New(cfg Config) (*Host, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, _ := layout.New(cfg.Platform)
	return &Host{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.NodeID),
		layout:  l,
		metrics: newMetrics(cfg.Registry, cfg.NodeID),
		ready:   make(chan struct{}),
		members: newMembers(),
	}, nil
}

// Open starts NATS (embedded unless Config.NATSURL is set), the registry,
// the wasm runtime, the HTTP endpoints and the reconciler. It returns once
// all of them run; Ready closes when the apps deployed at start are loaded.
func (h *Host) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			h.shutdown(context.Background())
		}
	}()
	if err := os.MkdirAll(h.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cannot create data dir: %w", err)
	}
	if h.dirLock, err = lockDataDir(h.cfg.DataDir); err != nil {
		return err
	}
	if h.instance, err = instanceID(h.cfg.DataDir); err != nil {
		return err
	}
	if h.cfg.NATSURL == "" {
		if h.ns, err = h.startEmbedded(); err != nil {
			return err
		}
	}
	if h.nc, err = h.connect(); err != nil {
		return err
	}
	if h.js, err = jetstream.New(h.nc); err != nil {
		return fmt.Errorf("cannot use JetStream: %w", err)
	}
	// Database replication gets a connection of its own: a large upload
	// must not queue the lease renewals behind it.
	if h.dataNC, err = h.connect(); err != nil {
		return err
	}
	if h.dataJS, err = jetstream.New(h.dataNC); err != nil {
		return fmt.Errorf("cannot use JetStream: %w", err)
	}
	h.replicas = h.cfg.replicas(1 + len(h.nc.DiscoveredServers()))
	if err := h.openRegistry(ctx); err != nil {
		return err
	}
	if err := h.openBuckets(ctx); err != nil {
		return err
	}
	nodeReg := prometheus.WrapRegistererWith(prometheus.Labels{"node": h.cfg.NodeID}, h.cfg.Registry)
	if h.leaseMetrics, err = lease.NewMetrics(nodeReg); err != nil {
		return err
	}
	if h.vipMetrics, err = vip.NewMetrics(nodeReg); err != nil {
		return err
	}
	if h.backendMetrics, err = backend.NewMetrics(nodeReg); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Go(func() { h.members.run(runCtx, h) })
	if err := h.join(ctx); err != nil {
		return err
	}
	h.runtime, err = plugins.New(plugins.Config{CacheDir: h.cfg.path("cache"), Logger: h.log})
	if err != nil {
		return fmt.Errorf("cannot start the wasm runtime: %w", err)
	}
	if err := h.startHTTP(); err != nil {
		return err
	}
	h.apps = newApps(h)
	h.callCtx, h.callCancel = context.WithCancel(context.Background())
	h.sched = &scheduler{h: h, kick: make(chan struct{}, 1)}
	h.wg.Go(func() { h.keepMembership(runCtx) })
	h.wg.Go(func() { h.sched.run(runCtx) })
	h.wg.Go(func() { h.sched.follow(runCtx) })
	h.wg.Go(func() { h.apps.run(runCtx) })
	h.log.Info("host started", "nats", h.ClientURL(), "http", h.HTTPAddr(), "platform", h.cfg.Platform, "data", h.cfg.DataDir)
	return nil
}

// openRegistry creates or binds the platform's buckets, waiting while a
// clustered JetStream is still forming (its peers may start later).
func (h *Host) openRegistry(ctx context.Context) error {
	return h.retryOpen(ctx, "the platform's buckets", func(ctx context.Context) error {
		var err error
		h.registry, err = registry.Open(ctx, h.js, registry.Config{Layout: h.layout, Create: true, Replicas: h.replicas})
		return err
	})
}

// retryOpen runs open until it succeeds or ctx ends. Each attempt gets its
// own deadline: a request sent before the JetStream meta leader exists, or
// one that lost a race with an identical create, gets no answer at all.
func (h *Host) retryOpen(ctx context.Context, what string, open func(context.Context) error) error {
	start := time.Now()
	lastLog := start
	for {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := open(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("cannot open %s (%d replicas): %w; are %d NATS servers with JetStream up and routed?", what, h.replicas, err, h.replicas)
		}
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			h.log.Info("waiting for JetStream", "opening", what, "replicas", h.replicas, "waited", time.Since(start).Round(time.Second), "err", err)
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
}

// Kill stops the host abruptly, as a crash would: its NATS connection and
// embedded server go away at once, nothing is resigned or cleaned up. Its
// leases expire on the servers; its goroutines are stopped so a test
// process does not leak them. For fault-injection tests.
func (h *Host) Kill() {
	if h.cancel == nil {
		return
	}
	h.nc.Close()
	h.dataNC.Close()
	if h.ns != nil {
		h.ns.Shutdown()
	}
	h.cancel()
	h.callCancel()
	if h.http != nil {
		_ = h.http.Close()
	}
	h.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	h.apps.stopAll(ctx)
	_ = h.runtime.Close(ctx)
	if h.ns != nil {
		h.ns.WaitForShutdown()
	}
	h.unlockDataDir()
	h.cancel = nil
}

func (h *Host) recordActivation(a *Activation) {
	h.actMu.Lock()
	h.activations = append(h.activations, a)
	h.actMu.Unlock()
}

func (h *Host) endActivation(a *Activation, at time.Time) {
	h.actMu.Lock()
	a.Ended = at
	h.actMu.Unlock()
}

func (h *Host) recordOwnSpan(s *OwnSpan) {
	h.actMu.Lock()
	h.ownSpans = append(h.ownSpans, s)
	h.actMu.Unlock()
}

func (h *Host) endOwnSpan(s *OwnSpan, at time.Time) {
	h.actMu.Lock()
	s.Ended = at
	h.actMu.Unlock()
}

// OwnSpans returns every partition ownership this host had.
func (h *Host) OwnSpans() []OwnSpan {
	h.actMu.Lock()
	defer h.actMu.Unlock()
	out := make([]OwnSpan, len(h.ownSpans))
	for i, s := range h.ownSpans {
		out[i] = *s
	}
	return out
}

// Activations returns every term of an active role this host served.
func (h *Host) Activations() []Activation {
	h.actMu.Lock()
	defer h.actMu.Unlock()
	out := make([]Activation, len(h.activations))
	for i, a := range h.activations {
		out[i] = *a
	}
	return out
}

// ClusterURL is where peers route to this host's embedded NATS, "" when
// it runs standalone or NATS is external.
func (h *Host) ClusterURL() string {
	if h.ns == nil || h.ns.ClusterAddr() == nil {
		return ""
	}
	return "nats://" + h.ns.ClusterAddr().String()
}

// Ready is closed once the apps deployed when the host started have been
// loaded (or failed to load).
func (h *Host) Ready() <-chan struct{} { return h.ready }

// ClientURL is where clients reach this host's NATS.
func (h *Host) ClientURL() string {
	if h.ns != nil {
		return h.ns.ClientURL()
	}
	return h.cfg.NATSURL
}

// HTTPAddr is the address /metrics is served on, "" when off.
func (h *Host) HTTPAddr() string {
	if h.httpAddr == nil {
		return ""
	}
	return h.httpAddr.String()
}

// NodeID names this host.
func (h *Host) NodeID() string { return h.cfg.NodeID }

// Close stops serving every app, then the runtime, NATS and HTTP. Calls in
// flight finish or are cut when ctx ends.
func (h *Host) Close(ctx context.Context) error {
	if h.cancel == nil {
		return ErrClosed
	}
	h.shutdown(ctx)
	h.cancel = nil
	h.log.Info("host stopped")
	return nil
}

// shutdown tears down whatever Open started, in reverse order.
func (h *Host) shutdown(ctx context.Context) {
	if h.cancel != nil {
		h.cancel()
	}
	if h.http != nil {
		_ = h.http.Shutdown(ctx)
	}
	h.wg.Wait()
	if h.apps != nil {
		cut := context.AfterFunc(ctx, h.callCancel)
		h.apps.stopAll(ctx)
		cut()
		h.callCancel()
	}
	if t := h.memberTerm(); t != nil {
		_ = t.Resign(ctx)
	}
	if h.runtime != nil {
		_ = h.runtime.Close(ctx)
	}
	if h.nc != nil {
		_ = h.nc.Drain()
		h.nc.Close()
	}
	if h.dataNC != nil {
		h.dataNC.Close()
	}
	if h.ns != nil {
		h.ns.Shutdown()
		h.ns.WaitForShutdown()
	}
	h.unlockDataDir()
}

func (h *Host) unlockDataDir() {
	if h.dirLock != nil {
		h.dirLock.Close()
		h.dirLock = nil
	}
}
