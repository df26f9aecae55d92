package host

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ozanturksever/go-cluster/host/backend"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
	"github.com/ozanturksever/go-cluster/vip"
)

// ops is the native side of an active-passive app's active role: its
// virtual address and its backend. Both follow the term: taken after the
// database is caught up (address, then backend) and given up in reverse
// before the lease is released. The address is also fenced on its own: it
// goes the moment the term's context ends, whatever else is slow.
//
// Threading: acquire and release are called by the role's goroutine, one
// after the other; status, failed and the callbacks from any goroutine.
type ops struct {
	a   *app
	vip *vip.VIP // nil without a vip

	mu       sync.Mutex
	be       *backend.Supervisor     // this term's, nil between terms
	startErr error                   // why this term's backend did not start
	last     *registry.BackendStatus // kept after a term for status
	token    uint64
	vipHeld  bool
}

// newOps prepares an app's address and backend; a host that cannot hold
// the address at all (not Linux) refuses the app here, where the error
// reaches status, instead of at every election.
func newOps(a *app) (*ops, error) {
	o := &ops{a: a}
	h, m := a.h, a.dep.Manifest
	if m.VIP == nil {
		return o, nil
	}
	v, err := vip.New(vip.Config{
		Name: m.Name, Address: m.VIP.Prefix(), Interface: m.VIP.Interface, NetNS: h.cfg.NetNS,
		Logger: h.log.With("app", m.Name), Metrics: h.vipMetrics,
		OnConflict: o.vipConflict, OnReadd: func() { o.vipEvent("readded", "") },
	})
	if err != nil {
		return nil, fmt.Errorf("cannot use vip %s on %s: %w", m.VIP.Address, m.VIP.Interface, err)
	}
	o.vip = v
	// A copy left by a crashed run of this host would answer clients
	// beside the real active.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if removed, err := v.RemoveStale(ctx); err != nil {
		h.log.Warn("cannot check for a stale vip", "app", m.Name, "err", err)
	} else if removed {
		h.log.Warn("removed a vip left from an earlier run", "app", m.Name, "vip", m.VIP.Address)
	}
	return o, nil
}

// acquire takes the address, then starts the backend and waits for it to
// be healthy. On error the caller releases what was taken.
func (o *ops) acquire(term *lease.Term) error {
	o.mu.Lock()
	o.token = term.Token()
	o.mu.Unlock()
	m := o.a.dep.Manifest
	if o.vip != nil {
		if err := o.vip.Acquire(term.Context()); err != nil {
			o.vipEvent("failed", err.Error())
			return err
		}
		o.mu.Lock()
		o.vipHeld = true
		o.mu.Unlock()
		o.vipEvent("acquired", "")
	}
	if m.Backend == nil {
		return nil
	}
	be, err := backend.New(backend.Config{
		App: m.Name, Spec: *m.Backend, Env: o.env(term.Token()), NetNS: o.a.h.cfg.NetNS,
		Logger: o.a.h.log.With("app", m.Name), Metrics: o.a.h.backendMetrics, OnEvent: o.backendEvent,
	})
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.be, o.startErr = be, nil
	o.mu.Unlock()
	if err := be.Start(term.Context()); err != nil {
		o.mu.Lock()
		o.startErr = err
		o.mu.Unlock()
		return err
	}
	return nil
}

// env tells a backend where it runs; GOCLUSTER_DB lets it read the app's
// database on the active node.
func (o *ops) env(token uint64) map[string]string {
	h, m := o.a.h, o.a.dep.Manifest
	env := map[string]string{
		"GOCLUSTER_PLATFORM": h.cfg.Platform,
		"GOCLUSTER_APP":      m.Name,
		"GOCLUSTER_NODE":     h.cfg.NodeID,
		"GOCLUSTER_TOKEN":    strconv.FormatUint(token, 10),
		"GOCLUSTER_NATS_URL": h.ClientURL(),
	}
	if m.VIP != nil {
		env["GOCLUSTER_VIP"] = m.VIP.Prefix().Addr().String()
	}
	if o.a.db != nil {
		env["GOCLUSTER_DB"] = h.dbFile(m.Name)
	}
	return env
}

// failed is closed when the backend gave up; nil (never ready) without one.
func (o *ops) failed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.be == nil {
		return nil
	}
	return o.be.Failed()
}

// release stops the backend, then gives up the address.
func (o *ops) release() {
	o.stopBackend()
	if o.vip == nil {
		return
	}
	o.mu.Lock()
	held := o.vipHeld
	o.vipHeld = false
	o.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.vip.Release(ctx); err != nil {
		o.a.h.log.Error("cannot remove the vip", "app", o.a.dep.App, "err", err)
	} else if held {
		o.vipEvent("released", "")
	}
}

// stopBackend stops this term's backend, if it runs, and keeps its last
// state for status.
func (o *ops) stopBackend() {
	o.mu.Lock()
	be, startErr := o.be, o.startErr
	o.be, o.startErr = nil, nil
	o.mu.Unlock()
	if be == nil {
		return
	}
	m := o.a.dep.Manifest
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(m.Backend.StopTimeout)+5*time.Second)
	defer cancel()
	if err := be.Stop(ctx); err != nil {
		o.a.h.log.Warn("cannot stop the backend", "app", m.Name, "err", err)
	}
	// A backend that gave up stays visible in status as failed: it is why
	// this node stepped down.
	st := toBackendStatus(be.Status())
	if err := cmp.Or(be.Err(), startErr); err != nil {
		st.State, st.Error, st.PID = backend.StateFailed, err.Error(), 0
	}
	o.mu.Lock()
	o.last = st
	o.mu.Unlock()
}

// report fills the address and backend state of a status report.
func (o *ops) report(st *registry.Status) {
	if o == nil {
		return
	}
	o.mu.Lock()
	be, last, held := o.be, o.last, o.vipHeld
	o.mu.Unlock()
	if held && o.vip.Held() {
		st.VIP = o.a.dep.Manifest.VIP.Address
	}
	switch {
	case be != nil:
		st.Backend = toBackendStatus(be.Status())
	case last != nil && last.State == backend.StateFailed:
		st.Backend = last
	}
}

func toBackendStatus(s backend.Status) *registry.BackendStatus {
	return &registry.BackendStatus{Kind: string(s.Kind), State: s.State, PID: s.PID, Restarts: s.Restarts, Error: s.LastError}
}

// BackendEvent is the JSON of a backend platform event: the audit of a
// backend's starts, restarts and failures.
type BackendEvent struct {
	App      string `json:"app"`
	Node     string `json:"node"`
	Token    uint64 `json:"token"`
	Event    string `json:"event"` // started, healthy, unhealthy, exited, restarted, failed, stopped
	Restarts int    `json:"restarts"`
	Error    string `json:"error,omitempty"`
	At       string `json:"at"`
}

// VIPEvent is the JSON of a vip platform event.
type VIPEvent struct {
	App     string `json:"app"`
	Node    string `json:"node"`
	Token   uint64 `json:"token"`
	Address string `json:"address"`
	// Event is acquired, released, readded, conflict or failed.
	Event string `json:"event"`
	// MAC is the other machine's hardware address, for a conflict.
	MAC   string `json:"mac,omitempty"`
	Error string `json:"error,omitempty"`
	At    string `json:"at"`
}

func (o *ops) backendEvent(e backend.Event) {
	h := o.a.h
	o.mu.Lock()
	token := o.token
	o.mu.Unlock()
	at := e.At.UTC()
	h.log.Info("backend "+e.Kind, "app", e.App, "restarts", e.Restarts, "err", e.Err)
	h.publishPlatform(manifest.EventBackend, fmt.Sprintf("backend.%s.%s.%d.%s.%d", e.App, h.cfg.NodeID, token, e.Kind, at.UnixNano()),
		BackendEvent{App: e.App, Node: h.cfg.NodeID, Token: token, Event: e.Kind, Restarts: e.Restarts, Error: e.Err, At: at.Format(time.RFC3339Nano)})
	if o.a.role != nil {
		h.wg.Go(o.a.role.report)
	}
}

func (o *ops) vipEvent(kind, errText string) {
	o.publishVIP(VIPEvent{Event: kind, Error: errText})
}

func (o *ops) vipConflict(c vip.Conflict) {
	o.a.h.log.Error("another machine answers for the vip", "app", o.a.dep.App, "vip", c.Address, "mac", c.MAC.String())
	o.publishVIP(VIPEvent{Event: "conflict", MAC: c.MAC.String()})
}

func (o *ops) publishVIP(e VIPEvent) {
	h := o.a.h
	o.mu.Lock()
	e.Token = o.token
	o.mu.Unlock()
	now := time.Now().UTC()
	e.App, e.Node, e.Address, e.At = o.a.dep.App, h.cfg.NodeID, o.a.dep.Manifest.VIP.Address, now.Format(time.RFC3339Nano)
	h.publishPlatform(manifest.EventVIP, fmt.Sprintf("vip.%s.%s.%d.%s.%d", e.App, e.Node, e.Token, e.Event, now.UnixNano()), e)
}
