package lock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
)

// Errors. Operations wrap them ("cannot acquire lock %q: %w"); test with
// errors.Is, against these or against the abi sentinel each one wraps.
var (
	// ErrHeld: another holder has the lock, and still had it when the
	// wait ended. Is abi.ErrConflict.
	ErrHeld error = &sentinel{"lock is held", abi.ErrConflict}
	// ErrNotHolder: Renew or Release with a token that does not hold the
	// lock (it expired or was released, and perhaps someone else took
	// it). Is abi.ErrConflict.
	ErrNotHolder error = &sentinel{"not the lock's holder", abi.ErrConflict}
	// ErrFree: Holder of a lock that nobody holds. Is abi.ErrNotFound.
	ErrFree error = &sentinel{"lock is free", abi.ErrNotFound}
	// ErrBadName: a name of 0 or more than MaxName bytes. Is abi.ErrInvalid.
	ErrBadName error = &sentinel{"bad lock name", abi.ErrInvalid}
	// ErrBadTTL: a ttl out of MinTTL..Config.MaxTTL. Is abi.ErrInvalid.
	ErrBadTTL error = &sentinel{"bad lock ttl", abi.ErrInvalid}
	// ErrBadWait: a wait out of 0..Config.MaxWait. Is abi.ErrInvalid.
	ErrBadWait error = &sentinel{"bad lock wait", abi.ErrInvalid}
	// ErrConfig is a Config that cannot work; the message names the field.
	ErrConfig = errors.New("bad lock config")
	// ErrBucket is a lock bucket that was not made with BucketConfig.
	ErrBucket = errors.New("bad lock bucket")
)

// sentinel is an error of this package that is also an abi sentinel.
type sentinel struct {
	msg  string
	kind error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.kind }

// classify marks the errors of NATS that have an abi status: a deadline
// as abi.ErrTimeout, a missing server or stream as abi.ErrUnavailable.
// The original error stays in the chain.
func classify(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("%w (%w)", abi.ErrTimeout, err)
	case errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, jetstream.ErrBucketNotFound):
		return fmt.Errorf("%w (%w)", abi.ErrUnavailable, err)
	}
	return err
}

// isConflict reports a compare-and-set write that lost: the key's last
// revision was not the one expected. Create reports it as ErrKeyExists,
// Update and Delete as ErrKeyRevisionMismatch, a plain publish as the API
// error; replicated buckets use a different code for it than single ones.
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) &&
		(api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// show quotes a lock name for a message, cut short when long.
func show(name []byte) string {
	const most = 32
	if len(name) > most {
		return fmt.Sprintf("%q... (%d bytes)", name[:most], len(name))
	}
	return fmt.Sprintf("%q", name)
}

// heldBy describes who holds a lock, for ErrHeld and ErrNotHolder.
func heldBy(h Info) string {
	if h.Expires.IsZero() {
		return fmt.Sprintf("its key holds something that is not a lock (revision %d); remove it", h.Token)
	}
	in := time.Until(h.Expires).Round(time.Millisecond)
	if in < 0 {
		return fmt.Sprintf("node %q holds it under token %d; it expired at %s and the server frees it any moment",
			h.Owner, h.Token, clock(h.Expires))
	}
	return fmt.Sprintf("node %q holds it under token %d until %s (in %s) unless renewed",
		h.Owner, h.Token, clock(h.Expires), in)
}

// clock shows a time within minutes of now: the time of day, in UTC.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000 UTC") }
