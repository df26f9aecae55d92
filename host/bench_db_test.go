package host

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ozanturksever/go-cluster/client"
)

// rawInsertNS is the raw SQLite baseline's time per insert, kept for the
// other runs' ratios.
var rawInsertNS float64

// BenchmarkDBInsert compares one single-row insert through a guest's
// db_batch (the test guest's insert: create-if-missing and insert in one
// transaction) with the same transaction on raw SQLite in WAL mode with
// the writer's settings, in the same run. The guest is called directly,
// without the API bus, so the numbers are the ABI and the database.
// async also reports the writer's replication lag under this steady
// load: the age of its oldest commit not yet stored in the replica.
func BenchmarkDBInsert(b *testing.B) {
	b.Run("raw-sqlite", func(b *testing.B) {
		db, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "raw.db")+
			"?_pragma=busy_timeout(5000)&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		i := 0
		for b.Loop() {
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			_, err1 := tx.Exec("CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, at INTEGER NOT NULL)")
			_, err2 := tx.Exec("INSERT INTO ledger (id, at) VALUES (?, ?)", fmt.Sprintf("r%09d", i), time.Now().UnixNano())
			if err := tx.Commit(); err1 != nil || err2 != nil || err != nil {
				b.Fatal(err1, err2, err)
			}
			i++
		}
		rawInsertNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	for _, durability := range []string{"async", "sync"} {
		b.Run(durability, func(b *testing.B) { benchGuestInsert(b, durability) })
	}
}

func benchGuestInsert(b *testing.B, durability string) {
	h := startHost(b, testConfig(b, "n1"))
	c := connect(b, h)
	deploy(b, c, testManifest(b, "ledger", "data: {db: {durability: "+durability+"}}\n"), testapp(b))
	var a *app
	waitFor(b, 30*time.Second, "ledger active", func() bool {
		a = h.apps.get("ledger")
		return a != nil && a.role.isActive()
	})
	ctx := context.Background()
	var lagSum, lagMax time.Duration
	i := 0
	for b.Loop() {
		if _, err := a.plug.Call(ctx, "insert", fmt.Appendf(nil, "g%09d", i)); err != nil {
			b.Fatal(err)
		}
		lag := a.db.Status().Lag
		lagSum, lagMax = lagSum+lag, max(lagMax, lag)
		i++
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	if rawInsertNS > 0 {
		b.ReportMetric(ns/rawInsertNS, "x/raw")
	}
	if durability == "async" {
		b.ReportMetric(float64(lagSum.Microseconds())/float64(b.N)/1000, "lag-mean-ms")
		b.ReportMetric(float64(lagMax.Microseconds())/1000, "lag-max-ms")
	}
}

// BenchmarkDBPromotion100MB measures promotion with a 100 MB database:
// from a standby winning the lease to on_active, which waits for the
// database to be fully caught up with the replica. Each trial steps the
// active down; the other node takes over.
func BenchmarkDBPromotion100MB(b *testing.B) {
	skipUnlessClusterBench(b)
	p := newPlatform(b, 3, 2)
	c := connect(b, p.host("n1"))
	deploy(b, c, testManifest(b, "big", "limits: {timeout: 60s, payload: 4MiB}\ndata: {db: {durability: async}}\n"), testapp(b))
	fill := `{"exec":{"sql":"CREATE TABLE big AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100) SELECT x, randomblob(1048576) AS b FROM c"}}`
	if _, err := c.Call(context.Background(), "big", "sql", []byte(fill), client.CallOptions{Timeout: 60 * time.Second}); err != nil {
		b.Fatal(err)
	}
	var took durations
	for b.Loop() {
		since := time.Now()
		if _, err := c.Stepdown(context.Background(), "big"); err != nil {
			b.Fatal(err)
		}
		p.active("big", since)
		acts := p.activations("big")
		last := acts[len(acts)-1]
		took = append(took, last.Began.Sub(last.Won))
		// The former active, now a standby, catches up before the next.
		waitFor(b, 60*time.Second, "standby caught up", func() bool {
			var txids []uint64
			for _, n := range []string{"n1", "n2"} {
				if a := p.host(n).apps.get("big"); a != nil {
					txids = append(txids, a.db.Status().LocalTXID)
				}
			}
			return len(txids) == 2 && txids[0] == txids[1]
		})
	}
	b.ReportMetric(float64(took.pct(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(took.pct(0.99).Milliseconds()), "p99-ms")
}
