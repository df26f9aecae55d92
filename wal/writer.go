package wal

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// writer is the DB while it is the app's writer: Litestream capturing the
// WAL into LTX files and compacting them, our client shipping them into
// this generation's prefix, one SQLite connection taking the writes.
type writer struct {
	d     *DB
	gen   uint64
	token uint64

	conn   *sql.DB // the one writing connection
	ldb    *litestream.DB
	store  *litestream.Store
	client *client

	writeMu   sync.Mutex
	accepting bool // guarded by writeMu

	own       atomic.Bool   // the writer's own BEGIN/COMMIT pass the guest policy
	committed atomic.Uint64 // commits so far
	shipMu    sync.Mutex
	shipped   uint64 // commits known to be in the replica; guarded by shipMu
	halted    bool   // Litestream is stopping or stopped; guarded by shipMu

	fenced     atomic.Bool
	fencedOnce sync.Once
	fencedCh   chan struct{}

	cancel    context.CancelFunc
	done      chan struct{}
	storeOnce sync.Once
}

// Litestream settings that Config does not expose.
const (
	// busyTimeout: how long a statement waits for a lock (Litestream's
	// checkpoints take the write lock briefly) before SQLITE_BUSY.
	busyTimeout = 5 * time.Second
	// l0Retention: how long L0 files outlive their compaction into L1.
	// Followers that fall behind further bridge with L1 files.
	l0Retention = time.Minute
	// shipTimeout bounds one background ship.
	shipTimeout = 30 * time.Second
	// firstCollect: the first sweep for void files after a promotion.
	firstCollect = 10 * time.Second
)

// compactionLevels are Litestream's defaults, copied so that nothing
// shares the package-level slice.
func compactionLevels() litestream.CompactionLevels {
	var out litestream.CompactionLevels
	for _, l := range litestream.DefaultCompactionLevels {
		c := *l
		out = append(out, &c)
	}
	return out
}

// writerDSN opens the database in WAL mode with automatic checkpoints off
// (Litestream checkpoints, after it has copied the WAL). synchronous=NORMAL:
// the local file is disposable; what counts is the replica.
func writerDSN(path string) string {
	return fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_journal_mode=WAL&_pragma=wal_autocheckpoint(0)&_synchronous=NORMAL",
		path, busyTimeout.Milliseconds())
}

func readerDSN(path string) string {
	return fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=query_only(1)", path, busyTimeout.Milliseconds())
}

// startWriter turns the caught-up local copy at TXID m into the writer of
// generation gen. It returns once the generation's first file is shipped.
func (d *DB) startWriter(ctx context.Context, gen, token, m uint64) (*writer, error) {
	path := d.cfg.Path
	if err := os.RemoveAll(metaDir(path)); err != nil {
		return nil, err
	}
	w := &writer{d: d, gen: gen, token: token, accepting: true, fencedCh: make(chan struct{})}
	owners.Store(writerDSN(path), &w.own)
	conn, err := sql.Open(guestDriver, writerDSN(path))
	if err != nil {
		w.disown()
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	w.conn = conn
	if err := w.start(ctx, m); err != nil {
		w.stopStore(ctx)
		conn.Close()
		w.disown()
		return nil, fmt.Errorf("wal: start generation %d: %w", gen, err)
	}
	return w, nil
}

// disown forgets the writer's connection flag (see owners).
func (w *writer) disown() { owners.CompareAndDelete(writerDSN(w.d.cfg.Path), &w.own) }

// internal runs f with the writer's own statements let through the guest
// policy; only the holder of writeMu calls it.
func (w *writer) internal(f func() error) error {
	w.own.Store(true)
	defer w.own.Store(false)
	return f()
}

// start brings Litestream up at TXID m: position primed, first file
// shipped, then compaction and snapshots started. Compaction starts only
// once the primed position file is gone (see primeLocalPos).
func (w *writer) start(ctx context.Context, m uint64) error {
	path := w.d.cfg.Path
	if err := w.conn.PingContext(ctx); err != nil { // switches the file to WAL
		return mapSQLError(err, true)
	}
	w.ldb = litestream.NewDB(path)
	if m > 0 {
		salts, err := startWAL(ctx, w.conn, path)
		if err != nil {
			return err
		}
		if err := primeLocalPos(w.ldb, path, ltx.TXID(m), salts); err != nil {
			return err
		}
	}
	if err := w.openLitestream(m); err != nil {
		return err
	}
	w.committed.Store(1) // what is in the WAL now, shipped below
	if err := w.ship(ctx); err != nil {
		return err
	}
	if m > 0 {
		if err := os.Remove(w.ldb.LTXPath(0, ltx.TXID(m), ltx.TXID(m))); err != nil {
			return err
		}
	}
	return w.openStore(ctx)
}

// openLitestream opens Litestream's DB with our replica client; it does no
// I/O until the first ship.
func (w *writer) openLitestream(m uint64) error {
	d := w.d
	w.client = &client{cat: d.cat, gen: w.gen, log: d.log, fenced: w.markFenced, uploaded: ltx.TXID(m), js: d.cfg.JetStream}
	r := litestream.NewReplicaWithClient(w.ldb, w.client)
	r.MonitorEnabled = false // we ship, on our schedule and on the sync path
	r.SetPos(ltx.Pos{TXID: ltx.TXID(m)})
	w.ldb.Replica = r
	w.ldb.MonitorInterval = 0 // the same: no background WAL sync of its own
	w.ldb.BusyTimeout = busyTimeout
	w.ldb.L0Retention = l0Retention
	w.ldb.ShutdownSyncTimeout = 0 // one final attempt, bounded by the caller
	w.ldb.SetLogger(d.log.With("litestream", filepath.Base(d.cfg.Path)))
	return w.ldb.Open()
}

// openStore starts compaction, snapshots and retention.
func (w *writer) openStore(ctx context.Context) error {
	d := w.d
	w.store = litestream.NewStore([]*litestream.DB{w.ldb}, compactionLevels())
	w.store.SnapshotInterval = d.cfg.SnapshotInterval
	w.store.SnapshotRetention = d.cfg.Retention
	w.store.Logger = d.log.With("litestream", "store")
	w.store.SetL0Retention(l0Retention)
	w.store.SetShutdownSyncTimeout(0)
	w.ldb.SetLogger(d.log.With("litestream", filepath.Base(d.cfg.Path)))
	return w.store.Open(ctx) // the DB is open already; Open leaves it be
}

// startWAL makes the WAL begin: one write with Litestream's own statement,
// so its header (and salts) exist before Litestream looks. It returns the
// salts.
func startWAL(ctx context.Context, conn *sql.DB, path string) ([2]uint32, error) {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);`,
		`INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return [2]uint32{}, mapSQLError(err, true)
		}
	}
	hdr := make([]byte, litestream.WALHeaderSize)
	f, err := os.Open(path + "-wal")
	if err != nil {
		return [2]uint32{}, err
	}
	defer f.Close()
	if _, err := io.ReadFull(f, hdr); err != nil {
		return [2]uint32{}, fmt.Errorf("wal: read the WAL header: %w", err)
	}
	return [2]uint32{binary.BigEndian.Uint32(hdr[16:]), binary.BigEndian.Uint32(hdr[20:])}, nil
}

// primeLocalPos writes the one local L0 file Litestream reads its position
// from: TXID m, ending at the start of the current WAL (offset 32, its
// salts). Litestream takes that as "synced up to here", so its first sync
// writes TXID m+1 from the WAL's frames alone: only what changed since m,
// not the database. Without it Litestream would start over at TXID 1, or
// with a full snapshot.
//
// The file carries page 1 only, which would make it a wrong stand-in for
// the former writer's file m; Litestream's compaction prefers local files
// to the replica's, so the file is removed once the first sync no longer
// needs it, before compaction starts.
func primeLocalPos(ldb *litestream.DB, path string, m ltx.TXID, salts [2]uint32) error {
	name := ldb.LTXPath(0, m, m)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	pageSize, pages, err := dbGeometry(path)
	if err != nil {
		return err
	}
	hdr := ltx.Header{
		Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: pageSize, Commit: pages,
		MinTXID: m, MaxTXID: m, Timestamp: time.Now().UnixMilli(),
		WALOffset: litestream.WALHeaderSize, WALSalt1: salts[0], WALSalt2: salts[1],
	}
	if err := encodePages(f, path, hdr, 1); err != nil {
		return err
	}
	return f.Sync()
}

// dbGeometry reads a database file's page size and page count.
func dbGeometry(path string) (pageSize, pages uint32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	hdr := make([]byte, 100)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return 0, 0, fmt.Errorf("wal: read database header: %w", err)
	}
	pageSize = headerPageSize(hdr[16:18])
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return pageSize, uint32(fi.Size() / int64(pageSize)), nil
}

// run ships on SyncInterval, sweeps void files now and then, and stops
// Litestream once fenced.
func (w *writer) run() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		w.loop(ctx)
	}()
}

func (w *writer) loop(ctx context.Context) {
	tick := time.NewTicker(w.d.cfg.SyncInterval)
	defer tick.Stop()
	sweep := time.NewTimer(firstCollect)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.fencedCh:
			w.halt(ctx)
			return
		case <-tick.C:
			if w.committed.Load() > w.shippedCount() {
				w.shipBounded(ctx)
			}
		case <-sweep.C:
			if err := w.collect(ctx); err != nil && !errors.Is(err, ErrFenced) {
				w.d.st.failed(err)
			}
			sweep.Reset(w.d.cfg.SnapshotInterval)
		}
	}
}

func (w *writer) shipBounded(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, shipTimeout)
	defer cancel()
	if err := w.ship(ctx); err != nil && !errors.Is(err, ErrFenced) {
		w.d.log.Warn("wal: shipping to the replica failed; retrying", "err", err)
	}
}

func (w *writer) shippedCount() uint64 {
	w.shipMu.Lock()
	defer w.shipMu.Unlock()
	return w.shipped
}

// ship makes every commit made before the call durable in the replica:
// Litestream turns the WAL into L0 files, the replica uploads them, and a
// compare-and-set on the fence record proves this generation was still
// current after the uploads. Concurrent callers share one ship: a caller
// whose commit an earlier ship already covered returns at once.
func (w *writer) ship(ctx context.Context) error {
	want := w.committed.Load()
	w.shipMu.Lock()
	defer w.shipMu.Unlock()
	if w.shipped >= want {
		return nil
	}
	if w.fenced.Load() {
		return ErrFenced
	}
	if w.halted {
		return ErrNotWriter
	}
	upto, start := w.committed.Load(), time.Now()
	err := w.shipOnce(ctx)
	if err != nil {
		w.d.st.failed(err)
		return err
	}
	w.shipped = upto
	pos, _ := w.ldb.Pos()
	w.d.st.shippedAt(uint64(pos.TXID), uint64(w.client.uploadedTXID()), upto == w.committed.Load(), start)
	return nil
}

func (w *writer) shipOnce(ctx context.Context) error {
	if err := w.ldb.Sync(ctx); err != nil {
		return fmt.Errorf("wal: capture the WAL: %w", err)
	}
	if err := w.ldb.Replica.Sync(ctx); err != nil {
		// A failed sync makes Litestream forget its position and look it
		// up among L0 files next time, which may predate this generation;
		// it is known exactly.
		w.ldb.Replica.SetPos(ltx.Pos{TXID: w.client.uploadedTXID()})
		if errors.Is(err, ErrFenced) {
			return ErrFenced
		}
		return fmt.Errorf("wal: upload to the replica: %w", err)
	}
	return w.client.confirm(ctx)
}

// markFenced turns the writer read-only for good.
func (w *writer) markFenced() {
	w.fencedOnce.Do(func() {
		w.fenced.Store(true)
		close(w.fencedCh)
		w.d.st.fence()
		w.d.log.Warn("wal: a newer generation exists; this writer is fenced", "generation", w.gen)
	})
}

// collect deletes void files (those of generations the record voids, or
// uploaded past a generation's boundary) and trims the record. Files of
// generations newer than the record's last are left alone: an import
// uploads its snapshot before it is finalized.
func (w *writer) collect(ctx context.Context) error {
	v := w.d.cat.view()
	last := v.rec.lastGen()
	var void []object
	left := make(map[uint64]bool)
	for _, o := range v.all {
		if o.gen <= last && !v.rec.valid(o.gen, uint64(o.info.MaxTXID)) {
			void = append(void, o)
			continue
		}
		left[o.gen] = true
	}
	if len(void) > 0 {
		if err := w.client.confirm(ctx); err != nil {
			return err
		}
		if err := w.client.deleteObjects(ctx, void); err != nil {
			return err
		}
		w.d.log.Info("wal: deleted void files from the replica", "files", len(void))
	}
	return w.client.trim(ctx, func(gen uint64) bool { return !left[gen] })
}

// stopAccepting refuses writes from now on and waits for the one running.
func (w *writer) stopAccepting() {
	w.writeMu.Lock()
	w.accepting = false
	w.writeMu.Unlock()
}

func (w *writer) stopLoop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// halt stops Litestream once no ship runs, and keeps ships from running
// after it.
func (w *writer) halt(ctx context.Context) {
	w.shipMu.Lock()
	w.halted = true
	// Litestream's last sync on close must not checkpoint: a checkpoint
	// writes a row of its own that it would leave out of the replica.
	w.ldb.CheckpointInterval = 0
	w.ldb.MinCheckpointPageN = math.MaxInt32
	w.shipMu.Unlock()
	w.stopStore(ctx)
}

func (w *writer) stopStore(ctx context.Context) {
	w.storeOnce.Do(func() {
		var err error
		switch {
		case w.store != nil:
			err = w.store.Close(ctx)
		case w.ldb != nil:
			err = w.ldb.Close(ctx)
		}
		if err != nil && !errors.Is(err, ErrFenced) {
			w.d.log.Debug("wal: closing Litestream", "err", err)
		}
	})
}

// stop ends the writer: no more writes, a last ship bounded by ctx,
// Litestream stopped. clean says the local copy is exactly what the
// replica holds under this still-current generation, so it can go on as
// a standby's copy without a restore.
func (w *writer) stop(ctx context.Context) (clean bool, err error) {
	w.stopAccepting()
	w.stopLoop()
	if !w.fenced.Load() {
		err = w.ship(ctx)
	}
	w.halt(ctx)
	defer w.disown()
	defer w.conn.Close()
	if w.fenced.Load() {
		if n := w.committed.Load() - w.shippedCount(); n > 0 {
			err = fmt.Errorf("%w: %d commits made here never reached the replica", ErrFenced, n)
		}
		return false, err
	}
	if err != nil {
		return false, err
	}
	pos, perr := w.ldb.Pos()
	if perr != nil || pos.TXID != w.client.uploadedTXID() {
		return false, nil
	}
	return w.client.confirm(ctx) == nil, nil
}
