//go:build linux

package netnstest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func reach(ctx context.Context, from *Node, network, addr string) (string, error) {
	return from.Ask(ctx, network, addr, 2*time.Second)
}

func TestTopology(t *testing.T) {
	var names []string
	t.Run("up", func(t *testing.T) {
		top := New(t, 2)
		names = top.Namespaces()
		if len(names) != 4 {
			t.Fatalf("namespaces %v, want bridge, 2 hosts, client", names)
		}
		nodes := append(slices.Clone(top.Hosts), top.Client)
		for _, n := range nodes {
			if len(n.MAC) != 6 {
				t.Errorf("%s: MAC %v", n.Name, n.MAC)
			}
			if !top.Subnet.Contains(n.Addr.Addr()) || !top.Subnet6.Contains(n.Addr6.Addr()) {
				t.Errorf("%s: addresses %s %s outside %s %s", n.Name, n.Addr, n.Addr6, top.Subnet, top.Subnet6)
			}
			for _, p := range []netip.Prefix{n.Addr, n.Addr6} {
				if ok, err := n.HasAddr(p); err != nil || !ok {
					t.Errorf("%s: HasAddr(%s) = %v, %v", n.Name, p, ok, err)
				}
			}
		}
		if free := top.FreeAddr(); free == top.FreeAddr() || !top.Subnet.Contains(free.Addr()) {
			t.Errorf("FreeAddr %s: not fresh or outside %s", free, top.Subnet)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		top.Client.ServeName(t, "tcp", ":7000", top.Client.Name)
		for _, h := range top.Hosts {
			for _, target := range []string{
				net.JoinHostPort(top.Client.Addr.Addr().String(), "7000"),
				net.JoinHostPort(top.Client.Addr6.Addr().String(), "7000"),
			} {
				got, err := reach(ctx, h, "tcp", target)
				if err != nil || got != top.Client.Name {
					t.Errorf("%s -> %s: %q, %v", h.Name, target, got, err)
				}
			}
			mac, ok, err := top.Client.Neighbor(h.Addr.Addr())
			if err != nil || !ok || mac.String() != h.MAC.String() {
				t.Errorf("client's neighbour entry for %s: %v %v %v, want %v", h.Addr, mac, ok, err, h.MAC)
			}
		}

		out, err := top.Hosts[0].Run(ctx, "cat", "/proc/self/net/dev").Output()
		if err != nil || !strings.Contains(string(out), Iface+":") {
			t.Errorf("Run in %s: %v\n%s", top.Hosts[0].Name, err, out)
		}

		// A node that is down cannot be reached.
		if err := top.Hosts[1].Down(); err != nil {
			t.Fatal(err)
		}
		dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer dcancel()
		if got, err := reach(dctx, top.Hosts[1], "tcp", net.JoinHostPort(top.Client.Addr.Addr().String(), "7000")); err == nil {
			t.Errorf("reached the client from a node that is down: %q", got)
		}
	})
	if len(names) == 0 {
		return
	}
	all, err := Leftovers(Prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if slices.Contains(all, n) {
			t.Errorf("namespace %s left after cleanup", n)
		}
	}
}

func TestSweepsLeftoversOfDeadProcesses(t *testing.T) {
	requireRoot(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-1h0", Prefix, dead.Process.Pid)
	if err := ip("netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ip("netns", "del", stale) })

	New(t, 1)
	left, err := Leftovers(stale)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("leftover %s of dead process %d was not removed", stale, dead.Process.Pid)
	}
}

func TestParseNetnsList(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{"", nil},
		{"a\n", []string{"a"}},
		{"gct1-1h0 (id: 3)\ngct1-1b (id: 2)\n\n", []string{"gct1-1h0", "gct1-1b"}},
	} {
		if got := parseNetnsList([]byte(tc.out)); !slices.Equal(got, tc.want) {
			t.Errorf("parseNetnsList(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
	for name, want := range map[string]bool{
		"gct123-4b": true, "gct123-4h10": true, "gct123-4c": true,
		"gct123": false, "gctx-4b": false, "other123-4b": false,
	} {
		if got := leftover.MatchString(name); got != want {
			t.Errorf("leftover.MatchString(%q) = %v", name, got)
		}
	}
}
