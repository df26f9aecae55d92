package lock

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bounds and defaults of Config and of every lock's ttl and wait.
const (
	// MinTTL is the shortest ttl (abi.MinLockTTL). The server counts
	// per-key TTLs in whole seconds, at least one, so a lock is kept for
	// ttl rounded up to the next second: never less than asked.
	MinTTL = 100 * time.Millisecond
	// DefaultMaxTTL is Config.MaxTTL when unset (abi.MaxLockTTL).
	DefaultMaxTTL = 5 * time.Minute
	// DefaultMaxWait is Config.MaxWait when unset (abi.MaxLockWait).
	DefaultMaxWait = 30 * time.Second
	// MaxName is the longest lock name, in bytes (abi.MaxKeyLen).
	MaxName = 512
	// maxOwner bounds Config.Owner; it is stored with every write.
	maxOwner = 256
	// markerTTL is how long the server keeps the marker that a release
	// or an expiry leaves: long enough for live watches to see it, short
	// enough that freed names leave nothing behind.
	markerTTL = time.Second
)

// Config describes the lock table of one app on one host.
type Config struct {
	// KV is the app's lock bucket, made with BucketConfig. Every key in it
	// is a lock written by this package.
	KV jetstream.KeyValue
	// JS is the JetStream context KV was opened with, without a domain or
	// API prefix. Acquire and Renew write through it, publishing to the
	// key's subject with compare-and-set and TTL headers (KeyValue.Update
	// takes no TTL, and a write without one would never expire); reads go
	// to the stream's leader through its connection (KeyValue.Get may be
	// answered by a replica that lags).
	JS jetstream.JetStream
	// Owner is recorded in every lock this table takes, for diagnostics
	// (who holds it): a node id, say. At most 256 bytes, no newline.
	Owner string
	// MaxTTL bounds the ttl of Acquire and Renew; default DefaultMaxTTL.
	MaxTTL time.Duration
	// MaxWait bounds the wait of Acquire; default DefaultMaxWait.
	MaxWait time.Duration
}

// Validate reports every field that cannot work. Zero MaxTTL and MaxWait
// stand for their defaults.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.KV == nil {
		bad("KV: no bucket (open one made with BucketConfig)")
	}
	if c.JS == nil {
		bad("JS: no JetStream context (pass the one KV was opened with)")
	} else if o := c.JS.Options(); o.Domain != "" || o.APIPrefix != "" && o.APIPrefix != jetstream.DefaultAPIPrefix {
		bad("JS: a context with a domain or API prefix (%q%q) is not supported", o.Domain, o.APIPrefix)
	}
	switch {
	case c.Owner == "":
		bad("Owner: empty (name the node, say)")
	case len(c.Owner) > maxOwner:
		bad("Owner: %d bytes, at most %d", len(c.Owner), maxOwner)
	case strings.ContainsRune(c.Owner, '\n'):
		bad("Owner: %q contains a newline", c.Owner)
	}
	if c.MaxTTL != 0 && c.MaxTTL < MinTTL {
		bad("MaxTTL: %s is below the minimum ttl %s (0 means %s)", c.MaxTTL, MinTTL, DefaultMaxTTL)
	}
	if c.MaxWait < 0 {
		bad("MaxWait: %s is negative (0 means %s)", c.MaxWait, DefaultMaxWait)
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero bounds filled in.
func (c Config) withDefaults() Config {
	if c.MaxTTL == 0 {
		c.MaxTTL = DefaultMaxTTL
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	return c
}

// BucketConfig is the configuration of an app's lock bucket. LimitMarkerTTL
// turns on per-key TTLs (the stream's AllowMsgTTL) and makes the server
// leave a marker when one expires, which wakes the waiters' watches. The
// bucket itself never expires keys (no TTL) and keeps one revision per key.
//
// Storage is on file because fencing tokens are the bucket's revisions: in
// memory they would start over from 1 after the whole cluster restarts.
// Never delete and recreate a lock bucket, for the same reason.
func BucketConfig(bucket string, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:         bucket,
		Description:    "named locks; each key expires after its own ttl unless renewed",
		History:        1,
		LimitMarkerTTL: markerTTL,
		Storage:        jetstream.FileStorage,
		Replicas:       replicas,
	}
}
