package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Message is one event as a handler receives it.
type Message struct {
	// App published it; layout.PlatformApp for platform events.
	App string
	// Topic is its event name (a platform event's kind).
	Topic string
	Data  []byte
	// Seq is its sequence in the events stream, the same for every
	// subscriber and every delivery.
	Seq uint64
	// Time is when the stream stored it.
	Time time.Time
	// Delivery counts its deliveries to this subscription: 1 the first
	// time, more when a durable subscription redelivers it.
	Delivery int
}

// Handler handles one event. With a durable subscription, nil
// acknowledges the event and an error has it delivered again later. ctx
// ends when the Subscription's Close gives up waiting.
type Handler func(ctx context.Context, m Message) error

// Defaults of Spec.
const (
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 10
	DefaultInactive   = DefaultMaxAge
)

// DefaultBackoff is the delay before each redelivery after a failure: the
// n-th failure waits DefaultBackoff[n-1], the last repeating.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// Spec describes a subscription.
type Spec struct {
	// App is the subscribing app.
	App string
	// Sources are its manifest's subscribe entries: "other.updated",
	// "other.*", "platform.node_join", "platform.*" (see
	// manifest.ParseSubscription); anything else is refused.
	Sources []string
	// Durable delivers through one consumer that every subscription with
	// the same App and Sources shares (at least once, by one of them);
	// otherwise each subscription sees every event published after
	// Subscribe returned, and nothing is redelivered.
	Durable bool

	// The fields below apply to durable subscriptions; zero takes the
	// default.

	// AckWait is how long a delivery may go unanswered before it is
	// delivered again, to this or another subscription. A running handler
	// keeps its delivery alive, so this bounds how long an event waits
	// for a subscriber that died with it, not how long a handler may run.
	// Default DefaultAckWait.
	AckWait time.Duration
	// Backoff is the delay before redelivery after the n-th failure,
	// Backoff[n-1], the last repeating. Default DefaultBackoff.
	Backoff []time.Duration
	// MaxDeliver is how many deliveries an event gets before it is given
	// up (counted in Stats.GivenUp and logged). Default DefaultMaxDeliver.
	MaxDeliver int
	// Inactive is how long the shared consumer outlives its last
	// subscriber before the server removes it, with its place in the
	// stream (an undeployed app, a changed subscription set). Default
	// DefaultInactive.
	Inactive time.Duration

	// Logger receives failures, give-ups and reconnections; default
	// discards.
	Logger *slog.Logger
}

func (s Spec) withDefaults() Spec {
	if s.AckWait <= 0 {
		s.AckWait = DefaultAckWait
	}
	if len(s.Backoff) == 0 {
		s.Backoff = DefaultBackoff
	}
	if s.MaxDeliver <= 0 {
		s.MaxDeliver = DefaultMaxDeliver
	}
	if s.Inactive <= 0 {
		s.Inactive = DefaultInactive
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// backoff is the delay before redelivery after the n-th delivery failed.
func (s Spec) backoff(n int) time.Duration {
	return s.Backoff[min(max(n, 1), len(s.Backoff))-1]
}

// Subscription delivers the events of a Spec to its handler, one at a
// time, until Close.
//
// Threading: Close and Stats are safe for concurrent use.
type Subscription struct {
	bus   *Bus
	spec  Spec
	set   sources
	h     Handler
	log   *slog.Logger
	feed  feed
	stats counters

	loop context.Context // ends when Close begins: take no more events
	stop context.CancelFunc
	work context.Context // the handlers': ends when Close gives up waiting
	cut  context.CancelFunc
	done chan struct{} // closed when run returns

	mu      sync.Mutex
	it      iterator // the current one
	closing bool
}

// feed is where a Subscription's messages come from: a durable consumer
// or a live (ordered) one.
type feed interface {
	// open starts an iterator: at the consumer's place (durable) or after
	// the last event handled (live).
	open(ctx context.Context) (iterator, error)
	// settle answers the server once the handler returned err.
	settle(msg jetstream.Msg, m Message, err error)
	// keepAlive tells the server the handler still runs, until stop.
	keepAlive(msg jetstream.Msg) (stop func())
	// interrupt makes a blocked next return, from Close.
	interrupt(it iterator)
	// cleanup removes what only this subscription used, after the loop.
	cleanup(ctx context.Context)
}

// iterator yields a feed's messages one at a time.
type iterator interface {
	// next returns the next message; an error when ctx ends, the
	// iterator was stopped, or it failed and must be opened again.
	next(ctx context.Context) (jetstream.Msg, error)
	stop()
}

// Subscribe starts delivering spec's events to h. ctx bounds the setup
// only; the subscription runs until Close. It fails with ErrInvalid for a
// spec naming an app or source that cannot be, and when the stream cannot
// be reached.
func (b *Bus) Subscribe(ctx context.Context, spec Spec, h Handler) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: no handler", ErrInvalid)
	}
	if err := checkApp(spec.App); err != nil {
		return nil, err
	}
	set, err := parseSources(b.l, spec.Sources)
	if err != nil {
		return nil, err
	}
	s := newSubscription(b, spec.withDefaults(), set, h)
	if spec.Durable {
		s.feed = &durable{s: s}
	} else {
		s.feed = &live{s: s}
	}
	it, err := s.feed.open(ctx)
	if err != nil {
		s.stop()
		s.cut()
		return nil, fmt.Errorf("cannot subscribe %s to %v: %w", spec.App, set.names, err)
	}
	s.it = it
	go s.run(it)
	return s, nil
}

func newSubscription(b *Bus, spec Spec, set sources, h Handler) *Subscription {
	s := &Subscription{bus: b, spec: spec, set: set, h: h, done: make(chan struct{})}
	s.log = spec.Logger.With("app", spec.App, "sources", set.names, "durable", spec.Durable)
	s.loop, s.stop = context.WithCancel(context.Background())
	s.work, s.cut = context.WithCancel(context.Background())
	return s
}

// Stats returns what this subscription did so far.
func (s *Subscription) Stats() Stats { return s.stats.stats() }

func (s *Subscription) add(k counter) {
	s.stats.add(k)
	s.bus.stats.add(k)
}

// Close stops taking events and waits for the handler in flight. When ctx
// ends first, it cancels the handler's context, still waits for it to
// return, and returns ctx's error. Closing again returns nil once the
// first Close is done.
func (s *Subscription) Close(ctx context.Context) error {
	s.mu.Lock()
	again := s.closing
	s.closing = true
	it := s.it
	s.mu.Unlock()
	s.stop()
	if it != nil && !again {
		s.feed.interrupt(it)
	}
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cut()
		<-s.done
	}
	s.cut()
	if !again {
		s.feed.cleanup(ctx)
	}
	return err
}

// setIter records the iterator of a reopened feed, unless Close began:
// then it stops it and reports false.
func (s *Subscription) setIter(it iterator) bool {
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.it = it
	}
	s.mu.Unlock()
	if closing {
		it.stop()
	}
	return !closing
}
