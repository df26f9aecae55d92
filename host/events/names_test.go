package events

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
)

func TestParseSources(t *testing.T) {
	set, err := parseSources(testLayout, []string{"other.updated", "self.*", "self.x", "platform.leader",
		"other.deleted", "platform.node_join", "other.updated"})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"other.deleted", "other.updated", "platform.leader", "platform.node_join", "self.*"}
	if !slices.Equal(set.names, wantNames) {
		t.Errorf("names %v, want %v", set.names, wantNames)
	}
	wantSubjects := []string{"gc.test.ev.other.deleted", "gc.test.ev.other.updated", "gc.test.ev.platform.leader",
		"gc.test.ev.platform.node_join", "gc.test.ev.self.*"}
	if !slices.Equal(set.subjects, wantSubjects) {
		t.Errorf("subjects %v, want %v", set.subjects, wantSubjects)
	}
	all, err := parseSources(testLayout, []string{"platform.deploy", "platform.*"})
	if err != nil || !slices.Equal(all.subjects, []string{"gc.test.ev.platform.*"}) {
		t.Errorf("platform.* does not cover platform.deploy: %v, %v", all.subjects, err)
	}
}

func TestConsumerName(t *testing.T) {
	name := func(app string, src ...string) string {
		set, err := parseSources(testLayout, src)
		if err != nil {
			t.Fatal(err)
		}
		return consumerName(app, set)
	}
	a := name("audit", "cache.*", "platform.leader")
	if b := name("audit", "platform.leader", "cache.*", "cache.x"); a != b {
		t.Errorf("same set, different names: %s, %s", a, b)
	}
	for _, other := range []string{name("audit", "cache.*"), name("audit2", "cache.*", "platform.leader"),
		name("audit", "cache.x", "platform.leader")} {
		if other == a {
			t.Errorf("different sets share the name %s", a)
		}
	}
	if len(a) > 64 || strings.ContainsAny(a, ".*> \t") {
		t.Errorf("%q cannot name a consumer", a)
	}
}

func TestSplitSubject(t *testing.T) {
	p := subjectPrefix(testLayout)
	app, topic, ok := splitSubject(p, testLayout.EventSubject("cache", "updated"))
	if !ok || app != "cache" || topic != "updated" {
		t.Errorf("got %q %q %v", app, topic, ok)
	}
	app, topic, ok = splitSubject(p, testLayout.EventSubject(layout.PlatformApp, "leader"))
	if !ok || app != layout.PlatformApp || topic != "leader" {
		t.Errorf("got %q %q %v", app, topic, ok)
	}
	for _, s := range []string{"gc.test.ev.cache", "gc.test.ev.a.b.c", "gc.other.ev.a.b", "gc.test.ev..b", "gc.test.ev.a."} {
		if _, _, ok := splitSubject(p, s); ok {
			t.Errorf("splitSubject(%q) ok", s)
		}
	}
}

func TestStreamConfig(t *testing.T) {
	c := StreamConfig(testLayout, 3, time.Hour)
	if c.Name != testLayout.EventsStream() || !slices.Equal(c.Subjects, []string{testLayout.EventsSubjects()}) ||
		c.Replicas != 3 || c.MaxAge != time.Hour || c.Duplicates != DuplicateWindow || c.Retention != jetstream.LimitsPolicy {
		t.Errorf("unexpected %+v", c)
	}
	c = StreamConfig(testLayout, 0, 0)
	if c.Replicas != 1 || c.MaxAge != DefaultMaxAge {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c = StreamConfig(testLayout, 1, time.Minute); c.Duplicates != time.Minute {
		t.Errorf("duplicate window %s over max age %s", c.Duplicates, c.MaxAge)
	}
}

func TestSpecDefaults(t *testing.T) {
	s := Spec{}.withDefaults()
	if s.AckWait != DefaultAckWait || s.MaxDeliver != DefaultMaxDeliver || s.Inactive != DefaultInactive || s.Logger == nil {
		t.Errorf("defaults not applied: %+v", s)
	}
	s.Backoff = []time.Duration{time.Second, time.Minute}
	for n, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: time.Minute, 9: time.Minute} {
		if got := s.backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestErrInvalid(t *testing.T) {
	if !errors.Is(checkTopic("a.b"), ErrInvalid) || !errors.Is(checkTopic("a.b"), abi.ErrInvalid) {
		t.Error("a refused topic is not ErrInvalid and abi.ErrInvalid")
	}
}
