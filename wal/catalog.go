package wal

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// catalog keeps the replica's object list and fence record current by
// watching both, so that neither the follower nor the writer relists the
// whole bucket (every L0 file is an object) each time they look.
//
// A watch is asynchronous: the catalog may lag a moment behind the store.
// Everything that must not lag (a promotion's catch-up, an import) lists
// the store itself instead; the follower tolerates lag (a file it has not
// seen yet is applied on the next change).
type catalog struct {
	store jetstream.ObjectStore
	fs    fenceStore
	log   *slog.Logger

	// onRecord is told about every new record; set before run.
	onRecord func(fence)

	mu      sync.Mutex
	objs    map[string]object
	rec     fence
	rev     uint64
	objInit bool
	recInit bool
	changed chan struct{} // a buffered kick: something changed
}

func newCatalog(store jetstream.ObjectStore, fs fenceStore, log *slog.Logger) *catalog {
	return &catalog{store: store, fs: fs, log: log, objs: make(map[string]object), changed: make(chan struct{}, 1)}
}

// watchRetry is the pause before watching again after a watch ended.
const watchRetry = 250 * time.Millisecond

// run watches until ctx ends, starting over whenever a watch breaks.
func (c *catalog) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Debug("wal: replica watch ended; watching again", "err", err)
		c.mu.Lock()
		c.objInit, c.recInit = false, false
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

var errWatchEnded = errors.New("wal: watch ended")

func (c *catalog) watch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ow, err := c.store.Watch(ctx)
	if err != nil {
		return err
	}
	defer func() {
		ow.Stop()
		go drain(ow.Updates())
	}()
	kw, err := c.fs.kv.Watch(ctx, c.fs.key)
	if err != nil {
		return err
	}
	defer func() {
		kw.Stop()
		go drain(kw.Updates())
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case oi, ok := <-ow.Updates():
			if !ok {
				return errWatchEnded
			}
			c.objectEvent(oi)
		case e, ok := <-kw.Updates():
			if !ok {
				return errWatchEnded
			}
			c.recordEvent(e)
		}
	}
}

// drain empties a stopped watcher's channel until the library closes it:
// its delivery goroutine may be blocked sending one more update.
func drain[T any](ch <-chan T) {
	for range ch {
	}
}

func (c *catalog) objectEvent(oi *jetstream.ObjectInfo) {
	c.mu.Lock()
	switch {
	case oi == nil:
		c.objInit = true
	case oi.Deleted:
		delete(c.objs, oi.Name)
	default:
		if o, ok := objectFromInfo(oi); ok {
			c.objs[o.name] = o
		}
	}
	c.mu.Unlock()
	c.kick()
}

func (c *catalog) recordEvent(e jetstream.KeyValueEntry) {
	if e == nil {
		c.mu.Lock()
		c.recInit = true
		c.mu.Unlock()
		c.kick()
		return
	}
	var f fence
	if e.Operation() == jetstream.KeyValuePut {
		var err error
		if f, err = decodeFence(e.Value()); err != nil {
			c.log.Error("wal: ignoring a fence record that cannot be read", "key", c.fs.key, "err", err)
			return
		}
	}
	c.setRecord(f, e.Revision())
}

// setRecord takes a record unless a newer one is known; our own writes
// come here directly, before the watch echoes them.
func (c *catalog) setRecord(f fence, rev uint64) {
	c.mu.Lock()
	if rev < c.rev {
		c.mu.Unlock()
		return
	}
	c.rec, c.rev = f, rev
	on := c.onRecord
	c.mu.Unlock()
	if on != nil {
		on(f)
	}
	c.kick()
}

func (c *catalog) kick() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// ready reports whether both watches delivered their initial state.
func (c *catalog) ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.objInit && c.recInit
}

func (c *catalog) record() (fence, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec, c.rev
}

// view is the catalog's current state as a view.
func (c *catalog) view() *view {
	c.mu.Lock()
	objs := make([]object, 0, len(c.objs))
	for _, o := range c.objs {
		objs = append(objs, o)
	}
	rec := c.rec
	c.mu.Unlock()
	return newView(c.store, rec, objs, c.log)
}

// added and removed record our own uploads and deletes at once, so the
// writer reads its own writes before the watch echoes them.
func (c *catalog) added(o object) {
	c.mu.Lock()
	c.objs[o.name] = o
	c.mu.Unlock()
}

func (c *catalog) removed(name string) {
	c.mu.Lock()
	delete(c.objs, name)
	c.mu.Unlock()
}
