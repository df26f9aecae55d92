package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Term is one holder's tenure of a lease, from the write that acquired it
// until it ends: lost to another writer (ErrLost), its local deadline
// passed without a successful renewal (ErrExpired), or resigned
// (ErrResigned). Its context is cancelled, with that error as the cause,
// the moment it ends; work done under the term must stop then, and carry
// Token to whatever can check it.
//
// Threading: all methods are safe for concurrent use. The term's goroutine
// renews until the term ends and exits right after; Resign ends the term
// and waits for it.
type Term struct {
	l     *Lease
	token uint64
	began time.Time // when the acquiring write was acknowledged
	via   string    // what woke the acquisition, for logs and tests

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when run returns
	setc   chan setRequest

	// Owned by run until done is closed, then by Resign.
	rev   uint64 // this term's last write
	value []byte

	mu       sync.Mutex
	deadline time.Time   // local: last acknowledged send + TTL - Margin
	timer    *time.Timer // ends the term at deadline
	ended    time.Time   // zero while active

	resignOnce sync.Once
	resignErr  error
}

type setRequest struct {
	value []byte
	done  chan error // buffered: run never blocks on it
}

// begin starts a term whose acquiring write (revision rev) was sent at
// sent; the term is over at deadline unless renewed.
func (l *Lease) begin(rev uint64, sent, deadline time.Time, value []byte, via string) *Term {
	ctx, cancel := context.WithCancelCause(context.Background())
	t := &Term{
		l: l, token: rev, began: time.Now(), via: via,
		ctx: ctx, cancel: cancel,
		done: make(chan struct{}), setc: make(chan setRequest),
		rev: rev, value: value, deadline: deadline,
	}
	t.timer = time.AfterFunc(time.Until(deadline), t.onDeadline)
	l.cfg.Metrics.began(l.cfg.Key)
	l.log.Info("lease acquired", "token", rev, "via", via)
	go t.run(sent)
	return t
}

// Token is the term's fencing token: the revision of the write that
// acquired it. Every later term of the key has a larger one.
func (t *Term) Token() uint64 { return t.token }

// Context is cancelled when the term ends; context.Cause tells why.
func (t *Term) Context() context.Context { return t.ctx }

// Done is closed when the term ends; the same as Context().Done().
func (t *Term) Done() <-chan struct{} { return t.ctx.Done() }

// Err is nil while the term is active and then why it ended: ErrLost,
// ErrExpired or ErrResigned (wrapped).
func (t *Term) Err() error {
	if t.ctx.Err() == nil {
		return nil
	}
	return context.Cause(t.ctx)
}

// Deadline is the term's current local deadline: it ends then unless a
// renewal sent before it is acknowledged first. Work that must finish
// within the term (a write to a fenced resource) can bound itself by it.
func (t *Term) Deadline() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.deadline
}

// Resign ends the term, waits for its renewer, then deletes the key with a
// compare-and-set on the term's last revision so that a standby acquires at
// once. Stop the work done under the term first: Resign cancels the term
// before the key is freed, but cannot wait for work it does not know.
//
// ErrNotHeld: the key was no longer this term's, nothing was released.
// Another error: the delete failed and the key expires on its own after
// TTL. Later calls return the first call's result.
func (t *Term) Resign(ctx context.Context) error {
	t.resignOnce.Do(func() { t.resignErr = t.release(ctx) })
	return t.resignErr
}

func (t *Term) release(ctx context.Context) error {
	t.end(ErrResigned)
	<-t.done
	key := t.l.cfg.Key
	if errors.Is(t.Err(), ErrLost) {
		return fmt.Errorf("cannot resign lease %s: %w", key, ErrNotHeld)
	}
	err := t.l.cfg.KV.Purge(ctx, key, jetstream.LastRevision(t.rev))
	switch {
	case isConflict(err):
		return fmt.Errorf("cannot resign lease %s: %w", key, ErrNotHeld)
	case err != nil:
		return fmt.Errorf("cannot resign lease %s: %w", key, err)
	}
	t.l.log.Info("lease released", "token", t.token)
	return nil
}

// SetValue stores value with the lease now (as an early renewal) and with
// every later renewal and term of this Lease. ErrNotHeld: the term ended
// first. If ctx ends first, the value is still written with the next
// renewal.
func (t *Term) SetValue(ctx context.Context, value []byte) error {
	req := setRequest{value: bytes.Clone(value), done: make(chan error, 1)}
	select {
	case t.setc <- req:
	case <-t.ctx.Done():
		return fmt.Errorf("cannot set lease %s value: %w (%w)", t.l.cfg.Key, ErrNotHeld, t.Err())
	case <-ctx.Done():
		return fmt.Errorf("cannot set lease %s value: %w", t.l.cfg.Key, ctx.Err())
	}
	t.l.setValue(req.value)
	select {
	case err := <-req.done:
		if err != nil {
			return fmt.Errorf("cannot set lease %s value: %w (%w)", t.l.cfg.Key, ErrNotHeld, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot set lease %s value: %w", t.l.cfg.Key, ctx.Err())
	}
}

// end ends the term once with cause; later calls do nothing.
func (t *Term) end(cause error) {
	t.mu.Lock()
	if !t.ended.IsZero() {
		t.mu.Unlock()
		return
	}
	t.ended = time.Now()
	t.timer.Stop()
	t.cancel(cause)
	t.mu.Unlock()
	t.l.cfg.Metrics.ended(t.l.cfg.Key, cause)
	if errors.Is(cause, ErrResigned) {
		t.l.log.Info("lease term ended", "token", t.token, "reason", cause)
	} else {
		t.l.log.Warn("lease term ended", "token", t.token, "reason", cause)
	}
}

// onDeadline runs at the local deadline; a renewal may have moved it.
func (t *Term) onDeadline() {
	t.mu.Lock()
	if wait := time.Until(t.deadline); wait > 0 && t.ended.IsZero() {
		t.timer.Reset(wait)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.end(ErrExpired)
}

// extend moves the deadline after a renewal sent at sent was acknowledged,
// unless the term has ended or its deadline passed meanwhile: an
// acknowledgement that comes too late proves nothing, since the server
// may have expired the key between the two.
func (t *Term) extend(sent time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ended.IsZero() || !time.Now().Before(t.deadline) {
		return false
	}
	t.deadline = sent.Add(t.l.cfg.TTL - t.l.cfg.Margin)
	t.timer.Reset(time.Until(t.deadline))
	return true
}
