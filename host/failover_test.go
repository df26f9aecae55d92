package host

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/faultproxy"
	"github.com/ozanturksever/go-cluster/internal/natstest"
)

// platform is a set of hosts on one external NATS cluster, each behind its
// own cuttable link, so a host can be killed or cut off without taking a
// NATS server with it.
type platform struct {
	t       testing.TB
	servers []*natstest.Server
	mu      sync.Mutex
	hosts   map[string]*Host // live, by node id
	all     []*Host          // every host ever started, for activations
	links   map[string]*faultproxy.Proxy
	cfgs    map[string]Config
}

func newPlatform(t testing.TB, servers, hosts int) *platform {
	t.Helper()
	return newLabelledPlatform(t, servers, hosts, nil)
}

// newLabelledPlatform is newPlatform with labels per node id.
func newLabelledPlatform(t testing.TB, servers, hosts int, labels map[string]map[string]string) *platform {
	t.Helper()
	return newPlatformWith(t, servers, hosts, func(node string, cfg *Config) { cfg.Labels = labels[node] })
}

// newPlatformWith is newPlatform with each host's config changed by tweak
// (nil: unchanged) before the host starts.
func newPlatformWith(t testing.TB, servers, hosts int, tweak func(node string, cfg *Config)) *platform {
	t.Helper()
	p := &platform{t: t, servers: natstest.Cluster(t, servers), hosts: map[string]*Host{},
		links: map[string]*faultproxy.Proxy{}, cfgs: map[string]Config{}}
	var wg sync.WaitGroup
	for i := range hosts {
		node := "n" + string(rune('1'+i))
		link, err := faultproxy.New(strings.TrimPrefix(p.servers[i%servers].ClientURL(), "nats://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { link.Close() })
		cfg := testConfig(t, node)
		cfg.NATSURL = link.URL()
		cfg.OnlyGivenURLs = true
		if tweak != nil {
			tweak(node, &cfg)
		}
		cfg.Replicas = min(3, servers)
		p.links[node], p.cfgs[node] = link, cfg
		wg.Go(func() { p.start(node) })
	}
	wg.Wait()
	return p
}

// start opens the host for node (again, after a kill).
func (p *platform) start(node string) *Host {
	h := startHost(p.t, p.cfgs[node])
	p.mu.Lock()
	p.hosts[node] = h
	p.all = append(p.all, h)
	p.mu.Unlock()
	return h
}

func (p *platform) kill(node string) {
	p.mu.Lock()
	h := p.hosts[node]
	delete(p.hosts, node)
	p.mu.Unlock()
	h.Kill()
}

func (p *platform) host(node string) *Host {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[node]
}

// activations returns every active term of app on every host ever
// started, by start time.
func (p *platform) activations(app string) []Activation {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Activation
	for _, h := range p.all {
		for _, a := range h.Activations() {
			if a.App == app {
				out = append(out, a)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Began.Before(out[j].Began) })
	return out
}

// active waits until a live host is active for app after since, and
// returns its node.
func (p *platform) active(app string, since time.Time) string {
	var node string
	waitFor(p.t, 30*time.Second, app+" active", func() bool {
		for _, a := range p.activations(app) {
			if a.Ended.IsZero() && a.Began.After(since) && p.host(a.Node) != nil {
				node = a.Node
				return true
			}
		}
		return false
	})
	return node
}

// checkFencing asserts the terms of app never overlapped and each new
// holder got a larger token.
func checkFencing(t testing.TB, acts []Activation) {
	t.Helper()
	for i := 1; i < len(acts); i++ {
		prev, next := acts[i-1], acts[i]
		if prev.Ended.IsZero() || prev.Ended.After(next.Began) {
			t.Errorf("overlap: %s active with token %d until %v, %s active with token %d from %v",
				prev.Node, prev.Token, prev.Ended, next.Node, next.Token, next.Began)
		}
		if next.Token <= prev.Token {
			t.Errorf("token did not grow: %s had %d, then %s got %d", prev.Node, prev.Token, next.Node, next.Token)
		}
	}
}

// TestActivePassiveCrashFailover kills the active host abruptly, three
// times: a standby takes over, calls through any node keep working, and
// the terms never overlap.
func TestActivePassiveCrashFailover(t *testing.T) {
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "ha", "limits: {instances: 1}\n"), testapp(t))
	for trial := range 3 {
		victim := p.active("ha", time.Time{})
		caller := connect(t, p.host(other(victim)))
		if got := mustCall(t, caller, "ha", "echo", "before"); got != "before" {
			t.Fatalf("echo = %q", got)
		}
		killed := time.Now()
		p.kill(victim)
		next := p.active("ha", killed)
		if next == victim {
			t.Fatalf("trial %d: %s is active again", trial, next)
		}
		t.Logf("trial %d: %s killed, %s active after %v", trial, victim, next, time.Since(killed).Round(time.Millisecond))
		if got := mustCall(t, caller, "ha", "echo", "after"); got != "after" {
			t.Fatalf("echo after failover = %q", got)
		}
		p.start(victim)
	}
	checkFencing(t, p.activations("ha"))
}

// TestActivePassiveLinkCut cuts the active host's link to NATS: it steps
// down by its own deadline before a standby takes over, and rejoins as a
// standby when the link returns.
func TestActivePassiveLinkCut(t *testing.T) {
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "ha", "limits: {instances: 1}\n"), testapp(t))
	victim := p.active("ha", time.Time{})
	cut := time.Now()
	p.links[victim].Cut()
	next := p.active("ha", cut)
	if next == victim {
		t.Fatalf("%s is still active after its link was cut", victim)
	}
	p.links[victim].Restore()
	caller := connect(t, p.host(next))
	if got := mustCall(t, caller, "ha", "echo", "x"); got != "x" {
		t.Fatalf("echo = %q", got)
	}
	checkFencing(t, p.activations("ha"))
}

func other(node string) string {
	if node == "n1" {
		return "n2"
	}
	return "n1"
}
