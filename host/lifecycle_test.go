package host

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

type guestEvents struct {
	Events []string `json:"events"`
	Role   string   `json:"role"`
}

func eventsOn(t testing.TB, p *platform, node, app string) guestEvents {
	t.Helper()
	c := connect(t, p.host(node))
	out := mustCall(t, c, app, "events", "")
	var ev guestEvents
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("events %q: %v", out, err)
	}
	return ev
}

// TestLifecycleCalls checks guests hear of their role and of nodes
// joining and leaving: the active of an active-passive app gets on_active
// after on_start, and every instance hears member join and leave.
func TestLifecycleCalls(t *testing.T) {
	p := newPlatform(t, 1, 2)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "life", "limits: {instances: 1}\n"), testapp(t))
	active := p.active("life", time.Time{})
	ev := eventsOn(t, p, active, "life")
	if len(ev.Events) < 2 || ev.Events[0] != "start" || !slices.Contains(ev.Events, "active") || ev.Role != "active" {
		t.Fatalf("the active's events = %+v", ev)
	}

	p.cfgs["n3"] = withNode(p.cfgs["n1"], t, "n3")
	p.links["n3"] = p.links["n1"]
	p.start("n3")
	waitFor(t, 30*time.Second, "member_join n3 on the active", func() bool {
		return slices.Contains(eventsOn(t, p, active, "life").Events, "member_join n3")
	})
	p.kill("n3")
	waitFor(t, 30*time.Second, "member_leave n3 on the active", func() bool {
		return slices.Contains(eventsOn(t, p, active, "life").Events, "member_leave n3")
	})
	for _, e := range eventsOn(t, p, active, "life").Events {
		if strings.HasPrefix(e, "overlap") {
			t.Errorf("an event overlapped a call: %s", e)
		}
	}
}

func withNode(cfg Config, t testing.TB, node string) Config {
	cfg.NodeID = node
	cfg.DataDir = t.TempDir()
	return cfg
}
