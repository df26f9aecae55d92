package events

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/layout"
)

// Stream defaults.
const (
	// DefaultMaxAge is how long the stream keeps an event when StreamConfig
	// is given no age: events are news, not an archive. It is also how
	// long a durable subscription can be away without losing events.
	DefaultMaxAge = 24 * time.Hour
	// DuplicateWindow is how long the stream remembers a message id
	// (Nats-Msg-Id): a second publish with the same id within it is
	// dropped. Hosts reporting the same platform fact use the same id.
	DuplicateWindow = 2 * time.Minute
)

// StreamConfig is the events stream of l: every event subject, kept for
// maxAge (DefaultMaxAge when 0 or less) on replicas servers (at least 1),
// in files, with message ids deduplicated over DuplicateWindow.
func StreamConfig(l layout.Layout, replicas int, maxAge time.Duration) jetstream.StreamConfig {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	return jetstream.StreamConfig{
		Name:        l.EventsStream(),
		Description: "go-cluster events of platform " + l.Platform(),
		Subjects:    []string{l.EventsSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      maxAge,
		Duplicates:  min(DuplicateWindow, maxAge), // the server refuses a window over MaxAge
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
}

// Ensure binds the stream cfg describes, creating it when missing and
// updating it when its subjects, age or duplicate window differ or the
// cluster grew (more replicas; never fewer). It looks the stream up before
// creating it: in a NATS cluster, identical creates racing from several
// hosts can leave all but one without an answer until they time out.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return lookupOrCreate(ctx,
		func(ctx context.Context) (jetstream.Stream, error) {
			s, err := js.Stream(ctx, cfg.Name)
			if err == nil && streamStale(s.CachedInfo().Config, cfg) {
				return js.UpdateStream(ctx, cfg)
			}
			return s, err
		},
		func(ctx context.Context) (jetstream.Stream, error) { return js.CreateStream(ctx, cfg) },
		jetstream.ErrStreamNotFound, jetstream.ErrStreamNameAlreadyInUse)
}

func streamStale(have, want jetstream.StreamConfig) bool {
	return !slices.Equal(have.Subjects, want.Subjects) || have.MaxAge != want.MaxAge ||
		have.Duplicates != want.Duplicates || want.Replicas > have.Replicas
}

// Bounds of lookupOrCreate.
const (
	// attemptWait bounds one lookup or create: in a cluster, one that
	// raced another host's create, or asked about an object whose leader
	// is being elected, may get no answer at all.
	attemptWait = 2 * time.Second
	// ensureAttempts bounds the rounds of one call.
	ensureAttempts = 5
)

// lookupOrCreate looks a JetStream object up and creates it when the
// lookup says notFound. A create that answers exists means another host's
// create won a race, and no answer in time may mean the same: both start
// another round, as does a lookup without an answer.
func lookupOrCreate[T any](ctx context.Context, lookup, create func(context.Context) (T, error), notFound, exists error) (T, error) {
	var v T
	var err error
	for range ensureAttempts {
		v, err = lookupOrCreateOnce(ctx, lookup, create, notFound)
		if err == nil || ctx.Err() != nil || !errors.Is(err, exists) && !errors.Is(err, context.DeadlineExceeded) {
			return v, err
		}
	}
	return v, err
}

func lookupOrCreateOnce[T any](ctx context.Context, lookup, create func(context.Context) (T, error), notFound error) (T, error) {
	actx, cancel := context.WithTimeout(ctx, attemptWait)
	v, err := lookup(actx)
	cancel()
	if err == nil || !errors.Is(err, notFound) {
		return v, err
	}
	actx, cancel = context.WithTimeout(ctx, attemptWait)
	defer cancel()
	return create(actx)
}
