package lease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// acquireAttempts bounds the writes of one acquisition: each conflict
// means the key changed under us, and the next attempt starts from a
// fresh read.
const acquireAttempts = 3

// state is what is known of the key before a write.
type state struct {
	known  bool   // false: read the key first
	free   bool   // nobody holds it: absent, deleted, purged or expired
	rev    uint64 // the revision to write over; 0 with free: no key at all
	holder string // with !free: who holds it
	// noRev: free, but at an unknown revision (Get hides the revision of
	// delete markers), so the write goes through KeyValue.Create.
	noRev bool
}

// stateOf reads a watch entry.
func stateOf(e jetstream.KeyValueEntry) state {
	if e.Operation() != jetstream.KeyValuePut {
		return state{known: true, free: true, rev: e.Revision()}
	}
	holder, _, _, err := decode(e.Value())
	if err != nil {
		holder = "(not a lease record)"
	}
	return state{known: true, rev: e.Revision(), holder: holder}
}

// read gets the key's state from the server.
func (l *Lease) read(ctx context.Context) (state, error) {
	ctx, cancel := context.WithTimeout(ctx, l.opTimeout())
	defer cancel()
	e, err := l.cfg.KV.Get(ctx, l.cfg.Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state{known: true, free: true, noRev: true}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("cannot read the key: %w", err)
	}
	return stateOf(e), nil
}

// acquire takes the key starting from st (a read when unknown), retrying
// from a fresh read when a write conflicts.
func (l *Lease) acquire(ctx context.Context, st state, via string) (*Term, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term != nil && l.term.ctx.Err() == nil {
		return nil, ErrActive
	}
	for range acquireAttempts {
		if !st.known {
			var err error
			if st, err = l.read(ctx); err != nil {
				return nil, err
			}
		}
		t, err := l.claim(ctx, st, via)
		if err == nil {
			l.term = t
			return t, nil
		}
		if !isConflict(err) {
			return nil, err
		}
		st = state{}
	}
	return nil, fmt.Errorf("%w: the key kept changing", ErrHeld)
}

// claim writes the first record of a term over st, or answers ErrHeld.
// A key that names this holder is left from an earlier term of this Lease
// (none is active) and is taken over at once rather than waited out.
func (l *Lease) claim(ctx context.Context, st state, via string) (*Term, error) {
	if !st.free && st.holder != l.cfg.Holder {
		return nil, fmt.Errorf("%w: %s has it", ErrHeld, st.holder)
	}
	value := l.currentValue()
	record := encode(l.cfg.Holder, 0, value)
	sent := time.Now()
	deadline := sent.Add(l.cfg.TTL - l.cfg.Margin)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var rev uint64
	var err error
	if st.noRev {
		rev, err = l.cfg.KV.Create(wctx, l.cfg.Key, record)
	} else {
		rev, err = l.cfg.KV.Update(wctx, l.cfg.Key, record, st.rev)
	}
	if err != nil {
		return nil, err
	}
	if !time.Now().Before(deadline) {
		// The key is ours, but its term would be over before it began; a
		// later attempt takes it over as our own.
		return nil, fmt.Errorf("%w: acknowledged after the local deadline", ErrExpired)
	}
	return l.begin(rev, sent, deadline, value, via), nil
}

// isConflict reports a compare-and-set write that lost: the key's last
// revision was not the one expected. Create reports it as ErrKeyExists,
// Update and Delete as ErrKeyRevisionMismatch; replicated buckets use a
// different error code for it than single ones.
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) &&
		(api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

func (l *Lease) currentValue() []byte {
	l.valueMu.Lock()
	defer l.valueMu.Unlock()
	return l.value
}

func (l *Lease) setValue(v []byte) {
	l.valueMu.Lock()
	l.value = v
	l.valueMu.Unlock()
}
