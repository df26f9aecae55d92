package lease

import (
	"context"
	"fmt"
	"time"
)

// renewRetry is the first pause after a renewal that failed for a reason
// that may pass (a reconnect, no stream leader); it doubles up to Renew.
// Retries continue until the local deadline.
const renewRetry = 25 * time.Millisecond

// attemptShare (of Renew) bounds one renewal attempt, so that a request
// lost to a reconnect is sent again well before the deadline; a retry
// whose first attempt was stored after all conflicts and is adopted.
const attemptShare = 2

// run renews the term every Renew after the previous renewal was sent,
// and at once when SetValue asks, until the term ends.
func (t *Term) run(sent time.Time) {
	defer close(t.done)
	next := time.NewTimer(time.Until(sent.Add(t.l.cfg.Renew)))
	defer next.Stop()
	for {
		var req *setRequest
		select {
		case <-t.ctx.Done():
			return
		case <-next.C:
		case r := <-t.setc:
			req = &r
			t.value = r.value
		}
		sent, err := t.renew()
		if req != nil {
			req.done <- err
		}
		if err != nil {
			return // renew ended the term
		}
		next.Reset(time.Until(sent.Add(t.l.cfg.Renew)))
	}
}

// renew writes the term's record over its last revision, retrying until
// it succeeds or the term ends. No attempt outlives the local deadline.
// It returns when the successful renewal was sent; on error the term has
// ended and the error is why.
func (t *Term) renew() (time.Time, error) {
	key, record := t.l.cfg.Key, encode(t.l.cfg.Holder, t.token, t.value)
	pause := renewRetry
	for {
		sent := time.Now()
		ctx, cancel := context.WithDeadline(t.ctx, earliest(t.Deadline(), sent.Add(t.l.cfg.Renew/attemptShare)))
		rev, err := t.l.cfg.KV.Update(ctx, key, record, t.rev)
		cancel()
		switch {
		case err == nil:
			t.rev = rev
			if !t.extend(sent) {
				t.end(fmt.Errorf("%w: renewal acknowledged after the deadline", ErrExpired))
				return sent, t.Err()
			}
			t.l.cfg.Metrics.renewed(time.Since(sent))
			return sent, nil
		case t.ctx.Err() != nil:
			return sent, t.Err()
		case isConflict(err):
			if t.adopt() {
				continue
			}
			t.end(fmt.Errorf("%w: revision %d was overwritten", ErrLost, t.rev))
			return sent, t.Err()
		}
		t.l.log.Debug("lease renewal failed; retrying", "err", err, "in", pause)
		if !sleep(t.ctx, pause) {
			return sent, t.Err()
		}
		pause = min(2*pause, t.l.cfg.Renew)
	}
}

// adopt resolves a conflict that may be the term's own write: a renewal
// stored by the server whose acknowledgement was lost (say, to a
// reconnect), so the retry compared against a stale revision. If the key
// still names this holder and token, nobody else acquired it since, and the
// term carries on from that revision. The deadline stays: when that write
// was sent is unknown.
func (t *Term) adopt() bool {
	ctx, cancel := context.WithDeadline(t.ctx, t.Deadline())
	defer cancel()
	e, err := t.l.cfg.KV.Get(ctx, t.l.cfg.Key)
	if err != nil {
		return false
	}
	info, err := ParseEntry(e)
	if err != nil || info.Holder != t.l.cfg.Holder || info.Token != t.token || info.Revision <= t.rev {
		return false
	}
	t.l.log.Debug("lease renewal adopted its own write", "revision", info.Revision)
	t.rev = info.Revision
	return true
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
