package vip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"

	"github.com/ozanturksever/go-cluster/internal/nsnet"
)

// writeTimeout bounds one announcement or probe on the wire.
const writeTimeout = time.Second

// netlinkLink changes addresses with rtnetlink inside the configured
// namespace. Each call opens its own netlink socket on a thread in the
// namespace, so calls share nothing and need no lock.
type netlinkLink struct {
	ns, iface string
	prefix    netip.Prefix
}

func newLink(cfg Config) (link, error) {
	return &netlinkLink{ns: cfg.NetNS, iface: cfg.Interface, prefix: cfg.Address}, nil
}

// do runs fn with the interface, on a thread inside the namespace.
func (l *netlinkLink) do(fn func(netlink.Link) error) error {
	return classify(l.iface, nsnet.Do(l.ns, func() error {
		lk, err := netlink.LinkByName(l.iface)
		if err != nil {
			return err
		}
		return fn(lk)
	}))
}

// classify maps kernel refusals and missing interfaces to the package's
// errors.
func classify(iface string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(netlink.LinkNotFoundError)):
		return fmt.Errorf("%w %q", ErrInterface, iface)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

func (l *netlinkLink) family() int {
	if l.prefix.Addr().Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// copies lists the interface's addresses equal to the VIP, whatever their
// prefix length.
func (l *netlinkLink) copies(lk netlink.Link) ([]netlink.Addr, error) {
	var (
		list []netlink.Addr
		err  error
	)
	// A dump that raced a change is incomplete; the next one is not.
	for range 3 {
		if list, err = netlink.AddrList(lk, l.family()); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var out []netlink.Addr
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == l.prefix.Addr() {
			out = append(out, a)
		}
	}
	return out, nil
}

func (l *netlinkLink) add() error {
	return l.do(func(lk netlink.Link) error {
		if have, err := l.copies(lk); err != nil || len(have) > 0 {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{
			IP:   l.prefix.Addr().AsSlice(),
			Mask: net.CIDRMask(l.prefix.Bits(), l.prefix.Addr().BitLen()),
		}}
		if l.prefix.Addr().Is6() {
			// Duplicate address detection would keep the address
			// unusable for a second or more; the lease already says
			// nobody else should have it.
			a.Flags = syscall.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(lk, a); err != nil && !errors.Is(err, syscall.EEXIST) {
			return err
		}
		return nil
	})
}

func (l *netlinkLink) remove() (removed bool, err error) {
	err = l.do(func(lk netlink.Link) error {
		have, err := l.copies(lk)
		if err != nil {
			return err
		}
		for _, a := range have {
			if err := netlink.AddrDel(lk, &a); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
				return err
			}
			removed = true
		}
		return nil
	})
	if errors.Is(err, ErrInterface) {
		// No interface, no address on it.
		return false, nil
	}
	return removed, err
}

func (l *netlinkLink) present() (bool, error) {
	var ok bool
	err := l.do(func(lk netlink.Link) error {
		have, err := l.copies(lk)
		ok = len(have) > 0
		return err
	})
	return ok, err
}

func (l *netlinkLink) open() (announcer, error) {
	var ann announcer
	err := l.do(func(lk netlink.Link) error {
		attrs := lk.Attrs()
		if len(attrs.HardwareAddr) != 6 || attrs.RawFlags&syscall.IFF_NOARP != 0 {
			// Neighbours on a link without Ethernet addresses (tun,
			// WireGuard) do not cache one to update.
			ann = silent{}
			return nil
		}
		ifi := &net.Interface{Index: attrs.Index, MTU: attrs.MTU, Name: attrs.Name, HardwareAddr: attrs.HardwareAddr}
		var err error
		if l.prefix.Addr().Is4() {
			ann, err = openARP(ifi, l.prefix.Addr())
		} else {
			ann, err = openNA(ifi, l.prefix.Addr())
		}
		return err
	})
	return ann, err
}

// silent announces nothing and probes nobody.
type silent struct{}

func (silent) announce() error { return nil }
func (silent) probe(context.Context, time.Duration) ([]net.HardwareAddr, error) {
	return nil, nil
}
func (silent) close() error { return nil }

// arpAnnouncer sends gratuitous ARPs and RFC 5227 probes for an IPv4
// address on a raw packet socket that receives every ARP frame of the
// interface.
type arpAnnouncer struct {
	conn *packet.Conn
	mac  net.HardwareAddr
	ip   netip.Addr
}

// zeroMAC is the target hardware address of announcements and probes:
// unknown, as RFC 5227 has it.
var zeroMAC = make(net.HardwareAddr, 6)

// openARP must run inside the namespace: the socket belongs to the
// namespace it was made in.
func openARP(ifi *net.Interface, ip netip.Addr) (*arpAnnouncer, error) {
	c, err := packet.Listen(ifi, packet.Raw, int(ethernet.EtherTypeARP), nil)
	if err != nil {
		return nil, fmt.Errorf("cannot open an ARP socket on %s: %w", ifi.Name, err)
	}
	return &arpAnnouncer{conn: c, mac: ifi.HardwareAddr, ip: ip}, nil
}

// announce sends an ARP announcement (RFC 5227): a broadcast request whose
// sender and target are the VIP. Linux updates an existing neighbour entry
// from it even within locktime, and switches learn the port from its
// source.
func (a *arpAnnouncer) announce() error {
	p, err := arp.NewPacket(arp.OperationRequest, a.mac, a.ip, zeroMAC, a.ip)
	if err != nil {
		return err
	}
	return a.send(p)
}

// probe sends an ARP probe: sender address 0.0.0.0, so that no neighbour
// caches it, yet a machine that has the address answers. The holder's own
// kernel does not see its outgoing probe.
func (a *arpAnnouncer) probe(ctx context.Context, wait time.Duration) ([]net.HardwareAddr, error) {
	p, err := arp.NewPacket(arp.OperationRequest, a.mac, netip.IPv4Unspecified(), zeroMAC, a.ip)
	if err != nil {
		return nil, err
	}
	if err := a.send(p); err != nil {
		return nil, err
	}
	if err := a.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = a.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	// Besides answers to this probe, the socket may hold announcements by
	// another machine since the last check: those claim the address too.
	var seen []net.HardwareAddr
	buf := make([]byte, 256)
	for {
		n, _, err := a.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return seen, nil
			}
			return seen, err
		}
		var f ethernet.Frame
		var p arp.Packet
		if f.UnmarshalBinary(buf[:n]) != nil || f.EtherType != ethernet.EtherTypeARP || p.UnmarshalBinary(f.Payload) != nil {
			continue
		}
		if p.SenderIP != a.ip || bytes.Equal(p.SenderHardwareAddr, a.mac) || containsMAC(seen, p.SenderHardwareAddr) {
			continue
		}
		seen = append(seen, p.SenderHardwareAddr)
	}
}

func containsMAC(list []net.HardwareAddr, mac net.HardwareAddr) bool {
	for _, m := range list {
		if bytes.Equal(m, mac) {
			return true
		}
	}
	return false
}

func (a *arpAnnouncer) send(p *arp.Packet) error {
	pb, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	f := &ethernet.Frame{Destination: ethernet.Broadcast, Source: a.mac, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	if err := a.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err = a.conn.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
	return err
}

func (a *arpAnnouncer) close() error { return a.conn.Close() }

// naAnnouncer sends unsolicited neighbour advertisements (RFC 4861 7.2.6)
// for an IPv6 address to all nodes. It does not probe: conflicts on IPv6
// go undetected.
type naAnnouncer struct {
	conn *net.IPConn
	msg  []byte
}

var allNodes = &net.IPAddr{IP: net.ParseIP("ff02::1")}

// openNA must run inside the namespace.
func openNA(ifi *net.Interface, ip netip.Addr) (*naAnnouncer, error) {
	c, err := net.ListenIP("ip6:ipv6-icmp", &net.IPAddr{IP: ip.AsSlice()})
	if err != nil {
		// The address may be one that was there before, still tentative;
		// the kernel then picks the source, which neighbours accept too.
		c, err = net.ListenIP("ip6:ipv6-icmp", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open an ICMPv6 socket on %s: %w", ifi.Name, err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		s := int(fd)
		// Neighbours drop neighbour discovery that has not kept hop
		// limit 255, proof that it never left the link.
		serr = errors.Join(
			syscall.SetsockoptInt(s, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, 255),
			syscall.SetsockoptInt(s, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, ifi.Index),
			// Send only: without a filter every ICMPv6 packet of the
			// namespace would queue up on the socket.
			syscall.SetsockoptICMPv6Filter(s, syscall.IPPROTO_ICMPV6, syscall.ICMPV6_FILTER, blockAll()),
		)
	})
	if err = errors.Join(err, serr); err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot set up the ICMPv6 socket on %s: %w", ifi.Name, err)
	}
	return &naAnnouncer{conn: c, msg: advertisement(ip, ifi.HardwareAddr)}, nil
}

func blockAll() *syscall.ICMPv6Filter {
	var f syscall.ICMPv6Filter
	for i := range f.Data {
		f.Data[i] = ^uint32(0)
	}
	return &f
}

// advertisement is a neighbour advertisement for ip at mac with the
// override flag, so that neighbours replace the address they cached, and
// without the solicited flag, as it answers nobody. The kernel fills in the
// checksum of a raw ICMPv6 socket.
func advertisement(ip netip.Addr, mac net.HardwareAddr) []byte {
	const (
		typeNA          = 136
		flagOverride    = 0x20
		optTargetLLAddr = 2
	)
	msg := make([]byte, 24, 32)
	msg[0] = typeNA
	msg[4] = flagOverride
	target := ip.As16()
	copy(msg[8:24], target[:])
	msg = append(msg, optTargetLLAddr, 1) // length in units of 8 bytes
	return append(msg, mac...)
}

func (n *naAnnouncer) announce() error {
	if err := n.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err := n.conn.WriteTo(n.msg, allNodes)
	return err
}

func (n *naAnnouncer) probe(context.Context, time.Duration) ([]net.HardwareAddr, error) {
	return nil, nil
}

func (n *naAnnouncer) close() error { return n.conn.Close() }
