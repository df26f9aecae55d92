package plugins

import (
	"context"
	"fmt"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// The fake's database echoes: a query returns one row holding its
// parameters, an exec reports one row affected. SQL "fail" answers a
// constraint violation with the database's own words.

type fakeStmt struct {
	sql    string
	params []abi.Value
}

type fakeLock struct {
	name  string
	token uint64
}

func cloneValues(vs []abi.Value) []abi.Value {
	out := make([]abi.Value, len(vs))
	for i, v := range vs {
		out[i] = v
		out[i].Bytes = append([]byte(nil), v.Bytes...)
	}
	return out
}

func (f *fakeCaps) record(sql string, params []abi.Value) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stmts = append(f.stmts, fakeStmt{sql, cloneValues(params)})
	if sql == "fail" {
		return fmt.Errorf("cannot run SQL: UNIQUE constraint failed: t.id: %w", abi.ErrConflict)
	}
	return nil
}

func (f *fakeCaps) DBExec(_ context.Context, sql string, params []abi.Value) (abi.ExecResult, error) {
	if err := f.record(sql, params); err != nil {
		return abi.ExecResult{}, err
	}
	return abi.ExecResult{RowsAffected: 1, LastInsertID: int64(len(params))}, nil
}

func (f *fakeCaps) DBQuery(_ context.Context, sql string, params []abi.Value, maxBytes int) (*abi.Rows, error) {
	if err := f.record(sql, params); err != nil {
		return nil, err
	}
	rows := &abi.Rows{}
	for i := range params {
		rows.Columns = append(rows.Columns, fmt.Sprintf("c%d", i))
	}
	if len(params) > 0 {
		rows.Rows = [][]abi.Value{cloneValues(params)}
	}
	if abi.RowsSize(rows) > maxBytes {
		return nil, fmt.Errorf("cannot query: result over %d bytes: %w", maxBytes, abi.ErrLimit)
	}
	return rows, nil
}

func (f *fakeCaps) DBBatch(ctx context.Context, stmts []abi.Statement) ([]abi.ExecResult, error) {
	var out []abi.ExecResult
	for _, st := range stmts {
		r, err := f.DBExec(ctx, st.SQL, st.Params)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeCaps) LockAcquire(_ context.Context, name []byte, ttl, wait time.Duration) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.locks {
		if l.name == string(name) {
			return 0, fmt.Errorf("lock %q is held by node-x: %w", name, abi.ErrConflict)
		}
	}
	f.rev++
	f.locks = append(f.locks, fakeLock{string(name), f.rev})
	return f.rev, nil
}

func (f *fakeCaps) LockRenew(_ context.Context, name []byte, token uint64, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.locks {
		if l.name == string(name) && l.token == token {
			return nil
		}
	}
	return fmt.Errorf("lock %q is not held with token %d: %w", name, token, abi.ErrConflict)
}

func (f *fakeCaps) LockRelease(ctx context.Context, name []byte, token uint64) error {
	if err := f.LockRenew(ctx, name, token, 0); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range f.locks {
		if l.name == string(name) {
			f.locks = append(f.locks[:i], f.locks[i+1:]...)
			break
		}
	}
	return nil
}

func (f *fakeCaps) Publish(_ context.Context, topic string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if topic == "secret" {
		return fmt.Errorf("topic %q is not under data.events.publish: %w", topic, abi.ErrDenied)
	}
	f.published = append(f.published, topic+"="+string(data))
	return nil
}
