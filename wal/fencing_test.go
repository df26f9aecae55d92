package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// Right after a promotion Litestream compacts the former writer's L0
// files together with the new writer's local position file into L1. The
// state at the promotion's boundary, rebuilt through that L1 file, must be
// the former writer's state.
func TestCompactionAcrossPromotion(t *testing.T) {
	p := newPlatform(t)
	a := open(t, p.config(t, "a", Sync))
	b := open(t, p.config(t, "b", Sync))
	promote(t, a, 1)
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
	for i := range 30 {
		exec(t, a, "INSERT INTO t (s) VALUES (?)", abi.Text(fmt.Sprint("row ", i)))
	}
	promote(t, b, 2)
	m := b.w.Load().ldb
	pos, err := m.Pos()
	if err != nil {
		t.Fatal(err)
	}
	boundary := uint64(pos.TXID) - 1 // b's first file is a snapshot at boundary+1
	var l1 object
	testwait.For(t, waitLong, poll, "an L1 file of generation 2 ending at the boundary", func() bool {
		objs, _ := listObjects(ctxLong(t), p.replica)
		for _, o := range objs {
			if o.gen == 2 && o.info.Level == 1 && uint64(o.info.MaxTXID) == boundary {
				l1 = o
				return true
			}
		}
		return false
	})
	v, err := loadView(ctxLong(t), p.replica, fenceStore{p.fences, "app"}, logNone)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "at-boundary.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Without L0 files of generation 1 the plan must go through l1.
	v.levels[0] = nil
	if _, err := buildDatabase(ctxLong(t), v, boundary, t.TempDir(), f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := rowsOf(t, path); len(got) != 30 {
		t.Fatalf("state at TXID %d through %s has %d rows", boundary, l1.name, len(got))
	}
}
