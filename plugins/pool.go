package plugins

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ozanturksever/go-cluster/abi"
)

// pool holds an app's instances. A call takes a slot first (at most
// Limits.Instances calls hold one), then an idle instance or, when none is
// idle, a new one. Since only slot holders create instances and every busy
// instance belongs to a slot holder, instances never outnumber slots and no
// instance serves two calls at once. A lifecycle notification takes
// instances the same way (see visit), so it never runs beside a call in
// the same instance either.
type pool struct {
	app   *App
	slots chan struct{} // a token per call in progress
	done  chan struct{} // closed by close, wakes waiters

	mu    sync.Mutex
	idle  []*instance            // LIFO: the most recently used is the warmest
	live  map[*instance]struct{} // started: idle and busy, not those starting
	alive int                    // idle + busy + being created
	// closed refuses new calls; drained is set once close took the idle
	// instances, after which a returned instance is closed at once.
	closed, drained bool
	// returned is closed by the next put, waking visits that wait for a
	// busy instance; waiting counts them.
	returned chan struct{}
	waiting  int
}

func newPool(a *App, size int) *pool {
	return &pool{app: a, slots: make(chan struct{}, size), done: make(chan struct{}), live: map[*instance]struct{}{}}
}

// warm starts the first instance, so the first call does not pay for it
// and a module that cannot start fails at Load.
func (p *pool) warm(ctx context.Context) error {
	in, err := p.create(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.alive++
	p.idle = append(p.idle, in)
	p.mu.Unlock()
	return nil
}

// get returns an instance for the caller's exclusive use until put.
func (p *pool) get(ctx context.Context) (*instance, error) {
	in, err := p.take(ctx)
	if err != nil {
		return nil, err
	}
	if !in.inUse.CompareAndSwap(false, true) {
		// Two calls in one instance would corrupt its memory silently;
		// this is a bug in the pool, so stop loudly.
		panic("plugins: instance handed to two calls at once")
	}
	return in, nil
}

func (p *pool) take(ctx context.Context) (*instance, error) {
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		in := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return in, nil
	}
	p.alive++
	p.mu.Unlock()
	in, err := p.create(ctx)
	if err != nil {
		p.mu.Lock()
		p.alive--
		p.mu.Unlock()
		<-p.slots
		return nil, fmt.Errorf("cannot start an instance: %w", err)
	}
	return in, nil
}

// acquire takes a slot, waiting until one frees, ctx is done or the pool
// closes.
func (p *pool) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("all %d instances busy: %w", cap(p.slots), ctxError(ctx))
	case <-p.done:
		return ErrClosed
	}
}

// create starts an instance and brings it to the app's lifecycle state
// before anyone calls it. It is registered as live first: a notification
// that changes the state meanwhile then waits for it instead of missing it.
func (p *pool) create(ctx context.Context) (*instance, error) {
	in, err := p.app.newInstance(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.live[in] = struct{}{}
	// Member events are news: only those after this one reach it.
	in.heard.Store(p.app.life.members.Load())
	p.mu.Unlock()
	if err := p.app.prepare(ctx, in); err != nil {
		p.mu.Lock()
		delete(p.live, in)
		p.wake()
		p.mu.Unlock()
		in.close()
		return nil, err
	}
	return in, nil
}

// wake tells visits waiting for a busy instance that one came back. Called
// with mu held.
func (p *pool) wake() {
	if p.returned != nil {
		close(p.returned)
		p.returned = nil
	}
}

// put gives back an instance taken by get. A broken instance (trapped,
// timed out, out of memory) is discarded; when it was the last one a fresh
// instance replaces it before the slot is released, so the app keeps one
// warm instance as after Load.
func (p *pool) put(in *instance) {
	in.inUse.Store(false)
	p.mu.Lock()
	p.wake()
	if !in.broken && !p.drained {
		// After close began too: close waits for this slot, then tells
		// the instance to stop.
		p.idle = append(p.idle, in)
		p.mu.Unlock()
		<-p.slots
		return
	}
	delete(p.live, in)
	p.alive--
	refill := !p.closed && p.alive == 0
	if refill {
		p.alive++
	}
	p.mu.Unlock()
	in.close()
	if refill {
		p.refill()
	}
	<-p.slots
}

func (p *pool) refill() {
	// Not the failed call's context: it may be what timed out.
	in, err := p.create(context.Background())
	p.mu.Lock()
	if err != nil || p.drained {
		p.alive--
		if err == nil {
			delete(p.live, in)
		}
		p.mu.Unlock()
		if err != nil {
			p.app.log.Warn("cannot replace a failed instance; the next call will try again", "err", err)
		} else {
			in.close()
		}
		return
	}
	p.idle = append(p.idle, in)
	p.mu.Unlock()
}

// close refuses new calls, waits for the calls in flight (every slot free)
// until ctx is done, tells the idle instances to stop while ctx allows,
// then closes them.
func (p *pool) close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()

	var err error
wait:
	for range cap(p.slots) {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		}
	}
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.drained = true
	p.alive -= len(idle)
	for _, in := range idle {
		delete(p.live, in)
	}
	p.mu.Unlock()
	if err == nil {
		p.app.stop(ctx, idle)
	}
	for _, in := range idle {
		in.close()
	}
	return err
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// visit runs fn on every live instance for which stale holds, one at a
// time. Each is taken out of the pool as a call takes one (a slot, then
// the instance), so fn never runs beside a call in the same instance; busy
// ones are waited for. fn must leave stale false for its instance, or fail:
// visit stops at fn's first error.
func (p *pool) visit(ctx context.Context, stale func(*instance) bool, fn func(*instance) error) error {
	for {
		in, err := p.takeStale(ctx, stale)
		if err != nil || in == nil {
			return err
		}
		err = fn(in)
		p.put(in)
		if err != nil {
			return err
		}
	}
}

// takeStale returns an idle instance for which stale holds, waiting while
// only busy ones do; nil when none does.
func (p *pool) takeStale(ctx context.Context, stale func(*instance) bool) (*instance, error) {
	for {
		if err := p.acquire(ctx); err != nil {
			return nil, err
		}
		in, returned, err := p.pickStale(stale)
		if in != nil {
			if !in.inUse.CompareAndSwap(false, true) {
				panic("plugins: instance handed to a notification during a call")
			}
			return in, nil
		}
		<-p.slots
		if returned == nil {
			return nil, err
		}
		select {
		case <-returned:
		case <-ctx.Done():
			err = ctxError(ctx)
		case <-p.done:
			err = ErrClosed
		}
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// pickStale takes an idle stale instance out of the pool. When only busy
// instances are stale it returns a channel closed when one comes back.
func (p *pool) pickStale(stale func(*instance) bool) (*instance, <-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, ErrClosed
	}
	for i, in := range p.idle {
		if stale(in) {
			p.idle = slices.Delete(p.idle, i, i+1)
			return in, nil, nil
		}
	}
	for in := range p.live {
		if stale(in) {
			if p.returned == nil {
				p.returned = make(chan struct{})
			}
			p.waiting++
			return nil, p.returned, nil
		}
	}
	return nil, nil, nil
}

func (p *pool) stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Instances: p.alive, Idle: len(p.idle), Busy: p.alive - len(p.idle)}
}

// ctxError maps a done context to the status a caller should see: its
// deadline passing is a timeout, its cancellation means nobody waits for
// the answer any more.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", abi.ErrTimeout, err)
	}
	return fmt.Errorf("%w (%w)", abi.ErrUnavailable, err)
}
