// Package vip holds a virtual IP address (VIP) on the host of an
// active-passive app's active instance: the address clients use follows the
// active instance from machine to machine.
//
//	v, err := vip.New(vip.Config{Name: "cache", Address: netip.MustParsePrefix("10.0.1.100/24"), Interface: "eth0"})
//	err = v.Acquire(term.Context()) // the address is on eth0 and announced
//	...
//	err = v.Release(ctx)            // hand over: the address is gone
//
// # Fencing
//
// A VIP is held only while the context passed to Acquire is alive: the
// context of the lease term that makes this host the active one. When it
// ends (the term was lost, resigned or expired, possibly because NATS is
// unreachable and renewals failed), a goroutine of the VIP removes the
// address at once, waiting for no caller and no network. Since the lease
// ends its term before its key can expire and another host can acquire it
// (see host/lease), the old holder has dropped the address before the new
// one adds it, as long as this host's kernel answers a netlink request in
// that margin. Checks and announcements take the same lock as the fence and
// look at whether the hold has ended under it, so nothing re-adds or
// announces the address after it was fenced.
//
// # Announcing
//
// Acquire adds the address with rtnetlink (an IPv6 address without
// duplicate address detection, which would keep it unusable for a second
// or more) and sends the first announcement at once, before it returns;
// then Announce-1 more, AnnounceInterval apart (defaults 3 and 200ms, as
// Pacemaker's IPaddr2 spaces them). An IPv4 address is announced with
// gratuitous ARP in the form of an RFC 5227 announcement (a broadcast
// request whose sender and target address are the VIP); an IPv6 address
// with an unsolicited neighbour advertisement to all nodes with the
// override flag.
//
// A client that talked to the previous holder has a neighbour entry with
// the previous holder's MAC, and would keep sending there until the entry
// goes stale and is probed (tens of seconds). Linux replaces the MAC of an
// existing entry on a gratuitous ARP (also within locktime) and on an
// advertisement with the override flag; it does not create entries from
// them by default, which it need not: a client without an entry resolves
// the address afresh. Switches learn the new port from the frame's source.
// One frame can be lost, or arrive while a switch port or a bond is still
// coming up, so several go out, spaced.
//
// # Checking
//
// While held, every CheckInterval (default 1s) the VIP looks whether the
// address is still on the interface and puts it back if not (someone ran
// ip addr flush, or a network manager reconfigured the interface): the
// re-add is announced again, counted, and reported through OnReadd. Then,
// for IPv4, it sends an ARP probe for the address (sender address 0.0.0.0,
// so that no neighbour caches anything from it) and listens for up to
// 200ms (a quarter of CheckInterval if shorter): a machine that has the
// address too answers, and any ARP frame that claims the address from
// another MAC is a Conflict, counted and reported through OnConflict. The
// VIP does not give the address up on a conflict: the lease decides who
// holds it; the report is for an operator, or for a host that wants to act.
// IPv6 addresses are checked for presence only, not probed.
//
// # Permissions
//
// Adding and removing addresses needs root or CAP_NET_ADMIN; the ARP and
// ICMPv6 sockets need CAP_NET_RAW; acting in another network namespace
// (Config.NetNS) needs CAP_SYS_ADMIN. A refusal is ErrPermission. Off Linux,
// New returns ErrUnsupported.
//
// # Crashes
//
// A host process that crashed while active leaves the address on its
// interface: nothing can fence a dead process, and the machine's kernel
// goes on answering for the address. The new holder's announcements
// redirect the neighbours, but the old machine wins some back whenever it
// answers an ARP request, and the new holder's probes report it as a
// conflict. A host should call RemoveStale when it starts, before it
// campaigns. A machine that died entirely answers nothing.
package vip
