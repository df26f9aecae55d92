package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/events"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/host/lock"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
	"github.com/ozanturksever/go-cluster/wal"
)

// The app's stores beyond KV: its database, locks and events. Each is
// opened only when the manifest grants it; the guest reaches each through
// caps, which binds the app's identity.

var (
	errNoDB     = fmt.Errorf("the app's manifest does not grant a database (data.db): %w", abi.ErrDenied)
	errNoLocks  = fmt.Errorf("the app's manifest does not grant locks (data.locks: true): %w", abi.ErrDenied)
	errNoEvents = fmt.Errorf("the app's manifest does not grant events (data.events): %w", abi.ErrDenied)
	// errNotWriter is a write outside the active's term.
	errNotWriter = fmt.Errorf("the database is read-only here: only the app's active instance writes: %w", abi.ErrUnavailable)
	// errTermEnded is a write that finished after the active's term ran
	// out: it may or may not survive the failover, so it is not confirmed.
	errTermEnded = fmt.Errorf("the active role ended before the write was confirmed; retry on the new active: %w", abi.ErrUnavailable)
)

// writer is the database's right to write: the active's term context while
// it holds the lease. A write is confirmed to the guest only if the term
// was still running when the write returned: the term ends at the holder's
// local deadline, before the lease can pass on, so every confirmed write
// was stored before any new active could read the replica.
type writer struct {
	mu   sync.Mutex
	term context.Context
}

func (w *writer) set(term context.Context) {
	w.mu.Lock()
	w.term = term
	w.mu.Unlock()
}

func (w *writer) current() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.term
}

// openDB opens the app's database as a follower of its replica.
func (h *Host) openDB(ctx context.Context, m *manifest.Manifest) (*wal.DB, error) {
	store, err := registry.EnsureObjectStore(ctx, h.dataJS, jetstream.ObjectStoreConfig{
		Bucket: h.layout.AppDBStore(m.Name), Description: "go-cluster database of " + m.Name, Replicas: h.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open the database replica of %s: %w (%w)", m.Name, abi.ErrUnavailable, err)
	}
	fences, err := h.walBucket(ctx)
	if err != nil {
		return nil, err
	}
	cfg := wal.Config{
		Path:       h.dbFile(m.Name),
		Replica:    store,
		Fences:     fences,
		FenceKey:   m.Name,
		JetStream:  h.dataJS,
		Durability: wal.Durability(m.Data.DB.Durability),
		Logger:     h.log.With("app", m.Name, "db", true),
	}
	db, err := wal.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot open the database of %s: %w", m.Name, err)
	}
	if err := db.Open(ctx); err != nil {
		// Mostly NATS not ready yet (a new bucket without a leader): the
		// reconciler retries an unavailable load.
		return nil, fmt.Errorf("cannot open the database of %s: %w (%w)", m.Name, abi.ErrUnavailable, err)
	}
	return db, nil
}

func (h *Host) walBucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := registry.EnsureKV(ctx, h.js, jetstream.KeyValueConfig{
		Bucket: h.layout.WALBucket(), Description: "go-cluster database fences", History: 1, Replicas: h.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open the database fences: %w (%w)", abi.ErrUnavailable, err)
	}
	return kv, nil
}

func (h *Host) openLocks(ctx context.Context, m *manifest.Manifest) (*lock.Table, error) {
	kv, err := registry.EnsureKV(ctx, h.js, lock.BucketConfig(h.layout.AppLocks(m.Name), h.replicas))
	if err != nil {
		return nil, fmt.Errorf("cannot open the locks of %s: %w (%w)", m.Name, abi.ErrUnavailable, err)
	}
	t, err := lock.New(lock.Config{KV: kv, JS: h.js, Owner: h.cfg.NodeID})
	if err != nil {
		return nil, fmt.Errorf("cannot open the locks of %s: %w", m.Name, err)
	}
	return t, nil
}

// dbFile is this node's copy of app's database.
func (h *Host) dbFile(app string) string { return h.cfg.path("db", app, "db.sqlite") }

// dbWrite runs a write as the active: refused outside a term, and not
// confirmed when the term ended while it ran.
func (c *caps) dbWrite(f func() error) error {
	if c.db == nil {
		return errNoDB
	}
	term := c.writer.current()
	if term == nil || term.Err() != nil {
		return errNotWriter
	}
	err := f()
	if errors.Is(err, wal.ErrFenced) && c.fenced != nil {
		c.fenced()
	}
	if err == nil && term.Err() != nil {
		return errTermEnded
	}
	return err
}

func (c *caps) DBExec(ctx context.Context, sql string, params []abi.Value) (abi.ExecResult, error) {
	var res abi.ExecResult
	err := c.dbWrite(func() (err error) {
		res, err = c.db.Exec(ctx, sql, params)
		return err
	})
	return res, err
}

// DBQuery reads the active's copy. A standby's copy changes under it as it
// follows the replica, so it answers only on the active too.
func (c *caps) DBQuery(ctx context.Context, sql string, params []abi.Value, maxBytes int) (*abi.Rows, error) {
	if c.db == nil {
		return nil, errNoDB
	}
	if term := c.writer.current(); term == nil || term.Err() != nil {
		return nil, errNotWriter
	}
	return c.db.Query(ctx, sql, params, maxBytes)
}

func (c *caps) DBBatch(ctx context.Context, stmts []abi.Statement) ([]abi.ExecResult, error) {
	var res []abi.ExecResult
	err := c.dbWrite(func() (err error) {
		res, err = c.db.Batch(ctx, stmts)
		return err
	})
	return res, err
}

func (c *caps) LockAcquire(ctx context.Context, name []byte, ttl, wait time.Duration) (uint64, error) {
	if c.locks == nil {
		return 0, errNoLocks
	}
	return c.locks.Acquire(ctx, name, ttl, wait)
}

func (c *caps) LockRenew(ctx context.Context, name []byte, token uint64, ttl time.Duration) error {
	if c.locks == nil {
		return errNoLocks
	}
	return c.locks.Renew(ctx, name, token, ttl)
}

func (c *caps) LockRelease(ctx context.Context, name []byte, token uint64) error {
	if c.locks == nil {
		return errNoLocks
	}
	return c.locks.Release(ctx, name, token)
}

// Publish sends on one of the app's own topics: the subject is derived
// from the app's name, so no topic can reach another app's subjects.
func (c *caps) Publish(ctx context.Context, topic string, data []byte) error {
	if c.bus == nil {
		return errNoEvents
	}
	if !slices.Contains(c.publish, topic) {
		return fmt.Errorf("app %s may not publish %q: add it to data.events.publish in its manifest: %w", c.app, topic, abi.ErrDenied)
	}
	_, err := c.bus.Publish(ctx, c.app, topic, bytes.Clone(data))
	return err
}

// subscribe starts delivering the app's subscribed events to its guest.
// Durable subscriptions of an active-passive app are taken by the active
// only (started with its term); everything else runs on every node.
func (a *app) subscribe(ctx context.Context) (*events.Subscription, error) {
	m := a.dep.Manifest
	ev := m.Data.Events
	if ev == nil || len(ev.Subscribe) == 0 {
		return nil, nil
	}
	spec := events.Spec{App: m.Name, Sources: ev.Subscribe, Durable: ev.Durable}
	return a.h.bus.Subscribe(ctx, spec, func(ctx context.Context, msg events.Message) error {
		return a.plug.Deliver(ctx, msg.App, msg.Topic, msg.Data)
	})
}

// subscribesWithTerm tells whether the app's subscription follows its
// active role rather than running on every node.
func (a *app) subscribesWithTerm() bool {
	ev := a.dep.Manifest.Data.Events
	return a.role != nil && ev != nil && ev.Durable
}

// dbStatus is the database's part of this node's status report.
func (a *app) dbStatus() *registry.DBStatus {
	if a.db == nil {
		return nil
	}
	st := a.db.Status()
	return &registry.DBStatus{
		Role: string(st.Role), Generation: st.Generation, TXID: st.LocalTXID,
		ReplicaTXID: st.ReplicaTXID, LagMS: st.Lag.Milliseconds(), Error: st.LastError,
	}
}

// openData opens the stores m grants into c.
func (h *Host) openData(ctx context.Context, m *manifest.Manifest, c *caps) (err error) {
	if m.Data.DB != nil {
		if c.db, err = h.openDB(ctx, m); err != nil {
			return err
		}
	}
	if m.Data.Locks {
		if c.locks, err = h.openLocks(ctx, m); err != nil {
			return err
		}
	}
	if m.Data.Events != nil {
		c.bus, c.publish = h.bus, m.Data.Events.Publish
	}
	return nil
}

// close closes what openData opened, for a load that failed.
func (c *caps) close(ctx context.Context) {
	if c.db != nil {
		_ = c.db.Close(ctx)
	}
}

// promote makes this node's database copy the writer for term: fully
// caught up with the replica before the guest hears on_active.
func (a *app) promote(term *lease.Term) error {
	if a.db == nil {
		return nil
	}
	if err := a.db.Promote(term.Context(), term.Token()); err != nil {
		return err
	}
	a.writer.set(term.Context())
	return nil
}

// demote stops writes first, then hands the database back to following,
// before the lease is released.
func (a *app) demote() {
	if a.db == nil {
		return
	}
	a.writer.set(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.db.Demote(ctx); err != nil {
		a.h.log.Warn("cannot hand the database back to following", "app", a.dep.App, "err", err)
	}
}

// startTermSubscription starts the active's durable subscription.
func (a *app) startTermSubscription(term *lease.Term) {
	if !a.subscribesWithTerm() {
		return
	}
	sub, err := a.subscribe(term.Context())
	if err != nil {
		a.h.log.Error("cannot subscribe to events as the active", "app", a.dep.App, "err", err)
		return
	}
	a.termSub.Store(sub)
}

func (a *app) stopTermSubscription() {
	sub := a.termSub.Swap(nil)
	if sub == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout()+time.Second)
	defer cancel()
	if err := sub.Close(ctx); err != nil {
		a.h.log.Warn("cannot stop event subscription", "app", a.dep.App, "err", err)
	}
}

// answerSnapshot takes a snapshot of the database on request, off the
// subscription's goroutine: a snapshot ships and writes a whole file.
func (a *app) answerSnapshot(msg *nats.Msg) {
	a.h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(a.h.callCtx, time.Minute)
		defer cancel()
		// The shape of client.SnapshotReply.
		var rep struct {
			Snapshot wal.SnapshotInfo `json:"snapshot"`
			Error    string           `json:"error,omitempty"`
		}
		info, err := a.db.Snapshot(ctx)
		if err != nil {
			rep.Error = err.Error()
		}
		rep.Snapshot = info
		b, _ := json.Marshal(rep)
		_ = msg.Respond(b)
	})
}

// dbReportInterval is how often a node reports its copy's position and
// lag, which change without any role change.
const dbReportInterval = 5 * time.Second

func (a *app) startDBReports() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopRep = cancel
	a.reports.Go(func() {
		t := time.NewTicker(dbReportInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				rctx, rcancel := context.WithTimeout(ctx, time.Second)
				a.h.reportRunning(rctx, a)
				rcancel()
			}
		}
	})
}
