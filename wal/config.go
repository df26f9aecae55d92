package wal

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
)

// Durability says when a write is acknowledged.
type Durability string

// Durability modes.
const (
	// Async acknowledges a write once it is committed locally; Litestream
	// ships it within SyncInterval.
	Async Durability = "async"
	// Sync acknowledges a write only once its LTX file is stored in the
	// replica and the writer is still the current generation.
	Sync Durability = "sync"
)

// Defaults for Config.
const (
	DefaultSyncInterval     = time.Second
	DefaultFollowInterval   = time.Second
	DefaultSnapshotInterval = time.Hour
	DefaultRetention        = 24 * time.Hour
)

// Config describes one app's database.
type Config struct {
	// Path is the local SQLite file. Litestream keeps its own state in a
	// directory beside it (".NAME-litestream"); Open replaces both with the
	// replica's state, so nothing else may use them.
	Path string
	// Replica is the app's replica object store, created by the caller.
	Replica jetstream.ObjectStore
	// Fences is the fence bucket, created by the caller. Its keys must not
	// expire: the record is what voids a former writer's uploads.
	Fences jetstream.KeyValue
	// FenceKey is this database's key in Fences.
	FenceKey string
	// Durability is Async unless set.
	Durability Durability
	// SyncInterval is how often committed writes are shipped (async), and
	// how often anything left unshipped is retried (sync).
	SyncInterval time.Duration
	// FollowInterval bounds how long a standby goes without looking at the
	// replica; changes are normally seen at once through a watch.
	FollowInterval time.Duration
	// SnapshotInterval is how often the writer takes a full snapshot.
	SnapshotInterval time.Duration
	// Retention is how long snapshots and LTX files are kept.
	Retention time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// JetStream, if set, lets the writer purge the marker the object store
	// leaves for each deleted object. Without it the markers of deleted
	// LTX files pile up in the replica's stream: each is small, but every
	// listing and watch reads them all.
	JetStream jetstream.JetStream
}

// Validate fills in defaults and reports the first bad field by name.
func (c *Config) Validate() error {
	if err := c.checkRequired(); err != nil {
		return err
	}
	switch c.Durability {
	case "":
		c.Durability = Async
	case Async, Sync:
	default:
		return invalidf("Config.Durability %q must be %q or %q", c.Durability, Async, Sync)
	}
	for _, d := range []struct {
		name  string
		value *time.Duration
		def   time.Duration
	}{
		{"SyncInterval", &c.SyncInterval, DefaultSyncInterval},
		{"FollowInterval", &c.FollowInterval, DefaultFollowInterval},
		{"SnapshotInterval", &c.SnapshotInterval, DefaultSnapshotInterval},
		{"Retention", &c.Retention, DefaultRetention},
	} {
		if *d.value < 0 {
			return invalidf("Config.%s %s must not be negative", d.name, *d.value)
		}
		if *d.value == 0 {
			*d.value = d.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

func (c *Config) checkRequired() error {
	switch {
	case c.Path == "":
		return invalidf("Config.Path is required")
	case strings.ContainsAny(c.Path, "?#"):
		// The SQLite driver reads what follows '?' as its own options.
		return invalidf("Config.Path %q must not contain '?' or '#'", c.Path)
	case c.Replica == nil:
		return invalidf("Config.Replica is required")
	case c.Fences == nil:
		return invalidf("Config.Fences is required")
	case !validKey(c.FenceKey):
		return invalidf("Config.FenceKey %q is not a valid key", c.FenceKey)
	}
	return nil
}

// validKey mirrors the KV key rule: tokens of [-/_=.a-zA-Z0-9], no empty
// token, so that a key is one subject and never a wildcard.
func validKey(k string) bool {
	if k == "" || k[0] == '.' || k[len(k)-1] == '.' || strings.Contains(k, "..") {
		return false
	}
	for _, r := range k {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("-/_=.", r)
		if !ok {
			return false
		}
	}
	return true
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: wal: "+format, append([]any{abi.ErrInvalid}, args...)...)
}
