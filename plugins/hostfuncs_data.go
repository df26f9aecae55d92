package plugins

import (
	"context"
	"errors"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/ozanturksever/go-cluster/abi"
)

// Host functions for the app's database, locks and events, and last_error.
// As in hostfuncs.go, every pointer is checked before the capability runs,
// so a bad pointer never leaves a write done but unreported.

// sqlArgs reads (sql_ptr, sql_len, params_ptr, params_len) from stack[0:4].
// Parameters' text and blob bytes alias guest memory for the capability's
// duration, as the Capabilities contract allows.
func (in *instance) sqlArgs(stack []uint64) (string, []abi.Value, bool) {
	n := api.DecodeU32(stack[1])
	if n == 0 || n > abi.MaxSQLLen {
		return "", nil, false
	}
	sql, ok1 := in.mem.Read(api.DecodeU32(stack[0]), n)
	raw, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok1 || !ok2 {
		return "", nil, false
	}
	var params []abi.Value
	if len(raw) > 0 {
		var err error
		if params, err = abi.DecodeValues(raw); err != nil {
			return "", nil, false
		}
	}
	return string(sql), params, true
}

func hostDBExec(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	sql, params, ok1 := in.sqlArgs(stack)
	outPtr := api.DecodeU32(stack[4])
	_, ok2 := in.mem.Read(outPtr, abi.ExecResultSize)
	if !ok1 || !ok2 {
		in.invalid(stack, "db_exec: bad SQL, parameters or result pointer")
		return
	}
	res, err := in.app.caps.DBExec(in.context(), sql, params)
	if err != nil {
		in.capFailed(stack, abi.FuncDBExec, err)
		return
	}
	out, _ := in.mem.Read(outPtr, abi.ExecResultSize)
	abi.AppendExecResult(out[:0], res)
	ok(stack, 0)
}

func hostDBQuery(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	sql, params, ok1 := in.sqlArgs(stack)
	out, ok2 := in.mem.Read(api.DecodeU32(stack[4]), api.DecodeU32(stack[5]))
	if !ok1 || !ok2 {
		in.invalid(stack, "db_query: bad SQL, parameters or output buffer")
		return
	}
	rows, err := in.app.caps.DBQuery(in.context(), sql, params, in.app.lim.Payload)
	if err != nil {
		in.capFailed(stack, abi.FuncDBQuery, err)
		return
	}
	n := abi.RowsSize(rows)
	if n <= len(out) {
		abi.AppendRows(out[:0], rows) // in place: out's capacity is out_cap
		ok(stack, n)
		return
	}
	in.deliver(stack, out, abi.AppendRows(make([]byte, 0, n), rows))
}

func hostDBBatch(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	raw, ok1 := in.mem.Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	out, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok1 || !ok2 {
		in.invalid(stack, "db_batch: batch or output buffer outside guest memory")
		return
	}
	stmts, err := abi.DecodeBatch(raw)
	if err != nil || len(stmts) == 0 {
		in.invalid(stack, "db_batch: malformed or empty batch")
		return
	}
	for _, st := range stmts {
		if st.SQL == "" || len(st.SQL) > abi.MaxSQLLen {
			in.invalid(stack, "db_batch: a statement's SQL is empty or too long")
			return
		}
	}
	res, err := in.app.caps.DBBatch(in.context(), stmts)
	if err != nil {
		in.capFailed(stack, abi.FuncDBBatch, err)
		return
	}
	enc := make([]byte, 0, len(res)*abi.ExecResultSize)
	for _, r := range res {
		enc = abi.AppendExecResult(enc, r)
	}
	in.deliver(stack, out, enc)
}

// lockMillis reads a lock duration in milliseconds and checks its bounds.
func lockMillis(v uint64, lo, hi int32) (time.Duration, bool) {
	ms := api.DecodeI32(v)
	return time.Duration(ms) * time.Millisecond, ms >= lo && ms <= hi
}

func hostLockAcquire(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	name, ok1 := in.key(stack[0], stack[1])
	ttl, ok2 := lockMillis(stack[2], abi.MinLockTTL, abi.MaxLockTTL)
	wait, ok3 := lockMillis(stack[3], 0, abi.MaxLockWait)
	tokenPtr, ok4 := in.rev(stack[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		in.invalid(stack, "lock_acquire: bad name, ttl (1s to 5m), wait (0 to 30s) or token pointer")
		return
	}
	token, err := in.app.caps.LockAcquire(in.context(), name, ttl, wait)
	if err != nil {
		in.capFailed(stack, abi.FuncLockAcquire, err)
		return
	}
	in.mem.WriteUint64Le(tokenPtr, token)
	ok(stack, 0)
}

func hostLockRenew(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	name, ok1 := in.key(stack[0], stack[1])
	ttl, ok2 := lockMillis(stack[3], abi.MinLockTTL, abi.MaxLockTTL)
	if !ok1 || !ok2 {
		in.invalid(stack, "lock_renew: bad name or ttl (1s to 5m)")
		return
	}
	if err := in.app.caps.LockRenew(in.context(), name, stack[2], ttl); err != nil {
		in.capFailed(stack, abi.FuncLockRenew, err)
		return
	}
	ok(stack, 0)
}

func hostLockRelease(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	name, valid := in.key(stack[0], stack[1])
	if !valid {
		in.invalid(stack, "lock_release: bad name")
		return
	}
	if err := in.app.caps.LockRelease(in.context(), name, stack[2]); err != nil {
		in.capFailed(stack, abi.FuncLockRelease, err)
		return
	}
	ok(stack, 0)
}

func hostEventPublish(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	topic, ok1 := in.name(stack[0], stack[1], abi.MaxTopicLen)
	data, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok1 || !ok2 {
		in.invalid(stack, "event_publish: bad topic or payload")
		return
	}
	if uint64(len(data)) > uint64(in.app.lim.Payload) {
		in.lastErr = errors.New("event_publish: payload over the app's payload limit")
		fail(stack, abi.StatusLimit)
		return
	}
	if err := in.app.caps.Publish(in.context(), string(topic), data); err != nil {
		in.capFailed(stack, abi.FuncEventPublish, err)
		return
	}
	ok(stack, 0)
}

// hostLastError keeps the error it reports, so a guest may ask twice; like
// take it does not go through enter.
func hostLastError(ctx context.Context, _ api.Module, stack []uint64) {
	in := current(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	in.dropPending()
	out, valid := in.mem.Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !valid {
		fail(stack, abi.StatusInvalid)
		return
	}
	if in.lastErr == nil {
		fail(stack, abi.StatusNotFound)
		return
	}
	in.deliver(stack, out, []byte(errorMessage(in.lastErr)))
}

// errorMessage is what a guest reads of err: a remote side's own message
// when it sent one, else the whole chain.
func errorMessage(err error) string {
	var ae *abi.Error
	if errors.As(err, &ae) && ae.Message != "" {
		return ae.Message
	}
	return err.Error()
}

// invalid answers INVALID with why, for last_error.
func (in *instance) invalid(stack []uint64, why string) {
	in.lastErr = errors.New(why)
	fail(stack, abi.StatusInvalid)
}
