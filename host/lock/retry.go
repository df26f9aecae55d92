package lock

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// attemptTimeout bounds one request, so that one lost with a server
	// (or a stream leader) that went away is sent again rather than
	// waited for until ctx ends.
	attemptTimeout = 2 * time.Second
	// retryPause is the first pause after trouble that may pass; it
	// doubles up to retryPauseMax.
	retryPause    = 50 * time.Millisecond
	retryPauseMax = time.Second
)

// retrying runs op until it returns nil or an error that is not trouble
// that may pass (see transient), until ctx ends, or until the next try
// would start after until (zero: no bound but ctx). Each call of op gets a
// context bounded by attemptTimeout. It returns op's last error.
func retrying(ctx context.Context, until time.Time, op func(ctx context.Context) error) error {
	pause := retryPause
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := op(actx)
		cancel()
		switch {
		case err == nil || !transient(err):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case !until.IsZero() && time.Now().Add(pause).After(until):
			return err
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		pause = min(2*pause, retryPauseMax)
	}
}

// transient reports trouble that may pass: a request that timed out or
// found nobody to answer (a server or stream leader gone, a reconnect),
// or a cluster electing a leader. A write that timed out may have been
// stored all the same: Acquire knows its own write again by its nonce,
// Renew and Release read before they write.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.Code == 503 || api.ErrorCode == errCodeClusterNotAvail || api.ErrorCode == errCodeClusterNotLeader)
}

// JetStream API error codes of a cluster without a (meta or stream) leader.
const (
	errCodeClusterNotAvail  jetstream.ErrorCode = 10008
	errCodeClusterNotLeader jetstream.ErrorCode = 10009
)
