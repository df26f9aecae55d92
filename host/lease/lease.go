package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// resyncEvery (times TTL) is how often a campaign re-reads the key as
	// a safety net should its watch miss an event; standbys are woken by
	// the watch, this only bounds the damage of a broken one.
	resyncEvery = 4
	// campaignRetry is the first pause after a failed acquisition that
	// may pass (no stream leader, a reconnect); it doubles up to TTL.
	campaignRetry = 50 * time.Millisecond
)

// Lease campaigns for one key on behalf of one holder and holds at most one
// term at a time.
//
// Threading: all methods are safe for concurrent use; acquisitions are
// serialised. A Lease owns no goroutine; each Term owns its renewer.
type Lease struct {
	cfg     Config
	log     *slog.Logger
	checked atomic.Bool // the bucket's settings were verified

	mu   sync.Mutex // serialises acquisitions; guards term
	term *Term

	valueMu sync.Mutex
	value   []byte // the value the next term starts with

	watching func() // tests: called when a campaign's watch is up
}

// New checks cfg (after filling its defaults) and returns a Lease. It does
// no I/O: the bucket's settings are checked by the first acquisition.
func New(cfg Config) (*Lease, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Lease{
		cfg:   cfg,
		log:   cfg.Logger.With("lease", cfg.Key, "holder", cfg.Holder),
		value: bytes.Clone(cfg.Value),
	}, nil
}

// Config is the lease's configuration with its defaults filled in.
func (l *Lease) Config() Config { return l.cfg }

// TryAcquire takes the lease if nobody holds it, or if the key still names
// this Lease's holder from an earlier term, and otherwise answers ErrHeld.
// ErrActive: this Lease's previous term has not ended.
func (l *Lease) TryAcquire(ctx context.Context) (*Term, error) {
	if err := l.checkBucket(ctx); err != nil {
		return nil, fmt.Errorf("cannot acquire lease %s: %w", l.cfg.Key, err)
	}
	t, err := l.acquire(ctx, state{}, "try")
	if err != nil {
		return nil, fmt.Errorf("cannot acquire lease %s: %w", l.cfg.Key, err)
	}
	return t, nil
}

// Campaign blocks until it holds the lease or ctx ends. It watches the key
// and tries when the watch shows it free: at once, on the holder's
// resignation (a delete), or on the server's expiry (a limit marker).
// Trouble that may pass (NATS unreachable, no stream leader) is retried;
// ErrBucket and ErrActive are not.
func (l *Lease) Campaign(ctx context.Context) (*Term, error) {
	if l.active() {
		return nil, fmt.Errorf("cannot campaign for lease %s: %w", l.cfg.Key, ErrActive)
	}
	pause := campaignRetry
	for {
		err := l.checkBucket(ctx)
		var t *Term
		if err == nil {
			t, err = l.watchAndTry(ctx)
		}
		switch {
		case t != nil:
			return t, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("cannot campaign for lease %s: %w", l.cfg.Key, ctx.Err())
		case errors.Is(err, ErrActive) || errors.Is(err, ErrBucket):
			return nil, fmt.Errorf("cannot campaign for lease %s: %w", l.cfg.Key, err)
		}
		l.log.Warn("lease campaign interrupted; trying again", "err", err, "in", pause)
		if !sleep(ctx, pause) {
			return nil, fmt.Errorf("cannot campaign for lease %s: %w", l.cfg.Key, ctx.Err())
		}
		pause = min(2*pause, l.cfg.TTL)
	}
}

// watchAndTry runs one watch of the key, trying to acquire whenever it may
// be free, until it acquires or the watch or ctx ends.
func (l *Lease) watchAndTry(ctx context.Context) (*Term, error) {
	// The watch lives until ctx ends, but its setup request must not wait
	// for ctx's deadline: without one, the client's own timeout bounds it.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	w, err := l.cfg.KV.Watch(wctx, l.cfg.Key)
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	resync := time.NewTicker(resyncEvery * l.cfg.TTL)
	defer resync.Stop()
	var retry <-chan time.Time
	pause := campaignRetry
	seen := false // the watch delivered an entry
	for {
		st, via := state{}, ""
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return nil, errors.New("watch ended")
			case e == nil: // the initial value, if any, was delivered
				if l.watching != nil {
					l.watching()
				}
				if seen {
					continue // and handled
				}
				st, via = state{known: true, free: true}, "watch" // no key at all
			default:
				seen = true
				st, via = stateOf(e), "event"
			}
		case <-resync.C:
			via = "resync"
		case <-retry:
			via = "retry"
		}
		if st.known && !st.free && st.holder != l.cfg.Holder {
			continue // held by another: wait for its end
		}
		t, err := l.acquire(ctx, st, via)
		switch {
		case err == nil:
			return t, nil
		case errors.Is(err, ErrHeld):
			retry, pause = nil, campaignRetry
		case errors.Is(err, ErrActive) || ctx.Err() != nil:
			return nil, err
		default:
			// The key may be free and no event will say so again: retry.
			l.log.Debug("cannot acquire lease yet", "err", err, "via", via)
			retry = time.After(pause)
			pause = min(2*pause, l.cfg.TTL)
		}
	}
}

// active reports whether this Lease's last term is still on.
func (l *Lease) active() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.term != nil && l.term.ctx.Err() == nil
}

// checkBucket verifies once that the bucket expires keys after TTL and
// leaves markers that wake standbys; without either the lease is unsafe
// or never fails over.
func (l *Lease) checkBucket(ctx context.Context) error {
	if l.checked.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.opTimeout())
	defer cancel()
	st, err := l.cfg.KV.Status(ctx)
	if err != nil {
		return fmt.Errorf("cannot check lease bucket: %w", err)
	}
	if st.TTL() != l.cfg.TTL {
		return fmt.Errorf("%w: bucket %s has TTL %s, the lease %s (make it with BucketConfig)", ErrBucket, st.Bucket(), st.TTL(), l.cfg.TTL)
	}
	if st.LimitMarkerTTL() <= 0 {
		return fmt.Errorf("%w: bucket %s keeps no limit markers, so expiry would wake no standby (make it with BucketConfig)", ErrBucket, st.Bucket())
	}
	if st.Config().Storage == jetstream.MemoryStorage {
		l.log.Warn("lease bucket is in memory: fencing tokens start over if the whole cluster restarts", "bucket", st.Bucket())
	}
	l.checked.Store(true)
	return nil
}

// opTimeout bounds a read or a setup request, so that one lost with a dead
// server is sent again instead of waited for; writes are bounded by the
// local deadline instead.
func (l *Lease) opTimeout() time.Duration { return max(l.cfg.TTL, time.Second) }

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
