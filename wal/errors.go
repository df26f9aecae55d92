package wal

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ozanturksever/go-cluster/abi"
)

// walError is a sentinel of this package that also is an abi sentinel, so
// a caller that only knows abi still classifies it.
type walError struct {
	msg  string
	kind error
}

func (e *walError) Error() string { return e.msg }
func (e *walError) Unwrap() error { return e.kind }

// Sentinel errors. Each is also abi.ErrUnavailable: the operation may work
// elsewhere or later, not here and now.
var (
	// ErrNotWriter: a write reached an instance that is not the writer.
	ErrNotWriter error = &walError{"database is read-only here: this instance is not the app's active writer", abi.ErrUnavailable}
	// ErrFenced: a newer generation exists (a newer writer or an import),
	// so this writer is read-only and its uploads are void.
	ErrFenced error = &walError{"database writer fenced: a newer writer took over", abi.ErrUnavailable}
	// ErrClosed: the DB was closed.
	ErrClosed error = &walError{"database closed", abi.ErrUnavailable}
)

// errNoCopy: a standby whose first restore has not finished yet.
var errNoCopy = fmt.Errorf("%w: wal: no local copy of the database yet", abi.ErrUnavailable)

// sqlError keeps SQLite's message as the error text and adds the abi
// class, so both errors.Is(err, abi.ErrConflict) and errors.As(err,
// **sqlite.Error) work.
type sqlError struct {
	kind error
	err  error
}

func (e *sqlError) Error() string   { return e.err.Error() }
func (e *sqlError) Unwrap() []error { return []error{e.kind, e.err} }

// limitError: a query result over its size limit.
type limitError struct{ max int }

func (e *limitError) Error() string {
	return fmt.Sprintf("wal: query result is over the limit of %d bytes", e.max)
}
func (e *limitError) Unwrap() error { return abi.ErrLimit }

// mapSQLError classifies an error of the SQLite driver or database/sql.
// writer says whether this instance is the writer, which decides what a
// write refused as read-only means.
func mapSQLError(err error, writer bool) error {
	if err == nil || classified(err) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return &sqlError{kind: sqliteKind(se.Code(), writer), err: err}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &sqlError{kind: abi.ErrTimeout, err: err}
	case strings.HasPrefix(err.Error(), "sql: "), strings.HasPrefix(err.Error(), "sqlite: "),
		strings.HasPrefix(err.Error(), "missing argument"), strings.HasPrefix(err.Error(), "missing named argument"):
		// database/sql's and the driver's own checks: argument counts,
		// types, statements that cannot be prepared, parameters a
		// statement names but the call does not give.
		return &sqlError{kind: abi.ErrInvalid, err: err}
	}
	return &sqlError{kind: abi.ErrInternal, err: err}
}

// classified reports whether err already carries its class.
func classified(err error) bool {
	var (
		le *limitError
		se *sqlError
		we *walError
	)
	return errors.As(err, &le) || errors.As(err, &se) || errors.As(err, &we)
}

func sqliteKind(code int, writer bool) error {
	switch code & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		return abi.ErrConflict
	case sqlite3.SQLITE_ERROR, sqlite3.SQLITE_MISUSE, sqlite3.SQLITE_RANGE,
		sqlite3.SQLITE_MISMATCH:
		return abi.ErrInvalid
	case sqlite3.SQLITE_AUTH:
		return abi.ErrDenied // refused by the guest's policy (guard.go)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT:
		return abi.ErrTimeout
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_FULL:
		return abi.ErrLimit
	case sqlite3.SQLITE_READONLY:
		if writer {
			return abi.ErrInvalid // a write through Query
		}
		return ErrNotWriter
	}
	return abi.ErrInternal
}
