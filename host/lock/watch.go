package lock

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// watchRetry is the first pause before a watch that failed to start
	// or ended is started again; it doubles up to watchRetryMax.
	watchRetry    = 50 * time.Millisecond
	watchRetryMax = time.Second
	// resyncEvery is how often a key's watch also reads the key, as a
	// safety net: a watch whose consumer lived on a server that died
	// delivers nothing until the client notices, 10 to 20 seconds later.
	resyncEvery = 2 * time.Second
)

// keyWatch is one watch of a key, shared by all the Acquire calls of a
// Table that wait for that key: one consumer per key and host, however
// many wait.
type keyWatch struct {
	refs   int // the waiters; guarded by Table.mu
	cancel context.CancelFunc

	mu   sync.Mutex
	free chan struct{} // closed when the watch sees the lock free, then replaced
	rev  uint64        // the revision at which it last saw it free (0: no key)
}

// join registers a waiter for key, starting the key's watch for the first.
func (t *Table) join(key string) *keyWatch {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.watches[key]
	if w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w = &keyWatch{cancel: cancel, free: make(chan struct{})}
		t.watches[key] = w
		go t.watch(ctx, key, w)
	}
	w.refs++
	return w
}

// leave unregisters a waiter; the last one stops the watch.
func (t *Table) leave(key string, w *keyWatch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.refs--; w.refs == 0 {
		w.cancel()
		delete(t.watches, key)
	}
}

// next is closed the next time the watch sees the lock free. A nil
// keyWatch (Acquire without a wait) never wakes.
func (w *keyWatch) next() <-chan struct{} {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.free
}

// lastFree is the revision at which the watch last saw the lock free.
func (w *keyWatch) lastFree() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rev
}

// wake tells every waiter that the lock is free at revision rev.
func (w *keyWatch) wake(rev uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rev = rev
	close(w.free)
	w.free = make(chan struct{})
}

// watcher is the state of the goroutine that watches one key.
type watcher struct {
	t       *Table
	key     string
	w       *keyWatch
	kw      jetstream.KeyWatcher // nil while not watching
	updates <-chan jetstream.KeyValueEntry
	seen    bool // an entry came with the initial state
	retry   *time.Timer
	pause   time.Duration
}

// watch watches key until ctx ends, waking the waiters whenever the lock
// is free: absent at the start, released (a purge) or expired (the
// server's marker). A watch that fails to start or ends is started again
// after a pause, and every t.resyncEvery the key is read as well.
func (t *Table) watch(ctx context.Context, key string, w *keyWatch) {
	x := &watcher{t: t, key: key, w: w, retry: time.NewTimer(0), pause: watchRetry}
	defer x.retry.Stop()
	defer x.stop()
	resync := time.NewTicker(t.resyncEvery)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-x.retry.C:
			x.start(ctx)
		case e, ok := <-x.updates:
			x.update(e, ok)
		case <-resync.C:
			x.resync(ctx)
		}
	}
}

func (x *watcher) start(ctx context.Context) {
	kw, err := x.t.cfg.KV.Watch(ctx, x.key, jetstream.MetaOnly())
	if err != nil {
		x.retry.Reset(x.pause)
		x.pause = min(2*x.pause, watchRetryMax)
		return
	}
	x.kw, x.updates, x.seen, x.pause = kw, kw.Updates(), false, watchRetry
}

func (x *watcher) stop() {
	if x.kw != nil {
		_ = x.kw.Stop()
	}
	x.kw, x.updates = nil, nil
}

func (x *watcher) update(e jetstream.KeyValueEntry, ok bool) {
	switch {
	case !ok: // the watch ended
		x.stop()
		x.retry.Reset(x.pause)
	case e == nil: // the initial state is complete
		if !x.seen {
			x.wake(0, "absent")
		}
	case e.Operation() != jetstream.KeyValuePut:
		x.seen = true
		x.wake(e.Revision(), "marker")
	default:
		x.seen = true
	}
}

// resync reads the key and wakes the waiters if it is free.
func (x *watcher) resync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	if cur, err := x.t.read(ctx, x.key); err == nil && cur.free {
		x.wake(cur.rev, "resync")
	}
}

func (x *watcher) wake(rev uint64, via string) {
	x.t.traceEvent(x.key, via)
	x.w.wake(rev)
}
