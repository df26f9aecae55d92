package lock

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
)

// casAttempts bounds the compare-and-set writes of one Renew or Release:
// each conflict means the key changed between the read and the write (a
// concurrent renewal of the same holder, or the lock expired), and the
// next attempt starts from a fresh read.
const casAttempts = 3

// Renew extends the lock name, held under token, to ttl from now (rounded
// up to a whole second); the token stays the same. Renew well before the
// lock expires, at half its ttl say: a renewal that reaches the server as
// the lock expires loses to the expiry. ErrNotHolder: token does not hold
// the lock (it expired or was released, and perhaps another took it).
func (t *Table) Renew(ctx context.Context, name []byte, token uint64, ttl time.Duration) error {
	key, err := t.check(ctx, name, ttl)
	if err == nil {
		err = t.renew(ctx, key, token, ttl)
	}
	if err != nil {
		return fmt.Errorf("cannot renew lock %s: %w", show(name), err)
	}
	return nil
}

func (t *Table) renew(ctx context.Context, key string, token uint64, ttl time.Duration) error {
	for range casAttempts {
		cur, err := t.read(ctx, key)
		if err != nil {
			return classify(err)
		}
		if err := owns(cur, token); err != nil {
			return err
		}
		rec := record{owner: cur.info.Owner, token: token, ttl: serverTTL(ttl)}
		if err := t.rewrite(ctx, key, rec, cur.rev); !isConflict(err) {
			return classify(err)
		}
	}
	return changing(token)
}

// rewrite writes rec over revision rev of key with rec's TTL. KeyValue's
// Update takes no TTL (its write would never expire), so this publishes
// to the key's subject as Update does, plus the TTL header.
func (t *Table) rewrite(ctx context.Context, key string, rec record, rev uint64) error {
	m := &nats.Msg{Subject: t.subject + key, Header: nats.Header{}, Data: rec.encode()}
	_, err := t.cfg.JS.PublishMsg(ctx, m,
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(rec.ttl))
	return err
}

// Release frees the lock name held under token, so that a waiter takes it
// at once. ErrNotHolder: token does not hold the lock (it expired or was
// released already, and perhaps another took it).
func (t *Table) Release(ctx context.Context, name []byte, token uint64) error {
	key, err := keyOf(name)
	if err == nil {
		err = t.checkBucket(ctx)
	}
	if err == nil {
		err = t.release(ctx, key, token)
	}
	if err != nil {
		return fmt.Errorf("cannot release lock %s: %w", show(name), err)
	}
	return nil
}

// release purges the key over the holder's latest revision. The purge
// marker wakes the waiters' watches; it expires after markerTTL, so a
// released name leaves nothing behind.
func (t *Table) release(ctx context.Context, key string, token uint64) error {
	for range casAttempts {
		cur, err := t.read(ctx, key)
		if err != nil {
			return classify(err)
		}
		if err := owns(cur, token); err != nil {
			return err
		}
		err = t.cfg.KV.Purge(ctx, key, jetstream.LastRevision(cur.rev), jetstream.PurgeTTL(markerTTL))
		if !isConflict(err) {
			return classify(err)
		}
	}
	return changing(token)
}

// Holder reads who holds the lock name. ErrFree: nobody does. The server's
// view can trail a holder's: a lock past Expires may still be listed for
// a fraction of a second.
func (t *Table) Holder(ctx context.Context, name []byte) (Info, error) {
	key, err := keyOf(name)
	if err != nil {
		return Info{}, fmt.Errorf("cannot read lock %s: %w", show(name), err)
	}
	cur, err := t.read(ctx, key)
	switch {
	case err != nil:
		return Info{}, fmt.Errorf("cannot read lock %s: %w", show(name), classify(err))
	case cur.free:
		return Info{}, fmt.Errorf("cannot read lock %s: %w", show(name), ErrFree)
	}
	return cur.info, nil
}

// owns checks that token holds the lock cur.
func owns(cur entry, token uint64) error {
	switch {
	case cur.free:
		return fmt.Errorf("%w: token %d no longer holds it, nobody does (it expired or was released); acquire it again", ErrNotHolder, token)
	case cur.info.Token != token:
		return fmt.Errorf("%w: token %d no longer holds it; %s", ErrNotHolder, token, heldBy(cur.info))
	}
	return nil
}

// changing is the error of a Renew or Release whose every write lost to
// another write of the same holder.
func changing(token uint64) error {
	return fmt.Errorf("%w: the lock kept changing under token %d (renewed concurrently?); try again", abi.ErrConflict, token)
}
