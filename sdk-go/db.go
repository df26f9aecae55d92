package sdk

import (
	"fmt"
	"unsafe"
)

// The app's own SQL database, SQLite, which the host keeps and replicates.
// The manifest grants it; without the grant every function answers
// ErrDenied. Arguments bind to the statement's parameters by position (?,
// or ?NNN by number) and may be nil (NULL), int, int8 to int64, uint8 to
// uint32 (INTEGER), uint and uint64 up to math.MaxInt64 (so a lock's
// fencing token fits), float32, float64 (REAL), bool (INTEGER 0 or 1),
// string (TEXT) or []byte (BLOB). Any other type, named types included,
// fails with ErrInvalid before reaching the host. Values come back as nil,
// int64, float64, string or []byte.
//
// Errors match the sentinels with errors.Is and carry the host's message,
// such as SQLite's text for a bad statement:
//
//   - ErrInvalid: bad SQL, parameters or arguments;
//   - ErrConflict: a constraint (UNIQUE, CHECK, FOREIGN KEY...) failed;
//   - ErrUnavailable: the database is read-only here: any instance but the
//     active one of an active-passive app, or a writer a newer one fenced
//     off;
//   - ErrTimeout: the database stayed busy;
//   - ErrLimit: a query's result is over the app's payload limit;
//   - ErrDenied: the manifest grants no database.
//
// With the manifest's durability sync, a write returns only once it is
// replicated.

// Result is what a statement that returns no rows reports.
type Result struct {
	// RowsAffected is the number of rows the statement inserted, updated
	// or deleted.
	RowsAffected int64
	// LastInsertID is the rowid of the most recent successful INSERT into
	// a rowid table on the app's database connection.
	LastInsertID int64
}

// Stmt is one statement of a Batch.
type Stmt struct {
	SQL  string
	Args []any
}

// Rows is the whole result of a query.
type Rows struct {
	// Columns are the result's column names.
	Columns []string
	// Rows are the result's rows, each with one value per column.
	Rows []Row
}

// Row is one row of a query's result: one value per column, each nil
// (NULL), int64 (INTEGER), float64 (REAL), string (TEXT) or []byte (BLOB).
// The row belongs to the caller; Scan reads it into typed variables.
type Row []any

var errBadSQL = &Error{Status: StatusInvalid, Message: "SQL must be at most 1 MiB"}

func checkSQL(sql string) error {
	if len(sql) > MaxSQLLen {
		return errBadSQL
	}
	return nil
}

// params encodes args for db_exec and db_query: nothing for no arguments.
func params(sql string, args []any) ([]byte, error) {
	if err := checkSQL(sql); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, nil
	}
	return appendArgs(make([]byte, 0, 64), args)
}

// Exec runs one SQL statement that returns no rows (CREATE, INSERT,
// UPDATE, DELETE...) with args bound to its parameters.
//
//	res, err := sdk.Exec("INSERT INTO users(name) VALUES (?)", name)
func Exec(sql string, args ...any) (Result, error) {
	p, err := params(sql, args)
	if err != nil {
		return Result{}, err
	}
	var out [execResultSize]byte
	if ret := hostDBExec(stringPtr(sql), uint32(len(sql)), bytesPtr(p), uint32(len(p)), unsafe.Pointer(&out)); ret < 0 {
		return Result{}, hostErr(ret)
	}
	return decodeExecResult(out[:]), nil
}

// Query runs one SQL query with args bound to its parameters and returns
// its whole result.
//
//	rows, err := sdk.Query("SELECT id, name FROM users WHERE team = ?", team)
//	if err != nil {
//		return nil, err
//	}
//	for _, row := range rows.Rows {
//		var id int64
//		var name string
//		if err := row.Scan(&id, &name); err != nil {
//			return nil, err
//		}
//		...
//	}
//
// The result crosses from the host in one piece, so it must stay under the
// app's payload limit (ErrLimit otherwise): page large tables with LIMIT.
func Query(sql string, args ...any) (*Rows, error) {
	p, err := params(sql, args)
	if err != nil {
		return nil, err
	}
	n := hostDBQuery(stringPtr(sql), uint32(len(sql)), bytesPtr(p), uint32(len(p)), scratchPtr(), scratchSize)
	if n < 0 {
		return nil, hostErr(n)
	}
	b, err := result(n)
	if err != nil {
		return nil, err
	}
	return decodeRows(b)
}

// Batch runs stmts in one transaction, all or nothing, and returns one
// Result per statement. When one fails none takes effect, and the error
// is that statement's.
//
//	_, err := sdk.Batch(
//		sdk.Stmt{SQL: "UPDATE accounts SET balance = balance - ? WHERE id = ?", Args: []any{amount, from}},
//		sdk.Stmt{SQL: "UPDATE accounts SET balance = balance + ? WHERE id = ?", Args: []any{amount, to}},
//	)
//
// A batch of no statements does nothing and returns no results.
func Batch(stmts ...Stmt) ([]Result, error) {
	if len(stmts) == 0 {
		return nil, nil
	}
	enc, err := appendBatch(make([]byte, 0, 256), stmts)
	if err != nil {
		return nil, err
	}
	n := hostDBBatch(bytesPtr(enc), uint32(len(enc)), scratchPtr(), scratchSize)
	if n < 0 {
		return nil, hostErr(n)
	}
	b, err := result(n)
	if err != nil {
		return nil, err
	}
	return decodeExecResults(b, len(stmts))
}

// Scan copies the row's values into dest, one pointer per column:
//
//   - *any takes any value as it is, nil for NULL;
//   - *string takes TEXT or BLOB;
//   - *[]byte takes BLOB or TEXT, and nil for NULL;
//   - *int, *int8 ... *int64, *uint, *uint8 ... *uint64 take INTEGER that
//     fits;
//   - *float64 and *float32 take REAL or INTEGER;
//   - *bool takes INTEGER: 0 is false, anything else true.
//
// Anything else fails, such as NULL into *string: scan a nullable column
// into *any or *[]byte. A []byte Scan stores shares the row's memory.
func (r Row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(r))
	}
	for i, d := range dest {
		if !scanValue(r[i], d) {
			return fmt.Errorf("scan column %d: cannot store %s in %T", i, describe(r[i]), d)
		}
	}
	return nil
}

// scanValue stores v in dest and reports whether it could.
func scanValue(v, dest any) bool {
	switch d := dest.(type) {
	case *any:
		*d = v
		return true
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
			return true
		case []byte:
			*d = string(v)
			return true
		}
	case *[]byte:
		switch v := v.(type) {
		case nil:
			*d = nil
			return true
		case []byte:
			*d = v
			return true
		case string:
			*d = []byte(v)
			return true
		}
	case *float64:
		switch v := v.(type) {
		case float64:
			*d = v
			return true
		case int64:
			*d = float64(v)
			return true
		}
	case *float32:
		switch v := v.(type) {
		case float64:
			*d = float32(v)
			return true
		case int64:
			*d = float32(v)
			return true
		}
	case *bool:
		if n, ok := v.(int64); ok {
			*d = n != 0
			return true
		}
	case *int64:
		return scanInt(v, d)
	case *int:
		return scanInt(v, d)
	case *int32:
		return scanInt(v, d)
	case *int16:
		return scanInt(v, d)
	case *int8:
		return scanInt(v, d)
	case *uint64:
		return scanInt(v, d)
	case *uint:
		return scanInt(v, d)
	case *uint32:
		return scanInt(v, d)
	case *uint16:
		return scanInt(v, d)
	case *uint8:
		return scanInt(v, d)
	}
	return false
}

type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// scanInt stores an INTEGER in d when it fits.
func scanInt[T integer](v any, d *T) bool {
	n, ok := v.(int64)
	if !ok {
		return false
	}
	t := T(n)
	if int64(t) != n || (t < 0) != (n < 0) {
		return false
	}
	*d = t
	return true
}

// describe names a row value's SQL type, with the number for INTEGER and
// REAL, for Scan's errors.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return fmt.Sprint("INTEGER ", v)
	case float64:
		return fmt.Sprint("REAL ", v)
	case string:
		return "TEXT"
	case []byte:
		return "BLOB"
	}
	return fmt.Sprintf("%T", v)
}
