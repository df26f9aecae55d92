package lock

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// watchRetry is the first pause before a watch that failed to start
	// or ended is started again; it doubles up to watchRetryMax. Waiters
	// meanwhile rely on their resync timers.
	watchRetry    = 50 * time.Millisecond
	watchRetryMax = time.Second
)

// keyWatch is one watch of a key, shared by all the Acquire calls of a
// Table that wait for that key: one consumer per key and host, however
// many wait.
type keyWatch struct {
	refs   int // the waiters; guarded by Table.mu
	cancel context.CancelFunc

	mu   sync.Mutex
	free chan struct{} // closed when the watch sees the lock free, then replaced
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

// wake tells every waiter that the lock may be free.
func (w *keyWatch) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.free)
	w.free = make(chan struct{})
}

// watch runs watches of key until ctx ends, starting one again after a
// pause when it fails to start or ends.
func (t *Table) watch(ctx context.Context, key string, w *keyWatch) {
	pause := watchRetry
	for {
		started := watchOnce(ctx, t.cfg.KV, key, w)
		if started {
			pause = watchRetry
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		pause = min(2*pause, watchRetryMax)
	}
}

// watchOnce watches key, waking the waiters whenever it is free: absent at
// the start, released (a purge or delete) or expired (the server's
// marker). It returns when ctx ends or the watch does; started reports
// whether the watch was set up at all.
func watchOnce(ctx context.Context, kv jetstream.KeyValue, key string, w *keyWatch) (started bool) {
	kw, err := kv.Watch(ctx, key, jetstream.MetaOnly())
	if err != nil {
		return false
	}
	defer func() { _ = kw.Stop() }()
	seen := false // an entry came with the initial state
	for {
		select {
		case <-ctx.Done():
			return true
		case e, ok := <-kw.Updates():
			switch {
			case !ok:
				return true
			case e == nil: // the initial state is complete
				if !seen {
					w.wake() // no key at all
				}
			case e.Operation() != jetstream.KeyValuePut:
				seen = true
				w.wake()
			default:
				seen = true
			}
		}
	}
}
