package vip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ozanturksever/go-cluster/internal/netnstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

const port = "7000"

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, 5*time.Millisecond, what, cond)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lan is a topology whose hosts answer on port with their name, on every
// address they have or will have.
func lan(t *testing.T, hosts int) *netnstest.Topology {
	t.Helper()
	top := netnstest.New(t, hosts)
	for _, h := range top.Hosts {
		h.ServeName(t, "tcp", ":"+port, h.Name)
	}
	return top
}

// reach connects from n to addr's port and returns the name of the host
// that answered.
func reach(ctx context.Context, n *netnstest.Node, addr netip.Addr) (string, error) {
	return n.Ask(ctx, "tcp", net.JoinHostPort(addr.String(), port), 2*time.Second)
}

// newVIP makes a VIP for addr on host n, released at Cleanup, with fast
// timing and metrics on reg; edit adjusts the config.
func newVIP(t *testing.T, n *netnstest.Node, addr netip.Prefix, reg *prometheus.Registry, edit ...func(*Config)) *VIP {
	t.Helper()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Name:             "app",
		Address:          addr,
		Interface:        n.Iface,
		NetNS:            n.Name,
		AnnounceInterval: 20 * time.Millisecond,
		CheckInterval:    50 * time.Millisecond,
		Metrics:          m,
	}
	for _, e := range edit {
		e(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := v.Release(ctx); err != nil {
			t.Errorf("release at cleanup: %v", err)
		}
	})
	return v
}

// value reads a metric of the VIP named "app" from reg; 0 if absent.
func value(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "app"}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if w, ok := want[l.GetName()]; ok && w != l.GetValue() {
					continue metrics
				}
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func hasAddr(t testing.TB, n *netnstest.Node, p netip.Prefix) bool {
	t.Helper()
	ok, err := n.HasAddr(p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func neighbor(t testing.TB, n *netnstest.Node, a netip.Addr) string {
	t.Helper()
	mac, ok, err := n.Neighbor(a)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return mac.String()
}

// TestMove: the address is on exactly the holder, clients reach the holder,
// and after a handover the new holder's announcements redirect a client
// that still had the old holder's MAC cached.
func TestMove(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr func(*netnstest.Topology) netip.Prefix
	}{
		{"ipv4", (*netnstest.Topology).FreeAddr},
		{"ipv6", (*netnstest.Topology).FreeAddr6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			top := lan(t, 3)
			addr := tc.addr(top)
			a, b := top.Hosts[0], top.Hosts[1]
			regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
			va, vb := newVIP(t, a, addr, regA), newVIP(t, b, addr, regB)

			if err := va.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			for _, h := range top.Hosts {
				if got, want := hasAddr(t, h, addr), h == a; got != want {
					t.Errorf("%s has %s: %v, want %v", h.Name, addr, got, want)
				}
			}
			if !va.Held() || vb.Held() {
				t.Errorf("Held: a %v, b %v", va.Held(), vb.Held())
			}
			if ok, err := va.Present(ctx); err != nil || !ok {
				t.Errorf("Present on the holder = %v, %v", ok, err)
			}
			if got, err := reach(ctx, top.Client, addr.Addr()); err != nil || got != a.Name {
				t.Fatalf("client reached %q (%v), want %s", got, err, a.Name)
			}
			if got := neighbor(t, top.Client, addr.Addr()); got != a.MAC.String() {
				t.Fatalf("client's neighbour entry for the VIP %q, want %s", got, a.MAC)
			}
			waitFor(t, 2*time.Second, "all announcements", func() bool {
				return value(t, regA, "gocluster_vip_announcements_total") == DefaultAnnounce
			})

			if err := va.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if hasAddr(t, a, addr) || va.Held() {
				t.Fatalf("the address stayed on %s after Release", a.Name)
			}
			if err := vb.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			// The client's entry is fresh (reachable), so only the
			// announcement can have changed it.
			waitFor(t, time.Second, "the client's neighbour entry to follow the VIP", func() bool {
				return neighbor(t, top.Client, addr.Addr()) == b.MAC.String()
			})
			if got, err := reach(ctx, top.Client, addr.Addr()); err != nil || got != b.Name {
				t.Fatalf("client reached %q (%v), want %s", got, err, b.Name)
			}

			for _, m := range []struct {
				reg  *prometheus.Registry
				name string
				want float64
			}{
				{regA, "gocluster_vip_acquisitions_total", 1},
				{regA, "gocluster_vip_releases_total", 1},
				{regA, "gocluster_vip_held", 0},
				{regB, "gocluster_vip_acquisitions_total", 1},
				{regB, "gocluster_vip_held", 1},
				{regA, "gocluster_vip_fenced_total", 0},
				{regA, "gocluster_vip_conflicts_total", 0},
				{regB, "gocluster_vip_conflicts_total", 0},
				{regA, "gocluster_vip_readds_total", 0},
			} {
				if got := value(t, m.reg, m.name); got != m.want {
					t.Errorf("%s = %v, want %v", m.name, got, m.want)
				}
			}
		})
	}
}

// TestFencing: when the holder's context ends the address goes at once,
// with no Release, and nothing puts it back.
func TestFencing(t *testing.T) {
	t.Parallel()
	top := lan(t, 1)
	h, addr, reg := top.Hosts[0], top.FreeAddr(), prometheus.NewRegistry()
	var readds atomic.Int32
	v := newVIP(t, h, addr, reg, func(c *Config) {
		c.CheckInterval = 10 * time.Millisecond
		c.OnReadd = func() { readds.Add(1) }
	})

	term, lost := context.WithCancelCause(context.Background())
	defer lost(nil)
	if err := v.Acquire(term); err != nil {
		t.Fatal(err)
	}
	lost(errors.New("lease lost"))
	start := time.Now()
	waitFor(t, time.Second, "the address to be fenced", func() bool { return !hasAddr(t, h, addr) })
	t.Logf("fenced %s after the context ended", time.Since(start))
	if v.Held() {
		t.Error("Held after fencing")
	}
	if got := value(t, reg, "gocluster_vip_fenced_total"); got != 1 {
		t.Errorf("fenced_total = %v, want 1", got)
	}
	if got := value(t, reg, "gocluster_vip_held"); got != 0 {
		t.Errorf("held = %v, want 0", got)
	}

	// Once the goroutines are gone, nothing can have re-added it.
	if err := v.Release(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := readds.Load(); n != 0 || value(t, reg, "gocluster_vip_readds_total") != 0 {
		t.Errorf("the fenced address was put back %d times", n)
	}
	if got := value(t, reg, "gocluster_vip_releases_total"); got != 0 {
		t.Errorf("releases_total = %v after a release of a fenced VIP, want 0", got)
	}

	// A new term acquires again.
	if err := v.Acquire(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !hasAddr(t, h, addr) {
		t.Error("no address after acquiring again")
	}
}

// TestReadd: an address deleted behind the holder's back comes back.
func TestReadd(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	top := lan(t, 1)
	h, addr, reg := top.Hosts[0], top.FreeAddr(), prometheus.NewRegistry()
	var readds atomic.Int32
	v := newVIP(t, h, addr, reg, func(c *Config) { c.OnReadd = func() { readds.Add(1) } })
	if err := v.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.IP("addr", "del", addr.String(), "dev", h.Iface); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "OnReadd", func() bool { return readds.Load() > 0 })
	if !hasAddr(t, h, addr) {
		t.Error("OnReadd fired but the address is missing")
	}
	if got := value(t, reg, "gocluster_vip_readds_total"); got != 1 {
		t.Errorf("readds_total = %v, want 1", got)
	}
	if got, err := reach(ctx, top.Client, addr.Addr()); err != nil || got != h.Name {
		t.Errorf("client reached %q (%v), want %s", got, err, h.Name)
	}
}

// TestConflict: another host with the same address is reported with its
// MAC, and is not reported before it has the address.
func TestConflict(t *testing.T) {
	t.Parallel()
	top := lan(t, 2)
	a, b, addr, reg := top.Hosts[0], top.Hosts[1], top.FreeAddr(), prometheus.NewRegistry()
	conflicts := make(chan Conflict, 100)
	var checks atomic.Int32
	v := newVIP(t, a, addr, reg, func(c *Config) {
		c.OnConflict = func(c Conflict) {
			select {
			case conflicts <- c:
			default:
			}
		}
	})
	v.checked = func() { checks.Add(1) }
	if err := v.Acquire(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "three checks", func() bool { return checks.Load() >= 3 })
	if n := value(t, reg, "gocluster_vip_conflicts_total"); n != 0 || len(conflicts) != 0 {
		t.Fatalf("%v conflicts reported with a single holder", n)
	}

	if err := b.IP("addr", "add", addr.String(), "dev", b.Iface); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a conflict", func() bool { return len(conflicts) > 0 })
	c := <-conflicts
	if c.MAC.String() != b.MAC.String() || c.Address != addr.Addr() || c.Interface != a.Iface || c.At.IsZero() {
		t.Errorf("conflict %+v, want MAC %s for %s on %s", c, b.MAC, addr.Addr(), a.Iface)
	}
	if n := value(t, reg, "gocluster_vip_conflicts_total"); n < 1 {
		t.Errorf("conflicts_total = %v", n)
	}
	if !v.Held() || !hasAddr(t, a, addr) {
		t.Error("the holder gave the address up on a conflict")
	}
}

// TestIdempotence: Release of nothing, Release twice, Acquire over an
// address that is there already, and the ErrHeld cases.
func TestIdempotence(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	top := lan(t, 1)
	h, addr := top.Hosts[0], top.FreeAddr()
	v := newVIP(t, h, addr, prometheus.NewRegistry())

	if err := v.Release(ctx); err != nil {
		t.Fatalf("Release of a VIP never acquired: %v", err)
	}
	if err := h.IP("addr", "add", addr.String(), "dev", h.Iface); err != nil {
		t.Fatal(err)
	}
	if err := v.Acquire(ctx); err != nil {
		t.Fatalf("Acquire over an address already there: %v", err)
	}
	if err := v.Acquire(ctx); !errors.Is(err, ErrHeld) {
		t.Errorf("second Acquire = %v, want ErrHeld", err)
	}
	if _, err := v.RemoveStale(ctx); !errors.Is(err, ErrHeld) {
		t.Errorf("RemoveStale while held = %v, want ErrHeld", err)
	}
	for i := range 2 {
		if err := v.Release(ctx); err != nil {
			t.Fatalf("Release %d: %v", i+1, err)
		}
		if hasAddr(t, h, addr) {
			t.Fatalf("address present after Release %d", i+1)
		}
	}
}

func TestRemoveStale(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	top := lan(t, 1)
	h, addr := top.Hosts[0], top.FreeAddr()
	v := newVIP(t, h, addr, prometheus.NewRegistry())
	// A crashed run may have left it with another length, too.
	other := netip.PrefixFrom(addr.Addr(), 32)
	for _, p := range []netip.Prefix{addr, other} {
		if err := h.IP("addr", "add", p.String(), "dev", h.Iface); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []bool{true, false} {
		removed, err := v.RemoveStale(ctx)
		if err != nil || removed != want {
			t.Errorf("RemoveStale %d = %v, %v, want %v", i+1, removed, err, want)
		}
	}
	for _, p := range []netip.Prefix{addr, other} {
		if hasAddr(t, h, p) {
			t.Errorf("%s left after RemoveStale", p)
		}
	}
	if ok, err := v.Present(ctx); err != nil || ok {
		t.Errorf("Present = %v, %v after RemoveStale", ok, err)
	}
}

func TestMissingInterface(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	top := netnstest.New(t, 1)
	v := newVIP(t, top.Hosts[0], top.FreeAddr(), prometheus.NewRegistry(), func(c *Config) { c.Interface = "nosuch0" })
	err := v.Acquire(ctx)
	if !errors.Is(err, ErrInterface) || !strings.Contains(err.Error(), `"nosuch0"`) {
		t.Errorf("Acquire = %v, want ErrInterface naming nosuch0", err)
	}
	if v.Held() {
		t.Error("Held after a failed Acquire")
	}
	if _, err := v.Present(ctx); !errors.Is(err, ErrInterface) {
		t.Errorf("Present = %v, want ErrInterface", err)
	}
	// There is nothing to remove from an interface that does not exist.
	if removed, err := v.RemoveStale(ctx); err != nil || removed {
		t.Errorf("RemoveStale = %v, %v", removed, err)
	}
}
