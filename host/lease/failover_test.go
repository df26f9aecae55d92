package lease

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ozanturksever/go-cluster/internal/faultproxy"
	"github.com/ozanturksever/go-cluster/internal/natstest"
)

// Five contenders take turns on one key: most hand over by resigning, some
// are cut off and time out. The terms, as each recorded its own start and
// end on one monotonic clock, never overlap, and every new term has a
// larger token.
func TestMutualExclusion(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		const contenders, target = 5, 20
		ctx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
		defer stop()
		var (
			mu    sync.Mutex
			terms []*Term
			wg    sync.WaitGroup
		)
		for i := range contenders {
			kv, link, _ := e.proxied(t, i)
			l := newLease(t, kv, fmt.Sprintf("c%d", i))
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			wg.Go(func() {
				for {
					term, err := l.Campaign(ctx)
					if err != nil {
						return // stopped
					}
					mu.Lock()
					terms = append(terms, term)
					if len(terms) >= target {
						stop()
					}
					mu.Unlock()
					contend(term, link, rng)
				}
			})
		}
		wg.Wait()
		if len(terms) < target {
			t.Fatalf("only %d terms before the deadline", len(terms))
		}
		checkTerms(t, terms)
	})
}

// contend holds term for a moment (up to two renewals), then resigns or,
// one time in four, is cut off until its term times out.
func contend(term *Term, link *faultproxy.Proxy, rng *rand.Rand) {
	hold := time.NewTimer(time.Duration(rng.Int64N(int64(2 * DefaultRenew))))
	defer hold.Stop()
	select {
	case <-term.Done():
	case <-hold.C:
	}
	if rng.IntN(4) == 0 {
		link.Cut()
		select {
		case <-term.Done(): // the local deadline ends it
		case <-time.After(waitLong): // reported by checkTerms
		}
		link.Restore()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = term.Resign(ctx)
}

// checkTerms: sorted by start, each term ended before the next began and
// tokens strictly grow.
func checkTerms(t *testing.T, terms []*Term) {
	t.Helper()
	slices.SortFunc(terms, func(a, b *Term) int { return a.began.Compare(b.began) })
	vias := map[string]int{}
	for i, term := range terms {
		awaitEnd(t, term, "every term to end")
		vias[term.via]++
		if i > 0 {
			assertHandover(t, terms[i-1], term)
		}
	}
	t.Logf("%d terms; acquired via %v", len(terms), vias)
}

// The holder crashes (its connection closes) or is cut off from NATS
// without resigning: its own local deadline ends its term before the
// standby's term begins, and the standby is woken by the expiry event.
func TestCrashFailover(t *testing.T) {
	kills := []struct {
		name string
		kill func(*faultproxy.Proxy, *nats.Conn)
	}{
		{"connection closed", func(_ *faultproxy.Proxy, nc *nats.Conn) { nc.Close() }},
		{"link cut", func(p *faultproxy.Proxy, _ *nats.Conn) { p.Cut() }},
	}
	forEachEnv(t, func(t *testing.T, e *env) {
		for _, k := range kills {
			t.Run(k.name, func(t *testing.T) {
				kvA, link, nc := e.proxied(t, 0)
				kvB, _ := e.kv(t, e.url(1))
				a, b := newLease(t, kvA, "a"), newLease(t, kvB, "b")
				ta := acquire(t, a)
				waitCh := campaign(t, b)
				k.kill(link, nc)
				tb := await(t, waitCh, "the standby to take over")
				awaitEnd(t, ta, "the crashed holder's term to end")
				if !errors.Is(ta.Err(), ErrExpired) {
					t.Errorf("crashed holder's term ended with %v, want ErrExpired", ta.Err())
				}
				assertHandover(t, ta, tb)
				if tb.via != "event" {
					t.Errorf("standby acquired via %q, want the expiry event", tb.via)
				}
			})
		}
	})
}

// The NATS server the holder is connected to is killed abruptly. When it
// led the bucket's stream, renewals stall until a new leader is elected,
// so the holder times out and the standby takes over; otherwise the holder
// reconnects to a live server and keeps its term. Either way no two terms
// overlap.
func TestClusterNodeKilled(t *testing.T) {
	for _, victimIsLeader := range []bool{true, false} {
		name := map[bool]string{true: "stream leader", false: "follower"}[victimIsLeader]
		t.Run(name, func(t *testing.T) {
			e := &env{name: "r3", servers: natstest.Cluster(t, 3), replicas: 3}
			e.kv(t, e.url(0)) // creates the bucket, so that it has a leader
			leader := natstest.StreamLeader(e.servers, "KV_"+testBucket)
			if leader == nil {
				t.Fatal("no stream leader")
			}
			v := slices.IndexFunc(e.servers, func(s *natstest.Server) bool { return (s == leader) == victimIsLeader })
			survivor := (v + 1) % len(e.servers)
			kvA, _ := e.kv(t, e.url(v))
			kvB, _ := e.kv(t, e.url(survivor))
			kvObs, _ := e.kv(t, e.url(survivor))
			a, b := newLease(t, kvA, "a"), newLease(t, kvB, "b")
			ta := acquire(t, a)
			waitCh := campaign(t, b)
			before, err := Current(ctxLong(t), kvObs, testKey)
			if err != nil {
				t.Fatal(err)
			}
			e.servers[v].Kill()
			killed := time.Now()
			t.Logf("killed %s (stream leader: %s)", e.servers[v].Name(), leader.Name())

			var tb *Term
			waitFor(t, "a term to be active after the kill", func() bool {
				select {
				case tb = <-waitCh:
					return true
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				now, err := Current(ctx, kvObs, testKey)
				// Three renewals after the kill prove the holder kept it.
				return err == nil && ta.Err() == nil && now.Token == ta.Token() && now.Revision >= before.Revision+3
			})
			if tb != nil {
				defer resignQuietly(tb)
				assertHandover(t, ta, tb)
				t.Logf("failed over in %s: holder ended with %v; standby acquired via %s", time.Since(killed), ta.Err(), tb.via)
			} else {
				t.Logf("holder kept its term across the kill; renewed 3 times within %s; leader now %v", time.Since(killed), natstest.StreamLeader(e.servers, "KV_"+testBucket).Name())
			}
			if victimIsLeader && tb == nil {
				t.Logf("note: the holder outlived a stream leader election")
			}
		})
	}
}

// Membership: the key is the node, the holder its running instance. A
// second instance of the node is refused while the first renews and takes
// over once it dies.
func TestMembership(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		const key = "node.n1"
		kvA, _, ncA := e.proxied(t, 0)
		kvB, _ := e.kv(t, e.url(1))
		a := newLeaseOn(t, kvA, key, "n1.inst-a")
		b := newLeaseOn(t, kvB, key, "n1.inst-b")
		ta := acquire(t, a)
		last, renewals := uint64(0), 0
		waitFor(t, "three renewals while the second instance is refused", func() bool {
			if _, err := b.TryAcquire(ctxLong(t)); !errors.Is(err, ErrHeld) {
				t.Fatalf("second instance while the first renews: want ErrHeld, got %v", err)
			}
			info, err := Current(ctxLong(t), kvB, key)
			if err != nil || info.Holder != "n1.inst-a" || info.Token != ta.Token() {
				t.Fatalf("Current = %+v, %v; want the first instance", info, err)
			}
			if info.Revision != last {
				renewals, last = renewals+1, info.Revision
			}
			return renewals >= 3
		})
		waitCh := campaign(t, b)
		ncA.Close()
		tb := await(t, waitCh, "the second instance to take over")
		assertHandover(t, ta, tb)
		// Reads of a replicated bucket may come from a follower that has
		// not applied the takeover yet: wait for it rather than read once.
		var info Info
		var err error
		waitFor(t, "Current to show the second instance", func() bool {
			info, err = Current(ctxLong(t), kvB, key)
			return err == nil && info.Holder == "n1.inst-b"
		})
		if string(info.Value) != "meta of n1.inst-b" || info.Token != tb.Token() {
			t.Fatalf("Current = %+v, %v; want the second instance", info, err)
		}
	})
}
