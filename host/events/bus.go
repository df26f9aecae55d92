package events

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/layout"
)

// Bus publishes and subscribes to the events of one platform through its
// events stream (StreamConfig; the host creates it with Ensure before
// use).
//
// Threading: safe for concurrent use.
type Bus struct {
	js     jetstream.JetStream
	l      layout.Layout
	stream string
	prefix string // of every event subject
	stats  counters
}

// New returns the bus of l's events over js. It does no I/O.
func New(js jetstream.JetStream, l layout.Layout) *Bus {
	return &Bus{js: js, l: l, stream: l.EventsStream(), prefix: subjectPrefix(l)}
}

// Stats returns what the bus and all its subscriptions did so far.
func (b *Bus) Stats() Stats { return b.stats.stats() }

// Publish stores topic's event of app with data and returns its stream
// sequence. app is the publishing app's own name (the host checks the
// manifest's publish list before calling); app and topic are refused with
// ErrInvalid unless they are an app name and an event name. A publish
// whose acknowledgement is lost is retried under the same message id, so
// it is stored once.
func (b *Bus) Publish(ctx context.Context, app, topic string, data []byte) (uint64, error) {
	if err := checkApp(app); err != nil {
		return 0, err
	}
	if err := checkTopic(topic); err != nil {
		return 0, err
	}
	ack, err := b.publish(ctx, b.l.EventSubject(app, topic), data, rand.Text())
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// PublishPlatform stores a platform event of kind (manifest.EventNodeJoin,
// ...). msgID identifies the fact it reports: hosts that report the same
// fact give the same msgID and the stream keeps the first within
// DuplicateWindow. An empty msgID makes the event unique.
func (b *Bus) PublishPlatform(ctx context.Context, kind string, data []byte, msgID string) error {
	if err := checkPlatformEvent(kind); err != nil {
		return err
	}
	if msgID == "" {
		msgID = rand.Text()
	}
	_, err := b.publish(ctx, b.l.EventSubject(layout.PlatformApp, kind), data, msgID)
	return err
}

// Bounds of one publish.
const (
	publishAttempts = 3
	publishWait     = 2 * time.Second        // per attempt
	publishPause    = 100 * time.Millisecond // before a retry, times the attempt
)

// publish stores data on subject with message id, retrying a publish that
// got no answer (a stream leader election, a lost acknowledgement).
func (b *Bus) publish(ctx context.Context, subject string, data []byte, id string) (*jetstream.PubAck, error) {
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, publishWait)
		var ack *jetstream.PubAck
		ack, err = b.js.Publish(actx, subject, data, jetstream.WithMsgID(id), jetstream.WithExpectStream(b.stream))
		cancel()
		if err == nil {
			b.count(ack)
			return ack, nil
		}
		if attempt == publishAttempts || ctx.Err() != nil || !unanswered(err) || !pause(ctx, time.Duration(attempt)*publishPause) {
			break
		}
	}
	return nil, fmt.Errorf("cannot publish event %s: %w", subject, err)
}

func (b *Bus) count(ack *jetstream.PubAck) {
	if ack.Duplicate {
		b.stats.add(duplicates)
	} else {
		b.stats.add(published)
	}
}

// unanswered reports whether a publish may have failed only for want of
// an answer, so that trying again could succeed.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// pause waits d; false when ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
