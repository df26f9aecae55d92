package wal

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

const (
	waitLong = 20 * time.Second
	poll     = 20 * time.Millisecond
)

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

// platform is one NATS server and the buckets of one app's database.
type platform struct {
	srv     *natstest.Server
	nc      *nats.Conn
	replica jetstream.ObjectStore
	fences  jetstream.KeyValue
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	srv := natstest.Start(t, nil)
	p := &platform{srv: srv, nc: natstest.Connect(t, srv.ClientURL())}
	p.replica, p.fences = p.buckets(t, p.nc, "app")
	return p
}

// buckets opens (creating if needed) an app's replica and fence buckets
// through nc.
func (p *platform) buckets(t *testing.T, nc *nats.Conn, app string) (jetstream.ObjectStore, jetstream.KeyValue) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxLong(t)
	store, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "db_" + app})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "wal_" + app})
	if err != nil {
		t.Fatal(err)
	}
	return store, kv
}

func (p *platform) js(t *testing.T) jetstream.JetStream {
	js, err := jetstream.New(p.nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// config is a test database's config: fast intervals, its own directory.
func (p *platform) config(t *testing.T, name string, d Durability) Config {
	return Config{
		Path:           filepath.Join(t.TempDir(), name+".db"),
		Replica:        p.replica,
		Fences:         p.fences,
		FenceKey:       "app",
		Durability:     d,
		SyncInterval:   50 * time.Millisecond,
		FollowInterval: 100 * time.Millisecond,
		Logger:         testLogger().With("node", name),
	}
}

// open makes and opens a DB, closed at cleanup.
func open(t *testing.T, cfg Config) *DB {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Close(ctx)
	})
	return d
}

func promote(t *testing.T, d *DB, token uint64) {
	t.Helper()
	if err := d.Promote(ctxLong(t), token); err != nil {
		t.Fatalf("promote: %v", err)
	}
}

func exec(t *testing.T, d *DB, sql string, params ...abi.Value) abi.ExecResult {
	t.Helper()
	r, err := d.Exec(ctxLong(t), sql, params)
	if err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
	return r
}

func query(t *testing.T, d *DB, sql string, params ...abi.Value) *abi.Rows {
	t.Helper()
	r, err := d.Query(ctxLong(t), sql, params, 0)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return r
}

// count returns SELECT count(*) FROM table, or -1 if it fails.
func count(d *DB, table string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := d.Query(ctx, "SELECT count(*) FROM "+table, nil, 0)
	if err != nil || len(r.Rows) != 1 {
		return -1
	}
	return r.Rows[0][0].Int
}

func waitCount(t *testing.T, d *DB, table string, want int64) {
	t.Helper()
	testwait.For(t, waitLong, poll, "rows in "+table, func() bool { return count(d, table) == want })
}
