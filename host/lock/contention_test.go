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
)

// Three hosts, each with its own connection to a different server of a
// three-server cluster (R3 bucket), and several goroutines on each take
// the same lock over and over. Never are there two holders at once, and
// each holder's token is larger than the one before it.
func TestContention(t *testing.T) {
	const (
		perNode = 5
		rounds  = 10
		name    = "hot"
	)
	servers := natstest.Cluster(t, 3)
	tables := make([]*Table, len(servers))
	evs := make([]*events, len(servers))
	for i, s := range servers {
		tables[i] = newTable(t, s.ClientURL(), 3, fmt.Sprintf("node-%d", i+1))
		evs[i] = recordEvents(tables[i])
	}
	var (
		busy   atomic.Bool // someone is in the critical section
		mu     sync.Mutex
		tokens []uint64 // in the order holders entered
	)
	critical := func(token uint64) {
		if !busy.CompareAndSwap(false, true) {
			t.Errorf("token %d entered while another holder was inside", token)
			return
		}
		mu.Lock()
		if n := len(tokens); n > 0 && token <= tokens[n-1] {
			t.Errorf("token %d came after token %d", token, tokens[n-1])
		}
		tokens = append(tokens, token)
		mu.Unlock()
		runtime.Gosched() // give an intruder its chance
		busy.Store(false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, tbl := range tables {
		for range perNode {
			wg.Go(func() {
				for range rounds {
					if err := cycle(ctx, tbl, []byte(name), critical); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if want := len(tables) * perNode * rounds; len(tokens) != want {
		t.Errorf("%d acquisitions, want %d", len(tokens), want)
	}
	t.Logf("%d acquisitions in %s; waiters per node: %v", len(tokens), time.Since(start).Round(time.Millisecond), evs)
}

// cycle acquires name (waiting), runs critical with the token and
// releases. The ttl is far longer than a cycle: expiry plays no part.
func cycle(ctx context.Context, tbl *Table, name []byte, critical func(uint64)) error {
	token, err := tbl.Acquire(ctx, name, 20*time.Second, 20*time.Second)
	if err != nil {
		return err
	}
	critical(token)
	return tbl.Release(ctx, name, token)
}
