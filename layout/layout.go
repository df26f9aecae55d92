// Package layout derives every NATS name go-cluster uses, for a platform
// and its apps: buckets, object stores, subjects and keys. Nothing else in
// the project spells a bucket or subject; a guest never names one at all.
//
// For platform P and app A:
//
//	gc_P_apps          KV: deploy.A -> the current deployment (history = versions)
//	gc_P_status        KV: A.NODE -> how A runs on NODE
//	gc_P_wasm          object store: sha256 hex -> module bytes
//	gc_P_kv_A          KV: A's own keys (encoded by EncodeKey)
//	gc.P.api.A.METHOD  the subject of A's API method, served with NATS micro
//	gc_P_nodes         lease bucket: NODE -> the host holding that node id (membership)
//	gc_P_leases        lease bucket: app.A (A's active), scheduler
//	gc_P_placements    KV: A -> where A runs (written by the scheduler)
//	gc_P_ops           KV: cordon.NODE, drain.NODE, move.A (operator requests)
//	gc_P_ring          KV: A -> partition ownership of a ring app (compare-and-set)
//	gc.P.active.A.M    A's method on its active instance (standbys forward there)
//	gc.P.node.N.A.M    A's method on node N (ring calls forward to the owner)
//	gc.P.ctl.stepdown.A  asks A's active to hand over; it replies its node id
//	gc.P.ctl.dbsnapshot.A  asks A's active to snapshot its database now
//	gc_P_db_A          object store: A's database replica (Litestream LTX files)
//	gc_P_wal           KV: A -> the fence of A's database writer (token, first TXID)
//	gc_P_locks_A       KV: A's named locks (per-key TTL)
//	gc_P_events        stream over gc.P.ev.>: apps' and the platform's events
//	gc.P.ev.A.TOPIC    an event A published
//	gc.P.ev.platform.KIND  a platform event (node_join, node_leave, leader, deploy)
package layout

import (
	"errors"
	"fmt"
	"regexp"
)

// DefaultPlatform is the platform name when none is given.
const DefaultPlatform = "default"

// ErrBadName is a platform, app or node name that cannot be part of a NATS name.
var ErrBadName = errors.New("bad name")

var (
	platformRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	nodeRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// Layout names everything of one platform.
type Layout struct {
	platform string
}

// New returns the layout of platform p.
func New(p string) (Layout, error) {
	if !platformRe.MatchString(p) {
		return Layout{}, fmt.Errorf("cannot use platform name %q (lower-case letters, digits and -, starting with a letter, at most 32): %w", p, ErrBadName)
	}
	return Layout{platform: p}, nil
}

// ValidNode reports whether id can name a node.
func ValidNode(id string) error {
	if !nodeRe.MatchString(id) {
		return fmt.Errorf("cannot use node id %q (letters, digits, _ and -, at most 64): %w", id, ErrBadName)
	}
	return nil
}

// Platform returns the platform name.
func (l Layout) Platform() string { return l.platform }

func (l Layout) bucket(kind string) string { return "gc_" + l.platform + "_" + kind }

// AppsBucket holds deployments.
func (l Layout) AppsBucket() string { return l.bucket("apps") }

// StatusBucket holds each node's report of each app.
func (l Layout) StatusBucket() string { return l.bucket("status") }

// WasmStore is the object store of module bytes, content-addressed.
func (l Layout) WasmStore() string { return l.bucket("wasm") }

// NodesBucket holds one membership lease per node.
func (l Layout) NodesBucket() string { return l.bucket("nodes") }

// LeasesBucket holds the singleton roles' leases.
func (l Layout) LeasesBucket() string { return l.bucket("leases") }

// PlacementsBucket holds where each app runs.
func (l Layout) PlacementsBucket() string { return l.bucket("placements") }

// OpsBucket holds operators' requests: cordon, drain, move.
func (l Layout) OpsBucket() string { return l.bucket("ops") }

// RingBucket holds ring apps' partition ownership.
func (l Layout) RingBucket() string { return l.bucket("ring") }

// ActiveSubject is where app's active instance takes method's calls.
func (l Layout) ActiveSubject(app, method string) string {
	return "gc." + l.platform + ".active." + app + "." + method
}

// NodeSubject is where node takes app's method calls.
func (l Layout) NodeSubject(node, app, method string) string {
	return "gc." + l.platform + ".node." + node + "." + app + "." + method
}

// DBSnapshotSubject asks app's active instance to snapshot its database.
func (l Layout) DBSnapshotSubject(app string) string {
	return "gc." + l.platform + ".ctl.dbsnapshot." + app
}

// StepdownSubject asks app's active instance to hand over.
func (l Layout) StepdownSubject(app string) string {
	return "gc." + l.platform + ".ctl.stepdown." + app
}

// KeyHeader carries a call's key: hosts route a ring app's call to the
// owner of the key's partition (placement.PartitionOf).
const KeyHeader = "Gc-Key"

// AppLeaseKey is the lease of app's active role.
func AppLeaseKey(app string) string { return "app." + app }

// SchedulerLeaseKey is the lease of the platform scheduler.
const SchedulerLeaseKey = "scheduler"

// Operator request keys in OpsBucket.
func CordonKey(node string) string { return "cordon." + node }
func DrainKey(node string) string  { return "drain." + node }
func MoveKey(app string) string    { return "move." + app }

// AppDBStore is the object store holding app's database replica.
func (l Layout) AppDBStore(app string) string { return l.bucket("db_" + app) }

// WALBucket holds, per app, the fence of its database writer.
func (l Layout) WALBucket() string { return l.bucket("wal") }

// AppLocks is the bucket of app's named locks.
func (l Layout) AppLocks(app string) string { return l.bucket("locks_" + app) }

// EventsStream is the stream that keeps every event of the platform.
func (l Layout) EventsStream() string { return l.bucket("events") }

// EventsSubjects matches every event subject of the platform.
func (l Layout) EventsSubjects() string { return "gc." + l.platform + ".ev.>" }

// EventSubject is the subject of topic published by app. Platform events
// use PlatformApp as app; manifest validation keeps that name from apps.
func (l Layout) EventSubject(app, topic string) string {
	return "gc." + l.platform + ".ev." + app + "." + topic
}

// PlatformApp is the source name of platform events ("platform.node_join").
const PlatformApp = "platform"

// AppKV is app's own KV bucket.
func (l Layout) AppKV(app string) string { return l.bucket("kv_" + app) }

// APISubject is the subject of app's method.
func (l Layout) APISubject(app, method string) string {
	return "gc." + l.platform + ".api." + app + "." + method
}

// APIQueue is the queue group every instance of an app serves in.
func (l Layout) APIQueue() string { return "gc" }

// DeployKey is the key of app's current deployment in AppsBucket.
func DeployKey(app string) string { return deployPrefix + app }

// DeployPrefix starts every DeployKey; DeployWatch matches them all.
const (
	deployPrefix = "deploy."
	DeployWatch  = deployPrefix + "*"
)

// AppOfDeployKey returns the app a DeployKey names.
func AppOfDeployKey(key string) (string, bool) {
	if len(key) <= len(deployPrefix) || key[:len(deployPrefix)] != deployPrefix {
		return "", false
	}
	return key[len(deployPrefix):], true
}

// StatusKey is the key of node's report on app in StatusBucket.
func StatusKey(app, node string) string { return app + "." + node }

// StatusWatch matches every node's report on app.
func StatusWatch(app string) string { return app + ".*" }
