package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/testwait"
)

// fast is a durable spec that redelivers a failed event at once.
func fast(app string, sources ...string) Spec {
	return Spec{App: app, Sources: sources, Durable: true, Backoff: []time.Duration{time.Millisecond}}
}

// TestDurableRedelivers: a failed event comes again; once handled it is
// acknowledged and never comes again.
func TestDurableRedelivers(t *testing.T) {
	url := single(t)
	pub, subNode := newNode(t, url), newNode(t, url)
	rec := &recorder{fail: func(m Message) error {
		if string(m.Data) == "flaky" && m.Delivery == 1 {
			return errors.New("not yet")
		}
		return nil
	}}
	spec := fast("audit", "cache.*")
	sub := subNode.subscribe(t, spec, rec.handle)
	seq := pub.publish(t, "cache", "updated", "flaky")
	got := rec.waitFor(t, 2)
	if got[0].Seq != seq || got[1].Seq != seq || got[0].Delivery != 1 || got[1].Delivery != 2 {
		t.Fatalf("want event %d delivered twice, got %+v", seq, got)
	}
	settled(t, subNode.js, spec)
	pub.publish(t, "cache", "updated", "next")
	got = rec.waitFor(t, 3)
	settled(t, subNode.js, spec)
	if want := []string{"cache.updated:flaky", "cache.updated:flaky", "cache.updated:next"}; !slices.Equal(names(rec.got()), want) {
		t.Errorf("got %v, want %v", names(got), want)
	}
	// The server records an ack before it confirms it, which is before
	// the subscription counts it.
	testwait.For(t, waitLong, 5*time.Millisecond, "two acks counted", func() bool { return sub.Stats().Acked == 2 })
	if st := sub.Stats(); st.Delivered != 3 || st.Failed != 1 || st.Naked != 1 || st.Acked != 2 || st.GivenUp != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestDurableGivesUp: an event that always fails is delivered MaxDeliver
// times, then given up, and the next event is handled.
func TestDurableGivesUp(t *testing.T) {
	url := single(t)
	pub, subNode := newNode(t, url), newNode(t, url)
	rec := &recorder{fail: func(m Message) error {
		if string(m.Data) == "poison" {
			return errors.New("cannot")
		}
		return nil
	}}
	spec := fast("audit", "cache.*")
	spec.MaxDeliver = 3
	sub := subNode.subscribe(t, spec, rec.handle)
	pub.publish(t, "cache", "x", "poison")
	testwait.For(t, waitLong, 5*time.Millisecond, "the give-up", func() bool { return sub.Stats().GivenUp == 1 })
	pub.publish(t, "cache", "x", "fine")
	rec.waitFor(t, 4)
	settled(t, subNode.js, spec)
	want := []string{"cache.x:poison", "cache.x:poison", "cache.x:poison", "cache.x:fine"}
	if got := names(rec.got()); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	testwait.For(t, waitLong, 5*time.Millisecond, "the ack counted", func() bool { return subNode.bus.Stats().Acked == 1 })
	if st := subNode.bus.Stats(); st.Failed != 3 || st.Naked != 2 || st.GivenUp != 1 || st.Acked != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestDurableRestart: events published while no subscription runs wait
// for the next one, on another connection, and each arrives once.
func TestDurableRestart(t *testing.T) {
	url := single(t)
	pub := newNode(t, url)
	spec := fast("audit", "cache.updated", "platform.deploy")
	first := &recorder{}
	sub, err := newNode(t, url).bus.Subscribe(testCtx(t), spec, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	closeSub(t, sub)
	// The pull request that Close ended leaves the server when its
	// unsubscribe arrives; an event sent before would wait out AckWait.
	noPullWaiting(t, pub, spec)
	const n = 100
	for i := range n {
		pub.publish(t, "cache", "updated", fmt.Sprint(i))
	}
	pub.publish(t, "cache", "deleted", "not subscribed")
	second := &recorder{}
	again := newNode(t, url)
	again.subscribe(t, spec, second.handle)
	second.waitFor(t, n)
	settled(t, again.js, spec)
	got := second.got()
	if len(got) != n || len(first.got()) != 0 {
		t.Fatalf("got %d events after the restart (want %d), %d before", len(got), n, len(first.got()))
	}
	for i, m := range got {
		if string(m.Data) != fmt.Sprint(i) || m.Delivery != 1 {
			t.Fatalf("event %d is %s delivery %d", i, m.Data, m.Delivery)
		}
	}
}

// TestCloseWaitsForHandler: Close waits for the event in flight; when its
// context ends first, the handler's context is cancelled and Close still
// returns only after the handler did.
func TestCloseWaitsForHandler(t *testing.T) {
	url := single(t)
	pub, subNode := newNode(t, url), newNode(t, url)
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprint("durable=", durable), func(t *testing.T) {
			started, returned := make(chan struct{}), make(chan struct{})
			h := func(ctx context.Context, m Message) error {
				close(started)
				defer close(returned)
				<-ctx.Done()
				return ctx.Err()
			}
			app := fmt.Sprint("close-", durable)
			sub, err := subNode.bus.Subscribe(testCtx(t), Spec{App: "audit", Sources: []string{app + ".*"}, Durable: durable}, h)
			if err != nil {
				t.Fatal(err)
			}
			pub.publish(t, app, "x", "")
			<-started
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := sub.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close: %v, want the deadline", err)
			}
			select {
			case <-returned:
			default:
				t.Error("Close returned before the handler")
			}
			if err := sub.Close(testCtx(t)); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// noPullWaiting waits until the server holds no pull request of spec's
// consumer (consumer info drops those whose inbox is gone).
func noPullWaiting(t *testing.T, n *node, spec Spec) {
	t.Helper()
	set, err := parseSources(testLayout, spec.Sources)
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, waitLong, 5*time.Millisecond, "no pull request waiting", func() bool {
		c, err := n.js.Consumer(testCtx(t), testLayout.EventsStream(), consumerName(spec.App, set))
		return err == nil && c.CachedInfo().NumWaiting == 0
	})
}
