package wal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/ozanturksever/go-cluster/abi"
)

// DB is one app's SQLite database on one node: a standby following the
// replica, or the writer shipping to it.
//
// Threading: all methods are safe for concurrent use. Open, Promote,
// Demote and Close run one at a time; Exec, Batch and Query run alongside
// them and see the role of the moment.
type DB struct {
	cfg Config
	log *slog.Logger
	fs  fenceStore

	mu     sync.Mutex // Open, Promote, Demote and Close, one at a time
	opened bool
	closed atomic.Bool

	cat       *catalog
	catCancel context.CancelFunc
	catDone   chan struct{}

	// readMu: Query holds it shared; replacing or patching the local copy
	// holds it exclusively, with the readers closed.
	readMu  sync.RWMutex
	readers *sql.DB // nil while there is no local copy

	w      atomic.Pointer[writer]
	follow *follower
	local  localState

	st status
}

// New checks cfg; it does no I/O.
func New(cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("db", cfg.FenceKey)
	return &DB{cfg: cfg, log: log, fs: fenceStore{kv: cfg.Fences, key: cfg.FenceKey}, st: status{role: RoleStandby}}, nil
}

// Open makes this instance a standby: it replaces whatever is at Path with
// the replica's newest state (an empty database if the replica is empty)
// and keeps following the replica in the background.
func (d *DB) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed.Load():
		return ErrClosed
	case d.opened:
		return fmt.Errorf("%w: wal: Open called twice", abi.ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(d.cfg.Path), 0o755); err != nil {
		return err
	}
	if err := removeLocal(d.cfg.Path); err != nil {
		return err
	}
	v, err := loadView(ctx, d.cfg.Replica, d.fs, d.log)
	if err != nil {
		return err
	}
	d.cat = newCatalog(d.cfg.Replica, d.fs, d.log)
	d.cat.onRecord = d.onRecord
	if err := d.catchUp(ctx, v); err != nil {
		return err
	}
	ctx2, cancel := context.WithCancel(context.Background())
	d.catCancel, d.catDone = cancel, make(chan struct{})
	go func() {
		defer close(d.catDone)
		d.cat.run(ctx2)
	}()
	d.startFollower()
	d.opened = true
	return nil
}

// onRecord hears every fence record the catalog sees; a writer that is no
// longer current stops at once rather than at its next check.
func (d *DB) onRecord(f fence) {
	if w := d.w.Load(); w != nil && !f.current(w.gen) {
		w.markFenced()
	}
}

// Promote makes this instance the writer under token (the lease's fencing
// token; a record holding a newer one refuses it with ErrFenced). It
// claims a new generation, which fences the former writer; applies every
// valid file of the replica, so the copy holds every acknowledged write;
// fixes the generation's first TXID; and starts Litestream. It returns
// once writes are accepted. Promoting the writer again is a no-op.
func (d *DB) Promote(ctx context.Context, token uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return err
	}
	if w := d.w.Load(); w != nil {
		if w.fenced.Load() {
			return ErrFenced
		}
		return nil
	}
	d.stopFollower()
	w, err := d.promote(ctx, token)
	if err != nil {
		if d.local.exists {
			d.startFollower()
		} else {
			d.recover(ctx)
		}
		return err
	}
	d.w.Store(w)
	d.st.becameWriter(w.gen, token)
	w.run()
	d.log.Info("wal: promoted to writer", "generation", w.gen, "token", token, "txid", d.local.txid)
	return nil
}

func (d *DB) usable() error {
	switch {
	case d.closed.Load():
		return ErrClosed
	case !d.opened:
		return fmt.Errorf("%w: wal: Open first", abi.ErrInvalid)
	}
	return nil
}

func (d *DB) promote(ctx context.Context, token uint64) (*writer, error) {
	gen, err := d.fs.claim(ctx, token, false, maxObjectGen(d.cat.view().all))
	if err != nil {
		return nil, err
	}
	// Listed after the claim: every write the former writer had
	// acknowledged was uploaded before its confirmation, which came
	// before the claim.
	v, err := loadView(ctx, d.cfg.Replica, d.fs, d.log)
	if err != nil {
		return nil, err
	}
	if err := d.catchUp(ctx, v); err != nil {
		return nil, err
	}
	rec, rev, err := d.fs.finalize(ctx, gen, d.local.txid+1)
	if err != nil {
		return nil, err
	}
	d.cat.setRecord(rec, rev)
	var w *writer
	err = d.withLocalFile(func() error {
		var err error
		if w, err = d.startWriter(ctx, gen, token, d.local.txid); err != nil {
			d.local.exists = false // half converted: restored afresh
		}
		return err
	})
	return w, err
}

// recover puts a standby back after a promotion failed while converting
// the copy: it is restored afresh.
func (d *DB) recover(ctx context.Context) {
	d.readMu.Lock()
	if d.readers != nil {
		d.readers.Close()
		d.readers = nil
	}
	removeLocal(d.cfg.Path)
	d.local = localState{}
	d.readMu.Unlock()
	if v, err := loadView(ctx, d.cfg.Replica, d.fs, d.log); err == nil {
		d.catchUp(ctx, v)
	}
	d.startFollower()
}

// Demote makes the writer a standby again. Writes are refused first; then
// what is committed is shipped (bounded by ctx), Litestream stops, and the
// copy follows the replica. If anything committed may be missing from the
// replica, the copy is replaced by a restore, and the error says why.
func (d *DB) Demote(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return err
	}
	w := d.w.Load()
	if w == nil {
		return nil
	}
	clean, err := w.stop(ctx)
	d.w.Store(nil)
	d.st.becameStandby()
	if err := d.toStandby(ctx, w, clean); err != nil {
		d.st.failed(err)
		d.log.Warn("wal: demoted writer has no local copy yet; the follower restores it", "err", err)
	}
	d.startFollower()
	if err != nil {
		return fmt.Errorf("wal: demote: the replica may miss writes committed here: %w", err)
	}
	return nil
}

// toStandby turns the writer's copy into a standby's: checkpointed into
// the database file, in rollback-journal mode. A copy that is not clean
// is thrown away and restored.
func (d *DB) toStandby(ctx context.Context, w *writer, clean bool) error {
	err := d.withLocalFile(func() error {
		defer os.RemoveAll(metaDir(d.cfg.Path))
		if clean && toRollback(ctx, d.cfg.Path) == nil {
			d.local.use(w.gen, uint64(w.client.uploadedTXID()))
			rec, _ := d.cat.record()
			d.local.base = rec.base()
			return nil
		}
		d.local = localState{}
		return removeLocal(d.cfg.Path)
	})
	if err != nil || d.local.exists {
		return err
	}
	v, err := loadView(ctx, d.cfg.Replica, d.fs, d.log)
	if err != nil {
		return err
	}
	return d.catchUp(ctx, v)
}

// toRollback checkpoints the WAL into the database and leaves WAL mode.
func toRollback(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", fmt.Sprintf("%s?_pragma=busy_timeout(%d)", path, busyTimeout.Milliseconds()))
	if err != nil {
		return err
	}
	defer conn.Close()
	var busy, logN, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logN, &done); err != nil {
		return err
	}
	if busy != 0 {
		return errors.New("wal: checkpoint blocked")
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return err
	}
	if mode != "delete" {
		return fmt.Errorf("wal: journal mode is %q after leaving WAL", mode)
	}
	return nil
}

// Close stops the DB: a writer ships what is committed first (bounded by
// ctx). The local copy stays on disk; the next Open replaces it anyway.
func (d *DB) Close(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Swap(true) {
		return nil
	}
	var err error
	if w := d.w.Load(); w != nil {
		_, err = w.stop(ctx)
		d.w.Store(nil)
	}
	d.stopFollower()
	if d.catCancel != nil {
		d.catCancel()
		<-d.catDone
	}
	d.readMu.Lock()
	if d.readers != nil {
		d.readers.Close()
		d.readers = nil
	}
	d.readMu.Unlock()
	d.st.becameClosed()
	return err
}

// withLocalFile runs change with the readers closed, then opens them again
// on whatever copy is in place.
func (d *DB) withLocalFile(change func() error) error {
	d.readMu.Lock()
	defer d.readMu.Unlock()
	if d.readers != nil {
		d.readers.Close()
		d.readers = nil
	}
	if err := change(); err != nil {
		return err
	}
	if _, err := os.Stat(d.cfg.Path); err != nil {
		return nil // no copy: Query says so until the follower restores one
	}
	r, err := sql.Open(guestDriver, readerDSN(d.cfg.Path))
	if err != nil {
		return err
	}
	r.SetMaxOpenConns(readers)
	d.readers = r
	return nil
}

// readers bounds the connections Query uses at once.
const readers = 8

// Status reports the DB's state; it is cheap and does no I/O.
func (d *DB) Status() Status { return d.st.get() }
