package events

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/layout"
)

func TestRoundTrip(t *testing.T) {
	url := single(t)
	pub, subNode := newNode(t, url), newNode(t, url)
	rec := &recorder{}
	subNode.subscribe(t, Spec{App: "audit", Sources: []string{"cache.updated"}}, rec.handle)
	before := time.Now()
	seq := pub.publish(t, "cache", "updated", "hello")
	m := rec.waitFor(t, 1)[0]
	if m.App != "cache" || m.Topic != "updated" || string(m.Data) != "hello" || m.Seq != seq || m.Delivery != 1 {
		t.Errorf("got %+v, want cache.updated hello at %d", m, seq)
	}
	if m.Time.Before(before.Add(-time.Second)) || m.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("time %s not around %s", m.Time, before)
	}
	if st := pub.bus.Stats(); st.Published != 1 {
		t.Errorf("publisher stats %+v", st)
	}
	if st := subNode.bus.Stats(); st.Delivered != 1 || st.Acked != 0 {
		t.Errorf("subscriber stats %+v", st)
	}
}

// TestLiveSeesEverythingAfterSubscribe: two live subscriptions (two
// nodes) each get every event published after Subscribe returned, in
// order, and nothing from before or from topics they did not name.
func TestLiveSeesEverythingAfterSubscribe(t *testing.T) {
	url := single(t)
	pub := newNode(t, url)
	pub.publish(t, "other", "updated", "before")
	spec := Spec{App: "self", Sources: []string{"other.updated", "self.*"}}
	recs := []*recorder{{}, {}}
	for _, r := range recs {
		newNode(t, url).subscribe(t, spec, r.handle)
	}
	var want []string
	for i := range 200 {
		src := [][2]string{{"other", "updated"}, {"other", "deleted"}, {"third", "updated"}, {"self", "x"}, {"self", "y"}}[i%5]
		app, topic := src[0], src[1]
		data := fmt.Sprint(i)
		pub.publish(t, app, topic, data)
		if app == "self" || topic == "updated" && app == "other" {
			want = append(want, app+"."+topic+":"+data)
		}
	}
	pub.publish(t, "other", "updated", "last") // after every other, in stream order
	want = append(want, "other.updated:last")
	for i, r := range recs {
		got := names(r.waitFor(t, len(want)))
		if !slices.Equal(got, want) {
			t.Errorf("subscriber %d got %d events %v\nwant %d %v", i, len(got), got, len(want), want)
		}
	}
}

func TestPlatformEvents(t *testing.T) {
	url := single(t)
	hosts := []*node{newNode(t, url), newNode(t, url), newNode(t, url)}
	all, leader := &recorder{}, &recorder{}
	sub := newNode(t, url)
	sub.subscribe(t, Spec{App: "audit", Sources: []string{"platform.*"}}, all.handle)
	sub.subscribe(t, Spec{App: "audit", Sources: []string{"platform.leader"}}, leader.handle)
	ctx := testCtx(t)
	for _, h := range hosts { // three hosts saw node n4 join
		if err := h.bus.PublishPlatform(ctx, "node_join", []byte("n4"), "join.n4.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := hosts[0].bus.PublishPlatform(ctx, "node_join", []byte("n4"), "join.n4.2"); err != nil {
		t.Fatal(err) // another fact: joined again
	}
	if err := hosts[1].bus.PublishPlatform(ctx, "leader", []byte("n2"), ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"platform.node_join:n4", "platform.node_join:n4", "platform.leader:n2"}
	if got := names(all.waitFor(t, 3)); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := names(leader.waitFor(t, 1)); !slices.Equal(got, want[2:]) || len(all.got()) != 3 {
		t.Errorf("leader subscriber got %v; all got %v", got, names(all.got()))
	}
	var dup uint64
	for _, h := range hosts {
		dup += h.bus.Stats().Duplicates
	}
	if dup != 2 {
		t.Errorf("%d duplicates counted, want 2", dup)
	}
	if err := hosts[0].bus.PublishPlatform(ctx, "node_joined", nil, ""); err == nil {
		t.Error("an unknown platform event kind was published")
	}
	if m := all.got()[0]; m.App != layout.PlatformApp || m.Topic != "node_join" {
		t.Errorf("platform event read as %s.%s", m.App, m.Topic)
	}
}
