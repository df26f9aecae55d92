//go:build !wasip1

package sdk

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	h := useHost(t)
	held, err := Lock("report", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if held.Name() != "report" || held.Token() != 1 {
		t.Errorf("held %q with token %d", held.Name(), held.Token())
	}
	if err := held.Renew(1500 * time.Millisecond); err != nil {
		t.Errorf("Renew: %v", err)
	}
	if err := held.Release(); err != nil {
		t.Errorf("Release: %v", err)
	}
	again, err := Lock("report", MinLockTTL, WaitFor(2*time.Second))
	if err != nil || again.Token() <= held.Token() {
		t.Fatalf("Lock after release = %+v, %v; want a larger token", again, err)
	}
	want := []memLockCall{
		{"acquire", "report", 0, 60000, 0},
		{"renew", "report", 1, 1500, 0},
		{"release", "report", 1, 0, 0},
		{"acquire", "report", 0, 1000, 2000},
	}
	if !reflect.DeepEqual(h.lockCalls, want) {
		t.Errorf("host saw %+v, want %+v", h.lockCalls, want)
	}
}

func TestLockConflict(t *testing.T) {
	h := useHost(t)
	first, err := Lock("k\x00\xff", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock("k\x00\xff", time.Second, WaitFor(time.Millisecond))
	if !errors.Is(err, ErrConflict) || err.Error() != "held by another instance with token 1" {
		t.Errorf("Lock of a held lock: %v, want ErrConflict with the host's message", err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	// The token no longer holds the lock.
	for name, err := range map[string]error{"Renew": first.Renew(time.Second), "Release": first.Release()} {
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "not held with this token") {
			t.Errorf("%s after Release: %v", name, err)
		}
	}
	stale := &Held{name: "k\x00\xff", token: 99}
	if _, err := Lock("k\x00\xff", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stale.Release(); !errors.Is(err, ErrConflict) {
		t.Errorf("Release with a stale token: %v", err)
	}
	h.fail, h.errMsg = -int32(StatusDenied), ""
	if _, err := Lock("other", time.Second); err != ErrDenied {
		t.Errorf("Lock without the grant: %#v, want ErrDenied", err)
	}
}

func TestLockRefusedBeforeTheHost(t *testing.T) {
	h := useHost(t)
	tests := []struct {
		name string
		ttl  time.Duration
		opts []LockOption
		msg  string
	}{
		{"", time.Second, nil, "lock name must be 1 to 512 bytes"},
		{strings.Repeat("n", MaxKeyLen+1), time.Second, nil, "lock name must be 1 to 512 bytes"},
		{"n", MinLockTTL - time.Millisecond, nil, "lock TTL must be 1s to 5m"},
		{"n", 0, nil, "lock TTL must be 1s to 5m"},
		{"n", -time.Second, nil, "lock TTL must be 1s to 5m"},
		{"n", MaxLockTTL + time.Microsecond, nil, "lock TTL must be 1s to 5m"},
		{"n", 1 << 62, nil, "lock TTL must be 1s to 5m"},
		{"n", time.Second, []LockOption{WaitFor(-time.Millisecond)}, "lock wait must be 0 to 30s"},
		{"n", time.Second, []LockOption{WaitFor(MaxLockWait + time.Microsecond)}, "lock wait must be 0 to 30s"},
		{"n", math.MaxInt64, nil, "lock TTL must be 1s to 5m"},
		{"n", time.Second, []LockOption{WaitFor(math.MaxInt64)}, "lock wait must be 0 to 30s"},
	}
	for _, tt := range tests {
		if _, err := Lock(tt.name, tt.ttl, tt.opts...); !errors.Is(err, ErrInvalid) || err.Error() != tt.msg {
			t.Errorf("Lock(%.10q, %v): %v, want ErrInvalid %q", tt.name, tt.ttl, err, tt.msg)
		}
	}
	held := &Held{name: "n", token: 1}
	if err := held.Renew(MaxLockTTL + time.Millisecond); !errors.Is(err, ErrInvalid) {
		t.Errorf("Renew beyond MaxLockTTL: %v", err)
	}
	if len(h.lockCalls) != 0 {
		t.Errorf("refused calls reached the host: %+v", h.lockCalls)
	}
	// The bounds themselves are fine, and durations round up to whole
	// milliseconds.
	if _, err := Lock("a", MaxLockTTL, WaitFor(MaxLockWait)); err != nil {
		t.Errorf("Lock at the upper bounds: %v", err)
	}
	if _, err := Lock("b", MinLockTTL-time.Microsecond, WaitFor(time.Microsecond)); err != nil {
		t.Errorf("Lock just under MinLockTTL, rounding up to it: %v", err)
	}
	if got := h.lockCalls[1]; got.ttlMS != 1000 || got.waitMS != 1 {
		t.Errorf("host saw %+v, want ttl 1s and wait 1ms", got)
	}
}

func TestMillis(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{time.Nanosecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + time.Nanosecond, 2},
		{1500 * time.Microsecond, 2},
		{math.MaxInt32 * time.Millisecond, math.MaxInt32},
		{math.MaxInt32*time.Millisecond + 1, math.MaxInt32},
		{math.MaxInt64, math.MaxInt32},
		{math.MaxInt64 - time.Millisecond + 1, math.MaxInt32},
	} {
		if got := millis(tt.d); got != tt.want {
			t.Errorf("millis(%d) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestLockWithoutHost(t *testing.T) {
	if _, err := Lock("n", time.Second); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lock without a host: %v", err)
	}
	if err := (&Held{name: "n", token: 1}).Release(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Release without a host: %v", err)
	}
}
