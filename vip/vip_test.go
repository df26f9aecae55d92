package vip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/testwait"
)

// fakeLink is an interface in memory, for what needs failures on demand;
// the tests in vip_linux_test.go use real namespaces.
type fakeLink struct {
	mu          sync.Mutex
	has         bool  // the address is on the interface
	removeFails int   // the next removes that fail
	openErr     error // open fails with it
}

var errFake = errors.New("fake failure")

func (f *fakeLink) add() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.has = true
	return nil
}

func (f *fakeLink) remove() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeFails > 0 {
		f.removeFails--
		return false, errFake
	}
	was := f.has
	f.has = false
	return was, nil
}

func (f *fakeLink) present() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.has, nil
}

func (f *fakeLink) isPresent() bool {
	ok, _ := f.present()
	return ok
}

func (f *fakeLink) open() (announcer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.openErr != nil {
		return nil, f.openErr
	}
	return fakeAnnouncer{}, nil
}

type fakeAnnouncer struct{}

func (fakeAnnouncer) announce() error { return nil }

func (fakeAnnouncer) probe(context.Context, time.Duration) ([]net.HardwareAddr, error) {
	return nil, nil
}

func (fakeAnnouncer) close() error { return nil }

func fakeVIP(t *testing.T, f *fakeLink) *VIP {
	t.Helper()
	cfg := Config{Address: netip.MustParsePrefix("10.0.1.100/24"), Interface: "eth0", CheckInterval: time.Hour}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	v := withLink(cfg, f)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = v.Release(ctx)
	})
	return v
}

func TestFenceRetriesRemoval(t *testing.T) {
	f := &fakeLink{}
	v := fakeVIP(t, f)
	term, lost := context.WithCancel(context.Background())
	if err := v.Acquire(term); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.removeFails = 2
	f.mu.Unlock()
	lost()
	testwait.For(t, 2*time.Second, 5*time.Millisecond, "the fence to remove the address after two failures", func() bool {
		return !f.isPresent()
	})
	if v.Held() {
		t.Error("Held after fencing")
	}
}

func TestAcquireUndoesAnAddressItCannotAnnounce(t *testing.T) {
	f := &fakeLink{openErr: errFake}
	v := fakeVIP(t, f)
	if err := v.Acquire(context.Background()); !errors.Is(err, errFake) {
		t.Fatalf("Acquire = %v, want the announcer's error", err)
	}
	if f.isPresent() || v.Held() {
		t.Errorf("after a failed Acquire: present %v, held %v", f.isPresent(), v.Held())
	}
}

func TestAcquireAfterCancelledContext(t *testing.T) {
	f := &fakeLink{}
	v := fakeVIP(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	if f.isPresent() {
		t.Error("Acquire with an ended context added the address")
	}
}
