package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

const (
	testBucket = "locks"
	// waitLong bounds every wait for something that must happen.
	waitLong = 30 * time.Second
)

// newTable opens the lock bucket (created on first use) on a new
// connection to url and returns a table of owner on it.
func newTable(t testing.TB, url string, replicas int, owner string) *Table {
	t.Helper()
	nc := natstest.Connect(t, url)
	kv := natstest.KeyValue(t, nc, BucketConfig(testBucket, replicas))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := New(Config{KV: kv, JS: js, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// pair is two tables, "a" and "b", each on its own connection to one
// standalone server.
func pair(t testing.TB) (a, b *Table) {
	t.Helper()
	s := natstest.Start(t, nil)
	return newTable(t, s.ClientURL(), 1, "a"), newTable(t, s.ClientURL(), 1, "b")
}

func ctxLong(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

func acquire(t testing.TB, tbl *Table, name string, ttl time.Duration) uint64 {
	t.Helper()
	token, err := tbl.Acquire(ctxLong(t), []byte(name), ttl, 0)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// wantErr fails t unless err is each of targets.
func wantErr(t testing.TB, what string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want an error", what)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: %v; want it to be %v", what, err, target)
		}
	}
}

// acquisition is an Acquire running in the background.
type acquisition struct {
	done  chan struct{}
	token uint64
	err   error
}

func acquireAsync(t testing.TB, tbl *Table, name string, ttl, wait time.Duration) *acquisition {
	a := &acquisition{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.token, a.err = tbl.Acquire(context.Background(), []byte(name), ttl, wait)
	}()
	t.Cleanup(func() { <-a.done })
	return a
}

func (a *acquisition) wait(t testing.TB) (uint64, error) {
	t.Helper()
	select {
	case <-a.done:
		return a.token, a.err
	case <-time.After(waitLong):
		t.Fatalf("Acquire did not return within %s", waitLong)
		return 0, nil
	}
}

// events records what tbl's waiters did: park, then wake by watch or
// resync.
type events struct {
	mu    sync.Mutex
	count map[string]int
}

func recordEvents(tbl *Table) *events {
	ev := &events{count: map[string]int{}}
	tbl.trace = func(_, event string) {
		ev.mu.Lock()
		ev.count[event]++
		ev.mu.Unlock()
	}
	return ev
}

func (ev *events) get(event string) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.count[event]
}

func (ev *events) String() string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return fmt.Sprint(ev.count)
}

// parked waits until n waits have begun.
func (ev *events) parked(t testing.TB, n int) {
	t.Helper()
	testwait.For(t, waitLong, 5*time.Millisecond, "waiters", func() bool { return ev.get("park") >= n })
}
