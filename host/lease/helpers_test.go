package lease

import (
	"context"
	"github.com/ozanturksever/go-cluster/internal/testwait"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/internal/faultproxy"
	"github.com/ozanturksever/go-cluster/internal/natstest"
)

const (
	testBucket = "leases"
	testKey    = "app.cache.active"
	// waitLong bounds every wait for something that must happen; it covers
	// a stream leader election after an abrupt kill (up to ~9s).
	waitLong = 30 * time.Second
)

// env is a NATS deployment the lease runs on.
type env struct {
	name     string
	servers  []*natstest.Server
	replicas int
}

// forEachEnv runs f on one standalone server and on a three-node cluster
// with an R3 bucket.
func forEachEnv(t *testing.T, f func(t *testing.T, e *env)) {
	for _, n := range []int{1, 3} {
		name := map[int]string{1: "single", 3: "r3"}[n]
		t.Run(name, func(t *testing.T) {
			e := &env{name: name, servers: natstest.Cluster(t, n), replicas: n}
			f(t, e)
		})
	}
}

// url lists every server, the i-th first: a client connects there and
// fails over to the others.
func (e *env) url(i int) string {
	order := append([]*natstest.Server{e.servers[i%len(e.servers)]}, e.servers...)
	return natstest.URLs(order...)
}

// kv opens the lease bucket (created on first use) on a new connection to
// url.
func (e *env) kv(t testing.TB, url string) (jetstream.KeyValue, *nats.Conn) {
	t.Helper()
	nc := natstest.Connect(t, url)
	return natstest.KeyValue(t, nc, BucketConfig(testBucket, DefaultTTL, e.replicas)), nc
}

// proxied opens the lease bucket through a link the test can cut.
func (e *env) proxied(t testing.TB, i int) (jetstream.KeyValue, *faultproxy.Proxy, *nats.Conn) {
	t.Helper()
	target := e.servers[i%len(e.servers)].ClientURL()[len("nats://"):]
	p, err := faultproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	// Only through the link: a client that learnt the other servers of a
	// cluster would reconnect around the cut.
	nc := natstest.Connect(t, p.URL(), nats.IgnoreDiscoveredServers())
	kv := natstest.KeyValue(t, nc, BucketConfig(testBucket, DefaultTTL, e.replicas))
	return kv, p, nc
}

func newLease(t testing.TB, kv jetstream.KeyValue, holder string) *Lease {
	t.Helper()
	return newLeaseOn(t, kv, testKey, holder)
}

func newLeaseOn(t testing.TB, kv jetstream.KeyValue, key, holder string) *Lease {
	t.Helper()
	l, err := New(Config{KV: kv, Key: key, Holder: holder, Value: []byte("meta of " + holder), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testLogger() *slog.Logger {
	if os.Getenv("GOCLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func ctxLong(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

// campaign runs l.Campaign in the background until it acquires or the
// test ends; the channel yields its term.
func campaign(t testing.TB, l *Lease) <-chan *Term {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan *Term, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		term, err := l.Campaign(ctx)
		if err != nil && ctx.Err() == nil {
			t.Errorf("campaign of %s: %v", l.cfg.Holder, err)
		}
		ch <- term
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// await waits for a term from ch.
func await(t testing.TB, ch <-chan *Term, what string) *Term {
	t.Helper()
	select {
	case term := <-ch:
		if term == nil {
			t.Fatalf("%s: no term", what)
		}
		t.Cleanup(func() { resignQuietly(term) })
		return term
	case <-time.After(waitLong):
		t.Fatalf("timed out after %s waiting for %s", waitLong, what)
		return nil
	}
}

// awaitEnd waits for term to end.
func awaitEnd(t testing.TB, term *Term, what string) {
	t.Helper()
	select {
	case <-term.Done():
	case <-time.After(waitLong):
		t.Fatalf("timed out after %s waiting for %s", waitLong, what)
	}
}

func acquire(t testing.TB, l *Lease) *Term {
	t.Helper()
	term, err := l.TryAcquire(ctxLong(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resignQuietly(term) })
	return term
}

// interval is when a term was active, as the term itself recorded it.
func (t *Term) interval() (began, ended time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.began, t.ended
}

// assertHandover checks that old ended before next began and that next's
// token is larger.
func assertHandover(t testing.TB, old, next *Term) {
	t.Helper()
	_, ended := old.interval()
	began, _ := next.interval()
	if ended.IsZero() || !ended.Before(began) {
		t.Errorf("old term (token %d) ended at %v, not before the new one (token %d) began at %v",
			old.Token(), ended, next.Token(), began)
	}
	if next.Token() <= old.Token() {
		t.Errorf("token did not grow: %d then %d", old.Token(), next.Token())
	}
}

// waitFor checks cond every 10ms until it holds or waitLong passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, waitLong, 10*time.Millisecond, what, cond)
}

// resignQuietly resigns at cleanup, bounded: the link may be cut.
func resignQuietly(term *Term) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = term.Resign(ctx)
}
