package events

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// live is the feed of a subscription that is not durable: an ordered
// consumer of its own, in memory on one server, acknowledging nothing.
type live struct {
	s *Subscription

	mu   sync.Mutex
	next uint64 // the stream sequence to start at; 0 before the first open
	cons jetstream.Consumer
}

// open starts an ordered consumer at the stream's next sequence (first
// open) or after the last event delivered (reopen). Starting at a
// sequence rather than "new messages" matters: the ordered consumer
// recreates itself after a reconnect from the last sequence it
// delivered, or, before its first delivery, with the policy it was given,
// and "new" would then skip what was published in between.
func (l *live) open(ctx context.Context) (iterator, error) {
	b := l.s.bus
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == 0 {
		st, err := b.js.Stream(ctx, b.stream)
		if err != nil {
			return nil, err
		}
		l.next = st.CachedInfo().State.LastSeq + 1
	}
	c, err := b.js.OrderedConsumer(ctx, b.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: l.s.set.subjects,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    l.next,
	})
	if err != nil {
		return nil, err
	}
	l.remove(ctx) // the consumer of a failed iterator, if any
	l.cons = c
	it, err := c.Messages(jetstream.PullMaxMessages(liveBuffer))
	if err != nil {
		return nil, err
	}
	return ordered{it}, nil
}

// liveBuffer is how many events a live subscription fetches ahead. With
// nothing acknowledged, fetching ahead costs only memory.
const liveBuffer = 64

// ordered iterates an ordered consumer.
type ordered struct{ it jetstream.MessagesContext }

func (o ordered) next(ctx context.Context) (jetstream.Msg, error) {
	return o.it.Next(jetstream.NextContext(ctx))
}

func (o ordered) stop() { o.it.Stop() }

// settle notes the event as delivered: a reopened feed starts after it.
// Nothing is acknowledged; a failed handler's event is not redelivered.
func (l *live) settle(_ jetstream.Msg, m Message, err error) {
	l.mu.Lock()
	l.next = m.Seq + 1
	l.mu.Unlock()
	if err != nil {
		l.s.log.Warn("event handler failed", "event", m.App+"."+m.Topic, "seq", m.Seq, "err", err)
	}
}

func (l *live) keepAlive(jetstream.Msg) func() { return func() {} }

// interrupt stops the iterator: an ordered consumer recreating itself
// (its server gone) does not watch the loop's context.
func (l *live) interrupt(it iterator) { it.stop() }

// cleanup deletes the consumer rather than leave it to the server's
// inactivity timeout.
func (l *live) cleanup(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remove(ctx)
}

// remove deletes the current consumer, if any; l.mu is held.
func (l *live) remove(ctx context.Context) {
	if l.cons == nil {
		return
	}
	if info := l.cons.CachedInfo(); info != nil {
		_ = l.s.bus.js.DeleteConsumer(ctx, l.s.bus.stream, info.Name)
	}
	l.cons = nil
}
