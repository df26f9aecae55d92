package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config; see the package documentation for the arithmetic.
const (
	// DefaultTTL is the server-side life of a write that is not renewed,
	// and so the bucket's TTL (MaxAge).
	DefaultTTL = 1200 * time.Millisecond
	// DefaultRenew is how often a holder renews: TTL/3.
	DefaultRenew = DefaultTTL / 3
	// DefaultMargin is how much sooner than the server the holder gives
	// up: TTL/6.
	DefaultMargin = DefaultTTL / 6
)

// KV is what a lease uses of a JetStream KV bucket; a jetstream.KeyValue
// is one.
type KV interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error
	Watch(ctx context.Context, keys string, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
	Status(ctx context.Context) (jetstream.KeyValueStatus, error)
}

var _ KV = jetstream.KeyValue(nil)

// maxHolder bounds Holder; it is stored with every renewal.
const maxHolder = 256

// Config describes one lease: a key in a lease bucket and who campaigns
// for it.
type Config struct {
	// KV is the lease bucket, made with BucketConfig: its TTL must equal
	// TTL and it must keep limit markers.
	KV KV
	// Key is the lease's key in the bucket, one per singleton role.
	Key string
	// Holder names who holds the lease when this Lease wins: unique per
	// process and role (an instance id), never reused by another process.
	// A Lease takes over a key that already names its own Holder at once.
	Holder string
	// Value is stored with the lease (node metadata for membership);
	// Term.SetValue changes it while held.
	Value []byte
	// TTL is how long the server keeps a write that is not renewed.
	// Default DefaultTTL; when set alone, Renew and Margin scale with it.
	TTL time.Duration
	// Renew is the interval between renewals; default TTL/3.
	Renew time.Duration
	// Margin is how much earlier than the server's expiry the holder's
	// local deadline falls (deadline = send time + TTL - Margin); it covers
	// clock drift between the holder and the servers and between servers.
	// Default TTL/6.
	Margin time.Duration
	// Logger receives acquisitions, losses and renewal trouble; default
	// discards.
	Logger *slog.Logger
	// Metrics, shared by the leases of a process; nil records nothing.
	Metrics *Metrics
}

// Errors. Operations wrap them ("cannot X: %w"); test with errors.Is.
var (
	// ErrConfig is a Config that cannot work; the message names the field.
	ErrConfig = errors.New("bad lease config")
	// ErrBucket is a lease bucket whose settings break the lease's timing.
	ErrBucket = errors.New("bad lease bucket")
	// ErrHeld is a lease that another holder has.
	ErrHeld = errors.New("lease held by another holder")
	// ErrActive is an acquisition on a Lease whose previous term is still
	// active.
	ErrActive = errors.New("lease already has an active term")
	// ErrNotHeld is a lease that nobody holds (Current), or that is no
	// longer this term's (Resign, SetValue).
	ErrNotHeld = errors.New("lease not held")
	// ErrLost ends a term whose key was written by someone else.
	ErrLost = errors.New("lease lost to another writer")
	// ErrExpired ends a term whose local deadline passed before a renewal
	// succeeded.
	ErrExpired = errors.New("lease expired before renewal")
	// ErrResigned ends a term that its holder resigned.
	ErrResigned = errors.New("lease resigned")
)

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Renew == 0 {
		c.Renew = c.TTL / 3
	}
	if c.Margin == 0 {
		c.Margin = c.TTL / 6
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

var keyRe = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// Validate reports every field that cannot work, after SetDefaults.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.KV == nil {
		bad("KV: no bucket")
	}
	if !validKey(c.Key) {
		bad("Key: %q is not a KV key (letters, digits, - / _ = and inner dots)", c.Key)
	}
	switch {
	case c.Holder == "":
		bad("Holder: empty")
	case len(c.Holder) > maxHolder:
		bad("Holder: longer than %d bytes", maxHolder)
	case strings.ContainsRune(c.Holder, '\n'):
		bad("Holder: contains a newline")
	}
	if c.TTL < 100*time.Millisecond {
		bad("TTL: %s is below the server's minimum of 100ms", c.TTL)
	}
	if c.Renew <= 0 || c.Margin <= 0 {
		bad("Renew and Margin: must be positive (Renew %s, Margin %s)", c.Renew, c.Margin)
	} else if c.Renew+c.Margin >= c.TTL {
		// The renewal must be sent, with time to spare, before the local
		// deadline at TTL-Margin.
		bad("Renew + Margin: %s + %s leaves no time to renew within TTL %s", c.Renew, c.Margin, c.TTL)
	}
	return errors.Join(errs...)
}

func validKey(k string) bool {
	return keyRe.MatchString(k) && k[0] != '.' && k[len(k)-1] != '.' && !strings.Contains(k, "..")
}

// BucketConfig is the configuration of a lease bucket for leases with the
// given TTL: the bucket's TTL (MaxAge) expires a write that is not renewed,
// and limit markers make that expiry an event that standbys watch for.
//
// Every key in a lease bucket must be a lease (renewed or gone). Storage is
// on file because the fencing token is the bucket's revision: in memory it
// would start over from 1 after the whole cluster restarts. Never delete
// and recreate a lease bucket, for the same reason.
func BucketConfig(name string, ttl time.Duration, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "fenced leases; every key expires after " + ttl.String() + " unless renewed",
		History:     1,
		TTL:         ttl,
		// The server keeps markers for whole seconds, at least one.
		LimitMarkerTTL: max(time.Second, ttl.Truncate(time.Second)),
		Storage:        jetstream.FileStorage,
		Replicas:       replicas,
	}
}
