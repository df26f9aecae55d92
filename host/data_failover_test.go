package host

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
)

// rowWriter inserts fresh ids through an app's API until stopped and records
// each one the platform acknowledged. A call that failed is not retried:
// its row may or may not exist, and nothing is promised about it.
type rowWriter struct {
	c      *client.Client
	app    string
	prefix string

	mu    sync.Mutex
	acked []string
	fails int

	stop chan struct{}
	done chan struct{}
}

func startWriter(c *client.Client, app, prefix string) *rowWriter {
	w := &rowWriter{c: c, app: app, prefix: prefix, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			id := fmt.Sprintf("%s-%05d", w.prefix, i)
			_, err := w.c.Call(context.Background(), w.app, "insert", []byte(id), client.CallOptions{Timeout: 10 * time.Second})
			w.mu.Lock()
			if err == nil {
				w.acked = append(w.acked, id)
			} else {
				w.fails++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *rowWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *rowWriter) finish() (acked []string, fails int) {
	close(w.stop)
	<-w.done
	return w.acked, w.fails
}

// TestDBFailoverKeepsAcknowledgedWrites writes rows through an app's API,
// kills the active abruptly mid-stream, and checks every acknowledged row
// on the new active: none may be lost with durability sync; with async the
// loss is reported. Ten trials each.
func TestDBFailoverKeepsAcknowledgedWrites(t *testing.T) {
	for _, durability := range []string{"sync", "async"} {
		t.Run(durability, func(t *testing.T) {
			p := newPlatform(t, 3, 3)
			c := connect(t, p.host("n1"))
			app := "ledger-" + durability
			deploy(t, c, testManifest(t, app, "limits: {instances: 2}\ndata: {db: {durability: "+durability+"}}\n"), testapp(t))
			var lost, total int
			for trial := range 10 {
				l, n := failoverTrial(t, p, app, trial)
				lost, total = lost+l, total+n
				if durability == "sync" && l > 0 {
					t.Fatalf("trial %d: %d acknowledged rows lost with durability sync", trial, l)
				}
			}
			t.Logf("%s: %d of %d acknowledged rows lost over 10 failovers", durability, lost, total)
			checkFencing(t, p.activations(app))
		})
	}
}

// failoverTrial runs one kill of the active under writes and returns how
// many acknowledged rows are missing afterwards, of how many.
func failoverTrial(t *testing.T, p *platform, app string, trial int) (lost, acked int) {
	t.Helper()
	victim := p.active(app, time.Time{})
	caller := connect(t, p.host(other(victim)))
	w := startWriter(caller, app, fmt.Sprintf("t%02d", trial))
	waitFor(t, 30*time.Second, "writes before the kill", func() bool { return w.count() >= 20 })
	lag := p.host(victim).apps.get(app).db.Status().Lag
	killed := time.Now()
	before := w.count()
	p.kill(victim)
	next := p.active(app, killed)
	waitFor(t, 30*time.Second, "writes after the failover", func() bool { return w.count() >= before+20 })
	ids, fails := w.finish()
	got := lines(mustCall(t, caller, app, "ids", ""))
	for _, id := range ids {
		if !slices.Contains(got, id) {
			lost++
		}
	}
	t.Logf("trial %d: %s killed (replica lag %v), %s active after %v; %d acked, %d failed calls, %d acked rows missing",
		trial, victim, lag, next, time.Since(killed).Round(time.Millisecond), len(ids), fails, lost)
	p.start(victim)
	return lost, len(ids)
}

// TestDBFormerActiveCannotWrite cuts the active off from NATS: once a
// standby took over, the former active's database refuses writes, and
// nothing it tried reaches the new active's rows.
func TestDBFormerActiveCannotWrite(t *testing.T) {
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "ledger", "data: {db: {durability: sync}}\n"), testapp(t))
	victim := p.active("ledger", time.Time{})
	caller := connect(t, p.host(other(victim)))
	mustCall(t, caller, "ledger", "insert", "before")
	stale := p.host(victim).apps.get("ledger")
	cut := time.Now()
	p.links[victim].Cut()
	next := p.active("ledger", cut)
	if next == victim {
		t.Fatalf("%s still active after its link was cut", victim)
	}
	_, err := stale.plug.Call(context.Background(), "insert", []byte("stale"))
	if abi.StatusOf(err) != abi.StatusUnavailable {
		t.Errorf("write on the cut-off former active: %v, want unavailable", err)
	}
	mustCall(t, caller, "ledger", "insert", "after")
	p.links[victim].Restore()
	waitFor(t, 30*time.Second, "former active back as a standby", func() bool {
		return !stale.role.isActive()
	})
	if got := mustCall(t, caller, "ledger", "ids", ""); got != "after\nbefore\n" {
		t.Errorf("ids = %q, want after and before only", got)
	}
	checkFencing(t, p.activations("ledger"))
}
