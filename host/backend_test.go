package host

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/host/backend"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/manifest"
)

// backendScript runs until a file named after its node appears in dir,
// then exits: so a test breaks the backend of one chosen node, and every
// restart there fails at once. It writes its pid where the test finds it.
const backendScript = `echo $$ > "$MARKS/$GOCLUSTER_NODE.pid"
echo "backend of $GOCLUSTER_APP on $GOCLUSTER_NODE, token $GOCLUSTER_TOKEN"
while [ ! -e "$MARKS/$GOCLUSTER_NODE.bad" ]; do sleep 0.05; done
echo "told to fail" >&2
exit 3`

func backendManifestYAML(marks string, restarts int) string {
	return fmt.Sprintf(`mode: singleton
pattern: active-passive
limits: {instances: 1}
backend:
  kind: process
  command: /bin/sh
  args: ["-c", %q]
  env: {MARKS: %q}
  restarts: %d
  restart_window: 1m
  stop_timeout: 2s
`, backendScript, marks, restarts)
}

// instance is app's status on node as `go-cluster status` shows it.
func instance(t testing.TB, c *client.Client, app, node string) (client.Instance, bool) {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		return client.Instance{}, false
	}
	for _, a := range st.Apps {
		if a.App != app {
			continue
		}
		for _, in := range a.Instances {
			if in.Node == node {
				return in, true
			}
		}
	}
	return client.Instance{}, false
}

// TestBackendFailureStepsDown: the backend runs on the active only; when
// it keeps failing past its restart budget, that node gives up the role
// and another node takes over with a healthy backend. Restarts and the
// failure show in status, in the metrics and as backend platform events.
func TestBackendFailureStepsDown(t *testing.T) {
	marks := t.TempDir()
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "svc", backendManifestYAML(marks, 1)), testapp(t))
	first := p.active("svc", time.Time{})
	waitFor(t, 30*time.Second, "the backend healthy in status", func() bool {
		in, ok := instance(t, c, "svc", first)
		return ok && in.Backend != nil && in.Backend.State == "healthy" && in.Backend.PID != 0
	})
	for node := range p.hosts {
		if node != first {
			if _, err := os.Stat(filepath.Join(marks, node+".pid")); err == nil {
				t.Fatalf("a backend ran on standby %s", node)
			}
		}
	}
	broke := time.Now()
	if err := os.WriteFile(filepath.Join(marks, first+".bad"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	next := p.active("svc", broke)
	if next == first {
		t.Fatalf("%s stayed active with a failing backend", first)
	}
	waitFor(t, 30*time.Second, next+"'s backend healthy", func() bool {
		in, ok := instance(t, c, "svc", next)
		return ok && in.Backend != nil && in.Backend.State == "healthy"
	})
	waitFor(t, 30*time.Second, first+" reports its backend failed", func() bool {
		in, ok := instance(t, c, "svc", first)
		return ok && in.Role == "standby" && in.Backend != nil && in.Backend.State == "failed" && in.Backend.Restarts == 1
	})
	pid := readPID(t, filepath.Join(marks, first+".pid"))
	if processAlive(pid) {
		t.Fatalf("the failed backend (pid %d) still runs on %s", pid, first)
	}
	if got := metricValue(t, p.host(first), "gocluster_backend_failures_total"); got != 1 {
		t.Fatalf("%s: gocluster_backend_failures_total = %v, want 1", first, got)
	}
	kinds := backendEvents(t, p, first)
	for _, want := range []string{"started", "healthy", "exited", "restarted", "failed"} {
		if !kinds[want] {
			t.Errorf("no %q backend event from %s (have %v)", want, first, kinds)
		}
	}
	checkFencing(t, p.activations("svc"))
}

// backendEvents reads the backend platform events node published, by event.
func backendEvents(t testing.TB, p *platform, node string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	platformEvents(t, p.host(node), manifest.EventBackend, func(e BackendEvent) bool {
		if e.Node == node {
			seen[e.Event] = true
		}
		return seen[backend.EventFailed]
	})
	return seen
}

// platformEvents reads the platform events of kind in the stream through
// h, each decoded as T, until done says it saw enough.
func platformEvents[T any](t testing.TB, h *Host, kind string, done func(T) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitFor(t, 20*time.Second, kind+" events in the stream", func() bool {
		cons, err := h.js.OrderedConsumer(ctx, h.layout.EventsStream(), jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{h.layout.EventSubject(layout.PlatformApp, kind)}})
		if err != nil {
			return false
		}
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return false
		}
		found := false
		for msg := range batch.Messages() {
			var e T
			if json.Unmarshal(msg.Data(), &e) == nil && done(e) {
				found = true
			}
		}
		return found
	})
}

func readPID(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b[:len(b)-1]))
	if err != nil {
		t.Fatalf("pid file %s: %v", path, err)
	}
	return pid
}

// processAlive reports whether pid still runs (and is not a zombie).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// metricValue sums every series of the named metric in h's registry.
func metricValue(t testing.TB, h *Host, name string) float64 {
	t.Helper()
	mfs, err := h.cfg.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}
