package plugins

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ozanturksever/go-cluster/abi"
)

// Host functions of abi.ImportModule. Each is a stack-based GoModuleFunc:
// wazero passes parameters and takes results through a []uint64 without
// reflection or allocation. They find their instance in the context (see
// callCtx), check every ptr/len against guest memory before touching it
// and answer -abi.StatusInvalid for anything out of bounds; a guest can
// make them fail but never panic the host.

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// maxLogBytes bounds one guest log message; longer ones are cut.
const maxLogBytes = 16 << 10

type hostFunc struct {
	name string
	sig  wasmSig
	fn   api.GoModuleFunc
}

func fnSig(params []api.ValueType, results ...api.ValueType) wasmSig {
	return wasmSig{params, results}
}

var hostFuncs = []hostFunc{
	{abi.FuncABIVersion, fnSig(nil, i32), hostABIVersion},
	{abi.FuncReply, fnSig([]api.ValueType{i32, i32}), hostReply},
	{abi.FuncLog, fnSig([]api.ValueType{i32, i32, i32}), hostLog},
	{abi.FuncConfig, fnSig([]api.ValueType{i32, i32, i32, i32}, i32), hostConfig},
	{abi.FuncTake, fnSig([]api.ValueType{i32, i32}, i32), hostTake},
	{abi.FuncKVGet, fnSig([]api.ValueType{i32, i32, i32, i32, i32}, i32), hostKVGet},
	{abi.FuncKVPut, fnSig([]api.ValueType{i32, i32, i32, i32, i32}, i32), hostKVPut},
	{abi.FuncKVCreate, fnSig([]api.ValueType{i32, i32, i32, i32, i32}, i32), hostKVCreate},
	{abi.FuncKVUpdate, fnSig([]api.ValueType{i32, i32, i32, i32, i64, i32}, i32), hostKVUpdate},
	{abi.FuncKVDelete, fnSig([]api.ValueType{i32, i32}, i32), hostKVDelete},
	{abi.FuncKVKeys, fnSig([]api.ValueType{i32, i32, i32, i32}, i32), hostKVKeys},
	{abi.FuncCall, fnSig([]api.ValueType{i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32}, i32), hostCall},
	{abi.FuncDBExec, fnSig([]api.ValueType{i32, i32, i32, i32, i32}, i32), hostDBExec},
	{abi.FuncDBQuery, fnSig([]api.ValueType{i32, i32, i32, i32, i32, i32}, i32), hostDBQuery},
	{abi.FuncDBBatch, fnSig([]api.ValueType{i32, i32, i32, i32}, i32), hostDBBatch},
	{abi.FuncLockAcquire, fnSig([]api.ValueType{i32, i32, i32, i32, i32}, i32), hostLockAcquire},
	{abi.FuncLockRenew, fnSig([]api.ValueType{i32, i32, i64, i32}, i32), hostLockRenew},
	{abi.FuncLockRelease, fnSig([]api.ValueType{i32, i32, i64}, i32), hostLockRelease},
	{abi.FuncEventPublish, fnSig([]api.ValueType{i32, i32, i32, i32}, i32), hostEventPublish},
	{abi.FuncLastError, fnSig([]api.ValueType{i32, i32}, i32), hostLastError},
}

var hostFuncByName = func() map[string]hostFunc {
	m := make(map[string]hostFunc, len(hostFuncs))
	for _, f := range hostFuncs {
		m[f.name] = f
	}
	return m
}()

// instantiateHostModule provides abi.ImportModule in an app's runtime. The
// functions are shared by all the app's instances; the instance comes with
// each call's context.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, f := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.sig.params, f.sig.results).Export(f.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("cannot provide %s: %w", abi.ImportModule, err)
	}
	return nil
}

// ok and fail write an i32 result: a non-negative value or a negated status.
func ok(stack []uint64, n int) { stack[0] = api.EncodeI32(int32(n)) }

func fail(stack []uint64, s abi.Status) { stack[0] = api.EncodeI32(-int32(s)) }

// enter starts every host function but take and last_error: it finds the
// instance and ends the life of a result left pending and of the error
// message left by the previous host call.
func enter(ctx context.Context) *instance {
	in := current(ctx)
	if in != nil {
		in.dropPending()
		in.lastErr = nil
	}
	return in
}

func hostABIVersion(ctx context.Context, _ api.Module, stack []uint64) {
	enter(ctx)
	ok(stack, abi.Version)
}

// hostReply copies the reply out at once: the guest may reuse that memory
// before the call returns.
func hostReply(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		return
	}
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	in.reply, in.replyErr = nil, nil
	if uint64(n) > uint64(in.app.lim.Payload) {
		in.replyErr = fmt.Errorf("reply of %d bytes is over the %d-byte limit: %w", n, in.app.lim.Payload, abi.ErrLimit)
		return
	}
	b, valid := in.mem.Read(ptr, n)
	if !valid {
		in.replyErr = fmt.Errorf("guest replied with bytes outside its memory: %w", abi.ErrInternal)
		return
	}
	if n > 0 {
		in.reply = make([]byte, n)
		copy(in.reply, b)
	}
}

func hostLog(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		return
	}
	level := abi.Level(api.DecodeI32(stack[0]))
	msg, valid := in.mem.Read(api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
	if !valid {
		return // nothing to answer with; the guest gets no log line
	}
	level = min(max(level, abi.LevelDebug), abi.LevelError)
	in.app.caps.Log(in.parent, level, msg[:min(len(msg), maxLogBytes)])
}

func hostConfig(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	key, ok1 := in.mem.Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	out, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok1 || !ok2 || len(key) > abi.MaxKeyLen {
		fail(stack, abi.StatusInvalid)
		return
	}
	v, found := in.app.caps.Config(string(key))
	if !found {
		fail(stack, abi.StatusNotFound)
		return
	}
	if len(v) > len(out) {
		in.deliver(stack, out, []byte(v))
		return
	}
	ok(stack, copy(out, v))
}

// deliver writes a variable-length result to out when it fits, else keeps
// it pending for take; either way the guest learns its length.
func (in *instance) deliver(stack []uint64, out, result []byte) {
	if len(result) > math.MaxInt32 {
		fail(stack, abi.StatusLimit)
		return
	}
	if len(result) <= len(out) {
		copy(out, result)
	} else {
		in.pending, in.hasPending = result, true
	}
	ok(stack, len(result))
}

func hostTake(ctx context.Context, _ api.Module, stack []uint64) {
	in := current(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	result, had := in.pending, in.hasPending
	in.dropPending()
	out, valid := in.mem.Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !had || !valid || len(out) != len(result) {
		fail(stack, abi.StatusInvalid)
		return
	}
	copy(out, result)
	ok(stack, 0)
}

// key reads a KV key: 1 to abi.MaxKeyLen bytes inside guest memory.
func (in *instance) key(ptr, n uint64) ([]byte, bool) {
	// Decode first: only the low 32 bits of an i32 slot are defined.
	size := api.DecodeU32(n)
	if size == 0 || size > abi.MaxKeyLen {
		return nil, false
	}
	return in.mem.Read(api.DecodeU32(ptr), size)
}

// rev checks that a revision fits at ptr before the host acts, so a bad
// pointer never leaves a write done but unreported.
func (in *instance) rev(ptr uint64) (uint32, bool) {
	p := api.DecodeU32(ptr)
	_, valid := in.mem.Read(p, abi.RevSize)
	return p, valid
}

// capFailed answers a capability error with its status. Internal errors
// are the host's to investigate, not the guest's: log them here.
func (in *instance) capFailed(stack []uint64, fn string, err error) {
	s := abi.StatusOf(err)
	if s == abi.StatusInternal {
		in.app.log.Warn("capability failed", "func", fn, "err", err)
	}
	in.lastErr = err
	fail(stack, s)
}

func hostKVGet(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	key, ok1 := in.key(stack[0], stack[1])
	out, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	revPtr, ok3 := in.rev(stack[4])
	if !ok1 || !ok2 || !ok3 {
		fail(stack, abi.StatusInvalid)
		return
	}
	val, rev, err := in.app.caps.KVGet(in.context(), key)
	if err != nil {
		in.capFailed(stack, abi.FuncKVGet, err)
		return
	}
	in.mem.WriteUint64Le(revPtr, rev)
	in.deliver(stack, out, val)
}

// kvArgs reads (key_ptr, key_len, val_ptr, val_len) from stack[0:4] and a
// revision pointer from stack[revAt].
func (in *instance) kvArgs(stack []uint64, revAt int) (key, val []byte, revPtr uint32, valid bool) {
	key, ok1 := in.key(stack[0], stack[1])
	val, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	revPtr, ok3 := in.rev(stack[revAt])
	return key, val, revPtr, ok1 && ok2 && ok3
}

func hostKVPut(ctx context.Context, _ api.Module, stack []uint64) {
	hostKVWrite(ctx, stack, abi.FuncKVPut, false)
}

func hostKVCreate(ctx context.Context, _ api.Module, stack []uint64) {
	hostKVWrite(ctx, stack, abi.FuncKVCreate, true)
}

func hostKVWrite(ctx context.Context, stack []uint64, fn string, create bool) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	key, val, revPtr, valid := in.kvArgs(stack, 4)
	if !valid {
		fail(stack, abi.StatusInvalid)
		return
	}
	var rev uint64
	var err error
	if create {
		rev, err = in.app.caps.KVCreate(in.context(), key, val)
	} else {
		rev, err = in.app.caps.KVPut(in.context(), key, val)
	}
	if err != nil {
		in.capFailed(stack, fn, err)
		return
	}
	in.mem.WriteUint64Le(revPtr, rev)
	ok(stack, 0)
}

func hostKVUpdate(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	key, val, revPtr, valid := in.kvArgs(stack, 5)
	if !valid {
		fail(stack, abi.StatusInvalid)
		return
	}
	rev, err := in.app.caps.KVUpdate(in.context(), key, val, stack[4])
	if err != nil {
		in.capFailed(stack, abi.FuncKVUpdate, err)
		return
	}
	in.mem.WriteUint64Le(revPtr, rev)
	ok(stack, 0)
}

func hostKVDelete(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	key, valid := in.key(stack[0], stack[1])
	if !valid {
		fail(stack, abi.StatusInvalid)
		return
	}
	if err := in.app.caps.KVDelete(in.context(), key); err != nil {
		in.capFailed(stack, abi.FuncKVDelete, err)
		return
	}
	ok(stack, 0)
}

func hostKVKeys(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	prefix, ok1 := in.mem.Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	out, ok2 := in.mem.Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok1 || !ok2 || len(prefix) > abi.MaxKeyLen {
		fail(stack, abi.StatusInvalid)
		return
	}
	keys, err := in.app.caps.KVKeys(in.context(), prefix)
	if err != nil {
		in.capFailed(stack, abi.FuncKVKeys, err)
		return
	}
	n := abi.ListSize(keys...)
	if n <= len(out) {
		// Encode straight into guest memory: out's capacity is exactly
		// out_cap, so appending within it writes in place.
		abi.AppendList(out[:0], keys...)
		ok(stack, n)
		return
	}
	in.deliver(stack, out, abi.AppendList(make([]byte, 0, n), keys...))
}

// name reads an app or method name: 1 to max bytes inside guest memory.
func (in *instance) name(ptr, n uint64, max uint32) ([]byte, bool) {
	size := api.DecodeU32(n)
	if size == 0 || size > max {
		return nil, false
	}
	return in.mem.Read(api.DecodeU32(ptr), size)
}

// hostCall calls another app's method. Names become strings (the
// capability keys maps and subjects with them); payload and key are passed
// as they lie in guest memory and copied only where the capability keeps
// them.
func hostCall(ctx context.Context, _ api.Module, stack []uint64) {
	in := enter(ctx)
	if in == nil {
		fail(stack, abi.StatusInternal)
		return
	}
	app, ok1 := in.name(stack[0], stack[1], abi.MaxAppNameLen)
	method, ok2 := in.name(stack[2], stack[3], abi.MaxMethodLen)
	payload, ok3 := in.mem.Read(api.DecodeU32(stack[4]), api.DecodeU32(stack[5]))
	key, ok4 := in.mem.Read(api.DecodeU32(stack[6]), api.DecodeU32(stack[7]))
	timeoutMS := api.DecodeI32(stack[8])
	out, ok5 := in.mem.Read(api.DecodeU32(stack[9]), api.DecodeU32(stack[10]))
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || len(key) > abi.MaxKeyLen || timeoutMS < 0 {
		fail(stack, abi.StatusInvalid)
		return
	}
	if uint64(len(payload)) > uint64(in.app.lim.Payload) {
		fail(stack, abi.StatusLimit)
		return
	}
	timeout := time.Duration(timeoutMS) * time.Millisecond
	res, err := in.app.caps.Call(in.context(), string(app), string(method), payload, key, timeout)
	if err != nil {
		in.callFailed(stack, err)
		return
	}
	if uint64(len(res)) > uint64(in.app.lim.Payload) {
		fail(stack, abi.StatusLimit)
		return
	}
	in.deliver(stack, out, res)
}

// callFailed answers a failed call with its status. A callee's internal
// error is the callee's to investigate and its host logs it; only a
// failure of this host's side is logged here.
func (in *instance) callFailed(stack []uint64, err error) {
	var ae *abi.Error
	if errors.As(err, &ae) {
		in.lastErr = err
		fail(stack, abi.StatusOf(err))
		return
	}
	in.capFailed(stack, abi.FuncCall, err)
}

// denyAll is the Capabilities of an app loaded without any: every data
// call answers denied, config is empty and logs go to the runtime's logger.
type denyAll struct{ in *App }

func (d denyAll) Config(string) (string, bool) { return "", false }

func (d denyAll) Log(ctx context.Context, level abi.Level, msg []byte) {
	d.in.log.Info("guest log", "level", int(level), "msg", string(msg))
}

func (denyAll) KVGet(context.Context, []byte) ([]byte, uint64, error) {
	return nil, 0, abi.ErrDenied
}

func (denyAll) KVPut(context.Context, []byte, []byte) (uint64, error) { return 0, abi.ErrDenied }

func (denyAll) KVCreate(context.Context, []byte, []byte) (uint64, error) {
	return 0, abi.ErrDenied
}

func (denyAll) KVUpdate(context.Context, []byte, []byte, uint64) (uint64, error) {
	return 0, abi.ErrDenied
}

func (denyAll) KVDelete(context.Context, []byte) error { return abi.ErrDenied }

func (denyAll) KVKeys(context.Context, []byte) ([][]byte, error) { return nil, abi.ErrDenied }

func (denyAll) Call(context.Context, string, string, []byte, []byte, time.Duration) ([]byte, error) {
	return nil, abi.ErrDenied
}

func (denyAll) DBExec(context.Context, string, []abi.Value) (abi.ExecResult, error) {
	return abi.ExecResult{}, abi.ErrDenied
}

func (denyAll) DBQuery(context.Context, string, []abi.Value, int) (*abi.Rows, error) {
	return nil, abi.ErrDenied
}

func (denyAll) DBBatch(context.Context, []abi.Statement) ([]abi.ExecResult, error) {
	return nil, abi.ErrDenied
}

func (denyAll) LockAcquire(context.Context, []byte, time.Duration, time.Duration) (uint64, error) {
	return 0, abi.ErrDenied
}

func (denyAll) LockRenew(context.Context, []byte, uint64, time.Duration) error { return abi.ErrDenied }

func (denyAll) LockRelease(context.Context, []byte, uint64) error { return abi.ErrDenied }

func (denyAll) Publish(context.Context, string, []byte) error { return abi.ErrDenied }
