package wal

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// Exec runs one statement on the writer (outside Batch, one statement is
// one transaction). Under Sync it returns once the commit is in the
// replica; an error after the commit says so, and the write may or may not
// survive a failover.
func (d *DB) Exec(ctx context.Context, query string, params []abi.Value) (abi.ExecResult, error) {
	args, err := toArgs(params)
	if err != nil {
		return abi.ExecResult{}, err
	}
	w, err := d.writer()
	if err != nil {
		return abi.ExecResult{}, err
	}
	var res abi.ExecResult
	err = w.write(ctx, func(conn *sql.DB) error {
		r, err := conn.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		res = execResult(r)
		return nil
	})
	return res, err
}

// Batch runs stmts in one transaction: all of them commit, or none does.
// The error of a failing statement names its index.
func (d *DB) Batch(ctx context.Context, stmts []abi.Statement) ([]abi.ExecResult, error) {
	args := make([][]any, len(stmts))
	for i, s := range stmts {
		a, err := toArgs(s.Params)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		args[i] = a
	}
	w, err := d.writer()
	if err != nil || len(stmts) == 0 {
		return nil, err
	}
	var out []abi.ExecResult
	err = w.write(ctx, func(db *sql.DB) error {
		out = out[:0]
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return w.transaction(ctx, conn, func() error {
			for i, s := range stmts {
				r, err := conn.ExecContext(ctx, s.SQL, args[i]...)
				if err != nil {
					return fmt.Errorf("statement %d: %w", i, err)
				}
				out = append(out, execResult(r))
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// transaction runs f between BEGIN IMMEDIATE and COMMIT on conn, rolling
// back if anything fails. The statements are issued here rather than
// through database/sql's Tx, whose rollback on a done context would run
// on its own goroutine, outside internal.
func (w *writer) transaction(ctx context.Context, conn *sql.Conn, f func() error) error {
	run := func(ctx context.Context, q string) error {
		return w.internal(func() error {
			_, err := conn.ExecContext(ctx, q)
			return err
		})
	}
	if err := run(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err := f()
	if err == nil {
		err = run(ctx, "COMMIT")
	}
	if err != nil {
		run(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

func (d *DB) writer() (*writer, error) {
	if d.closed.Load() {
		return nil, ErrClosed
	}
	w := d.w.Load()
	if w == nil {
		return nil, ErrNotWriter
	}
	return w, nil
}

// write runs f as one commit on the writing connection and, under Sync,
// ships before it returns.
func (w *writer) write(ctx context.Context, f func(*sql.DB) error) error {
	if err := w.commit(f); err != nil {
		return err
	}
	if w.d.cfg.Durability != Sync {
		return nil
	}
	if err := w.ship(ctx); err != nil {
		return fmt.Errorf("wal: committed locally, not acknowledged by the replica: %w", err)
	}
	return nil
}

func (w *writer) commit(f func(*sql.DB) error) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	switch {
	case !w.accepting:
		return ErrNotWriter
	case w.fenced.Load():
		return ErrFenced
	}
	if err := f(w.conn); err != nil {
		return mapSQLError(err, true)
	}
	w.committed.Add(1)
	w.d.st.committed()
	return nil
}

func execResult(r sql.Result) abi.ExecResult {
	n, _ := r.RowsAffected()
	id, _ := r.LastInsertId()
	return abi.ExecResult{RowsAffected: n, LastInsertID: id}
}

// Query runs a read on the local copy, on the writer and on a standby
// alike (a standby's copy lags the writer by its replication lag). A result
// whose encoding (abi.RowsSize) would exceed maxBytes is refused with an
// error wrapping abi.ErrLimit; maxBytes <= 0 means no limit.
func (d *DB) Query(ctx context.Context, query string, params []abi.Value, maxBytes int) (*abi.Rows, error) {
	args, err := toArgs(params)
	if err != nil {
		return nil, err
	}
	if d.closed.Load() {
		return nil, ErrClosed
	}
	d.readMu.RLock()
	defer d.readMu.RUnlock()
	if d.readers == nil {
		return nil, errNoCopy
	}
	writer := d.w.Load() != nil
	rows, err := d.readers.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapSQLError(err, writer)
	}
	defer rows.Close()
	out, err := readRows(rows, maxBytes)
	if err != nil {
		return nil, mapSQLError(err, writer)
	}
	return out, nil
}

func readRows(rows *sql.Rows, maxBytes int) (*abi.Rows, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	out := &abi.Rows{Columns: cols}
	size := abi.RowsSize(out)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]abi.Value, len(cols))
		for i, v := range vals {
			row[i] = fromSQL(v, types[i].DatabaseTypeName())
		}
		if size += abi.RowSize(row); maxBytes > 0 && size > maxBytes {
			return nil, &limitError{maxBytes}
		}
		out.Rows = append(out.Rows, row)
	}
	return out, rows.Err()
}

// toArgs turns abi values into driver arguments of the same storage class.
func toArgs(params []abi.Value) ([]any, error) {
	args := make([]any, len(params))
	for i, p := range params {
		switch p.Type {
		case abi.TypeNull:
			args[i] = nil
		case abi.TypeInteger:
			args[i] = p.Int
		case abi.TypeReal:
			args[i] = p.Real
		case abi.TypeText:
			args[i] = string(p.Bytes)
		case abi.TypeBlob:
			b := p.Bytes
			if b == nil {
				b = []byte{} // nil would bind as NULL
			}
			args[i] = b
		default:
			return nil, fmt.Errorf("%w: wal: parameter %d has unknown type %s", abi.ErrInvalid, i+1, p.Type)
		}
	}
	return args, nil
}

// fromSQL turns what the driver scanned into an abi value of the stored
// class. The driver parses TEXT in columns declared DATE, DATETIME or
// TIMESTAMP into time.Time; that is turned back into text in SQLite's own
// format ("YYYY-MM-DD HH:MM:SS[.SSS][+HH:MM]", a date alone for a DATE at
// midnight), which is the stored text whenever SQLite's date functions
// wrote it.
func fromSQL(v any, declType string) abi.Value {
	switch x := v.(type) {
	case nil:
		return abi.Null()
	case int64:
		return abi.Integer(x)
	case float64:
		return abi.Real(x)
	case string:
		return abi.Text(x)
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return abi.Blob(x)
	case time.Time:
		return abi.Text(sqliteTime(x, declType))
	case bool:
		if x {
			return abi.Integer(1)
		}
		return abi.Integer(0)
	}
	return abi.Text(fmt.Sprint(v))
}

func sqliteTime(t time.Time, declType string) string {
	_, off := t.Zone()
	if declType == "DATE" && off == 0 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	layout := "2006-01-02 15:04:05"
	if t.Nanosecond() != 0 {
		layout += ".000"
	}
	if off != 0 {
		layout += "-07:00"
	}
	return t.Format(layout)
}
