package vip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Defaults of Config; the package documentation explains the timing.
const (
	// DefaultAnnounce is how many announcements an acquisition sends.
	DefaultAnnounce = 3
	// DefaultAnnounceInterval spaces them.
	DefaultAnnounceInterval = 200 * time.Millisecond
	// DefaultCheckInterval is how often a held address is checked.
	DefaultCheckInterval = time.Second
	// maxProbeWait bounds how long a check listens for answers to its
	// probe; a quarter of CheckInterval when that is shorter.
	maxProbeWait = 200 * time.Millisecond
)

// Errors. Operations wrap them ("cannot X: %w"); test with errors.Is.
var (
	// ErrUnsupported is a platform without VIP support (not Linux).
	ErrUnsupported = errors.New("VIPs are only supported on Linux")
	// ErrPermission is a refusal by the kernel.
	ErrPermission = errors.New("permission denied: a VIP needs root or CAP_NET_ADMIN (and CAP_NET_RAW to announce it)")
	// ErrInterface is an interface that does not exist; the message names
	// it.
	ErrInterface = errors.New("no such interface")
	// ErrConfig is a Config that cannot work; the message names the field.
	ErrConfig = errors.New("bad VIP config")
	// ErrHeld is an Acquire or RemoveStale on a VIP that is held under a
	// context that is still alive.
	ErrHeld = errors.New("VIP already held")
)

// Config describes one virtual address on one interface.
type Config struct {
	// Name labels logs and metrics, e.g. the app's name; default the
	// address.
	Name string
	// Address is the VIP with its prefix length, e.g. 10.0.1.100/24. An
	// IPv4 address is announced with gratuitous ARP; an IPv6 one is added
	// without duplicate address detection and announced with unsolicited
	// neighbour advertisements.
	Address netip.Prefix
	// Interface is the link the address goes on, e.g. eth0.
	Interface string
	// NetNS is the named network namespace to act in; "" is the process's
	// own. Tests run several hosts in one process, each in a namespace.
	NetNS string
	// Announce is the number of announcements per acquisition (and per
	// re-add); default DefaultAnnounce. The first goes out as soon as the
	// address is on the interface.
	Announce int
	// AnnounceInterval spaces the announcements; default
	// DefaultAnnounceInterval.
	AnnounceInterval time.Duration
	// CheckInterval is how often a held address is checked: re-added if it
	// vanished, probed for a conflicting holder. Default
	// DefaultCheckInterval.
	CheckInterval time.Duration
	// Logger receives acquisitions, releases, fencing and trouble; default
	// discards.
	Logger *slog.Logger
	// Metrics, shared by the VIPs of a process; nil records nothing.
	Metrics *Metrics
	// OnConflict, if set, is called for every other hardware address that
	// answered for the address during a check. It runs on the checking
	// goroutine and must not block long.
	OnConflict func(Conflict)
	// OnReadd, if set, is called after a check put back an address that
	// had vanished. It runs on the checking goroutine and must not block
	// long.
	OnReadd func()
}

// Conflict is another machine answering for a held address.
type Conflict struct {
	Address   netip.Addr
	Interface string
	// MAC is the other machine's hardware address.
	MAC net.HardwareAddr
	At  time.Time
}

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.Name == "" && c.Address.IsValid() {
		c.Name = c.Address.String()
	}
	if c.Announce == 0 {
		c.Announce = DefaultAnnounce
	}
	if c.AnnounceInterval == 0 {
		c.AnnounceInterval = DefaultAnnounceInterval
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every field that cannot work, after SetDefaults.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Name == "" {
		bad("Name: empty")
	}
	a := c.Address.Addr()
	switch {
	case !c.Address.IsValid():
		bad("Address: not an address with a prefix length, e.g. 10.0.1.100/24")
	case a.Is4In6():
		bad("Address: %s is an IPv4-mapped IPv6 address; write it as IPv4", c.Address)
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback():
		bad("Address: %s is not a unicast address", c.Address)
	case a.Is4() && c.Address.Bits() <= 30 && (a == c.Address.Masked().Addr() || a == broadcast(c.Address)):
		bad("Address: %s is the network or broadcast address of its subnet", c.Address)
	}
	switch {
	case c.Interface == "":
		bad("Interface: empty")
	case len(c.Interface) > 15:
		bad("Interface: %q is longer than 15 bytes", c.Interface)
	case strings.ContainsAny(c.Interface, "/: \t\n"):
		bad("Interface: %q is not an interface name", c.Interface)
	}
	if c.Announce < 1 {
		bad("Announce: %d, want at least 1", c.Announce)
	}
	if c.AnnounceInterval <= 0 {
		bad("AnnounceInterval: %s, want > 0", c.AnnounceInterval)
	}
	if c.CheckInterval < 10*time.Millisecond {
		bad("CheckInterval: %s, want at least 10ms", c.CheckInterval)
	}
	return errors.Join(errs...)
}

// probeWait is how long a check listens for answers to its probe.
func (c *Config) probeWait() time.Duration {
	return min(maxProbeWait, c.CheckInterval/4)
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	for i := range 4 {
		b[3-i] |= byte(host >> (8 * i))
	}
	return netip.AddrFrom4(b)
}
