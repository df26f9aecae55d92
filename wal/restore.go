package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// errEmptyReplica: the replica holds no valid file.
var errEmptyReplica = errors.New("wal: the replica is empty")

// built describes a database rebuilt from the replica.
type built struct {
	txid    uint64
	applied map[uint64]uint64 // generation -> highest TXID used from it
}

// buildDatabase writes the database at txid (0: the newest state) to w as
// plain SQLite pages, using Litestream's restore plan over the valid
// files. Files are fetched into tmpDir first, one at a time, so a restore
// holds one object read open at a time and no file in memory.
func buildDatabase(ctx context.Context, v *view, txid uint64, tmpDir string, w io.Writer) (built, error) {
	plan, err := litestream.CalcRestorePlan(ctx, v, ltx.TXID(txid), time.Time{}, v.log)
	if errors.Is(err, litestream.ErrTxNotAvailable) {
		return built{}, errEmptyReplica
	}
	if err != nil {
		return built{}, fmt.Errorf("wal: plan restore: %w", err)
	}
	dir, err := os.MkdirTemp(tmpDir, ".wal-restore-*")
	if err != nil {
		return built{}, err
	}
	defer os.RemoveAll(dir)
	b := built{applied: make(map[uint64]uint64)}
	var rdrs []io.Reader
	defer func() { closeAll(rdrs) }()
	for i, info := range plan {
		f, err := fetch(ctx, v, *info, filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			return built{}, err
		}
		rdrs = append(rdrs, f)
		g := v.genOf(*info)
		b.applied[g] = max(b.applied[g], uint64(info.MaxTXID))
		b.txid = max(b.txid, uint64(info.MaxTXID))
	}
	if err := compactTo(ctx, rdrs, &pageOneWriter{w: w}); err != nil {
		return built{}, err
	}
	return b, nil
}

func closeAll(rdrs []io.Reader) {
	for _, r := range rdrs {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
	}
}

// compactTo merges LTX files (a snapshot first) into database pages.
func compactTo(ctx context.Context, rdrs []io.Reader, w io.Writer) error {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ltx.NewCompactor(pw, rdrs)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		c.HeaderFlags = ltx.HeaderFlagNoChecksum
		pw.CloseWithError(c.Compact(ctx))
	}()
	err := ltx.NewDecoder(pr).DecodeDatabaseTo(w)
	pr.CloseWithError(errors.New("wal: restore ended"))
	<-done
	if err != nil {
		return fmt.Errorf("wal: rebuild database: %w", err)
	}
	return nil
}

// missingError: a file the view lists is gone from the store (deleted
// after the view was taken, or never seen deleted by a watch).
type missingError struct{ name string }

func (e *missingError) Error() string { return "wal: " + e.name + " is gone from the replica" }
func (e *missingError) Unwrap() error { return os.ErrNotExist }

// fetch downloads one valid file to path and returns it open for reading.
func fetch(ctx context.Context, v *view, info ltx.FileInfo, path string) (*os.File, error) {
	rc, err := v.OpenLTXFile(ctx, info.Level, info.MinTXID, info.MaxTXID, 0, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &missingError{name: v.pick[keyOf(info)].name}
	}
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", v.pick[keyOf(info)].name, err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return nil, fmt.Errorf("wal: download ltx file: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// pageOneWriter marks the database as a rollback-journal database as the
// first page passes (header bytes 18 and 19; an LTX file carries a WAL
// database's header). Local copies of a standby are read while pages are
// written under them, which only the rollback journal's change detection
// copes with; an exported file is then a plain database that needs no
// -wal file either.
type pageOneWriter struct {
	w    io.Writer
	done bool
}

func (p *pageOneWriter) Write(b []byte) (int, error) {
	if !p.done && len(b) >= 100 {
		b = append([]byte(nil), b...)
		markRollback(b)
		p.done = true
	}
	return p.w.Write(b)
}

func markRollback(page1 []byte) { page1[18], page1[19] = 1, 1 }

// buildFile rebuilds the newest state into tmp. An empty replica gives an
// empty file, which SQLite reads as an empty database.
func buildFile(ctx context.Context, v *view, tmp string) (built, error) {
	f, err := os.Create(tmp)
	if err != nil {
		return built{}, err
	}
	b, err := buildDatabase(ctx, v, 0, filepath.Dir(tmp), f)
	if errors.Is(err, errEmptyReplica) {
		b, err = built{applied: map[uint64]uint64{}}, nil
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return built{}, err
	}
	return b, nil
}

// applyFile writes the pages of one LTX file (already downloaded to
// ltxPath) into the database at dbPath. The file is verified in full
// first, so a damaged download never leaves half its pages applied.
func applyFile(dbPath, ltxPath string) error {
	src, err := os.Open(ltxPath)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := ltx.NewDecoder(src).Verify(); err != nil {
		return fmt.Errorf("wal: verify ltx file: %w", err)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	db, err := os.OpenFile(dbPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer db.Close()
	return writePages(db, ltx.NewDecoder(src))
}

func writePages(db *os.File, dec *ltx.Decoder) error {
	if err := dec.DecodeHeader(); err != nil {
		return err
	}
	hdr := dec.Header()
	if err := checkPageSize(db, hdr.PageSize); err != nil {
		return err
	}
	data := make([]byte, hdr.PageSize)
	for {
		var ph ltx.PageHeader
		err := dec.DecodePage(&ph, data)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("wal: decode page: %w", err)
		}
		if ph.Pgno == 1 {
			markRollback(data)
		}
		if _, err := db.WriteAt(data, int64(ph.Pgno-1)*int64(hdr.PageSize)); err != nil {
			return err
		}
	}
	if hdr.Commit > 0 {
		if err := db.Truncate(int64(hdr.Commit) * int64(hdr.PageSize)); err != nil {
			return err
		}
	}
	return dec.Close()
}

// checkPageSize refuses to mix page sizes (a non-empty copy whose header
// disagrees with the file being applied).
func checkPageSize(db *os.File, want uint32) error {
	var b [2]byte
	if _, err := db.ReadAt(b[:], 16); err != nil {
		return nil // empty or short file: the first file writes page 1
	}
	if have := headerPageSize(b[:]); have != want {
		return fmt.Errorf("wal: local copy has %d-byte pages, the replica %d", have, want)
	}
	return nil
}

// headerPageSize decodes the page size at offset 16 of a database header.
func headerPageSize(b []byte) uint32 {
	n := uint32(binary.BigEndian.Uint16(b))
	if n == 1 {
		return 65536
	}
	return n
}

// removeSidecars deletes SQLite's files beside a database.
func removeSidecars(path string) {
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		os.Remove(path + s)
	}
}

// metaDir is where Litestream keeps its local state for path.
func metaDir(path string) string {
	dir, file := filepath.Split(path)
	return filepath.Join(dir, "."+file+litestream.MetaDirSuffix)
}

// removeLocal deletes the local copy and everything beside it.
func removeLocal(path string) error {
	removeSidecars(path)
	os.Remove(path + ".restore")
	if err := os.RemoveAll(metaDir(path)); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// logNone is a logger that drops everything, for one-shot views.
var logNone = slog.New(slog.DiscardHandler)
