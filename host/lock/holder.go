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

// renew rewrites the key over its current revision with the new TTL,
// keeping the record's owner, token and nonce.
func (t *Table) renew(ctx context.Context, key string, token uint64, ttl time.Duration) error {
	for range casAttempts {
		lost := false
		err := retrying(ctx, time.Time{}, func(ctx context.Context) error {
			cur, err := t.read(ctx, key)
			if err != nil {
				return err
			}
			if err := owns(cur, token); err != nil {
				return err
			}
			rec := record{owner: cur.info.Owner, token: token, ttl: serverTTL(ttl), nonce: cur.nonce}
			_, err = t.write(ctx, key, rec, cur.rev)
			lost = isConflict(err)
			if lost {
				return nil
			}
			return err
		})
		if err != nil || !lost {
			return classify(err)
		}
	}
	return changing(token)
}

// write writes rec over revision rev of key (0: no key at all) with rec's
// TTL, and returns the new revision. KeyValue's Create reads a marker's
// revision with a direct get, which a lagging replica may answer, and its
// Update takes no TTL (its write would never expire); so this publishes
// to the key's subject itself, with the compare-and-set and TTL headers.
func (t *Table) write(ctx context.Context, key string, rec record, rev uint64) (uint64, error) {
	m := &nats.Msg{Subject: t.subject + key, Header: nats.Header{}, Data: rec.encode()}
	ack, err := t.cfg.JS.PublishMsg(ctx, m,
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(rec.ttl))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
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
// released name leaves nothing behind. After a purge that may have been
// stored unacknowledged, a lock that is free or has a later holder counts
// as released: the two cannot be told apart from a lock that expired.
func (t *Table) release(ctx context.Context, key string, token uint64) error {
	sent := false
	for range casAttempts {
		lost := false
		err := retrying(ctx, time.Time{}, func(ctx context.Context) error {
			cur, err := t.read(ctx, key)
			if err != nil {
				return err
			}
			if sent && (cur.free || cur.info.Token > token) {
				return nil // that purge was stored (or the lock expired)
			}
			if err := owns(cur, token); err != nil {
				return err
			}
			err = t.cfg.KV.Purge(ctx, key, jetstream.LastRevision(cur.rev), jetstream.PurgeTTL(markerTTL))
			sent = sent || err != nil && transient(err)
			lost = isConflict(err)
			if lost {
				return nil
			}
			return err
		})
		if err != nil || !lost {
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
	var cur entry
	err = retrying(ctx, time.Time{}, func(ctx context.Context) (err error) {
		cur, err = t.read(ctx, key)
		return err
	})
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
		return fmt.Errorf("%w: token %d does not hold it, nobody does (it expired or was released); acquire it again", ErrNotHolder, token)
	case cur.info.Token != token:
		return fmt.Errorf("%w: token %d does not hold it; %s", ErrNotHolder, token, heldBy(cur.info))
	}
	return nil
}

// changing is the error of a Renew or Release whose every write lost to
// another write of the same holder.
func changing(token uint64) error {
	return fmt.Errorf("%w: the lock kept changing under token %d (renewed concurrently?); try again", abi.ErrConflict, token)
}
