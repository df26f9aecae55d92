// Package registry is the platform's record of apps: each deployment (a
// manifest plus the sha256 of its module) is a revision of one KV key, the
// module bytes sit content-addressed in an object store, and every node
// reports how each app runs on it. Clients deploy, list and roll back
// through it; hosts watch it.
package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
)

// ErrNoPlatform is a NATS without the platform's buckets: no host ever ran there.
var ErrNoPlatform = errors.New("no go-cluster platform on this NATS (start one with `go-cluster host`, or check --nats and --platform)")

// History is how many deployments of one app are kept for rollback.
const History = 64

// Config says where and how the registry's buckets live.
type Config struct {
	Layout layout.Layout
	// Create makes missing buckets (hosts do); otherwise a missing bucket
	// is ErrNoPlatform (clients).
	Create bool
	// Replicas of each bucket; 0 means 1.
	Replicas int
}

// Registry reads and writes deployments and node reports.
//
// Threading: safe for concurrent use.
type Registry struct {
	js     jetstream.JetStream
	layout layout.Layout
	apps   jetstream.KeyValue
	status jetstream.KeyValue
	wasm   jetstream.ObjectStore
}

// Open binds (or, with Config.Create, creates) the platform's buckets.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Registry, error) {
	r := &Registry{js: js, layout: cfg.Layout}
	replicas := max(cfg.Replicas, 1)
	var err error
	if cfg.Create {
		r.apps, err = EnsureKV(ctx, js, jetstream.KeyValueConfig{
			Bucket: cfg.Layout.AppsBucket(), History: History, Replicas: replicas,
			Description: "go-cluster deployments",
		})
		if err == nil {
			r.status, err = EnsureKV(ctx, js, jetstream.KeyValueConfig{
				Bucket: cfg.Layout.StatusBucket(), History: 1, Replicas: replicas,
				Description: "go-cluster app status by node",
			})
		}
		if err == nil {
			r.wasm, err = EnsureObjectStore(ctx, js, jetstream.ObjectStoreConfig{
				Bucket: cfg.Layout.WasmStore(), Replicas: replicas,
				Description: "go-cluster wasm modules by sha256",
			})
		}
	} else {
		r.apps, err = js.KeyValue(ctx, cfg.Layout.AppsBucket())
		if err == nil {
			r.status, err = js.KeyValue(ctx, cfg.Layout.StatusBucket())
		}
		if err == nil {
			r.wasm, err = js.ObjectStore(ctx, cfg.Layout.WasmStore())
		}
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, ErrNoPlatform
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the registry: %w", natsErr(err))
	}
	return r, nil
}

// Apps is the deployments bucket, for watchers that only need to know
// that something changed.
func (r *Registry) Apps() jetstream.KeyValue { return r.apps }

// natsErr wraps a NATS error with the abi sentinel that says what kind of
// failure it is, so callers can errors.Is it without importing NATS.
func natsErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrObjectNotFound):
		return fmt.Errorf("%w (%w)", abi.ErrNotFound, err)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("%w (%w)", abi.ErrConflict, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (%w)", abi.ErrTimeout, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w (%w)", abi.ErrUnavailable, err)
}

// Status is one node's report on one app.
type Status struct {
	App       string `json:"app"`
	Node      string `json:"node"`
	Revision  uint64 `json:"revision"` // the deployment revision it runs or tried
	Digest    string `json:"digest"`
	State     State  `json:"state"`
	Error     string `json:"error,omitempty"`
	Instances int    `json:"instances"`
	// Role is active, standby, pool or ring (see the Role constants).
	Role string `json:"role,omitempty"`
	// Token is the fencing token of the active's term (active only).
	Token uint64 `json:"token,omitempty"`
	// Partitions is how many ring partitions this node owns.
	Partitions int `json:"partitions,omitempty"`
	// DB is the replication state of the app's database here, if any.
	DB *DBStatus `json:"db,omitempty"`
	// VIP is the virtual address this node holds for the app (active
	// only).
	VIP string `json:"vip,omitempty"`
	// Backend is the state of the app's backend here (active only, or the
	// last failure that made this node step down).
	Backend *BackendStatus `json:"backend,omitempty"`
	At      time.Time      `json:"at"`
}

// BackendStatus is how an app's backend runs on one node.
type BackendStatus struct {
	Kind string `json:"kind"`
	// State is starting, healthy, unhealthy, restarting, failed or
	// stopped.
	State    string `json:"state"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	Error    string `json:"error,omitempty"`
}

// DBStatus is where one node's copy of an app's database stands.
type DBStatus struct {
	// Role is writer (the active's copy) or standby (a follower).
	Role       string `json:"role"`
	Generation uint64 `json:"generation,omitempty"`
	// TXID is the last transaction in the local copy; ReplicaTXID the last
	// one stored in the replica.
	TXID        uint64 `json:"txid"`
	ReplicaTXID uint64 `json:"replica_txid"`
	// LagMS is how far the replica trails the writer, or this standby the
	// replica, in milliseconds.
	LagMS int64  `json:"lag_ms"`
	Error string `json:"error,omitempty"`
}

// State is how an app runs on a node.
type State string

// States of an app on a node.
const (
	StateLoading State = "loading"
	StateRunning State = "running"
	StateFailed  State = "failed"
)
