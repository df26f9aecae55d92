package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ozanturksever/go-cluster/abi"
)

// pool holds an app's instances. A call takes a slot first (at most
// Limits.Instances calls hold one), then an idle instance or, when none is
// idle, a new one. Since only slot holders create instances and every busy
// instance belongs to a slot holder, instances never outnumber slots and no
// instance serves two calls at once.
type pool struct {
	app   *App
	slots chan struct{} // a token per call in progress
	done  chan struct{} // closed by close, wakes waiters

	mu     sync.Mutex
	idle   []*instance // LIFO: the most recently used is the warmest
	alive  int         // idle + busy + being created
	closed bool
}

func newPool(a *App, size int) *pool {
	return &pool{app: a, slots: make(chan struct{}, size), done: make(chan struct{})}
}

// warm starts the first instance, so the first call does not pay for it
// and a module that cannot start fails at Load.
func (p *pool) warm(ctx context.Context) error {
	in, err := p.app.newInstance(ctx)
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
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("all %d instances busy: %w", cap(p.slots), ctxError(ctx))
		case <-p.done:
			return nil, ErrClosed
		}
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
	in, err := p.app.newInstance(ctx)
	if err != nil {
		p.mu.Lock()
		p.alive--
		p.mu.Unlock()
		<-p.slots
		return nil, fmt.Errorf("cannot start an instance: %w", err)
	}
	return in, nil
}

// put gives back an instance taken by get. A broken instance (trapped,
// timed out, out of memory) is discarded; when it was the last one a fresh
// instance replaces it before the slot is released, so the app keeps one
// warm instance as after Load.
func (p *pool) put(in *instance) {
	in.inUse.Store(false)
	p.mu.Lock()
	if !in.broken && !p.closed {
		p.idle = append(p.idle, in)
		p.mu.Unlock()
		<-p.slots
		return
	}
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
	in, err := p.app.newInstance(context.Background())
	p.mu.Lock()
	if err != nil || p.closed {
		p.alive--
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
// until ctx is done, then closes the idle instances.
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
	p.alive -= len(idle)
	p.mu.Unlock()
	for _, in := range idle {
		in.close()
	}
	return err
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
