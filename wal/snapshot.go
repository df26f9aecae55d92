package wal

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/superfly/ltx"

	"github.com/ozanturksever/go-cluster/abi"
)

// SnapshotInfo describes one full snapshot in a replica.
type SnapshotInfo struct {
	Generation uint64    // the generation that wrote it
	TXID       uint64    // the state it holds
	Size       int64     // bytes in the replica (compressed LTX)
	Time       time.Time // when it was taken
}

// Snapshot takes a full snapshot now (writer only). Commits made before
// the call are in it.
func (d *DB) Snapshot(ctx context.Context) (SnapshotInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, err := d.writer()
	if err != nil {
		return SnapshotInfo{}, err
	}
	if err := w.ship(ctx); err != nil {
		return SnapshotInfo{}, err
	}
	if w.fenced.Load() {
		return SnapshotInfo{}, ErrFenced
	}
	info, err := w.ldb.Snapshot(ctx)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("wal: snapshot: %w", err)
	}
	return SnapshotInfo{Generation: w.gen, TXID: uint64(info.MaxTXID), Size: info.Size, Time: info.CreatedAt}, nil
}

// Snapshots lists the valid snapshots in a replica, oldest state first.
func Snapshots(ctx context.Context, replica jetstream.ObjectStore, fences jetstream.KeyValue, key string) ([]SnapshotInfo, error) {
	v, err := openView(ctx, replica, fences, key)
	if err != nil {
		return nil, err
	}
	var out []SnapshotInfo
	for _, f := range v.levels[litestream.SnapshotLevel] {
		out = append(out, SnapshotInfo{Generation: v.genOf(f), TXID: uint64(f.MaxTXID), Size: f.Size, Time: f.CreatedAt})
	}
	slices.SortFunc(out, func(a, b SnapshotInfo) int { return cmpTXID(ltx.TXID(a.TXID), ltx.TXID(b.TXID)) })
	return out, nil
}

func openView(ctx context.Context, replica jetstream.ObjectStore, fences jetstream.KeyValue, key string) (*view, error) {
	switch {
	case replica == nil:
		return nil, invalidf("replica is required")
	case fences == nil:
		return nil, invalidf("fence bucket is required")
	case !validKey(key):
		return nil, invalidf("fence key %q is not a valid key", key)
	}
	return loadView(ctx, replica, fenceStore{kv: fences, key: key}, logNone)
}

// Export writes a plain SQLite database file to w: the state of snapshot,
// or the newest state of the replica when snapshot is the zero value.
func Export(ctx context.Context, replica jetstream.ObjectStore, fences jetstream.KeyValue, key string, snapshot SnapshotInfo, w io.Writer) error {
	v, err := openView(ctx, replica, fences, key)
	if err != nil {
		return err
	}
	if snapshot.TXID != 0 && !hasSnapshot(v, snapshot) {
		return fmt.Errorf("%w: wal: no valid snapshot at TXID %d", abi.ErrNotFound, snapshot.TXID)
	}
	_, err = buildDatabase(ctx, v, snapshot.TXID, "", w)
	if errors.Is(err, errEmptyReplica) {
		return fmt.Errorf("%w: %w", abi.ErrNotFound, err)
	}
	return err
}

func hasSnapshot(v *view, s SnapshotInfo) bool {
	for _, f := range v.levels[litestream.SnapshotLevel] {
		if uint64(f.MaxTXID) == s.TXID && (s.Generation == 0 || v.genOf(f) == s.Generation) {
			return true
		}
	}
	return false
}

// Import makes the SQLite database read from r the replica's new state:
// a new generation that voids every earlier one (a reset), numbered on
// from the replica's TXIDs. A running writer is fenced by it; its next
// write fails with ErrFenced. The replica may be empty (a new platform).
// If a writer is promoted while the import runs, the import loses with an
// error wrapping abi.ErrConflict.
func Import(ctx context.Context, replica jetstream.ObjectStore, fences jetstream.KeyValue, key string, r io.Reader) (SnapshotInfo, error) {
	if _, err := openView(ctx, replica, fences, key); err != nil {
		return SnapshotInfo{}, err
	}
	tmp, err := os.CreateTemp("", "wal-import-*.db")
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()); removeSidecars(tmp.Name()) }()
	if _, err := io.Copy(tmp, r); err != nil {
		return SnapshotInfo{}, fmt.Errorf("wal: import: read database: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return SnapshotInfo{}, err
	}
	pageSize, pages, err := checkImport(ctx, tmp.Name())
	if err != nil {
		return SnapshotInfo{}, err
	}
	return importFile(ctx, replica, fenceStore{kv: fences, key: key}, tmp.Name(), pageSize, pages)
}

func importFile(ctx context.Context, replica jetstream.ObjectStore, fs fenceStore, path string, pageSize, pages uint32) (SnapshotInfo, error) {
	objs, err := listObjects(ctx, replica)
	if err != nil {
		return SnapshotInfo{}, err
	}
	gen, err := fs.claim(ctx, 0, true, maxObjectGen(objs))
	if err != nil {
		return SnapshotInfo{}, err
	}
	rec, _, err := fs.read(ctx)
	if err != nil {
		return SnapshotInfo{}, err
	}
	// TXIDs go on from the replica's, so no copy ever sees them repeat.
	txid := max(newView(replica, rec, objs, logNone).tip()+1, rec.maxFirst())
	name := objectName(gen, litestream.SnapshotLevel, 1, ltx.TXID(txid))
	now := time.Now().UTC()
	oi, err := putSnapshot(ctx, replica, name, path, pageSize, pages, txid, now)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if _, _, err := fs.finalize(ctx, gen, txid); err != nil {
		replica.Delete(context.WithoutCancel(ctx), name)
		if errors.Is(err, ErrFenced) {
			return SnapshotInfo{}, fmt.Errorf("%w: wal: import: generation %d was superseded before it was finalized", abi.ErrConflict, gen)
		}
		return SnapshotInfo{}, err
	}
	return SnapshotInfo{Generation: gen, TXID: txid, Size: int64(oi.Size), Time: now}, nil
}

var sqliteMagic = []byte("SQLite format 3\x00")

// checkImport makes sure path is a sound SQLite database, in rollback
// mode (so the file alone is the database), and returns its geometry.
func checkImport(ctx context.Context, path string) (pageSize, pages uint32, err error) {
	hdr := make([]byte, 100)
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.ReadFull(f, hdr)
	f.Close()
	if err != nil || !bytes.HasPrefix(hdr, sqliteMagic) {
		return 0, 0, invalidf("import: not a SQLite database file")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	var mode, check string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return 0, 0, invalidf("import: %v", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
		return 0, 0, invalidf("import: database fails its integrity check: %v %s", err, check)
	}
	if err := db.Close(); err != nil {
		return 0, 0, err
	}
	return dbGeometry(path)
}

// putSnapshot uploads the database at path as a snapshot LTX file (TXIDs
// 1 to txid), encoding while it uploads.
func putSnapshot(ctx context.Context, replica jetstream.ObjectStore, name, path string, pageSize, pages uint32, txid uint64, now time.Time) (*jetstream.ObjectInfo, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encodeSnapshot(pw, path, pageSize, pages, txid, now)) }()
	oi, err := replica.Put(ctx, jetstream.ObjectMeta{
		Name:    name,
		Headers: map[string][]string{headerTimestamp: {now.Format(time.RFC3339Nano)}},
	}, pr)
	pr.CloseWithError(errors.New("wal: upload ended"))
	if err != nil {
		return nil, fmt.Errorf("wal: import: upload %s: %w", name, err)
	}
	return oi, nil
}

func encodeSnapshot(w io.Writer, path string, pageSize, pages uint32, txid uint64, now time.Time) error {
	return encodePages(w, path, ltx.Header{
		Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: pageSize, Commit: pages,
		MinTXID: 1, MaxTXID: ltx.TXID(txid), Timestamp: now.UnixMilli(),
	}, pages)
}

// encodePages writes an LTX file with hdr and the first n pages of the
// database at path (the lock page has no content and is skipped).
func encodePages(w io.Writer, path string, hdr ltx.Header, n uint32) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	enc, err := ltx.NewEncoder(w)
	if err != nil {
		return err
	}
	if err := enc.EncodeHeader(hdr); err != nil {
		return err
	}
	data := make([]byte, hdr.PageSize)
	lock := ltx.LockPgno(hdr.PageSize)
	for pgno := uint32(1); pgno <= n; pgno++ {
		if pgno == lock {
			continue
		}
		if _, err := f.ReadAt(data, int64(pgno-1)*int64(hdr.PageSize)); err != nil {
			return err
		}
		if err := enc.EncodePage(ltx.PageHeader{Pgno: pgno}, data); err != nil {
			return err
		}
	}
	return enc.Close()
}
