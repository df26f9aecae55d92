package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/ozanturksever/go-cluster/abi"
)

// instance is one instantiated guest. It runs one call at a time: the pool
// hands it to a single caller, and host functions run on that caller's
// goroutine, so the per-call fields need no locking.
type instance struct {
	app    *App
	mod    api.Module
	mem    api.Memory
	buffer api.Function
	handle api.Function
	events api.Function // the optional abi.ExportEvent, nil without it
	stack  []uint64     // reused by every CallWithStack; fits the widest export

	// The guest's input buffer, valid until the next call to its buffer
	// export (abi.ExportBuffer): calls that fit skip that crossing.
	bufPtr, bufSize uint32

	// timer stops a call that outlives Limits.Timeout by closing the
	// module, which wazero's termination checks turn into an exit. It is
	// made once and re-armed per call, so a timeout costs no allocation.
	timer   *time.Timer
	expired atomic.Bool // timer fired: the guest was stopped

	// broken marks an instance that must not serve another call: it
	// trapped, timed out, ran out of memory or exited.
	broken   bool
	closed   bool
	inUse    atomic.Bool // guards the pool's promise: one call at a time
	memBytes int64       // this instance's share of app.memBytes

	stdout, stderr *lineWriter

	// x is the Extism side of an instance of an Extism module; such an
	// instance has no mod, mem or timer of its own (see extism.go).
	x *extismInstance

	// What lifecycle events told this guest (see lifecycle.go). role and
	// owned belong to whoever holds the instance. synced is the app's
	// lifecycle version they match and heard the last member event sent;
	// they are atomic because a notification reads them while the
	// instance is busy elsewhere, to know whether to wait for it.
	role   Role
	owned  []int
	synced atomic.Uint64
	heard  atomic.Uint64

	// Per call: the caller's context and the call's deadline, from which
	// a context for capabilities is made when a host function first needs
	// one; the reply (or why it is refused); a result waiting for take.
	parent     context.Context
	deadline   time.Time
	capCtx     context.Context
	capCancel  context.CancelFunc
	reply      []byte
	replyErr   error
	pending    []byte
	hasPending bool
	lastErr    error // why the last host function failed, for last_error
}

var errGuestExited = errors.New("guest exited")

// exitTimeout is the exit code the timer closes a module with.
const exitTimeout = 0xdead0001

// callCtx is the context a guest call runs under: the caller's, so that
// wazero stops the guest when the caller gives up, plus the instance. Host
// functions receive it from wazero unchanged, so a type assertion finds the
// calling instance without a lookup, a lock or an allocation per host call.
// It is made per call because wazero may still read it after the call.
type callCtx struct {
	context.Context
	in *instance
}

// current returns the instance a host function was called from.
func current(ctx context.Context) *instance {
	if cc, ok := ctx.(*callCtx); ok {
		return cc.in
	}
	return nil
}

// newInstance instantiates the app's module and runs its _initialize
// under the call timeout, so a guest whose start-up hangs cannot hold a
// pool slot forever.
func (a *App) newInstance(ctx context.Context) (*instance, error) {
	if a.ext != nil {
		return a.newExtismInstance(ctx)
	}
	in := &instance{
		app:    a,
		stack:  make([]uint64, 2),
		stdout: newLineWriter(a.log, "stdout"),
		stderr: newLineWriter(a.log, "stderr"),
	}
	in.begin(ctx)
	err := in.start(ctx)
	in.end()
	if err == nil && (in.broken || in.mod.IsClosed()) {
		err = fmt.Errorf("cannot start %s: guest stopped during %s: %w", a.name, abi.ExportInitialize, abi.ErrInternal)
	}
	if err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func (in *instance) start(ctx context.Context) error {
	a := in.app
	cc := &callCtx{Context: ctx, in: in}
	// No guest code runs here: start functions are off.
	mod, err := a.wrt.InstantiateModule(cc, a.compiled, a.modCfg.WithStdout(in.stdout).WithStderr(in.stderr))
	if err != nil {
		return in.failure(ctx, "instantiate", err)
	}
	in.mod, in.mem = mod, mod.Memory()
	in.buffer = mod.ExportedFunction(abi.ExportBuffer)
	in.handle = mod.ExportedFunction(abi.ExportHandle)
	in.events = mod.ExportedFunction(abi.ExportEvent)
	in.timer = time.AfterFunc(a.lim.Timeout, in.expire)
	if init := mod.ExportedFunction(abi.ExportInitialize); init != nil {
		if err := init.CallWithStack(cc, in.stack); err != nil {
			return in.failure(ctx, abi.ExportInitialize, err)
		}
	}
	return nil
}

// expire runs on the timer's goroutine while a call overran.
func (in *instance) expire() {
	in.expired.Store(true)
	in.mod.CloseWithExitCode(context.Background(), exitTimeout)
}

// call runs one API call. Besides the payload written into guest memory and
// the reply copied out, it allocates only its callCtx (and what wazero
// allocates to watch ctx).
func (in *instance) call(ctx context.Context, method string, payload []byte) ([]byte, error) {
	if in.x != nil {
		return in.extismCall(ctx, method, payload)
	}
	return in.invoke(ctx, method, in.handle, api.EncodeU32(uint32(len(method))), method, payload)
}

// event delivers one lifecycle event: the payload goes into the guest's
// input buffer as a call's does, the kind is the first argument, and a
// guest's error status comes back as for a call. A module without the
// event export takes every event as delivered.
func (in *instance) event(ctx context.Context, kind abi.Event, payload []byte) error {
	if !in.app.hasEvents {
		return nil
	}
	name := "on_" + kind.String()
	if ctx.Err() != nil {
		// As in App.Call: a guest started now would be stopped at once.
		return fmt.Errorf("cannot call %s.%s: %w", in.app.name, name, ctxError(ctx))
	}
	if in.x != nil {
		return in.extismEvent(ctx, name, kind, payload)
	}
	_, err := in.invoke(ctx, name, in.events, api.EncodeI32(int32(kind)), "", payload)
	return err
}

// invoke runs a guest export that reads its input from the guest's buffer:
// head then payload are written there, and the export gets arg0 and
// len(payload). what names the export in errors.
func (in *instance) invoke(ctx context.Context, what string, fn api.Function, arg0 uint64, head string, payload []byte) ([]byte, error) {
	cc := &callCtx{Context: ctx, in: in}
	in.begin(ctx)
	in.timer.Reset(in.app.lim.Timeout)
	defer in.end()

	buf, err := in.input(cc, len(head)+len(payload))
	if err != nil {
		return nil, in.failure(ctx, what, err)
	}
	copy(buf, head)
	copy(buf[len(head):], payload)

	in.stack[0] = arg0
	in.stack[1] = api.EncodeU32(uint32(len(payload)))
	if err := fn.CallWithStack(cc, in.stack); err != nil {
		return nil, in.failure(ctx, what, err)
	}
	if in.mod.IsClosed() {
		// Exit code 0 closes the module without an error; so does a
		// timeout that fired as the guest returned.
		return nil, in.failure(ctx, what, errGuestExited)
	}
	return in.result(what, abi.Status(api.DecodeI32(in.stack[0])))
}

// input returns size bytes of the guest's input buffer, asking the guest
// for a larger one only when size exceeds what it last provided.
func (in *instance) input(ctx context.Context, size int) ([]byte, error) {
	if uint64(size) > uint64(in.bufSize) {
		in.stack[0] = api.EncodeU32(uint32(size))
		if err := in.buffer.CallWithStack(ctx, in.stack); err != nil {
			return nil, err
		}
		in.bufPtr, in.bufSize = api.DecodeU32(in.stack[0]), uint32(size)
	}
	buf, ok := in.mem.Read(in.bufPtr, uint32(size))
	if !ok {
		in.bufSize = 0
		return nil, fmt.Errorf("guest buffer at %#x is outside its memory", in.bufPtr)
	}
	return buf, nil
}

func (in *instance) result(method string, st abi.Status) ([]byte, error) {
	if in.replyErr != nil {
		return nil, fmt.Errorf("cannot call %s.%s: %w", in.app.name, method, in.replyErr)
	}
	if st == abi.StatusOK {
		return in.reply, nil
	}
	if st < abi.StatusOK || st > abi.StatusInternal {
		return nil, abi.NewError(abi.StatusInternal, fmt.Sprintf("guest returned unknown status %d: %s", int32(st), in.reply))
	}
	return nil, abi.NewError(st, string(in.reply))
}

// begin resets the per-call state.
func (in *instance) begin(ctx context.Context) {
	in.parent, in.deadline = ctx, time.Now().Add(in.app.lim.Timeout)
	in.reply, in.replyErr = nil, nil
	in.stdout.begin()
	in.stderr.begin()
}

// end disarms the timer and drops what the call left behind, so an idle
// instance holds no reference to its last call's data.
func (in *instance) end() {
	if in.timer != nil && !in.timer.Stop() && !in.closed {
		// The timer fired, maybe just after the guest returned: the
		// module is closed or closing, the instance is done for.
		in.broken = true
	}
	if in.capCancel != nil {
		in.capCancel()
		in.capCtx, in.capCancel = nil, nil
	}
	in.parent = nil
	in.reply, in.replyErr = nil, nil
	in.lastErr = nil
	in.dropPending()
	in.stdout.end()
	in.stderr.end()
	if in.mem != nil && !in.closed {
		in.account(int64(in.mem.Size()))
	}
}

// context returns the context capabilities run under: the caller's, ending
// at the call's deadline. Made on first use, so calls that reach no
// capability do not pay for it.
func (in *instance) context() context.Context {
	if in.capCtx == nil {
		in.capCtx, in.capCancel = context.WithDeadline(in.parent, in.deadline)
	}
	return in.capCtx
}

func (in *instance) dropPending() {
	in.pending, in.hasPending = nil, false
}

// account keeps app.memBytes, read by Stats, without reading guest memory
// sizes from another goroutine.
func (in *instance) account(size int64) {
	if d := size - in.memBytes; d != 0 {
		in.memBytes = size
		in.app.memBytes.Add(d)
	}
}

// failure classifies an error from guest code and marks the instance
// broken: after a trap, a timeout or memory exhaustion the guest's state
// cannot be trusted, and after a timeout wazero has closed it anyway.
func (in *instance) failure(ctx context.Context, what string, err error) error {
	in.broken = true
	in.stderr.flush()
	name := in.app.name + "." + what
	switch {
	case in.expired.Load():
		return fmt.Errorf("cannot call %s: guest ran past the %v call timeout: %w", name, in.app.lim.Timeout, abi.ErrTimeout)
	case ctx.Err() != nil:
		return fmt.Errorf("cannot call %s: %w", name, ctxError(ctx))
	case in.outOfMemory():
		return fmt.Errorf("cannot call %s: guest ran out of memory (limit %s)%s: %w", name, formatBytes(in.app.lim.Memory), in.stderr.tail(), abi.ErrLimit)
	}
	return fmt.Errorf("cannot call %s: guest failed: %v%s: %w", name, err, in.stderr.tail(), abi.ErrInternal)
}

// outOfMemory tells whether a failed guest hit the memory limit. wasm's
// memory.grow just returns -1 at the limit; each guest runtime then dies
// its own way, so look for what they print (Go: "out of memory", Rust:
// "memory allocation of N bytes failed") or a memory grown to the limit.
func (in *instance) outOfMemory() bool {
	if in.stderr.oom {
		return true
	}
	if in.x != nil {
		return in.x.watch.atLimit()
	}
	if in.mem == nil {
		return false
	}
	limit := uint64(pages(in.app.lim.Memory)) << 16
	return uint64(in.mem.Size()) >= limit
}

// close releases the instance's memory. Safe to call more than once.
func (in *instance) close() {
	in.closed = true
	if in.timer != nil {
		in.timer.Stop()
	}
	in.stdout.flush()
	in.stderr.flush()
	if in.mod != nil {
		in.mod.Close(context.Background())
	}
	if in.x != nil {
		in.x.close()
	}
	in.account(0)
}
