package events

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Delays between attempts to reopen a feed whose iterator failed.
const (
	reopenMin = 100 * time.Millisecond
	reopenMax = 5 * time.Second
)

// run is the subscription's one goroutine: it reads the feed and handles
// each event in turn, reopening the feed when its iterator fails, until
// Close.
func (s *Subscription) run(it iterator) {
	defer close(s.done)
	for it != nil {
		err := s.consume(it)
		it.stop()
		if s.loop.Err() != nil {
			return
		}
		s.log.Warn("event subscription interrupted; reopening", "err", err)
		it = s.reopen()
	}
}

// consume handles what it delivers until it fails or Close begins.
func (s *Subscription) consume(it iterator) error {
	for {
		msg, err := it.next(s.loop)
		if err != nil {
			return err
		}
		s.handle(msg)
	}
}

// reopen opens the feed again, with growing pauses, until it succeeds
// (the new iterator) or Close begins (nil).
func (s *Subscription) reopen() iterator {
	delay := reopenMin
	for pause(s.loop, delay) {
		it, err := s.feed.open(s.loop)
		if err == nil {
			if !s.setIter(it) {
				return nil
			}
			return it
		}
		s.log.Warn("cannot reopen event subscription", "err", err, "retry", 2*delay)
		delay = min(2*delay, reopenMax)
	}
	return nil
}

// handle delivers one message to the handler and settles it.
func (s *Subscription) handle(msg jetstream.Msg) {
	m, err := s.message(msg)
	if err != nil {
		s.log.Error("dropping an event that cannot be read", "subject", msg.Subject(), "err", err)
		if s.spec.Durable {
			_ = msg.TermWithReason("not an event")
		}
		return
	}
	s.add(delivered)
	stop := s.feed.keepAlive(msg)
	err = s.call(m)
	stop()
	if err != nil {
		s.add(failed)
	}
	s.feed.settle(msg, m, err)
}

// call runs the handler, turning a panic into an error.
func (s *Subscription) call(m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("event handler panicked: %v", r)
		}
	}()
	return s.h(s.work, m)
}

// message reads msg as an event.
func (s *Subscription) message(msg jetstream.Msg) (Message, error) {
	app, topic, ok := splitSubject(s.bus.prefix, msg.Subject())
	if !ok {
		return Message{}, errors.New("not an event subject")
	}
	md, err := msg.Metadata()
	if err != nil {
		return Message{}, err
	}
	return Message{
		App: app, Topic: topic, Data: msg.Data(),
		Seq: md.Sequence.Stream, Time: md.Timestamp, Delivery: int(md.NumDelivered),
	}, nil
}
