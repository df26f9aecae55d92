package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/superfly/ltx"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

// Two writers at once: b is promoted while a still runs. a's writes fail
// from then on, and uploads a former writer makes after the fence count
// for no reader, not even a fresh restore.
func TestFencing(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Sync))
	b := open(t, p.config(t, "b", Sync))
	d := open(t, p.config(t, "d", Async)) // a standby throughout
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	exec(t, a, "INSERT INTO t (id) VALUES (1), (2), (3)")

	promote(t, b, 2) // no Demote of a
	if got := count(b, "t"); got != 3 {
		t.Fatalf("b took over with %d rows", got)
	}
	_, err := a.Exec(ctxLong(t), "INSERT INTO t (id) VALUES (100)", nil)
	if !errors.Is(err, ErrFenced) || !errors.Is(err, abi.ErrUnavailable) {
		t.Fatalf("write on the fenced writer: %v", err)
	}
	if !a.Status().Fenced {
		t.Fatalf("a's status: %+v", a.Status())
	}
	if _, err := a.Exec(ctxLong(t), "INSERT INTO t (id) VALUES (101)", nil); !errors.Is(err, ErrFenced) {
		t.Fatalf("second write on the fenced writer: %v", err)
	}
	exec(t, b, "INSERT INTO t (id) VALUES (4), (5)")

	// What a former writer would upload if its check raced the claim:
	// files of generation 1 past the boundary. One is a copy of b's
	// newest file, one extends the history with a page of garbage.
	staleUploads(t, p, 1)
	exec(t, b, "INSERT INTO t (id) VALUES (6)")

	c := open(t, p.config(t, "c", Async))
	if got := count(c, "t"); got != 6 {
		t.Fatalf("a fresh restore has %d rows, want b's 6", got)
	}
	waitCount(t, d, "t", 6)
	exec(t, b, "INSERT INTO t (id) VALUES (7)")
	waitCount(t, c, "t", 7)
	waitCount(t, d, "t", 7)

	// a comes back as a standby. Its write was refused before it
	// committed or committed and never acknowledged; either way it is gone.
	if err := a.Demote(ctxLong(t)); err != nil && !errors.Is(err, ErrFenced) {
		t.Fatalf("demote of the fenced writer: %v", err)
	}
	waitCount(t, a, "t", 7)
	if r := query(t, a, "SELECT count(*) FROM t WHERE id >= 100"); r.Rows[0][0].Int != 0 {
		t.Fatal("a kept a write it never shipped")
	}
	// Its old token cannot take the role back.
	if err := a.Promote(ctxLong(t), 1); !errors.Is(err, ErrFenced) {
		t.Fatalf("promotion with an old token: %v", err)
	}
	if _, err := a.Exec(ctxLong(t), "INSERT INTO t (id) VALUES (102)", nil); !errors.Is(err, ErrNotWriter) {
		t.Fatalf("write after a refused promotion: %v", err)
	}

	// The writer's sweep deletes the void files and keeps the valid ones.
	w := b.w.Load()
	if err := w.collect(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	objs, err := listObjects(ctxLong(t), p.replica)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, _ := fenceStore{p.fences, "app"}.read(ctxLong(t))
	var g1 int
	for _, o := range objs {
		if !rec.valid(o.gen, uint64(o.info.MaxTXID)) {
			t.Errorf("void file left after the sweep: %s", o.name)
		}
		if o.gen == 1 {
			g1++
		}
	}
	if g1 == 0 {
		t.Error("the sweep deleted generation 1's valid files")
	}
}

// staleUploads stores files under generation gen's prefix with TXIDs at
// and past the replica's newest, as a fenced writer would.
func staleUploads(t *testing.T, p *platform, gen uint64) {
	t.Helper()
	ctx := ctxLong(t)
	objs, err := listObjects(ctx, p.replica)
	if err != nil {
		t.Fatal(err)
	}
	var newest object
	for _, o := range objs {
		if o.info.Level == 0 && o.info.MaxTXID > newest.info.MaxTXID {
			newest = o
		}
	}
	data, err := p.replica.GetBytes(ctx, newest.name)
	if err != nil {
		t.Fatal(err)
	}
	tx := newest.info.MaxTXID
	put(t, p.replica, objectName(gen, 0, tx, tx), data)
	put(t, p.replica, objectName(gen, 0, tx+1, tx+1), garbageLTX(t, tx+1))
}

func put(t *testing.T, store jetstream.ObjectStore, name string, data []byte) {
	t.Helper()
	if _, err := store.PutBytes(ctxLong(t), name, data); err != nil {
		t.Fatal(err)
	}
}

// garbageLTX is a well-formed LTX file that would wreck a database: page
// 1 all zeros.
func garbageLTX(t *testing.T, txid ltx.TXID) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := ltx.NewEncoder(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.EncodeHeader(ltx.Header{
		Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: 4096, Commit: 2,
		MinTXID: txid, MaxTXID: txid, Timestamp: time.Now().UnixMilli(),
	}); err != nil {
		t.Fatal(err)
	}
	if err := enc.EncodePage(ltx.PageHeader{Pgno: 1}, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A promotion that runs while the former writer keeps writing (under
// Async, so nothing waits for the fence) ends with one history: every
// copy agrees with the new writer.
func TestPromotionUnderLoad(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Async))
	b := open(t, p.config(t, "b", Async))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if _, err := a.Exec(ctxLong(t), "INSERT INTO t DEFAULT VALUES", nil); err != nil {
				done <- n
				return
			}
			n++
		}
	}()
	testwait.For(t, waitLong, poll, "some rows on the standby", func() bool { return count(b, "t") > 20 })
	promote(t, b, 2)
	testwait.For(t, waitLong, poll, "the former writer to see it is fenced", func() bool { return a.Status().Fenced })
	close(stop)
	<-done
	exec(t, b, "INSERT INTO t (id) VALUES (1000000)")
	want := count(b, "t")
	c := open(t, p.config(t, "c", Async))
	waitCount(t, c, "t", want)
	if err := a.Demote(ctxLong(t)); err != nil && !errors.Is(err, ErrFenced) {
		t.Fatal(err)
	}
	waitCount(t, a, "t", want)
}

// A promotion ships what changed since the former writer's last file, not
// the database. Litestream's compaction across the boundary (which must
// read the former writer's file m from the replica, not a local stand-in)
// rebuilds the same state as the L0 files do.
func TestPromotionIsIncremental(t *testing.T) {
	p := newPlatform(t)
	ctx := ctxLong(t)
	a := open(t, p.config(t, "a", Sync))
	b := open(t, p.config(t, "b", Sync))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, big BLOB)")
	for i := range 30 {
		exec(t, a, "INSERT INTO t (s, big) VALUES (?, ?)", abi.Text(fmt.Sprint("row ", i)), abi.Blob(bytes.Repeat([]byte{byte(i)}, 10_000)))
	}
	m := ltx.TXID(a.Status().ReplicaTXID)
	promote(t, b, 2)
	w := b.w.Load()
	if _, err := os.Stat(w.ldb.LTXPath(0, m, m)); !os.IsNotExist(err) {
		t.Fatalf("the primed position file outlived the first sync: %v", err)
	}
	objs, err := listObjects(ctx, p.replica)
	if err != nil {
		t.Fatal(err)
	}
	var first object
	for _, o := range objs {
		if o.gen == 2 && o.info.Level == 0 && o.info.MinTXID == m+1 {
			first = o
		}
	}
	if first.name == "" || first.info.Size > 32<<10 {
		t.Fatalf("generation 2's first file %q is %d bytes; the database is over 300 kB", first.name, first.info.Size)
	}
	exec(t, b, "INSERT INTO t (s) VALUES ('after')")
	if _, err := w.ldb.Compact(ctx, 1); err != nil && !errors.Is(err, litestream.ErrNoCompaction) {
		t.Fatal(err)
	}
	v, err := loadView(ctx, p.replica, fenceStore{p.fences, "app"}, logNone)
	if err != nil {
		t.Fatal(err)
	}
	var l1 ltx.FileInfo
	for _, f := range v.levels[1] {
		if v.genOf(f) == 2 && f.MinTXID <= m && f.MaxTXID > m {
			l1 = f
		}
	}
	if l1.MaxTXID == 0 {
		t.Fatalf("no L1 file of generation 2 across TXID %d: %+v", m, v.levels[1])
	}
	viaL0, viaL1 := *v, *v
	viaL0.levels[1], viaL0.levels[2], viaL0.levels[3] = nil, nil, nil
	viaL1.levels[0] = nil
	r0, r1 := buildRows(t, &viaL0, l1.MaxTXID), buildRows(t, &viaL1, l1.MaxTXID)
	if len(r0) < 30 || fmt.Sprint(r0) != fmt.Sprint(r1) {
		t.Fatalf("state at TXID %d: %d rows from L0 files, %d through L1", l1.MaxTXID, len(r0), len(r1))
	}
}

func buildRows(t *testing.T, v *view, txid ltx.TXID) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildDatabase(ctxLong(t), v, uint64(txid), t.TempDir(), f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return rowsOf(t, path)
}

// A standby that applied a file while a promotion was pending, which the
// promotion then voided, notices and rebuilds its copy.
func TestFollowerDropsVoidedFile(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Sync))
	b := open(t, p.config(t, "b", Async))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	exec(t, a, "INSERT INTO t (id) VALUES (1), (2)")
	waitCount(t, b, "t", 2)
	if err := a.Close(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	fs := fenceStore{p.fences, "app"}
	gen, err := fs.claim(ctxLong(t), 2, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The former writer's upload after the claim: still valid while the
	// claim is pending, and it wrecks the copy that applies it.
	tip := b.Status().ReplicaTXID
	put(t, p.replica, objectName(1, 0, ltx.TXID(tip+1), ltx.TXID(tip+1)), garbageLTX(t, ltx.TXID(tip+1)))
	testwait.For(t, waitLong, poll, "the standby to apply the upload", func() bool { return b.Status().LocalTXID == tip+1 })
	rec, rev, err := fs.finalize(ctxLong(t), gen, tip+1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.valid(1, tip+1) {
		t.Fatalf("record %s still admits the upload (revision %d)", rec.encode(), rev)
	}
	waitCount(t, b, "t", 2)
	if st := b.Status(); st.LocalTXID != tip {
		t.Fatalf("standby after the rebuild: %+v", st)
	}
}

// The writer's sweep deletes what no record admits and trims generations
// with no files left from the front of the record; a fenced writer of a
// trimmed generation uploads in vain.
func TestSweepTrimsGenerations(t *testing.T) {
	p := newPlatform(t)
	ctx := ctxLong(t)
	a := open(t, p.config(t, "a", Sync))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	exec(t, a, "INSERT INTO t (id) VALUES (1), (2)")
	if err := a.Demote(ctx); err != nil {
		t.Fatal(err)
	}
	fs := fenceStore{p.fences, "app"}
	if _, err := fs.claim(ctx, 2, false, 0); err != nil { // a promotion that died pending
		t.Fatal(err)
	}
	cfgB := p.config(t, "b", Sync)
	cfgB.JetStream = p.js(t)
	b := open(t, cfgB)
	promote(t, b, 3)
	exec(t, b, "INSERT INTO t (id) VALUES (3)")
	if _, err := b.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	// Retention would delete generation 1's files once the snapshot
	// covers them; here they go at once.
	objs, err := listObjects(ctx, p.replica)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.gen == 1 {
			if err := p.replica.Delete(ctx, o.name); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(t, p.replica, objectName(1, 0, 100, 100), garbageLTX(t, 100))
	w := b.w.Load()
	testwait.For(t, waitLong, poll, "the catalog to see the changes", func() bool {
		var names []string
		for _, o := range b.cat.view().all {
			if o.gen == 1 {
				names = append(names, o.name)
			}
		}
		return len(names) == 1 && names[0] == objectName(1, 0, 100, 100)
	})
	if err := w.collect(ctx); err != nil {
		t.Fatal(err)
	}
	rec, _, err := fs.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Gens) != 1 || rec.Gens[0].Gen != 3 {
		t.Fatalf("record after the sweep: %s", rec.encode())
	}
	if _, err := p.replica.GetInfo(ctx, objectName(1, 0, 100, 100)); err == nil {
		t.Fatal("the void upload is still there")
	}
	if _, err := p.replica.GetInfo(ctx, objectName(1, 0, 100, 100), jetstream.GetObjectInfoShowDeleted()); err == nil {
		t.Fatal("the void upload's delete marker is still there")
	}
	put(t, p.replica, objectName(1, 0, 101, 101), garbageLTX(t, 101))
	c := open(t, p.config(t, "c", Sync))
	if got := count(c, "t"); got != 3 {
		t.Fatalf("a fresh restore after the trim has %d rows", got)
	}
	exec(t, b, "INSERT INTO t (id) VALUES (4)")
	waitCount(t, c, "t", 4)
	waitCount(t, a, "t", 4)
}
