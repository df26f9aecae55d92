package wal

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/superfly/ltx"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

func TestStandbyFollowsWriter(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Async))
	b := open(t, p.config(t, "b", Async))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
	for i := range 20 {
		exec(t, a, "INSERT INTO t (s) VALUES (?)", abi.Text(fmt.Sprint("row ", i)))
	}
	waitCount(t, b, "t", 20)
	if _, err := b.Exec(ctxLong(t), "INSERT INTO t (s) VALUES ('x')", nil); !errors.Is(err, ErrNotWriter) {
		t.Fatalf("write on the standby: %v", err)
	}
	// A standby opened later starts from the replica.
	c := open(t, p.config(t, "c", Async))
	if n := count(c, "t"); n != 20 {
		t.Fatalf("late standby has %d rows", n)
	}
	exec(t, a, "UPDATE t SET s = 'changed' WHERE id = 5")
	exec(t, a, "DELETE FROM t WHERE id > 10")
	waitCount(t, b, "t", 10)
	testwait.For(t, waitLong, poll, "the update on the standby", func() bool {
		r, err := b.Query(ctxLong(t), "SELECT s FROM t WHERE id = 5", nil, 0)
		return err == nil && len(r.Rows) == 1 && r.Rows[0][0].String() == "changed"
	})
	st := b.Status()
	if st.Role != RoleStandby || st.LocalTXID == 0 || st.LocalTXID != st.ReplicaTXID {
		t.Fatalf("standby status %+v", st)
	}
	// A file the catalog lists but the store does not have (a deletion
	// whose marker was purged before the watch saw it) is dropped.
	tip := ltx.TXID(st.ReplicaTXID)
	phantom := object{name: objectName(1, 0, tip+1, tip+5), gen: 1,
		info: ltx.FileInfo{Level: 0, MinTXID: tip + 1, MaxTXID: tip + 5, Size: 100, CreatedAt: time.Now()}}
	b.cat.added(phantom)
	exec(t, a, "INSERT INTO t (s) VALUES ('after the phantom')")
	waitCount(t, b, "t", 11)
	if st := a.Status(); st.Role != RoleWriter || st.Generation != 1 || st.Token != 1 {
		t.Fatalf("writer status %+v", st)
	}
}

// The writer dies without a word (its NATS connection cut, no Demote):
// every write it acknowledged under Sync is on the promoted standby.
func TestFailoverKeepsAcknowledgedWrites(t *testing.T) {
	p := newPlatform(t)
	ncA := natstest.Connect(t, p.srv.ClientURL())
	cfgA := p.config(t, "a", Sync)
	cfgA.Replica, cfgA.Fences = p.buckets(t, ncA, "app")
	a := open(t, cfgA)
	b := open(t, p.config(t, "b", Sync))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	const n = 50
	for i := range n {
		exec(t, a, "INSERT INTO t (id) VALUES (?)", abi.Integer(int64(i)))
	}
	ncA.Close() // a is gone; it never shipped anything it did not acknowledge
	promote(t, b, 2)
	if got := count(b, "t"); got != n {
		t.Fatalf("the new writer has %d rows, %d were acknowledged", got, n)
	}
	exec(t, b, "INSERT INTO t (id) VALUES (?)", abi.Integer(n))
	if _, err := a.Exec(ctxLong(t), "INSERT INTO t (id) VALUES (1000)", nil); err == nil {
		t.Fatal("the cut-off writer acknowledged a write")
	}
	c := open(t, p.config(t, "c", Sync))
	if got := count(c, "t"); got != n+1 {
		t.Fatalf("a fresh restore has %d rows, want %d", got, n+1)
	}
}

func TestDemoteThenFollow(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Async))
	b := open(t, p.config(t, "b", Async))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	exec(t, a, "INSERT INTO t (id) VALUES (1), (2), (3)")
	if err := a.Demote(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctxLong(t), "INSERT INTO t (id) VALUES (4)", nil); !errors.Is(err, ErrNotWriter) {
		t.Fatalf("write after demote: %v", err)
	}
	if got := count(a, "t"); got != 3 {
		t.Fatalf("demoted copy has %d rows", got)
	}
	promote(t, b, 2)
	if got := count(b, "t"); got != 3 {
		t.Fatalf("new writer has %d rows", got)
	}
	exec(t, b, "INSERT INTO t (id) VALUES (4), (5)")
	waitCount(t, a, "t", 5)
	// And back: a takes over again from b.
	if err := b.Demote(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	promote(t, a, 3)
	exec(t, a, "INSERT INTO t (id) VALUES (6)")
	waitCount(t, b, "t", 6)
	if st := a.Status(); st.Generation != 3 {
		t.Fatalf("generation after the third promotion: %+v", st)
	}
}

// Reads on a standby never fail or see a torn state while it applies the
// writer's files under them.
func TestStandbyReadsWhileFollowing(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Async))
	b := open(t, p.config(t, "b", Async))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, big BLOB)")
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // spans overflow pages
	waitCount(t, b, "t", 0)
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Every transaction keeps sum(n) == 0 and count even.
			r, err := b.Query(ctxLong(t), "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(length(big)), 0) FROM t", nil, 0)
			if err != nil {
				errs <- err
				return
			}
			c, s, l := r.Rows[0][0].Int, r.Rows[0][1].Int, r.Rows[0][2].Int
			if c%2 != 0 || s != 0 || l != c/2*int64(len(big)) {
				errs <- fmt.Errorf("torn read: count %d sum %d length %d", c, s, l)
				return
			}
		}
	}()
	for i := range 40 {
		_, err := a.Batch(ctxLong(t), []abi.Statement{
			{SQL: "INSERT INTO t (n, big) VALUES (?, ?)", Params: []abi.Value{abi.Integer(int64(i + 1)), abi.Blob(big)}},
			{SQL: "INSERT INTO t (n) VALUES (?)", Params: []abi.Value{abi.Integer(-int64(i + 1))}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitCount(t, b, "t", 80)
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// The same failover on a three-server cluster with replicated buckets,
// each instance on its own server.
func TestClusterFailover(t *testing.T) {
	servers := natstest.Cluster(t, 3)
	p := &platform{}
	conns := make([]*platform, 3)
	for i, s := range servers {
		nc := natstest.Connect(t, s.ClientURL())
		conns[i] = &platform{nc: nc}
		conns[i].replica, conns[i].fences = clusterBuckets(t, nc)
	}
	p.replica, p.fences = conns[0].replica, conns[0].fences
	cfg := func(i int, name string) Config {
		c := p.config(t, name, Sync)
		c.Replica, c.Fences = conns[i].replica, conns[i].fences
		return c
	}
	a := open(t, cfg(0, "a"))
	b := open(t, cfg(1, "b"))
	c := open(t, cfg(2, "c"))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	const n = 30
	for i := range n {
		exec(t, a, "INSERT INTO t (id) VALUES (?)", abi.Integer(int64(i)))
	}
	conns[0].nc.Close()
	promote(t, b, 2)
	if got := count(b, "t"); got != n {
		t.Fatalf("new writer has %d rows, %d were acknowledged", got, n)
	}
	exec(t, b, "INSERT INTO t (id) VALUES (?)", abi.Integer(n))
	waitCount(t, c, "t", n+1)
}

func clusterBuckets(t *testing.T, nc *nats.Conn) (jetstream.ObjectStore, jetstream.KeyValue) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxLong(t)
	var store jetstream.ObjectStore
	var kv jetstream.KeyValue
	testwait.For(t, waitLong, 100*time.Millisecond, "replicated buckets", func() bool {
		if store == nil {
			store, _ = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "db_app", Replicas: 3})
		}
		if kv == nil {
			kv, _ = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "wal_app", Replicas: 3})
		}
		return store != nil && kv != nil
	})
	return store, kv
}
