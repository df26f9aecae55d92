package events

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

// TestDurableSharedInCluster: three hosts on a three-server cluster
// ensure the stream and subscribe with the same durable spec at once;
// each event is handled by exactly one of them, once.
func TestDurableSharedInCluster(t *testing.T) {
	servers := natstest.Cluster(t, 3)
	nodes := make([]*node, 3)
	for i, s := range servers {
		nodes[i] = newNode(t, s.ClientURL())
	}
	spec := Spec{App: "worker", Sources: []string{"jobs.*", "platform.deploy"}, Durable: true}
	var mu sync.Mutex
	seen := map[uint64][]int{} // seq -> the nodes that handled it
	handler := func(i int) Handler {
		return func(_ context.Context, m Message) error {
			mu.Lock()
			defer mu.Unlock()
			seen[m.Seq] = append(seen[m.Seq], i)
			return nil
		}
	}
	all(t, len(nodes), func(i int) error { // as hosts starting together do
		if _, err := Ensure(testCtx(t), nodes[i].js, StreamConfig(testLayout, 3, time.Hour)); err != nil {
			return err
		}
		sub, err := nodes[i].bus.Subscribe(testCtx(t), spec, handler(i))
		if err == nil {
			t.Cleanup(func() { closeSub(t, sub) })
		}
		return err
	})
	const n = 60
	pub := newNode(t, natstest.URLs(servers...))
	for i := range n {
		pub.publish(t, "jobs", "run", fmt.Sprint(i))
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	testwait.For(t, waitLong, 10*time.Millisecond, fmt.Sprintf("%d events handled", n), func() bool { return count() == n })
	settled(t, pub.js, spec)
	mu.Lock()
	defer mu.Unlock()
	per := make([]int, len(nodes))
	for seq, by := range seen {
		if len(by) != 1 {
			t.Errorf("event %d handled by %v", seq, by)
		}
		per[by[0]]++
	}
	t.Logf("events handled per node: %v", per)
}

// all runs f(0..n-1) at once and fails t on any error.
func all(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
}
