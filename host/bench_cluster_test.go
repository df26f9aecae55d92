package host

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/registry"
)

// The cluster benchmarks time what an operator of a cluster waits for:
// an active-passive app failing over (BenchmarkFailover) and the scheduler
// moving apps off a dead node (BenchmarkSchedulerConvergence). Each
// iteration is one trial on a platform of hosts on a 3-server NATS
// cluster; each reports percentiles of its trials in milliseconds.
//
// A trial takes seconds and the platform tens of seconds to set up, and
// one trial says little, so they run only when asked: with -benchtime Nx
// for N > 1, or with GOCLUSTER_BENCH_CLUSTER=1 (then -benchtime decides
// the number of trials as usual). A run of every benchmark once
// (-benchtime 1x, as `make test` does) or by time (the default, as
// `make bench` does) skips them. For the numbers in BENCHMARKS.md:
//
//	go test -run '^$' -bench 'Failover|SchedulerConvergence' -benchtime 20x ./host/

// envBenchCluster, set to anything but "" or "0", runs the cluster
// benchmarks whatever -benchtime says.
const envBenchCluster = "GOCLUSTER_BENCH_CLUSTER"

func skipUnlessClusterBench(b *testing.B) {
	if v := os.Getenv(envBenchCluster); v != "" && v != "0" {
		return
	}
	if f := flag.Lookup("test.benchtime"); f != nil {
		if n, ok := strings.CutSuffix(f.Value.String(), "x"); ok {
			if i, err := strconv.Atoi(n); err == nil && i > 1 {
				return
			}
		}
	}
	b.Skipf("a cluster benchmark: run it with -benchtime 20x, or set %s=1", envBenchCluster)
}

// durations are the results of a benchmark's trials.
type durations []time.Duration

// pct is the p-th percentile by nearest rank: of 20 trials, p50 is the
// 10th smallest and p99 the largest.
func (d durations) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (d durations) mean() time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report reports p50, p99 and mean as metrics whose units start with prefix.
func (d durations) report(b *testing.B, prefix string) {
	if len(d) == 0 {
		return
	}
	b.ReportMetric(ms(d.pct(0.50)), prefix+"p50-ms")
	b.ReportMetric(ms(d.pct(0.99)), prefix+"p99-ms")
	b.ReportMetric(ms(d.mean()), prefix+"mean-ms")
}

func (d durations) String() string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = strconv.FormatFloat(ms(x), 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}

// clusterView is the platform's placements and the nodes' reports as an
// observer's watches last delivered them.
type clusterView struct {
	placements map[string]Placement
	reports    map[string]registry.Status // by layout.StatusKey
	left       map[string]time.Time       // when each node's membership last ended, as seen
}

// report is node's report on app, if any.
func (v *clusterView) report(app, node string) (registry.Status, bool) {
	r, ok := v.reports[layout.StatusKey(app, node)]
	return r, ok
}

// observer follows the placements and status buckets on a connection of
// its own, so a benchmark waits on their changes instead of scanning the
// buckets over and over.
type observer struct {
	mu   sync.Mutex
	view clusterView
	kick chan struct{}
	js   jetstream.JetStream
	lay  layout.Layout
}

func newObserver(b *testing.B, url string, lay layout.Layout) *observer {
	b.Helper()
	js, err := jetstream.New(natstest.Connect(b, url))
	if err != nil {
		b.Fatal(err)
	}
	o := &observer{view: clusterView{placements: map[string]Placement{}, reports: map[string]registry.Status{}, left: map[string]time.Time{}},
		kick: make(chan struct{}, 1), js: js, lay: lay}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	var synced sync.WaitGroup
	follow := func(bucket string, apply func(jetstream.KeyValueEntry)) {
		kv, err := js.KeyValue(ctx, bucket)
		if err != nil {
			b.Fatalf("bucket %s: %v", bucket, err)
		}
		w, err := kv.WatchAll(ctx)
		if err != nil {
			b.Fatalf("watch %s: %v", bucket, err)
		}
		synced.Add(1)
		go func() {
			defer func() { _ = w.Stop() }()
			first := true
			for e := range w.Updates() {
				if e == nil {
					if first {
						first = false
						synced.Done()
					}
					continue
				}
				o.mu.Lock()
				apply(e)
				o.mu.Unlock()
				select {
				case o.kick <- struct{}{}:
				default:
				}
			}
		}()
	}
	follow(lay.PlacementsBucket(), func(e jetstream.KeyValueEntry) {
		var p Placement
		if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &p) != nil {
			delete(o.view.placements, e.Key())
			return
		}
		o.view.placements[e.Key()] = p
	})
	follow(lay.StatusBucket(), func(e jetstream.KeyValueEntry) {
		var st registry.Status
		if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &st) != nil {
			delete(o.view.reports, e.Key())
			return
		}
		o.view.reports[e.Key()] = st
	})
	follow(lay.NodesBucket(), func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			o.view.left[e.Key()] = time.Now()
		}
	})
	synced.Wait()
	return o
}

// wait returns the moment cond first held (returned ""), checking it on
// every change the watches deliver and every millisecond (for conditions
// that also read the hosts' own records), and fails b after timeout with
// the last reason cond gave.
func (o *observer) wait(b *testing.B, timeout time.Duration, what string, cond func(*clusterView) string) time.Time {
	b.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		o.mu.Lock()
		why := cond(&o.view)
		o.mu.Unlock()
		if why == "" {
			return time.Now()
		}
		select {
		case <-o.kick:
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("timed out after %s waiting for %s: %s", timeout, what, why)
		}
	}
}

// schedulerNode is the node holding the scheduler lease now, "" if none.
func (o *observer) schedulerNode(b *testing.B) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := o.js.KeyValue(ctx, o.lay.LeasesBucket())
	if err != nil {
		b.Fatal(err)
	}
	info, err := lease.Current(ctx, kv, layout.SchedulerLeaseKey)
	if err != nil {
		return ""
	}
	return string(info.Value)
}

// natsURL lists every server of the platform's NATS cluster.
func (p *platform) natsURL() string {
	urls := make([]string, len(p.servers))
	for i, s := range p.servers {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}

func connectURL(b *testing.B, url string) *client.Client {
	b.Helper()
	c, err := client.Connect(context.Background(), client.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// haApp is the active-passive app of BenchmarkFailover.
const haApp = "ha"

// failoverBench is a 3-host platform running haApp, with a client on each
// node's link to NATS (a link outlives its host, so a client on a killed
// node's link still works, but a trial calls through a surviving one).
type failoverBench struct {
	p       *platform
	obs     *observer
	lay     layout.Layout
	callers map[string]*client.Client
	started map[string]time.Time // when each node's current host began to start
}

func newFailoverBench(b *testing.B, wasm []byte) *failoverBench {
	p := newPlatform(b, 3, 3)
	fb := &failoverBench{p: p, lay: p.host("n1").layout, callers: map[string]*client.Client{}, started: map[string]time.Time{}}
	for node, link := range p.links {
		fb.callers[node] = connectURL(b, link.URL())
	}
	deploy(b, fb.callers["n1"], testManifest(b, haApp, "limits: {instances: 1}\n"), wasm)
	fb.obs = newObserver(b, p.natsURL(), fb.lay)
	return fb
}

// live is the open term of haApp on a live host, if there is exactly one.
func (fb *failoverBench) live() (Activation, bool) {
	var open []Activation
	for _, a := range fb.p.activations(haApp) {
		if a.Ended.IsZero() && fb.p.host(a.Node) != nil {
			open = append(open, a)
		}
	}
	if len(open) != 1 {
		return Activation{}, false
	}
	return open[0], true
}

// settle waits until the platform is at rest and returns the active node:
// haApp is placed on all three nodes, one live host is active, every other
// node reports itself a running standby since its host started, and no
// term began or ended within the step-down cool-down plus a margin. A
// standby's election is not visible from outside its role, but its
// timers are known: a node that stepped down (also one handing the role
// to the node the scheduler now prefers, after a crash) sits out the
// cool-down, and a standby that saw the lease free waits out its head
// start and tries once before it watches the new term.
func (fb *failoverBench) settle(b *testing.B) string {
	b.Helper()
	const quiet = stepdownCooldown + preferHeadStart + 250*time.Millisecond
	var active string
	fb.obs.wait(b, 60*time.Second, haApp+" at rest", func(v *clusterView) string {
		pl, ok := v.placements[haApp]
		if !ok || len(pl.Nodes) != 3 {
			return fmt.Sprintf("placed on %v", pl.Nodes)
		}
		act, ok := fb.live()
		if !ok {
			return "no single live active"
		}
		for _, node := range pl.Nodes {
			if fb.p.host(node) == nil {
				return node + " is down"
			}
			if node == act.Node {
				continue
			}
			r, ok := v.report(haApp, node)
			if !ok || r.State != registry.StateRunning || r.Role != registry.RoleStandby || r.At.Before(fb.started[node]) {
				return fmt.Sprintf("%s reports %+v", node, r)
			}
		}
		for _, a := range fb.p.activations(haApp) {
			if time.Since(a.Began) < quiet || !a.Ended.IsZero() && time.Since(a.Ended) < quiet {
				return "the active role changed hands within " + quiet.String()
			}
		}
		active = act.Node
		return ""
	})
	return active
}

// firstServed calls haApp's echo through c every millisecond, one call
// at a time as a client would, until a call that counts succeeds, and
// returns when it answered and the calls that failed on the way. A call
// that reaches a standby while no node is active waits in the standby's
// forwarding until one is, or until the forwarding times out (the app's
// timeout plus a second).
func (fb *failoverBench) firstServed(b *testing.B, c *client.Client, counts func(began time.Time) bool) (time.Time, []error) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var failed []error
	for time.Now().Before(deadline) {
		began := time.Now()
		out, err := c.Call(context.Background(), haApp, "echo", []byte("x"), client.CallOptions{Timeout: 10 * time.Second})
		if err == nil && string(out) == "x" && counts(began) {
			return time.Now(), failed
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("after %v: %w", time.Since(began).Round(time.Millisecond), err))
		}
		<-tick.C
	}
	b.Fatalf("%s never served: %v", haApp, failed)
	return time.Time{}, nil
}

// failures counts the failed calls of a benchmark's trials.
type failures struct {
	trials, calls int
	first         error
}

func (f *failures) add(errs []error) {
	if len(errs) > 0 {
		f.trials++
		f.calls += len(errs)
		if f.first == nil {
			f.first = errs[0]
		}
	}
}

func (f *failures) report(b *testing.B, trials int) {
	b.ReportMetric(float64(f.calls)/float64(trials), "failed-calls/op")
	if f.first != nil {
		b.Logf("%d of %d trials had failed calls (%d in all), the first: %v", f.trials, trials, f.calls, f.first)
	}
}

// termAfter is the first term of haApp that began after since.
func (fb *failoverBench) termAfter(b *testing.B, since time.Time) Activation {
	b.Helper()
	for _, a := range fb.p.activations(haApp) {
		if a.Began.After(since) {
			return a
		}
	}
	b.Fatalf("no term of %s began after the trial started", haApp)
	return Activation{}
}

func otherNode(nodes []string, not string) string {
	for _, n := range nodes {
		if n != not {
			return n
		}
	}
	return ""
}

var haNodes = []string{"n1", "n2", "n3"}

// BenchmarkFailover times an active-passive app's failover on three hosts
// (three NATS servers, the app on all three with one instance each).
//
// crash kills the active host abruptly and measures from the kill to the
// first call of echo answered through a surviving node; the killed host
// is then started again, outside the timer, and the next trial begins
// once it is a standby and the platform is at rest.
//
// graceful sends the step-down request (`go-cluster stepdown`) and
// measures from it to the first call answered by the next active (a call
// begun after the old term ended). A node that steps down stays out of the
// next election for a cool-down, so the trials alternate: from the
// preferred node to a standby that is not preferred (which waits out the
// head start given to a preferred one), and back to the preferred node.
// Each kind is reported too.
//
// The unprefixed p50, p99 and mean are to the first call served. Both
// also report when the new term began on its host ("active-": the lease
// won, on_active done, the active subject subscribed), which the first
// call served trails by the standbys' forwarding retry, and the calls that
// failed on the way ("failed-calls/op").
func BenchmarkFailover(b *testing.B) {
	skipUnlessClusterBench(b)
	wasm := testapp(b)
	b.Run("crash", func(b *testing.B) {
		fb := newFailoverBench(b, wasm)
		victim := fb.settle(b)
		var serve, active durations
		var failed failures
		extra := 0 // terms after the first one of a trial: hand-overs to the new preferred node
		for b.Loop() {
			caller := fb.callers[otherNode(haNodes, victim)]
			killed := time.Now()
			fb.p.kill(victim)
			served, errs := fb.firstServed(b, caller, func(time.Time) bool { return true })
			b.StopTimer()
			failed.add(errs)
			serve = append(serve, served.Sub(killed))
			next := fb.termAfter(b, killed)
			if next.Node == victim {
				b.Fatalf("killed %s is active again", victim)
			}
			active = append(active, next.Began.Sub(killed))
			fb.started[victim] = time.Now()
			fb.p.start(victim)
			victim = fb.settle(b)
			for _, a := range fb.p.activations(haApp) {
				if a.Began.After(next.Began) {
					extra++
				}
			}
			b.StartTimer()
		}
		checkFencing(b, fb.p.activations(haApp))
		serve.report(b, "")
		active.report(b, "active-")
		b.ReportMetric(float64(extra)/float64(len(serve)), "handovers/op")
		failed.report(b, len(serve))
		b.Logf("crash, kill -> first call served (ms): %v", serve)
		b.Logf("crash, kill -> new term (ms): %v; %d of %d trials handed the role over again once the scheduler re-placed it", active, extra, len(serve))
	})
	b.Run("graceful", func(b *testing.B) {
		fb := newFailoverBench(b, wasm)
		old := fb.settle(b)
		var serve, active, fromPreferred, toPreferred durations
		var failed failures
		for b.Loop() {
			b.StopTimer()
			var cur Activation
			var preferredStandby bool
			fb.obs.wait(b, time.Second, "the active's term", func(v *clusterView) string {
				var ok bool
				cur, ok = fb.live()
				pl := v.placements[haApp]
				preferredStandby = len(pl.Nodes) > 0 && pl.Nodes[0] != old
				if !ok {
					return "no single live active"
				}
				return ""
			})
			caller := fb.callers[otherNode(haNodes, old)]
			ended := func(began time.Time) bool {
				for _, a := range fb.p.host(old).Activations() {
					if a.Token == cur.Token {
						return !a.Ended.IsZero() && a.Ended.Before(began)
					}
				}
				return false
			}
			b.StartTimer()
			start := time.Now()
			resp, err := caller.Conn().Request(fb.lay.StepdownSubject(haApp), nil, 5*time.Second)
			if err != nil {
				b.Fatalf("step-down request: %v", err)
			}
			served, errs := fb.firstServed(b, caller, ended)
			b.StopTimer()
			failed.add(errs)
			if string(resp.Data) != old {
				b.Fatalf("step-down answered by %q, want the active %s", resp.Data, old)
			}
			d := served.Sub(start)
			serve = append(serve, d)
			next := fb.termAfter(b, start)
			if next.Node == old {
				b.Fatalf("%s stepped down and is active again", old)
			}
			active = append(active, next.Began.Sub(start))
			if preferredStandby {
				toPreferred = append(toPreferred, d)
			} else {
				fromPreferred = append(fromPreferred, d)
			}
			old = fb.settle(b)
			b.StartTimer()
		}
		checkFencing(b, fb.p.activations(haApp))
		serve.report(b, "")
		active.report(b, "active-")
		failed.report(b, len(serve))
		if len(fromPreferred) > 0 {
			b.ReportMetric(ms(fromPreferred.pct(0.5)), "from-preferred-p50-ms")
		}
		if len(toPreferred) > 0 {
			b.ReportMetric(ms(toPreferred.pct(0.5)), "to-preferred-p50-ms")
		}
		b.Logf("graceful, request -> first call served by the next active (ms): %v", serve)
		b.Logf("graceful, request -> new term (ms): %v", active)
		b.Logf("graceful from the preferred node (%d trials, ms): %v", len(fromPreferred), fromPreferred)
		b.Logf("graceful to the preferred node (%d trials, ms): %v", len(toPreferred), toPreferred)
	})
}

// BenchmarkSchedulerConvergence times the scheduler moving apps off a
// dead node: 100 apps (the test guest, mode replicas with 2 replicas and
// one instance each) on five hosts and three NATS servers. Each trial
// kills the host named in the most placements (not the scheduler's own,
// whose lease failover would come on top) and measures from the kill to
//
//   - "left": the node's membership key expired (MembershipTTL after its
//     last renewal, plus the server's expiry lateness),
//   - "placed": no placement names the dead node any more, every app on
//     two live nodes (the scheduler's pass on top), and
//   - "running": every app's new node reports it running.
//
// The host is then started again outside the timer; replicas stay where
// they are, so it comes back empty and the most loaded node dies next.
func BenchmarkSchedulerConvergence(b *testing.B) {
	skipUnlessClusterBench(b)
	const apps, nodes, replicas = 100, 5, 2
	wasm := testapp(b)
	p := newPlatform(b, 3, nodes)
	lay := p.host("n1").layout
	c := connectURL(b, p.natsURL())
	obs := newObserver(b, p.natsURL(), lay)

	// Deploy outside the timer, a few at a time. The module is the test
	// guest, known to be valid, so the client's module check is skipped.
	revs := make(map[string]uint64, apps)
	var revMu sync.Mutex
	names := make(chan string)
	var wg sync.WaitGroup
	began := time.Now()
	// The first deploy uploads the module; the others find it stored.
	deployOne := func(name string) {
		m := testManifest(b, name, fmt.Sprintf("mode: replicas\nreplicas: %d\nlimits: {instances: 1}\n", replicas))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		d, err := c.Registry().Deploy(ctx, m, wasm, nil)
		if err != nil {
			b.Errorf("deploy %s: %v", name, err)
			return
		}
		revMu.Lock()
		revs[name] = d.Revision
		revMu.Unlock()
	}
	deployOne("app000")
	for range 4 {
		wg.Go(func() {
			for name := range names {
				deployOne(name)
			}
		})
	}
	for i := 1; i < apps; i++ {
		names <- fmt.Sprintf("app%03d", i)
	}
	close(names)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}

	// running holds when every app is placed on replicas live nodes other
	// than dead, each reporting it running; a node new to an app since
	// before (a placement snapshot) must have reported after since.
	running := func(v *clusterView, dead string, before map[string][]string, since time.Time) string {
		for app, rev := range revs {
			pl, ok := v.placements[app]
			if !ok || len(pl.Nodes) != replicas || slices.Contains(pl.Nodes, dead) {
				return fmt.Sprintf("%s placed on %v", app, pl.Nodes)
			}
			for _, n := range pl.Nodes {
				r, ok := v.report(app, n)
				if !ok || r.State != registry.StateRunning || r.Revision != rev {
					return fmt.Sprintf("%s on %s: %+v", app, n, r)
				}
				if !slices.Contains(before[app], n) && !r.At.After(since) {
					return fmt.Sprintf("%s on %s: no report since the kill", app, n)
				}
			}
		}
		return ""
	}
	obs.wait(b, 10*time.Minute, "every app running", func(v *clusterView) string { return running(v, "", nil, time.Time{}) })
	b.Logf("%d apps with %d replicas running on %d nodes %v after the first deploy", apps, replicas, nodes, time.Since(began).Round(time.Millisecond))

	var expired, placed, reran durations
	moved := 0
	for b.Loop() {
		b.StopTimer()
		sched := obs.schedulerNode(b)
		before := map[string][]string{}
		load := map[string]int{}
		obs.mu.Lock()
		for app := range revs {
			pl := obs.view.placements[app]
			before[app] = slices.Clone(pl.Nodes)
			for _, n := range pl.Nodes {
				load[n]++
			}
		}
		obs.mu.Unlock()
		victim := ""
		for _, n := range []string{"n1", "n2", "n3", "n4", "n5"} {
			if n != sched && (victim == "" || load[n] > load[victim]) {
				victim = n
			}
		}
		b.StartTimer()
		killed := time.Now()
		p.kill(victim)
		tPlaced := obs.wait(b, time.Minute, "placements without "+victim, func(v *clusterView) string {
			for app := range revs {
				pl, ok := v.placements[app]
				if !ok || len(pl.Nodes) != replicas || slices.Contains(pl.Nodes, victim) {
					return fmt.Sprintf("%s placed on %v", app, pl.Nodes)
				}
			}
			return ""
		})
		tRunning := obs.wait(b, 5*time.Minute, "apps running without "+victim, func(v *clusterView) string {
			return running(v, victim, before, killed)
		})
		b.StopTimer()
		obs.mu.Lock()
		left := obs.view.left[victim]
		obs.mu.Unlock()
		if left.After(killed) {
			expired = append(expired, left.Sub(killed))
		}
		placed = append(placed, tPlaced.Sub(killed))
		reran = append(reran, tRunning.Sub(killed))
		moved += load[victim]
		p.start(victim)
		waitFor(b, time.Minute, victim+" back in every host's membership", func() bool {
			for _, n := range []string{"n1", "n2", "n3", "n4", "n5"} {
				if h := p.host(n); h == nil || len(h.Nodes()) != nodes {
					return false
				}
			}
			return true
		})
		b.StartTimer()
	}
	expired.report(b, "left-")
	placed.report(b, "placed-")
	reran.report(b, "running-")
	b.ReportMetric(float64(moved)/float64(len(placed)), "apps-moved/op")
	b.Logf("kill -> the node's membership expired (ms): %v", expired)
	b.Logf("kill -> placements without the node (ms): %v", placed)
	b.Logf("kill -> every moved app running (ms): %v", reran)
}
