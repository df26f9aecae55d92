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

	resyncEvery time.Duration           // resyncEvery; tests make it long
	trace       func(key, event string) // tests: see traceEvent
}

// New checks cfg and returns a Table. It does no I/O: the bucket's
// settings are checked by the first operation.
func New(cfg Config) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Table{
		cfg:         cfg,
		subject:     "$KV." + cfg.KV.Bucket() + ".",
		msgGet:      jetstream.DefaultAPIPrefix + "STREAM.MSG.GET.KV_" + cfg.KV.Bucket(),
		watches:     map[string]*keyWatch{},
		resyncEvery: resyncEvery,
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
// Trouble that may pass (no stream leader, a reconnect) is retried while
// the wait lasts. An Acquire that fails with a timeout or a lost
// connection may have taken the lock all the same; the lock then expires
// after ttl.
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
// Trouble that may pass is retried while the wait lasts.
func (t *Table) acquire(ctx context.Context, key string, ttl, wait time.Duration) (uint64, error) {
	deadline := time.Now().Add(wait)
	var w *keyWatch
	if wait > 0 {
		w = t.join(key)
		defer t.leave(key, w)
	}
	rec := record{owner: t.cfg.Owner, ttl: serverTTL(ttl), nonce: newNonce()}
	over := uint64(0) // the free revision to write over; 0: no key at all
	quick := 0
	for {
		// Take the wake-up channel before trying: a release after the try
		// lost closes it, however soon it comes.
		woke := w.next()
		var token uint64
		var held entry
		err := retrying(ctx, deadline, func(ctx context.Context) (err error) {
			token, held, err = t.try(ctx, key, rec, over)
			return err
		})
		switch {
		case err != nil:
			return 0, classify(err)
		case token != 0:
			return token, nil
		case held.free && quick < quickRetries:
			// A marker, or freed since the write lost: write over it now.
			quick++
			over = held.rev
			continue
		case !time.Now().Before(deadline):
			return 0, heldError(held)
		}
		quick = 0
		if over, err = t.await(ctx, key, w, woke, deadline); err != nil {
			return 0, classify(err)
		}
	}
}

// try writes rec over revision over of the key. It returns the new token,
// or 0 and the key's state when the write lost. A key that holds rec's
// nonce holds an earlier try of this call, stored but not acknowledged:
// it is ours.
func (t *Table) try(ctx context.Context, key string, rec record, over uint64) (uint64, entry, error) {
	token, err := t.write(ctx, key, rec, over)
	if err == nil {
		return token, entry{}, nil
	}
	if !isConflict(err) {
		return 0, entry{}, err
	}
	held, err := t.read(ctx, key)
	switch {
	case err != nil:
		return 0, entry{}, err
	case !held.free && held.nonce == rec.nonce:
		return held.info.Token, entry{}, nil
	}
	return 0, held, nil
}

// await waits until the key's watch sees the lock freed or the deadline
// passes; or ctx ends (an error). It returns the revision to write over
// next: the free one the watch saw, or 0 (a guess: a wrong one costs a
// read).
func (t *Table) await(ctx context.Context, key string, w *keyWatch, woke <-chan struct{}, deadline time.Time) (uint64, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	t.traceEvent(key, "park")
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-woke:
		return w.lastFree(), nil
	case <-timer.C:
		return 0, nil
	}
}

// traceEvent tells tests what happened: a waiter parks ("park"), the
// watch of key sees it free ("absent", "marker") or its resync does
// ("resync").
func (t *Table) traceEvent(key, event string) {
	if t.trace != nil {
		t.trace(key, event)
	}
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
	var st jetstream.KeyValueStatus
	err := retrying(ctx, time.Time{}, func(ctx context.Context) (err error) {
		st, err = t.cfg.KV.Status(ctx)
		return err
	})
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
