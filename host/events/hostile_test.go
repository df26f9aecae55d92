package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// TestHostileNames: names that could widen or leave a subject are
// refused before anything reaches NATS.
func TestHostileNames(t *testing.T) {
	url := single(t)
	n := newNode(t, url)
	ctx := testCtx(t)
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, abi.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", what, err)
		}
	}
	for _, topic := range []string{"", "a.b", "*", ">", "a.*", "a.>", "a b", "a\x00", ".", "a.", strings.Repeat("t", 65)} {
		_, err := n.bus.Publish(ctx, "cache", topic, nil)
		refused("topic "+topic, err)
	}
	for _, app := range []string{"", "platform", "Cache", "a.b", "*", ">", "a b"} {
		_, err := n.bus.Publish(ctx, app, "updated", nil)
		refused("app "+app, err)
		_, err = n.bus.Subscribe(ctx, Spec{App: app, Sources: []string{"cache.*"}}, (&recorder{}).handle)
		refused("subscriber "+app, err)
	}
	for _, kind := range []string{"", "foo", "*", ">", "leader.x", "node_join.>"} {
		refused("platform event "+kind, n.bus.PublishPlatform(ctx, kind, nil, ""))
	}
	for _, src := range []string{"", ">", "*", "*.*", "*.updated", "cache", "cache.>", "cache.a.b", "cache.a*",
		"platform.foo", "platform.>", "Cache.x", "cache. x"} {
		for _, durable := range []bool{false, true} {
			_, err := n.bus.Subscribe(ctx, Spec{App: "audit", Sources: []string{"cache.ok", src}, Durable: durable}, (&recorder{}).handle)
			refused("source "+src, err)
		}
	}
	_, err := n.bus.Subscribe(ctx, Spec{App: "audit"}, (&recorder{}).handle)
	refused("no sources", err)
	_, err = n.bus.Subscribe(ctx, Spec{App: "audit", Sources: []string{"cache.*"}}, nil)
	refused("no handler", err)

	st, err := n.js.Stream(ctx, testLayout.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	if info := st.CachedInfo(); info.State.Msgs != 0 || info.State.Consumers != 0 {
		t.Errorf("refusals left %d events and %d consumers", info.State.Msgs, info.State.Consumers)
	}
}

// TestEnsure: a second Ensure binds the same stream; a changed age
// updates it.
func TestEnsure(t *testing.T) {
	url := single(t) // ensures with one hour
	n := newNode(t, url)
	st, err := Ensure(testCtx(t), n.js, StreamConfig(testLayout, 1, time.Hour))
	if err != nil || st.CachedInfo().Config.MaxAge != time.Hour {
		t.Fatalf("second Ensure: %v", err)
	}
	st, err = Ensure(testCtx(t), n.js, StreamConfig(testLayout, 1, 2*time.Hour))
	if err != nil || st.CachedInfo().Config.MaxAge != 2*time.Hour {
		t.Fatalf("Ensure with a longer age: %v, %+v", err, st.CachedInfo().Config)
	}
}
