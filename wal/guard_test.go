package wal

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

// TestGuestStaysInItsFile runs the statements that would reach outside the
// database file or change how it is journaled: each is denied with
// SQLite's reason, and the schema pragmas a guest needs still work.
func TestGuestStaysInItsFile(t *testing.T) {
	p := newPlatform(t)
	d := open(t, p.config(t, "a", Async))
	promote(t, d, 1)
	exec(t, d, "CREATE TABLE t (x)")
	other := filepath.Join(t.TempDir(), "other.db")
	for _, sql := range []string{
		"ATTACH DATABASE '" + other + "' AS o",
		"VACUUM INTO '" + other + "'",
		"PRAGMA journal_mode=DELETE",
		"PRAGMA wal_checkpoint(TRUNCATE)",
		"PRAGMA wal_autocheckpoint=1000",
		"PRAGMA synchronous=OFF",
		"PRAGMA writable_schema=ON",
		"SELECT load_extension('x')",
	} {
		_, err := d.Exec(ctxLong(t), sql, nil)
		if !errors.Is(err, abi.ErrDenied) && !errors.Is(err, abi.ErrInvalid) {
			t.Errorf("%s: err = %v, want denied", sql, err)
		}
		if err != nil && !strings.Contains(err.Error(), "authoriz") && !strings.Contains(err.Error(), "load_extension") {
			t.Errorf("%s: err = %v, want SQLite's reason", sql, err)
		}
	}
	if r := query(t, d, "PRAGMA table_info(t)"); len(r.Rows) != 1 {
		t.Errorf("table_info = %+v", r)
	}
	exec(t, d, "PRAGMA foreign_keys=ON")
	exec(t, d, "INSERT INTO t VALUES (1)")
}
