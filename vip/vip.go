package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link is what a VIP does to its interface; vip_linux.go has the real one.
// Errors are already mapped to ErrPermission and ErrInterface.
//
// Threading: add, remove, present and open may be called concurrently.
type link interface {
	// add puts the address on the interface unless it is there already.
	add() error
	// remove takes every copy of the address off the interface; a missing
	// address or interface is not an error.
	remove() (removed bool, err error)
	// present reports whether the address is on the interface.
	present() (bool, error)
	// open returns an announcer for the address.
	open() (announcer, error)
}

// announcer tells the LAN where the address is and asks who else has it.
//
// Threading: one goroutine at a time.
type announcer interface {
	// announce sends one gratuitous ARP or unsolicited neighbour
	// advertisement.
	announce() error
	// probe asks who has the address and returns the hardware addresses,
	// other than the interface's own, that claimed it within wait or until
	// ctx ended.
	probe(ctx context.Context, wait time.Duration) ([]net.HardwareAddr, error)
	close() error
}

// VIP is one virtual address that this host holds while it is the active
// instance.
//
// Threading: all methods are safe for concurrent use; Acquire, Release and
// RemoveStale are serialised. A VIP owns two goroutines while held: a
// fence, which removes the address when the holder's context ends, and a
// tender, which sends the announcements and runs the checks. Release stops
// and waits for them; after fencing they end by themselves and the next
// Acquire or Release waits for them.
type VIP struct {
	cfg   Config
	log   *slog.Logger
	link  link
	where string // "VIP 10.0.1.100/24" and the interface, for errors

	mu  sync.Mutex // serialises Acquire, Release and RemoveStale; they set cur
	cur atomic.Pointer[hold]

	checked func() // tests: called after every check; set before Acquire
}

// hold is one acquisition.
type hold struct {
	ctx    context.Context // the acquisition's; cancelled also by Release
	cancel context.CancelFunc

	// mu orders the end of the hold against address changes and
	// announcements: once ended is set under mu, neither the fence's nor
	// Release's removal can be followed by a re-add or an announcement
	// that would draw traffic back here.
	mu    sync.Mutex
	ended atomic.Bool
	// ann is used by Acquire until the tender starts, then by the tender
	// only; nil after a failure until reopened.
	ann announcer

	fenceDone, tendDone chan struct{}
}

// New checks cfg (after filling its defaults) and returns a VIP. It does no
// I/O. ErrUnsupported off Linux.
func New(cfg Config) (*VIP, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := newLink(cfg)
	if err != nil {
		return nil, err
	}
	return withLink(cfg, l), nil
}

// withLink is a VIP for a checked cfg acting through l.
func withLink(cfg Config, l link) *VIP {
	where := cfg.Interface
	if cfg.NetNS != "" {
		where += " in network namespace " + cfg.NetNS
	}
	return &VIP{
		cfg:   cfg,
		log:   cfg.Logger.With("vip", cfg.Name, "address", cfg.Address.String(), "interface", cfg.Interface),
		link:  l,
		where: where,
	}
}

// Config is the VIP's configuration with its defaults filled in.
func (v *VIP) Config() Config { return v.cfg }

// Acquire puts the address on the interface (it may be there already),
// sends the first announcement at once and the rest spaced in the
// background, and starts the periodic check. It returns once the address
// is on the interface.
//
// The address is held until Release or until ctx ends: then the VIP
// removes it at once by itself (fencing), waiting for nobody. Pass the
// context of the lease term that entitles this host to the address.
//
// ErrHeld: the VIP is held under a context that has not ended. When the
// address cannot be announced, Acquire takes it off again and fails.
func (v *VIP) Acquire(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return v.errorf("add", "to", err)
	}
	if h := v.cur.Load(); h != nil {
		if !h.ended.Load() {
			return v.errorf("add", "to", ErrHeld)
		}
		// A fenced hold's goroutines are ending by themselves.
		if err := h.wait(ctx); err != nil {
			return v.errorf("add", "to", err)
		}
		v.cur.Store(nil)
	}
	if err := v.link.add(); err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opAdd)
		return v.errorf("add", "to", err)
	}
	ann, err := v.link.open()
	if err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opAnnounce)
		_, rerr := v.link.remove()
		return v.errorf("add", "to", errors.Join(err, rerr))
	}
	hctx, cancel := context.WithCancel(ctx)
	h := &hold{
		ctx:       hctx,
		cancel:    cancel,
		ann:       ann,
		fenceDone: make(chan struct{}),
		tendDone:  make(chan struct{}),
	}
	// Clients and switches switch over on the first announcement: it goes
	// before anything else.
	v.announce(h)
	v.cur.Store(h)
	v.cfg.Metrics.acquired(v.cfg.Name)
	v.log.Info("VIP acquired")
	go v.fence(h)
	go v.tend(h)
	return nil
}

// Release takes the address off the interface (absent is fine, held or
// not) and stops and waits for the background goroutines; ctx bounds the
// wait.
func (v *VIP) Release(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := v.cur.Load()
	var (
		removed bool
		err     error
	)
	if h != nil {
		h.mu.Lock()
		held := !h.ended.Swap(true)
		removed, err = v.link.remove()
		h.mu.Unlock()
		h.cancel()
		if held {
			v.cfg.Metrics.released(v.cfg.Name)
			v.log.Info("VIP released", "removed", removed)
		}
	} else {
		removed, err = v.link.remove()
		if removed {
			v.log.Info("VIP removed while not held")
		}
	}
	if err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opRemove)
		v.log.Error("cannot remove VIP", "err", err)
		return v.errorf("remove", "from", err)
	}
	if h != nil {
		if err := h.wait(ctx); err != nil {
			// cur stays, so the next call waits for the rest.
			return fmt.Errorf("cannot release VIP %s on %s: %w", v.cfg.Address, v.where, err)
		}
		v.cur.Store(nil)
	}
	return nil
}

// Held reports whether the VIP is acquired and neither released nor
// fenced.
func (v *VIP) Held() bool {
	h := v.cur.Load()
	return h != nil && !h.ended.Load()
}

// Present reports whether the address is on the interface now, held or
// not.
func (v *VIP) Present(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, v.errorf("read", "on", err)
	}
	ok, err := v.link.present()
	if err != nil {
		return false, v.errorf("read", "on", err)
	}
	return ok, nil
}

// RemoveStale takes a copy of the address off the interface without
// holding it: the VIP left by a run of this host that crashed while
// active. ErrHeld while held.
func (v *VIP) RemoveStale(ctx context.Context) (removed bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, v.errorf("remove", "from", err)
	}
	if v.Held() {
		return false, v.errorf("remove", "from", ErrHeld)
	}
	removed, err = v.link.remove()
	if err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opRemove)
		return false, v.errorf("remove", "from", err)
	}
	if removed {
		v.log.Warn("removed a stale copy of the VIP")
	}
	return removed, nil
}

func (v *VIP) errorf(verb, prep string, err error) error {
	return fmt.Errorf("cannot %s VIP %s %s %s: %w", verb, v.cfg.Address, prep, v.where, err)
}

// fence removes the address the moment the hold's context ends, unless
// Release ended the hold first. It does not wait for the tender: the hold's
// lock keeps the tender from re-adding or announcing afterwards.
func (v *VIP) fence(h *hold) {
	defer close(h.fenceDone)
	<-h.ctx.Done()
	h.mu.Lock()
	if h.ended.Swap(true) {
		h.mu.Unlock()
		return
	}
	// Counted first, so that whoever sees the address gone sees it
	// counted.
	v.cfg.Metrics.fence(v.cfg.Name)
	removed, err := v.link.remove()
	h.mu.Unlock()
	cause := context.Cause(h.ctx)
	// A host that is no longer entitled to the address must not keep it
	// because of a passing failure (a full socket buffer, say); Release
	// and the next Acquire wait for these retries.
	for _, pause := range fenceRetries {
		if err == nil {
			break
		}
		v.cfg.Metrics.failed(v.cfg.Name, opRemove)
		v.log.Error("VIP fenced but cannot remove the address; retrying", "cause", cause, "err", err, "in", pause)
		time.Sleep(pause)
		removed, err = v.link.remove()
	}
	if err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opRemove)
		v.log.Error("VIP fenced but cannot remove the address", "cause", cause, "err", err)
		return
	}
	v.log.Warn("VIP fenced: the holder's context ended", "cause", cause, "removed", removed)
}

// fenceRetries are the pauses before the fence tries again to remove an
// address it could not; about a second in all.
var fenceRetries = []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond}

// tend sends the announcements after the first and checks the address
// every CheckInterval until the hold's context ends.
func (v *VIP) tend(h *hold) {
	defer close(h.tendDone)
	defer func() {
		if h.ann != nil {
			_ = h.ann.close()
		}
	}()
	left := v.cfg.Announce - 1
	next := time.NewTimer(v.cfg.AnnounceInterval)
	defer next.Stop()
	if left == 0 {
		next.Stop()
	}
	check := time.NewTicker(v.cfg.CheckInterval)
	defer check.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-next.C:
			v.announce(h)
			if left--; left > 0 {
				next.Reset(v.cfg.AnnounceInterval)
			}
		case <-check.C:
			if v.check(h) {
				// A re-add starts a new round of announcements; check
				// sent its first.
				if left = v.cfg.Announce - 1; left > 0 {
					next.Reset(v.cfg.AnnounceInterval)
				}
			}
		}
	}
}

// announce sends one announcement unless the hold has ended, reopening
// the announcer after a failure.
func (v *VIP) announce(h *hold) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended.Load() {
		return
	}
	if !v.reopen(h) {
		return
	}
	if err := h.ann.announce(); err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opAnnounce)
		v.log.Error("cannot announce VIP", "err", err)
		_ = h.ann.close()
		h.ann = nil
		return
	}
	v.cfg.Metrics.announced(v.cfg.Name)
}

// reopen makes sure h.ann is open; the interface may have been recreated.
func (v *VIP) reopen(h *hold) bool {
	if h.ann != nil {
		return true
	}
	ann, err := v.link.open()
	if err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opAnnounce)
		v.log.Error("cannot open the announcer of VIP", "err", err)
		return false
	}
	h.ann = ann
	return true
}

// check puts back an address that vanished (reporting whether it did) and
// probes for another holder.
func (v *VIP) check(h *hold) (readded bool) {
	h.mu.Lock()
	if h.ended.Load() {
		h.mu.Unlock()
		return false
	}
	ok, err := v.link.present()
	switch {
	case err != nil:
		v.cfg.Metrics.failed(v.cfg.Name, opCheck)
		v.log.Error("cannot check VIP", "err", err)
	case !ok:
		if err := v.link.add(); err != nil {
			v.cfg.Metrics.failed(v.cfg.Name, opAdd)
			v.log.Error("VIP vanished and cannot be put back", "err", err)
			break
		}
		readded = true
		v.cfg.Metrics.readd(v.cfg.Name)
		v.log.Warn("VIP vanished from the interface and was put back")
	}
	h.mu.Unlock()
	if readded {
		v.announce(h)
		if v.cfg.OnReadd != nil {
			v.cfg.OnReadd()
		}
	}
	v.probe(h)
	if v.checked != nil {
		v.checked()
	}
	return readded
}

// probe reports every other hardware address that claims the address. It
// runs without h.mu: listening takes a while and must not hold up the
// fence.
func (v *VIP) probe(h *hold) {
	h.mu.Lock()
	ok := !h.ended.Load() && v.reopen(h)
	h.mu.Unlock()
	if !ok {
		return
	}
	macs, err := h.ann.probe(h.ctx, v.cfg.probeWait())
	if h.ctx.Err() != nil {
		return
	}
	if err != nil {
		v.cfg.Metrics.failed(v.cfg.Name, opProbe)
		v.log.Error("cannot probe for another holder of VIP", "err", err)
		h.mu.Lock()
		_ = h.ann.close()
		h.ann = nil
		h.mu.Unlock()
		return
	}
	for _, mac := range macs {
		c := Conflict{Address: v.cfg.Address.Addr(), Interface: v.cfg.Interface, MAC: mac, At: time.Now()}
		v.cfg.Metrics.conflict(v.cfg.Name)
		v.log.Error("VIP conflict: another machine answers for the address", "mac", mac.String())
		if v.cfg.OnConflict != nil {
			v.cfg.OnConflict(c)
		}
	}
}

// wait waits for the hold's goroutines or for ctx.
func (h *hold) wait(ctx context.Context) error {
	for _, done := range []chan struct{}{h.fenceDone, h.tendDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("goroutines still running: %w", ctx.Err())
		}
	}
	return nil
}
