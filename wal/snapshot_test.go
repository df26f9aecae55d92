package wal

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

func TestSnapshotsExportImport(t *testing.T) {
	p := newPlatform(t)
	ctx := ctxLong(t)
	a := open(t, p.config(t, "a", Sync))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
	exec(t, a, "INSERT INTO t (s) VALUES ('one'), ('two')")
	snap, err := a.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, a, "INSERT INTO t (s) VALUES ('three')")

	list, err := Snapshots(ctx, p.replica, p.fences, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[len(list)-1] != snap {
		t.Fatalf("snapshots %+v, want %+v last", list, snap)
	}

	// The snapshot holds the state when it was taken, the latest export
	// everything; both are plain database files.
	old := exportRows(t, p, snap)
	if len(old) != 2 {
		t.Fatalf("snapshot export has %v", old)
	}
	latest := exportFile(t, p, SnapshotInfo{})
	if got := rowsOf(t, latest); len(got) != 3 {
		t.Fatalf("latest export has %v", got)
	}
	if err := Export(ctx, p.replica, p.fences, "app", SnapshotInfo{TXID: snap.TXID + 1000}, new(bytes.Buffer)); !errors.Is(err, abi.ErrNotFound) {
		t.Fatalf("export of a missing snapshot: %v", err)
	}

	// A new platform: empty buckets elsewhere. The import is its state.
	nc := p.nc
	replica2, fences2 := p.buckets(t, nc, "moved")
	f, err := os.Open(latest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := Import(ctx, replica2, fences2, "app", f)
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.config(t, "moved", Async)
	cfg.Replica, cfg.Fences = replica2, fences2
	m := open(t, cfg)
	if got := count(m, "t"); got != 3 {
		t.Fatalf("imported database has %d rows", got)
	}
	promote(t, m, 1)
	exec(t, m, "INSERT INTO t (s) VALUES ('four')")
	if list, _ := Snapshots(ctx, replica2, fences2, "app"); len(list) == 0 || list[0].TXID != info.TXID {
		t.Fatalf("snapshots after import: %+v, import %+v", list, info)
	}

	// Import into the running platform: the writer is fenced, standbys
	// follow the imported state.
	b := open(t, p.config(t, "b", Async))
	waitCount(t, b, "t", 3)
	f2, err := os.Open(exportFile(t, p, snap))
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if _, err := Import(ctx, p.replica, p.fences, "app", f2); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, "INSERT INTO t (s) VALUES ('x')", nil); !errors.Is(err, ErrFenced) {
		t.Fatalf("write after an import: %v", err)
	}
	waitCount(t, b, "t", 2)
	a.Demote(ctx)
	promote(t, b, 2)
	exec(t, b, "INSERT INTO t (s) VALUES ('after import')")
	waitCount(t, a, "t", 3)
}

func TestImportRefusesGarbage(t *testing.T) {
	p := newPlatform(t)
	_, err := Import(ctxLong(t), p.replica, p.fences, "app", bytes.NewReader([]byte("not a database at all, not even close to one, padding padding padding padding padding")))
	if !errors.Is(err, abi.ErrInvalid) {
		t.Fatalf("import of garbage: %v", err)
	}
	if err := Export(ctxLong(t), p.replica, p.fences, "app", SnapshotInfo{}, new(bytes.Buffer)); !errors.Is(err, abi.ErrNotFound) {
		t.Fatalf("export of an empty replica: %v", err)
	}
}

func exportFile(t *testing.T, p *platform, s SnapshotInfo) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Export(ctxLong(t), p.replica, p.fences, "app", s, f); err != nil {
		t.Fatal(err)
	}
	return path
}

func exportRows(t *testing.T, p *platform, s SnapshotInfo) []string {
	return rowsOf(t, exportFile(t, p, s))
}

// rowsOf reads table t of a database file with a plain SQLite connection.
func rowsOf(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Fatalf("exported file's journal mode: %q %v", mode, err)
	}
	rows, err := db.QueryContext(context.Background(), "SELECT s FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
