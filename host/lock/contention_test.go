package lock

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

// Three hosts, each with its own connection to a different server of a
// three-server cluster (R3 bucket), and several goroutines on each take
// the same lock over and over. Never are there two holders at once, and
// each holder's token is larger than the one before it.
func TestContention(t *testing.T) {
	const perNode, rounds = 5, 10
	servers := natstest.Cluster(t, 3)
	tables, evs := clusterTables(t, servers, false)
	var a arena
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, tbl := range tables {
		for range perNode {
			wg.Go(func() {
				for range rounds {
					if err := a.cycle(ctx, tbl); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	a.check(t)
	if want := len(tables) * perNode * rounds; a.count() != want {
		t.Errorf("%d acquisitions, want %d", a.count(), want)
	}
	t.Logf("%d acquisitions in %s; waiters per node: %v", a.count(), time.Since(start).Round(time.Millisecond), evs)
}

// The same with the bucket's stream leader killed midway: acquisitions
// and releases caught by the election are retried, and the lock stays
// exclusive with growing tokens across it.
func TestContentionLeaderKilled(t *testing.T) {
	const perNode, before, after = 2, 20, 20
	servers := natstest.Cluster(t, 3)
	tables, evs := clusterTables(t, servers, true)
	var a arena
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLong)
	defer cancel()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, tbl := range tables {
		for range perNode {
			wg.Go(func() {
				for !stop.Load() {
					if err := a.cycle(ctx, tbl); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	defer wg.Wait()
	defer stop.Store(true)
	testwait.For(t, waitLong, 10*time.Millisecond, "acquisitions before the kill", func() bool { return a.count() >= before })
	leader := natstest.StreamLeader(servers, "KV_"+testBucket)
	if leader == nil {
		t.Fatal("no stream leader")
	}
	killed, at := time.Now(), a.count()
	leader.Kill()
	testwait.For(t, 2*waitLong, 10*time.Millisecond, "an acquisition after the kill", func() bool { return a.count() > at })
	first := time.Since(killed)
	testwait.For(t, 2*waitLong, 10*time.Millisecond, "acquisitions after the kill", func() bool { return a.count() >= at+after })
	stop.Store(true)
	wg.Wait()
	a.check(t)
	t.Logf("killed leader %s after %d acquisitions; the next after %s, %d more within %s; waiters per node: %v",
		leader.Name(), at, first.Round(time.Millisecond), a.count()-at, time.Since(killed).Round(time.Millisecond), evs)
}

// clusterTables makes a table per server, "node-1" on the first and so on,
// each on its own connection to its server; with failover, a connection
// moves to the other servers when its own dies.
func clusterTables(t *testing.T, servers []*natstest.Server, failover bool) ([]*Table, []*events) {
	tables := make([]*Table, len(servers))
	evs := make([]*events, len(servers))
	for i, s := range servers {
		url := s.ClientURL()
		if failover {
			url = natstest.URLs(append([]*natstest.Server{s}, servers...)...)
		}
		tables[i] = newTable(t, url, 3, fmt.Sprintf("node-%d", i+1))
		evs[i] = recordEvents(tables[i])
	}
	return tables, evs
}

// arena is the critical section the goroutines of a contention test take
// turns in, with an occupancy check and the tokens in the order their
// holders entered.
type arena struct {
	busy   atomic.Bool // someone is inside
	mu     sync.Mutex
	tokens []uint64
	errs   []string
}

// cycle acquires the lock (waiting), enters the arena with the token and
// releases. The ttl is far longer than a cycle: expiry plays no part.
func (a *arena) cycle(ctx context.Context, tbl *Table) error {
	name := []byte("hot")
	token, err := tbl.Acquire(ctx, name, 20*time.Second, 20*time.Second)
	if err != nil {
		return err
	}
	a.enter(token)
	return tbl.Release(ctx, name, token)
}

func (a *arena) enter(token uint64) {
	if !a.busy.CompareAndSwap(false, true) {
		a.fail("token %d entered while another holder was inside", token)
		return
	}
	a.mu.Lock()
	if n := len(a.tokens); n > 0 && token <= a.tokens[n-1] {
		a.errs = append(a.errs, fmt.Sprintf("token %d came after token %d", token, a.tokens[n-1]))
	}
	a.tokens = append(a.tokens, token)
	a.mu.Unlock()
	runtime.Gosched() // give an intruder its chance
	a.busy.Store(false)
}

func (a *arena) fail(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, fmt.Sprintf(format, args...))
}

func (a *arena) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.tokens)
}

func (a *arena) check(t *testing.T) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.errs {
		t.Error(e)
	}
}
