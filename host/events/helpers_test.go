package events

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
	"github.com/ozanturksever/go-cluster/layout"
)

// waitLong bounds every wait for something that must happen.
const waitLong = 20 * time.Second

var testLayout = func() layout.Layout {
	l, err := layout.New("test")
	if err != nil {
		panic(err)
	}
	return l
}()

// testCtx is a context for one test's I/O, ended at Cleanup.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

// node is one host's view: a connection, its JetStream and a Bus.
type node struct {
	js  jetstream.JetStream
	bus *Bus
}

func newNode(t *testing.T, url string) *node {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, url))
	if err != nil {
		t.Fatal(err)
	}
	return &node{js: js, bus: New(js, testLayout)}
}

// single starts one server with the events stream and returns its URL.
func single(t *testing.T) string {
	t.Helper()
	s := natstest.Start(t, nil)
	n := newNode(t, s.ClientURL())
	if _, err := Ensure(testCtx(t), n.js, StreamConfig(testLayout, 1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	return s.ClientURL()
}

func (n *node) publish(t *testing.T, app, topic, data string) uint64 {
	t.Helper()
	seq, err := n.bus.Publish(testCtx(t), app, topic, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// subscribe subscribes and closes the subscription at Cleanup.
func (n *node) subscribe(t *testing.T, spec Spec, h Handler) *Subscription {
	t.Helper()
	sub, err := n.bus.Subscribe(testCtx(t), spec, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeSub(t, sub) })
	return sub
}

func closeSub(t *testing.T, sub *Subscription) {
	t.Helper()
	if err := sub.Close(testCtx(t)); err != nil {
		t.Errorf("close: %v", err)
	}
}

// recorder keeps every message its handler got; fail, when set, decides
// the handler's answer.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
	fail func(Message) error
}

func (r *recorder) handle(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	if r.fail != nil {
		return r.fail(m)
	}
	return nil
}

func (r *recorder) got() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// waitFor waits until the recorder has n messages.
func (r *recorder) waitFor(t *testing.T, n int) []Message {
	t.Helper()
	testwait.For(t, waitLong, 5*time.Millisecond, fmt.Sprintf("%d events", n), func() bool { return len(r.got()) >= n })
	return r.got()
}

// names lists the messages as app.topic:data.
func names(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.App + "." + m.Topic + ":" + string(m.Data)
	}
	return out
}

// settled waits until the durable consumer of spec has nothing pending
// or waiting for an ack: every event it had was acknowledged or given up.
func settled(t *testing.T, js jetstream.JetStream, spec Spec) *jetstream.ConsumerInfo {
	t.Helper()
	set, err := parseSources(testLayout, spec.Sources)
	if err != nil {
		t.Fatal(err)
	}
	var info *jetstream.ConsumerInfo
	testwait.For(t, waitLong, 10*time.Millisecond, "the consumer to settle", func() bool {
		c, err := js.Consumer(testCtx(t), testLayout.EventsStream(), consumerName(spec.App, set))
		if err != nil {
			return false
		}
		info = c.CachedInfo()
		return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
	return info
}
