package host

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestKeepsAppsWhileNATSUnreachable cuts a host off NATS for a while
// (shorter than the membership TTL): it keeps its app loaded, never
// tears it down on not knowing, and serves again when the link returns.
func TestKeepsAppsWhileNATSUnreachable(t *testing.T) {
	p := newPlatform(t, 1, 2)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "web", "mode: spread\npattern: pool\nlimits: {instances: 1}\n"), testapp(t))
	waitRunningOn(t, p, "web", "n1", "n2")
	h := p.host("n2")
	loads := func() float64 {
		var m dto.Metric
		if err := h.metrics.loads.WithLabelValues("web", "ok").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before := loads()

	p.links["n2"].Cut()
	waitFor(t, 10*time.Second, "n2 to notice the cut", func() bool { return !h.nc.IsConnected() })
	cut := time.Now()
	waitFor(t, 10*time.Second, "two seconds without NATS", func() bool { return time.Since(cut) > 2*time.Second })
	p.links["n2"].Restore()
	waitFor(t, 30*time.Second, "n2 to reconnect", h.nc.IsConnected)

	c2 := connect(t, h)
	if got := mustCall(t, c2, "web", "echo", "back"); got != "back" {
		t.Fatalf("echo = %q", got)
	}
	if after := loads(); after != before {
		t.Fatalf("n2 loaded web %v times during the cut; it must keep what runs", after-before)
	}
}
