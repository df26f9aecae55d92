//go:build linux

// Package netnstest builds a small LAN out of real Linux network
// namespaces for tests: a namespace holding a bridge, host namespaces and a
// client namespace, each joined to the bridge by a veth pair. Tests of code
// that moves addresses between machines (the VIP) run several "machines"
// in one process this way, each acting inside its own namespace.
//
// It needs root and iproute2's ip command; without them New skips the
// test, saying so. CI runs these tests as root.
//
// Nothing is created in the test process's own namespace: every link lives
// inside a namespace of the topology, so deleting the namespaces removes
// everything, and parallel topologies cannot see each other.
package netnstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ozanturksever/go-cluster/internal/nsnet"
)

// Prefix starts the name of every namespace this package creates, followed
// by the creating process's pid, so that a later run can tell the
// leftovers of a crashed run (pid gone) from a concurrent one's (pid alive).
const Prefix = "gct"

// Iface is the name of every node's interface inside its namespace: a
// manifest names one interface for all nodes, as on real machines.
const Iface = "eth0"

const bridge = "br0"

// Address layout within the topology's /24 (and /64).
const (
	firstHost  = 11  // host i is .11+i
	clientHost = 100 // the client is .100
	firstFree  = 200 // FreeAddr hands out .200 upwards
)

var seq atomic.Uint32

// Topology is one LAN: Hosts and Client attached to a bridge.
type Topology struct {
	Hosts  []*Node
	Client *Node
	// Subnet and Subnet6 are the LAN's prefixes: every node has one
	// address in each.
	Subnet  netip.Prefix
	Subnet6 netip.Prefix

	bridgeNS string

	mu       sync.Mutex
	nextFree int
}

// Node is one namespace attached to the bridge.
type Node struct {
	// Name is the network namespace's name (for nsnet, or ip -n).
	Name string
	// Iface is the interface inside the namespace, Iface for every node.
	Iface string
	// Addr and Addr6 are the node's own addresses on Iface.
	Addr  netip.Prefix
	Addr6 netip.Prefix
	// MAC is Iface's hardware address.
	MAC net.HardwareAddr

	bridgeNS string
	port     string // the veth end on the bridge
}

// New builds a topology with the given number of hosts and one client and
// removes it at Cleanup, also when the test fails. It first removes
// namespaces left by earlier runs that crashed. It skips the test when not
// root or when ip is missing.
func New(tb testing.TB, hosts int) *Topology {
	tb.Helper()
	requireRoot(tb)
	if hosts < 1 || hosts > firstFree-clientHost-1 {
		tb.Fatalf("netnstest: %d hosts: want 1..%d", hosts, firstFree-clientHost-1)
	}
	sweep(tb)

	pid := os.Getpid()
	n := seq.Add(1)
	id := fmt.Sprintf("%s%d-%d", Prefix, pid, n)
	// The namespaces isolate topologies completely; distinct subnets only
	// keep logs and captures of parallel tests unambiguous.
	a, b := byte(100+pid%100), byte(n%256)
	t := &Topology{
		Subnet:   netip.PrefixFrom(netip.AddrFrom4([4]byte{10, a, b, 0}), 24),
		Subnet6:  netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, 0, 0, a, 0, b}), 64),
		bridgeNS: id + "b",
		nextFree: firstFree,
	}

	var created []string
	tb.Cleanup(func() {
		// Deleting a namespace destroys the links in it, and a veth pair
		// dies with either end.
		for i := len(created) - 1; i >= 0; i-- {
			if err := ip("netns", "del", created[i]); err != nil {
				tb.Errorf("netnstest: %v", err)
			}
		}
	})
	must := func(args ...string) {
		tb.Helper()
		if err := ip(args...); err != nil {
			tb.Fatalf("netnstest: %v", err)
		}
	}
	addNS := func(name string) {
		tb.Helper()
		must("netns", "add", name)
		created = append(created, name)
		must("-n", name, "link", "set", "lo", "up")
	}

	addNS(t.bridgeNS)
	must("-n", t.bridgeNS, "link", "add", bridge, "type", "bridge")
	must("-n", t.bridgeNS, "link", "set", bridge, "up")

	attach := func(name, port string, host byte) *Node {
		tb.Helper()
		addNS(name)
		node := &Node{
			Name:     name,
			Iface:    Iface,
			Addr:     addrIn(t.Subnet, int(host)),
			Addr6:    addrIn(t.Subnet6, int(host)),
			bridgeNS: t.bridgeNS,
			port:     port,
		}
		// Both ends are named inside their own namespaces, so the names
		// cannot clash with anything outside the topology.
		must("-n", t.bridgeNS, "link", "add", port, "type", "veth", "peer", "name", Iface, "netns", name)
		must("-n", t.bridgeNS, "link", "set", port, "master", bridge)
		must("-n", t.bridgeNS, "link", "set", port, "up")
		must("-n", name, "addr", "add", node.Addr.String(), "dev", Iface)
		// Without duplicate address detection the address works at once
		// instead of after a second or so.
		must("-n", name, "addr", "add", node.Addr6.String(), "dev", Iface, "nodad")
		must("-n", name, "link", "set", Iface, "up")
		mac, err := hardwareAddr(name, Iface)
		if err != nil {
			tb.Fatalf("netnstest: %v", err)
		}
		node.MAC = mac
		return node
	}
	for i := range hosts {
		t.Hosts = append(t.Hosts, attach(fmt.Sprintf("%sh%d", id, i), fmt.Sprintf("h%d", i), byte(firstHost+i)))
	}
	t.Client = attach(id+"c", "c", clientHost)
	return t
}

// Namespaces lists the names of the topology's namespaces.
func (t *Topology) Namespaces() []string {
	names := []string{t.bridgeNS}
	for _, h := range t.Hosts {
		names = append(names, h.Name)
	}
	return append(names, t.Client.Name)
}

// FreeAddr returns an address of Subnet that no node has, a different one
// on each call, with the subnet's prefix length: a VIP.
func (t *Topology) FreeAddr() netip.Prefix {
	return addrIn(t.Subnet, t.free())
}

// FreeAddr6 is FreeAddr in Subnet6.
func (t *Topology) FreeAddr6() netip.Prefix {
	return addrIn(t.Subnet6, t.free())
}

func (t *Topology) free() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nextFree > 254 {
		panic("netnstest: no free addresses left")
	}
	n := t.nextFree
	t.nextFree++
	return n
}

// addrIn is host number n in subnet p, with p's length.
func addrIn(p netip.Prefix, n int) netip.Prefix {
	b := p.Addr().AsSlice()
	b[len(b)-1] = byte(n)
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, p.Bits())
}

// Listen listens on addr inside the node's namespace.
func (n *Node) Listen(network, addr string) (net.Listener, error) {
	return nsnet.Listen(n.Name, network, addr)
}

// Dial connects to addr (an IP address and port) from inside the node's
// namespace.
func (n *Node) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return nsnet.DialContext(ctx, n.Name, network, addr)
}

// Down takes the node off the LAN abruptly, as a machine that died: its
// link goes down at both ends, with no goodbye on the wire.
func (n *Node) Down() error {
	return errors.Join(
		ip("-n", n.bridgeNS, "link", "set", n.port, "down"),
		ip("-n", n.Name, "link", "set", n.Iface, "down"),
	)
}

// Up undoes Down: the machine is back on the network.
func (n *Node) Up() error {
	return errors.Join(
		ip("-n", n.Name, "link", "set", n.Iface, "up"),
		ip("-n", n.bridgeNS, "link", "set", n.port, "up"),
	)
}

// IP runs ip -n <namespace> args..., e.g. n.IP("addr", "del", ...).
func (n *Node) IP(args ...string) error {
	return ip(append([]string{"-n", n.Name}, args...)...)
}

// Run returns a command that runs name inside the node's namespace.
func (n *Node) Run(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Neighbor returns the node's neighbour (ARP or NDP) entry for addr on its
// interface. ok is false when there is no entry or it has no usable
// hardware address (still resolving, or failed).
func (n *Node) Neighbor(addr netip.Addr) (mac net.HardwareAddr, ok bool, err error) {
	out, err := ipOutput("-n", n.Name, "-j", "neigh", "show", "to", addr.String(), "dev", n.Iface)
	if err != nil {
		return nil, false, err
	}
	var entries []struct {
		Dst    string   `json:"dst"`
		LLAddr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, false, fmt.Errorf("cannot parse neighbours of %s: %w", n.Name, err)
	}
	for _, e := range entries {
		if e.Dst != addr.String() || e.LLAddr == "" || hasState(e.State, "FAILED", "INCOMPLETE") {
			continue
		}
		mac, err := net.ParseMAC(e.LLAddr)
		if err != nil {
			return nil, false, fmt.Errorf("cannot parse neighbour %s of %s: %w", e.Dst, n.Name, err)
		}
		return mac, true, nil
	}
	return nil, false, nil
}

func hasState(states []string, want ...string) bool {
	for _, s := range states {
		for _, w := range want {
			if s == w {
				return true
			}
		}
	}
	return false
}

// HasAddr reports whether p (address and length) is on the node's
// interface.
func (n *Node) HasAddr(p netip.Prefix) (bool, error) {
	var found bool
	err := nsnet.Do(n.Name, func() error {
		ifi, err := net.InterfaceByName(n.Iface)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, _ := netip.AddrFromSlice(ipn.IP)
			bits, _ := ipn.Mask.Size()
			if netip.PrefixFrom(ip.Unmap(), bits) == p {
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("cannot read the addresses of %s in %s: %w", n.Iface, n.Name, err)
	}
	return found, nil
}

func hardwareAddr(ns, iface string) (net.HardwareAddr, error) {
	var mac net.HardwareAddr
	err := nsnet.Do(ns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the hardware address of %s in %s: %w", iface, ns, err)
	}
	return mac, nil
}

func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("netnstest: SKIPPED: needs root (and iproute2) to build network namespaces; CI runs these tests as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("netnstest: SKIPPED: needs iproute2's ip command (and root) to build network namespaces; CI runs these tests as root")
	}
}

var leftover = regexp.MustCompile(`^` + Prefix + `([0-9]+)-[0-9]+[a-z][0-9]*$`)

// sweep deletes namespaces of earlier runs whose process is gone. A live
// pid may be a concurrent test binary (or an unrelated process that reused
// the pid): its namespaces are left alone.
func sweep(tb testing.TB) {
	tb.Helper()
	out, err := ipOutput("netns", "list")
	if err != nil {
		tb.Fatalf("netnstest: %v", err)
	}
	for _, name := range parseNetnsList(out) {
		m := leftover.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		if err := ip("netns", "del", name); err != nil {
			tb.Logf("netnstest: cannot remove leftover namespace %s: %v", name, err)
			continue
		}
		tb.Logf("netnstest: removed namespace %s left by process %d", name, pid)
	}
}

// parseNetnsList reads `ip netns list`: one namespace per line, its name
// first, maybe followed by "(id: N)".
func parseNetnsList(out []byte) []string {
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// Leftovers lists the namespaces whose name starts with prefix; tests use
// it to check that a topology was removed.
func Leftovers(prefix string) ([]string, error) {
	out, err := ipOutput("netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range parseNetnsList(out) {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names, nil
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func ip(args ...string) error {
	_, err := ipOutput(args...)
	return err
}

func ipOutput(args ...string) ([]byte, error) {
	cmd := exec.Command("ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
