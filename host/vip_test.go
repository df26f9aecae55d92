package host

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/netnstest"
	"github.com/ozanturksever/go-cluster/manifest"
)

// vipPlatform is a platform whose hosts each live in a network namespace
// of a bridged topology, with a client namespace beside them. NATS stays
// on the test process's loopback: only the VIP and the services behind it
// are in the namespaces, as on machines whose cluster traffic runs on
// another network.
type vipPlatform struct {
	*platform
	topo  *netnstest.Topology
	nodes map[string]*netnstest.Node // by node id
	vip   netip.Prefix
	port  int
}

// newVIPPlatform starts hosts n1..nN, one per host namespace, and in
// each namespace a TCP service on port that answers its node id: whichever
// node holds the VIP answers on it.
func newVIPPlatform(t testing.TB, hosts int) *vipPlatform {
	t.Helper()
	topo := netnstest.New(t, hosts)
	vp := &vipPlatform{topo: topo, nodes: map[string]*netnstest.Node{}, vip: topo.FreeAddr(), port: 7400}
	for i, n := range topo.Hosts {
		node := "n" + string(rune('1'+i))
		vp.nodes[node] = n
		n.ServeName(t, "tcp4", fmt.Sprintf("0.0.0.0:%d", vp.port), node)
	}
	vp.platform = newPlatformWith(t, 3, hosts, func(node string, cfg *Config) { cfg.NetNS = vp.nodes[node].Name })
	return vp
}

// ask connects to the VIP from the client namespace and returns the node
// that answered.
func (vp *vipPlatform) ask(timeout time.Duration) (string, error) {
	return vp.topo.Client.Ask(context.Background(), "tcp4", net.JoinHostPort(vp.vip.Addr().String(), fmt.Sprint(vp.port)), timeout)
}

// holders lists the nodes whose interface carries the VIP.
func (vp *vipPlatform) holders(t testing.TB) []string {
	t.Helper()
	var out []string
	for node, n := range vp.nodes {
		has, err := n.HasAddr(vp.vip)
		if err != nil {
			t.Fatal(err)
		}
		if has {
			out = append(out, node)
		}
	}
	return out
}

// waitServedBy waits until the VIP is on node alone and answers as node.
func (vp *vipPlatform) waitServedBy(t testing.TB, node string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the vip on "+node+" alone", func() bool {
		h := vp.holders(t)
		return len(h) == 1 && h[0] == node
	})
	waitFor(t, 30*time.Second, "the vip answering as "+node, func() bool {
		got, err := vp.ask(200 * time.Millisecond)
		return err == nil && got == node
	})
}

// failover kills the active's machine (its link goes down, then its host
// dies abruptly) and returns the new active and the time from the kill
// to the client's first successful connection to the VIP on it.
func (vp *vipPlatform) failover(t testing.TB, app string) (victim, next string, took time.Duration) {
	t.Helper()
	victim = vp.active(app, time.Time{})
	vp.waitServedBy(t, victim)
	killed := time.Now()
	if err := vp.nodes[victim].Down(); err != nil {
		t.Fatal(err)
	}
	var kill sync.WaitGroup
	kill.Go(func() { vp.kill(victim) })
	defer kill.Wait()
	// Short attempts: a SYN sent to the dead machine's MAC is lost, and
	// the kernel would retransmit it only after a second.
	waitFor(t, 30*time.Second, "the vip answering after the kill", func() bool {
		got, err := vp.ask(100 * time.Millisecond)
		if err == nil && got != victim {
			next, took = got, time.Since(killed)
			return true
		}
		return false
	})
	return victim, next, took
}

// revive brings a killed node's machine and host back.
func (vp *vipPlatform) revive(t testing.TB, node string) {
	t.Helper()
	if err := vp.nodes[node].Up(); err != nil {
		t.Fatal(err)
	}
	vp.start(node)
}

func vipManifestYAML(vip netip.Prefix) string {
	return fmt.Sprintf("mode: singleton\npattern: active-passive\nlimits: {instances: 1}\nvip: {address: %s, interface: %s}\n",
		vip, netnstest.Iface)
}

// TestVIPFollowsActive: the VIP is on exactly one host, the active; after
// the active's machine dies, the client reaches the VIP on the new active
// (its neighbour entry points at the new MAC), and the dead node's
// address is gone once its host is down.
func TestVIPFollowsActive(t *testing.T) {
	vp := newVIPPlatform(t, 3)
	c := connect(t, vp.host("n1"))
	deploy(t, c, testManifest(t, "ha", vipManifestYAML(vp.vip)), testapp(t))
	for trial := range 3 {
		victim, next, took := vp.failover(t, "ha")
		t.Logf("trial %d: %s died, %s answered on the vip after %v", trial, victim, next, took.Round(time.Millisecond))
		if mac, ok, err := vp.topo.Client.Neighbor(vp.vip.Addr()); err != nil || !ok || mac.String() != vp.nodes[next].MAC.String() {
			t.Fatalf("trial %d: client's neighbour entry for the vip = %v (present %v, err %v), want %s's %v",
				trial, mac, ok, err, next, vp.nodes[next].MAC)
		}
		if active := vp.active("ha", time.Time{}); active != next {
			t.Fatalf("trial %d: %s answered on the vip but %s is active", trial, next, active)
		}
		vp.revive(t, victim)
		vp.waitServedBy(t, next)
	}
	checkFencing(t, vp.activations("ha"))
}

// checkConflictReported adds the active's VIP by hand on another node:
// the active reports the conflict as a platform event and a metric, and
// keeps the address.
func checkConflictReported(t *testing.T, vp *vipPlatform, active string) {
	t.Helper()
	intruder := other(active)
	if err := vp.nodes[intruder].IP("addr", "add", vp.vip.String(), "dev", netnstest.Iface); err != nil {
		t.Fatal(err)
	}
	platformEvents(t, vp.host(active), manifest.EventVIP, func(e VIPEvent) bool {
		return e.Node == active && e.Event == "conflict" && e.MAC == vp.nodes[intruder].MAC.String()
	})
	if got := metricValue(t, vp.host(active), "gocluster_vip_conflicts_total"); got < 1 {
		t.Fatalf("gocluster_vip_conflicts_total = %v after a conflict", got)
	}
	if err := vp.nodes[intruder].IP("addr", "del", vp.vip.String(), "dev", netnstest.Iface); err != nil {
		t.Fatal(err)
	}
	vp.waitServedBy(t, active)
}

// TestVIPMovesOnStepdown: a graceful hand-over moves the address; the
// former active removes it before it releases the lease, so the next
// holder is the only one that has it.
func TestVIPMovesOnStepdown(t *testing.T) {
	vp := newVIPPlatform(t, 3)
	c := connect(t, vp.host("n1"))
	deploy(t, c, testManifest(t, "ha", vipManifestYAML(vp.vip)), testapp(t))
	before := vp.active("ha", time.Time{})
	vp.waitServedBy(t, before)
	checkConflictReported(t, vp, before)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	asked := time.Now()
	if _, err := c.Stepdown(ctx, "ha"); err != nil {
		t.Fatal(err)
	}
	after := vp.active("ha", asked)
	if after == before {
		t.Fatalf("%s is active again after stepping down", after)
	}
	vp.waitServedBy(t, after)
	var released, acquired time.Time
	platformEvents(t, vp.host(after), manifest.EventVIP, func(e VIPEvent) bool {
		at, _ := time.Parse(time.RFC3339Nano, e.At)
		switch {
		case e.Node == before && e.Event == "released":
			released = at
		case e.Node == after && e.Event == "acquired":
			acquired = at
		}
		return !released.IsZero() && !acquired.IsZero()
	})
	if !released.Before(acquired) {
		t.Fatalf("%s released the vip at %v, %s acquired it at %v", before, released, after, acquired)
	}
	checkFencing(t, vp.activations("ha"))
}

// TestVIPFencedWhenCutOff cuts the active's link to NATS: it cannot
// renew, and it removes the address by its own deadline, before the lease
// can pass on; the new active then holds it alone. When the link returns
// the former active stays a standby without it.
func TestVIPFencedWhenCutOff(t *testing.T) {
	vp := newVIPPlatform(t, 3)
	c := connect(t, vp.host("n1"))
	deploy(t, c, testManifest(t, "ha", vipManifestYAML(vp.vip)), testapp(t))
	victim := vp.active("ha", time.Time{})
	vp.waitServedBy(t, victim)
	cut := time.Now()
	vp.links[victim].Cut()
	var dropped time.Time // at most this late: the poll saw it gone
	waitFor(t, 10*time.Second, "the cut-off active to drop the vip", func() bool {
		has, err := vp.nodes[victim].HasAddr(vp.vip)
		dropped = time.Now()
		return err == nil && !has
	})
	next := vp.active("ha", cut)
	if next == victim {
		t.Fatalf("%s is still active with its link cut", victim)
	}
	for _, a := range vp.activations("ha") {
		if a.Node == next && a.Began.After(cut) && !dropped.Before(a.Won) {
			t.Fatalf("%s won the lease at %v, before %s had dropped the vip (seen gone at %v)", next, a.Won, victim, dropped)
		}
	}
	vp.waitServedBy(t, next)
	vp.links[victim].Restore()
	waitFor(t, 30*time.Second, victim+" back as a standby", func() bool {
		in, ok := instance(t, c, "ha", victim)
		return ok && in.Role == "standby"
	})
	if h := vp.holders(t); len(h) != 1 || h[0] != next {
		t.Fatalf("vip holders after the link returned: %v, want [%s]", h, next)
	}
	checkFencing(t, vp.activations("ha"))
}
