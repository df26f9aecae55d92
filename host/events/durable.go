package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ackTimeout bounds the wait for the server to confirm an ack.
const ackTimeout = 5 * time.Second

// durable is the feed of a durable subscription: a pull consumer shared
// by every subscription with the same app and sources.
type durable struct {
	s *Subscription
}

// config is the shared consumer: it starts with the events published
// after its creation and keeps its place while no one subscribes.
func (d *durable) config() jetstream.ConsumerConfig {
	s := d.s
	return jetstream.ConsumerConfig{
		Durable:           consumerName(s.spec.App, s.set),
		Description:       s.spec.App + " <- " + strings.Join(s.set.names, " "),
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           s.spec.AckWait,
		MaxDeliver:        s.spec.MaxDeliver,
		FilterSubjects:    s.set.subjects,
		InactiveThreshold: s.spec.Inactive,
	}
}

// open binds the shared consumer, creating it when missing.
func (d *durable) open(ctx context.Context) (iterator, error) {
	c, err := ensureConsumer(ctx, d.s.bus.js, d.s.bus.stream, d.config())
	if err != nil {
		return nil, err
	}
	return fetcher{c}, nil
}

// fetcher asks the consumer for one event at a time, each with a pull
// request of its own: the handler takes one at a time, and an event
// waiting in this process's buffer is one no other instance can take.
// (A Messages iterator with a buffer of one drops what arrives while its
// one slot is full, which can leave it waiting for a reply it lost.)
type fetcher struct{ c jetstream.Consumer }

func (f fetcher) next(ctx context.Context) (jetstream.Msg, error) {
	for {
		msg, err := f.c.Next(jetstream.FetchContext(ctx))
		if errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			continue // the pull request expired with nothing to deliver
		}
		return msg, err
	}
}

// stop has nothing to do: a pull request ends with its Next.
func (fetcher) stop() {}

// ensureConsumer is Ensure for a durable consumer: look up, create when
// missing, update when the settings changed.
func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return lookupOrCreate(ctx,
		func(ctx context.Context) (jetstream.Consumer, error) {
			c, err := js.Consumer(ctx, stream, cfg.Durable)
			if err == nil && consumerStale(c.CachedInfo().Config, cfg) {
				return js.UpdateConsumer(ctx, stream, cfg)
			}
			return c, err
		},
		func(ctx context.Context) (jetstream.Consumer, error) { return js.CreateConsumer(ctx, stream, cfg) },
		jetstream.ErrConsumerNotFound, jetstream.ErrConsumerExists)
}

func consumerStale(have, want jetstream.ConsumerConfig) bool {
	return have.AckWait != want.AckWait || have.MaxDeliver != want.MaxDeliver ||
		have.InactiveThreshold != want.InactiveThreshold || have.Description != want.Description
}

// settle acknowledges a handled event, and otherwise asks for it again:
// after the backoff delay, or at once when the subscription is closing
// (another instance takes it). The MaxDeliver-th failure gives it up.
func (d *durable) settle(msg jetstream.Msg, m Message, err error) {
	s := d.s
	switch {
	case err == nil:
		d.ack(msg, m)
	case s.loop.Err() != nil:
		_ = msg.Nak()
		s.add(naked)
	case m.Delivery >= s.spec.MaxDeliver:
		_ = msg.TermWithReason(fmt.Sprintf("handler failed %d times", m.Delivery))
		s.add(givenUp)
		s.log.Error("giving up on an event", "event", m.App+"."+m.Topic, "seq", m.Seq, "deliveries", m.Delivery, "err", err)
	default:
		delay := s.spec.backoff(m.Delivery)
		_ = msg.NakWithDelay(delay)
		s.add(naked)
		s.log.Warn("event handler failed; delivering again later", "event", m.App+"."+m.Topic, "seq", m.Seq,
			"delivery", m.Delivery, "retry", delay, "err", err)
	}
}

// ack waits for the server to record the ack, so a success is not
// redelivered for a lost ack; if it cannot tell, the event may come again.
func (d *durable) ack(msg jetstream.Msg, m Message) {
	ctx, cancel := context.WithTimeout(d.s.work, ackTimeout)
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		d.s.log.Warn("cannot acknowledge an event; it may be delivered again", "event", m.App+"."+m.Topic, "seq", m.Seq, "err", err)
		return
	}
	d.s.add(acked)
}

// keepAlive resets the delivery's ack timer every AckWait/3 until stop,
// so a long handler keeps its event; a dead one lets it go after AckWait.
func (d *durable) keepAlive(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d.s.spec.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// interrupt does nothing: Close ends the loop's context, and with it the
// pull request.
func (d *durable) interrupt(iterator) {}

// cleanup keeps the consumer: it is shared, and holds the place of the
// app's subscriptions while none runs.
func (d *durable) cleanup(context.Context) {}
