package lease

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/internal/natstest"
)

// BenchmarkFailover measures, per trial, the time from the holder's end to
// the standby's term beginning, with default settings on one server:
//
//   - crash: the holder's connection is closed at a random point of its
//     renewal cycle (after its first renewal); the standby waits for the
//     server's expiry event. Expect TTL - Renew .. TTL + expiry lateness.
//   - graceful: the holder resigns; expect a few round trips.
//
// Run with -benchtime 20x (or more) for meaningful percentiles.
func BenchmarkFailover(b *testing.B) {
	benchFailover(b, 1)
}

// BenchmarkFailoverR3 is BenchmarkFailover on a three-node cluster with an
// R3 bucket.
func BenchmarkFailoverR3(b *testing.B) {
	benchFailover(b, 3)
}

func benchFailover(b *testing.B, n int) {
	e := &env{servers: natstest.Cluster(b, n), replicas: n}
	kvB, _ := e.kv(b, e.url(1))
	b.Run("crash", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		measure(b, func(i int) time.Duration {
			kvA, nc := e.kv(b, e.url(0))
			ta, standby := holderAndStandby(b, kvA, kvB, i)
			pause(DefaultRenew + time.Duration(rng.Int64N(int64(DefaultRenew))))
			killed := time.Now()
			nc.Close()
			tb := await(b, standby, "the standby")
			awaitEnd(b, ta, "the holder's term")
			return since(killed, tb)
		})
	})
	kvA, _ := e.kv(b, e.url(0))
	b.Run("graceful", func(b *testing.B) {
		measure(b, func(i int) time.Duration {
			ta, standby := holderAndStandby(b, kvA, kvB, i)
			resigned := time.Now()
			if err := ta.Resign(context.Background()); err != nil {
				b.Fatal(err)
			}
			return since(resigned, await(b, standby, "the standby"))
		})
	})
}

// measure runs b.N trials and reports the percentiles of their results.
func measure(b *testing.B, trial func(i int) time.Duration) {
	b.Helper()
	samples := make([]time.Duration, 0, b.N)
	for i := range b.N {
		samples = append(samples, trial(i))
	}
	slices.Sort(samples)
	pct := func(p float64) float64 {
		i := int(p*float64(len(samples)) + 0.5)
		return float64(samples[min(max(i-1, 0), len(samples)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // a trial's wall time includes its setup
}

// holderAndStandby makes a holder on a fresh key for trial i and a standby
// whose campaign is watching the key.
func holderAndStandby(b *testing.B, kvA, kvB jetstream.KeyValue, i int) (*Term, <-chan *Term) {
	b.Helper()
	key := fmt.Sprintf("%s.%d", sanitize(b.Name()), i)
	ta, err := newLeaseOn(b, kvA, key, "a").TryAcquire(ctxLong(b))
	if err != nil {
		b.Fatal(err)
	}
	standby := newLeaseOn(b, kvB, key, "b")
	up := make(chan struct{})
	standby.watching = func() { close(up) }
	ch := campaign(b, standby)
	select {
	case <-up:
	case <-time.After(waitLong):
		b.Fatal("standby's watch not up")
	}
	return ta, ch
}

// since is how long after t0 the term began.
func since(t0 time.Time, term *Term) time.Duration {
	began, _ := term.interval()
	return began.Sub(t0)
}

// pause lets a holder run for d: the crash comes at a chosen point of its
// renewal cycle.
func pause(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}

func sanitize(key string) string {
	out := []byte(key)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			out[i] = '_'
		}
	}
	return string(out)
}
