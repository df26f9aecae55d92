package lock

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/layout"
)

const (
	// quickRetries bounds the attempts made in a row, without waiting,
	// when a lock turns out free right after a write lost to its holder
	// (it was released in between).
	quickRetries = 3
	// resyncGrace: a waiter tries again this long after the holder's
	// server-estimated expiry even if its watch said nothing, a safety
	// net for a watch that missed an event. The watch normally wakes it
	// well before.
	resyncGrace = time.Second
)

// Table takes, renews and releases the named locks of one app on one host.
//
// Threading: safe for concurrent use. A Table owns no goroutine of its
// own; while Acquire calls wait for a name, one goroutine watches that
// name for all of them and stops when the last one leaves.
type Table struct {
	cfg     Config
	subject string      // the KV subject prefix of the bucket: "$KV.BUCKET."
	msgGet  string      // the stream's leader-only message-get API subject
	checked atomic.Bool // the bucket's settings were verified

	mu      sync.Mutex
	watches map[string]*keyWatch // by key, while waiters need them

	resync time.Duration           // resyncGrace; tests make it long
	trace  func(key, event string) // tests: a waiter parks, wakes by watch or resync
}

// New checks cfg and returns a Table. It does no I/O: the bucket's
// settings are checked by the first operation.
func New(cfg Config) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Table{
		cfg:     cfg,
		subject: "$KV." + cfg.KV.Bucket() + ".",
		msgGet:  jetstream.DefaultAPIPrefix + "STREAM.MSG.GET.KV_" + cfg.KV.Bucket(),
		watches: map[string]*keyWatch{},
		resync:  resyncGrace,
	}, nil
}

// Acquire takes the lock name for ttl and returns its fencing token: the
// revision of the write that took it, larger for every later holder of any
// lock of the bucket. The server frees the lock ttl (rounded up to a whole
// second) after the write unless Renew extends it; work under the lock
// must finish within ttl of calling Acquire, and should carry the token to
// whatever can check it.
//
// While another holds the lock, Acquire fails at once (wait 0) or waits up
// to wait for it to be released or to expire, then fails with ErrHeld. It
// also ends when ctx does (a deadline is abi.ErrTimeout).
//
// An Acquire that fails with a timeout or a lost connection may have taken
// the lock all the same; the lock then expires after ttl.
func (t *Table) Acquire(ctx context.Context, name []byte, ttl, wait time.Duration) (uint64, error) {
	key, err := t.check(ctx, name, ttl)
	if err == nil && (wait < 0 || wait > t.cfg.MaxWait) {
		err = fmt.Errorf("%w: wait %s is out of 0 to %s", ErrBadWait, wait, t.cfg.MaxWait)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot acquire lock %s: %w", show(name), err)
	}
	token, err := t.acquire(ctx, key, ttl, wait)
	if err != nil {
		return 0, fmt.Errorf("cannot acquire lock %s: %w", show(name), err)
	}
	return token, nil
}

// acquire tries to create the key until it does, the wait ends or ctx
// does. Between tries it waits for the name's watch to see the lock freed.
func (t *Table) acquire(ctx context.Context, key string, ttl, wait time.Duration) (uint64, error) {
	deadline := time.Now().Add(wait)
	var w *keyWatch
	if wait > 0 {
		w = t.join(key)
		defer t.leave(key, w)
	}
	quick := 0
	for {
		// Take the wake-up channel before trying: a release after the try
		// lost closes it, however soon it comes.
		woke := w.next()
		token, held, err := t.try(ctx, key, ttl)
		switch {
		case err != nil:
			return 0, classify(err)
		case token != 0:
			return token, nil
		case held.free && quick < quickRetries:
			quick++
			continue // freed between the write and the read
		case !time.Now().Before(deadline):
			return 0, heldError(held)
		}
		quick = 0
		if err := t.await(ctx, key, woke, deadline, held); err != nil {
			return 0, classify(err)
		}
	}
}

// try writes the lock record over a free key. It returns the new token,
// or 0 and what holds the key when the write lost.
func (t *Table) try(ctx context.Context, key string, ttl time.Duration) (uint64, entry, error) {
	rec := record{owner: t.cfg.Owner, ttl: serverTTL(ttl)}
	rev, err := t.cfg.KV.Create(ctx, key, rec.encode(), jetstream.KeyTTL(rec.ttl))
	if err == nil {
		return rev, entry{}, nil
	}
	if !isConflict(err) {
		return 0, entry{}, err
	}
	held, err := t.read(ctx, key)
	return 0, held, err
}

// await waits until the watch sees the lock freed, the holder's expiry
// has passed by resyncGrace, or the deadline; or ctx ends (an error).
func (t *Table) await(ctx context.Context, key string, woke <-chan struct{}, deadline time.Time, held entry) error {
	d := time.Until(deadline)
	if !held.free && !held.info.Expires.IsZero() {
		d = min(d, max(time.Until(held.info.Expires), 0)+t.resync)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	if t.trace != nil {
		t.trace(key, "park")
	}
	via := "watch"
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-woke:
	case <-timer.C:
		via = "resync"
	}
	if t.trace != nil {
		t.trace(key, via)
	}
	return nil
}

// heldError is ErrHeld with who holds the lock and until when.
func heldError(held entry) error {
	if held.free {
		return fmt.Errorf("%w: others took and released it as we tried; try again", ErrHeld)
	}
	return fmt.Errorf("%w: %s; try again after that, or wait longer", ErrHeld, heldBy(held.info))
}

// check validates a name and a ttl and the bucket, and returns the key.
func (t *Table) check(ctx context.Context, name []byte, ttl time.Duration) (string, error) {
	key, err := keyOf(name)
	if err != nil {
		return "", err
	}
	if ttl < MinTTL || ttl > t.cfg.MaxTTL {
		return "", fmt.Errorf("%w: ttl %s is out of %s to %s", ErrBadTTL, ttl, MinTTL, t.cfg.MaxTTL)
	}
	return key, t.checkBucket(ctx)
}

// keyOf maps a lock name to its key: any bytes are data, never syntax.
func keyOf(name []byte) (string, error) {
	key, err := layout.EncodeKey(name)
	if err != nil {
		return "", fmt.Errorf("%w: %d bytes; a name is 1 to %d bytes", ErrBadName, len(name), MaxName)
	}
	return key, nil
}

// checkBucket verifies once that the bucket takes per-key TTLs and leaves
// markers (which wake waiters), and never expires keys on its own.
func (t *Table) checkBucket(ctx context.Context) error {
	if t.checked.Load() {
		return nil
	}
	st, err := t.cfg.KV.Status(ctx)
	if err != nil {
		return fmt.Errorf("cannot check the lock bucket: %w", classify(err))
	}
	switch {
	case st.LimitMarkerTTL() <= 0:
		return fmt.Errorf("%w: bucket %s has no per-key TTLs (LimitMarkerTTL); make it with BucketConfig", ErrBucket, st.Bucket())
	case st.TTL() != 0:
		return fmt.Errorf("%w: bucket %s expires every key after %s; make it with BucketConfig", ErrBucket, st.Bucket(), st.TTL())
	case st.Config().Mirror != nil:
		return fmt.Errorf("%w: bucket %s is a mirror; locks need the bucket itself", ErrBucket, st.Bucket())
	}
	t.checked.Store(true)
	return nil
}
