package sdk

import (
	"math"
	"time"
	"unsafe"
)

// Locks of the app, shared by all its instances on all nodes. A lock has a
// name (any bytes, 1 to MaxKeyLen long; each app has its own names) and a
// time to live: a holder that stops renewing loses it when the TTL runs
// out, so a crashed instance cannot keep it. Every new holder gets a
// larger fencing token; pass it to what the lock protects so a stale
// holder's late writes can be told apart and refused.
//
// The manifest grants locks; without the grant Lock answers ErrDenied.
// Lock answers ErrConflict when another holds the lock after the wait,
// Renew and Release when the token no longer holds it (it expired and
// perhaps someone else took it). The error's message says more, such as
// who holds the lock.

// Lock bounds: a TTL is MinLockTTL to MaxLockTTL, a wait at most
// MaxLockWait. Durations are rounded up to whole milliseconds.
const (
	MinLockTTL  = minLockTTLMillis * time.Millisecond
	MaxLockTTL  = maxLockTTLMillis * time.Millisecond
	MaxLockWait = maxLockWaitMillis * time.Millisecond
)

// LockOption tunes one Lock.
type LockOption func(*lockOptions)

type lockOptions struct {
	wait time.Duration
}

// WaitFor makes Lock wait up to d, at most MaxLockWait, while another
// holds the lock. Without it Lock does not wait.
func WaitFor(d time.Duration) LockOption {
	return func(o *lockOptions) { o.wait = d }
}

// Held is a lock this instance took. It stays held until Release, or
// until its TTL runs out without a Renew.
type Held struct {
	name  string
	token uint64
}

var (
	errBadLockName = &Error{Status: StatusInvalid, Message: "lock name must be 1 to 512 bytes"}
	errBadLockTTL  = &Error{Status: StatusInvalid, Message: "lock TTL must be 1s to 5m"}
	errBadLockWait = &Error{Status: StatusInvalid, Message: "lock wait must be 0 to 30s"}
)

// millis rounds d up to whole milliseconds, so a sub-millisecond duration
// does not read as none, and caps it at the largest i32. It divides before
// rounding: adding first would overflow near the largest Duration and
// send a negative count.
func millis(d time.Duration) int64 {
	ms := d / time.Millisecond
	if d%time.Millisecond > 0 {
		ms++
	}
	return int64(min(ms, math.MaxInt32))
}

func lockTTL(ttl time.Duration) (int32, error) {
	ms := millis(ttl)
	if ms < minLockTTLMillis || ms > maxLockTTLMillis {
		return 0, errBadLockTTL
	}
	return int32(ms), nil
}

// Lock takes the app's lock called name for ttl, waiting as WaitFor says
// while another instance holds it.
//
//	held, err := sdk.Lock("nightly-report", time.Minute)
//	if errors.Is(err, sdk.ErrConflict) {
//		return nil, nil // another instance is on it
//	}
//	if err != nil {
//		return nil, err
//	}
//	defer held.Release()
func Lock(name string, ttl time.Duration, opts ...LockOption) (*Held, error) {
	var o lockOptions
	for _, opt := range opts {
		opt(&o)
	}
	if len(name) == 0 || len(name) > MaxKeyLen {
		return nil, errBadLockName
	}
	ttlMS, err := lockTTL(ttl)
	if err != nil {
		return nil, err
	}
	if o.wait < 0 || millis(o.wait) > maxLockWaitMillis {
		return nil, errBadLockWait
	}
	h := &Held{name: name}
	if ret := hostLockAcquire(stringPtr(name), uint32(len(name)), ttlMS, int32(millis(o.wait)), unsafe.Pointer(&h.token)); ret < 0 {
		return nil, hostErr(ret)
	}
	return h, nil
}

// Name returns the lock's name.
func (h *Held) Name() string { return h.name }

// HeldLock rebuilds the handle of a holding from its name and token, for a
// guest that kept the token (in KV, say) to renew or release the lock from
// another call or instance. Renew and Release still fail with ErrConflict
// unless that token holds the lock.
func HeldLock(name string, token uint64) *Held { return &Held{name: name, token: token} }

// Token returns the lock's fencing token: larger for every later holder
// of the lock, so what the lock protects can refuse a stale holder.
func (h *Held) Token() uint64 { return h.token }

// Renew extends the lock to ttl from now. ErrConflict means the lock
// expired before and may have another holder: stop what it protects.
func (h *Held) Renew(ttl time.Duration) error {
	ttlMS, err := lockTTL(ttl)
	if err != nil {
		return err
	}
	if ret := hostLockRenew(stringPtr(h.name), uint32(len(h.name)), h.token, ttlMS); ret < 0 {
		return hostErr(ret)
	}
	return nil
}

// Release frees the lock. ErrConflict means it had expired already.
func (h *Held) Release() error {
	if ret := hostLockRelease(stringPtr(h.name), uint32(len(h.name)), h.token); ret < 0 {
		return hostErr(ret)
	}
	return nil
}
