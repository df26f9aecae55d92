package plugins

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/ozanturksever/go-cluster/abi"
)

// Limits bound what one app may use. They are per app: each app has its
// own pool, memory limit, timeout and payload limit.
type Limits struct {
	// Memory is the most linear memory one instance may have, in bytes,
	// rounded up to whole 64 KiB pages. A guest that grows past it fails
	// the call with abi.ErrLimit and its instance is replaced.
	Memory uint64
	// Timeout bounds one call, from taking an instance to the reply. A
	// guest still running then is stopped and replaced (abi.ErrTimeout).
	Timeout time.Duration
	// Instances is how many calls may run at once, each in its own
	// instance. Instances are created on demand up to this number and kept.
	Instances int
	// Payload is the largest call payload and the largest reply, in bytes
	// (abi.ErrLimit beyond).
	Payload int
}

// DefaultLimits fill the zero fields of the Limits given to Load.
var DefaultLimits = Limits{Memory: 64 << 20, Timeout: 5 * time.Second, Instances: 4, Payload: 1 << 20}

func (l Limits) withDefaults() Limits {
	if l.Memory == 0 {
		l.Memory = DefaultLimits.Memory
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	if l.Instances <= 0 {
		l.Instances = DefaultLimits.Instances
	}
	if l.Payload <= 0 {
		l.Payload = DefaultLimits.Payload
	}
	// The method and payload travel in one guest buffer sized by an i32.
	l.Payload = min(l.Payload, math.MaxInt32-abi.MaxMethodLen)
	return l
}

// pages converts a byte limit to wasm pages, at least one and at most the
// 4 GiB a 32-bit memory can address.
func pages(bytes uint64) uint32 {
	const page = 1 << 16
	p := (bytes + page - 1) / page
	return uint32(max(1, min(p, maxPages)))
}

// Stats is a snapshot of an app's instances.
type Stats struct {
	Instances   int    // alive: idle + busy
	Idle        int    // ready for a call
	Busy        int    // running a call or starting up
	MemoryBytes uint64 // linear memory of all alive instances
}

// App is one loaded module with its pool of instances.
//
// Call is safe for concurrent use: each call runs in an instance of its
// own, never shared with another call while it runs.
type App struct {
	name string
	rt   *Runtime
	caps Capabilities
	lim  Limits
	log  *slog.Logger

	wrt      wazero.Runtime // this app's own, for its memory limit; nil for Extism
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	ext      *extismEngine // set for an Extism module, which runs through extism go-sdk
	pool     *pool
	memBytes atomic.Int64 // sum over alive instances, kept by each instance

	hasEvents bool      // the module exports abi.ExportEvent (abi.ExtismExportEvent for Extism)
	life      lifecycle // what the instances are told; see lifecycle.go
}

func newApp(ctx context.Context, r *Runtime, name string, wasm []byte, caps Capabilities, lim Limits) (_ *App, err error) {
	a := &App{
		name: name, rt: r, caps: caps, lim: lim,
		log: r.log.With("app", name),
		wrt: wazero.NewRuntimeWithConfig(ctx, r.runtimeConfig(pages(lim.Memory))),
	}
	if a.caps == nil {
		a.caps = denyAll{a}
	}
	a.life.turn = make(chan struct{}, 1)
	defer func() {
		if err != nil {
			a.closeEngine(ctx)
		}
	}()
	compiled, kind, err := a.compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	if kind == abi.KindExtism {
		err = a.startExtism(ctx, wasm, compiled)
	} else {
		err = a.startNative(ctx, compiled)
	}
	if err != nil {
		return nil, err
	}
	a.pool = newPool(a, lim.Instances)
	if err := a.pool.warm(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// startNative prepares the app's runtime for a module of the native ABI:
// WASI, the host functions and the configuration of every instance.
func (a *App) startNative(ctx context.Context, compiled wazero.CompiledModule) error {
	a.compiled = compiled
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, a.wrt); err != nil {
		return fmt.Errorf("cannot provide WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, a.wrt); err != nil {
		return err
	}
	a.modCfg = guestModuleConfig().
		WithName("").        // anonymous, so many instances coexist
		WithStartFunctions() // _initialize is called explicitly, under the timeout
	_, a.hasEvents = compiled.ExportedFunctions()[abi.ExportEvent]
	return nil
}

// compile compiles wasm in the app's runtime, which checks its initial
// memory against the limit, and tells which ABI it speaks.
func (a *App) compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, abi.Kind, error) {
	compiled, err := compile(ctx, a.wrt, wasm)
	if err != nil {
		// The app's runtime refuses a module whose initial memory is over
		// the limit as if it were malformed; tell that case apart.
		if probe, perr := compile(ctx, a.rt.inspector, wasm); perr == nil {
			defer probe.Close(ctx)
			var need uint64
			for _, m := range probe.ExportedMemories() {
				need = max(need, uint64(m.Min())<<16)
			}
			return nil, 0, fmt.Errorf("cannot compile: module starts with %s of memory, over the %s limit: %w", formatBytes(need), formatBytes(a.lim.Memory), abi.ErrLimit)
		}
		return nil, 0, fmt.Errorf("cannot compile: %w", err)
	}
	kind, err := check(compiled)
	if err != nil {
		compiled.Close(ctx)
		return nil, 0, err
	}
	return compiled, kind, nil
}

// closeEngine releases whatever runs the app's instances.
func (a *App) closeEngine(ctx context.Context) error {
	var errs []error
	if a.wrt != nil {
		errs = append(errs, a.wrt.Close(ctx))
	}
	if a.ext != nil && a.ext.compiled != nil {
		errs = append(errs, a.ext.compiled.Close(ctx))
	}
	return errors.Join(errs...)
}

// guestModuleConfig is what every guest instance, native or Extism, gets
// of the system: real clocks, bounded sleeps and cryptographic randomness.
func guestModuleConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(boundedSleep).
		WithRandSource(rand.Reader)
}

// maxSleep bounds one guest sleep. A sleeping guest is inside a host
// function, where a timeout cannot stop it; waking it up regularly lets the
// next check in guest code notice the timeout. Guests' runtimes loop until
// their own deadline, so a long sleep still lasts as long as asked.
const maxSleep = 20 * time.Millisecond

func boundedSleep(ns int64) { time.Sleep(min(time.Duration(ns), maxSleep)) }

// Name returns the name the app was loaded with.
func (a *App) Name() string { return a.name }

// Limits returns the app's limits, defaults filled in.
func (a *App) Limits() Limits { return a.lim }

// Call runs method with payload in an idle instance, creating one when all
// are busy and fewer than Limits.Instances exist, else waiting for one
// until ctx is done. The call is stopped after Limits.Timeout or at ctx's
// deadline, whichever comes first.
//
// A guest's own error status comes back as an *abi.Error carrying the
// guest's message. Everything else is wrapped with the abi sentinel that
// abi.StatusOf reports: ErrLimit for oversized payloads or replies and for
// memory exhaustion, ErrTimeout for timeouts, ErrInternal for traps,
// ErrInvalid for a malformed method name, and ErrClosed after Close.
func (a *App) Call(ctx context.Context, method string, payload []byte) ([]byte, error) {
	if len(payload) > a.lim.Payload {
		return nil, fmt.Errorf("cannot call %s.%s: payload of %d bytes is over the %d-byte limit: %w", a.name, method, len(payload), a.lim.Payload, abi.ErrLimit)
	}
	if method == "" || len(method) > abi.MaxMethodLen {
		return nil, fmt.Errorf("cannot call %s: method name must be 1 to %d bytes: %w", a.name, abi.MaxMethodLen, abi.ErrInvalid)
	}
	if ctx.Err() != nil {
		// Checked before a guest runs: wazero would stop it at once and
		// the instance would be wasted.
		return nil, fmt.Errorf("cannot call %s.%s: %w", a.name, method, ctxError(ctx))
	}
	in, err := a.pool.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot call %s.%s: %w", a.name, method, err)
	}
	out, err := in.call(ctx, method, payload)
	a.pool.put(in)
	return out, err
}

// Stats returns a snapshot of the app's instances.
func (a *App) Stats() Stats {
	s := a.pool.stats()
	s.MemoryBytes = uint64(max(0, a.memBytes.Load()))
	return s
}

// Close stops taking calls and notifications, waits until the calls in
// flight finish or ctx is done, tells each instance it stops (on_stop)
// while ctx allows, then stops every instance (a call still running fails)
// and releases the app's memory. Close is idempotent.
func (a *App) Close(ctx context.Context) error {
	waitErr := a.pool.close(ctx)
	a.rt.forget(a)
	err := a.closeEngine(ctx)
	if waitErr != nil {
		return fmt.Errorf("cannot close %s cleanly: calls still running: %w", a.name, waitErr)
	}
	if err != nil {
		return fmt.Errorf("cannot close %s: %w", a.name, err)
	}
	return nil
}

func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
