package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/ozanturksever/go-cluster/abi"
)

// Modules built with an Extism PDK run through extism go-sdk: one
// extism.CompiledPlugin per app, one extism.Plugin per instance. The pool,
// the lifecycle and the failure handling are the native ones; only what
// runs inside an instance differs. See abi/EXTISM.md for the contract.

// extismEngine is what an app loaded from an Extism module runs on.
type extismEngine struct {
	compiled *extism.CompiledPlugin
	methods  map[string]bool // exports callable as API methods
}

// extismInstance is the Extism side of an instance.
type extismInstance struct {
	plug  *extism.Plugin
	watch *extismWatch
}

// extismCallKey finds the calling instance in the context of a host
// function: extism go-sdk passes the call's context through to it.
type extismCallKey struct{}

// errCallTimeout is the cause of a call's context when Limits.Timeout
// ended it, telling it apart from the caller's own deadline.
var errCallTimeout = errors.New("call timeout")

// extismReserved are exports with the Extism signature that are not API
// methods: runtime initialisers and the event export.
var extismReserved = map[string]bool{
	"_start": true, "_initialize": true, "__wasm_call_ctors": true,
	abi.ExtismExportEvent: true,
}

// extismLogLevel is set once: extism go-sdk keeps the level guests log at
// in a process-wide variable, and leaves guest logging off until it is set.
// Debug and trace stay off, because the SDK logs every call at debug.
var extismLogLevel sync.Once

// startExtism hands the module to extism go-sdk. compiled, from the app's
// own runtime, served to check it; extism go-sdk makes a runtime of its
// own, with the same configuration, so the machine code comes from the
// shared compilation cache.
func (a *App) startExtism(ctx context.Context, wasm []byte, compiled wazero.CompiledModule) error {
	exports := compiled.ExportedFunctions()
	a.ext = &extismEngine{methods: map[string]bool{}}
	for name, d := range exports {
		if extismCallable(d) && !extismReserved[name] {
			a.ext.methods[name] = true
		}
	}
	_, a.hasEvents = exports[abi.ExtismExportEvent]
	compiled.Close(ctx)
	a.wrt.Close(ctx)
	a.wrt = nil

	extismLogLevel.Do(func() { extism.SetLogLevel(extism.LogLevelInfo) })
	p := pages(a.lim.Memory)
	manifest := extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: wasm}},
		// No AllowedHosts: Extism's HTTP is not offered. Vars are kept
		// per instance, as extism go-sdk does.
		Memory: &extism.ManifestMemory{MaxPages: p, MaxHttpResponseBytes: 0, MaxVarBytes: 1 << 20},
	}
	cfg := extism.PluginConfig{RuntimeConfig: a.rt.runtimeConfig(p), EnableWasi: true}
	cp, err := extism.NewCompiledPlugin(ctx, manifest, cfg, extismHostFunctions())
	if err != nil {
		return fmt.Errorf("cannot compile Extism module: %w", err)
	}
	a.ext.compiled = cp
	return nil
}

// extismEnv lists the functions extism go-sdk v1.7.1 provides in
// abi.ExtismModule, with their types.
var extismEnv = map[string]wasmSig{
	"alloc":            fnSig([]api.ValueType{i64}, i64),
	"free":             fnSig([]api.ValueType{i64}),
	"load_u8":          fnSig([]api.ValueType{i64}, i32),
	"load_u64":         fnSig([]api.ValueType{i64}, i64),
	"input_load_u8":    fnSig([]api.ValueType{i64}, i32),
	"input_load_u64":   fnSig([]api.ValueType{i64}, i64),
	"store_u8":         fnSig([]api.ValueType{i64, i32}),
	"store_u64":        fnSig([]api.ValueType{i64, i64}),
	"input_set":        fnSig([]api.ValueType{i64, i64}),
	"output_set":       fnSig([]api.ValueType{i64, i64}),
	"input_length":     fnSig(nil, i64),
	"input_offset":     fnSig(nil, i64),
	"output_length":    fnSig(nil, i64),
	"output_offset":    fnSig(nil, i64),
	"length":           fnSig([]api.ValueType{i64}, i64),
	"length_unsafe":    fnSig([]api.ValueType{i64}, i64),
	"reset":            fnSig(nil),
	"error_set":        fnSig([]api.ValueType{i64}),
	"error_get":        fnSig(nil, i64),
	"memory_bytes":     fnSig(nil, i64),
	"config_get":       fnSig([]api.ValueType{i64}, i64),
	"var_get":          fnSig([]api.ValueType{i64}, i64),
	"var_set":          fnSig([]api.ValueType{i64, i64}),
	"http_request":     fnSig([]api.ValueType{i64, i64}, i64),
	"http_status_code": fnSig(nil, i32),
	"http_headers":     fnSig(nil, i64),
	"get_log_level":    fnSig(nil, i32),
	"log_trace":        fnSig([]api.ValueType{i64}),
	"log_debug":        fnSig([]api.ValueType{i64}),
	"log_info":         fnSig([]api.ValueType{i64}),
	"log_warn":         fnSig([]api.ValueType{i64}),
	"log_error":        fnSig([]api.ValueType{i64}),
}

// checkExtism refuses an Extism module that imports what this host does
// not provide, or whose event export extism go-sdk could not call.
func checkExtism(m wazero.CompiledModule) error {
	for _, d := range m.ImportedFunctions() {
		mod, name, _ := d.Import()
		var want wasmSig
		var ok bool
		switch mod {
		case abi.ExtismModule:
			want, ok = extismEnv[name]
		case abi.ExtismHostNamespace:
			want, ok = extismHostSig, extismHostNames[name]
		case wasiModule:
			continue
		default:
			return fmt.Errorf("Extism module imports from %q; only %s, %s and %s are provided: %w", mod, abi.ExtismModule, abi.ExtismHostNamespace, wasiModule, abi.ErrInvalid)
		}
		if !ok {
			return fmt.Errorf("module imports %s.%s, which this host does not provide: %w", mod, name, abi.ErrInvalid)
		}
		if got := sigOf(d); !got.equal(want) {
			return fmt.Errorf("module imports %s.%s as %v, the host provides %v: %w", mod, name, got, want, abi.ErrInvalid)
		}
	}
	if d, ok := m.ExportedFunctions()[abi.ExtismExportEvent]; ok && !extismCallable(d) {
		return fmt.Errorf("%w %s with type ()->(i32) or ()->() (it has %v)", abi.ErrMissingExport, abi.ExtismExportEvent, sigOf(d))
	}
	return nil
}

// extismCallable tells whether an export has Extism's type: no
// parameters, and an i32 return code or nothing.
func extismCallable(d api.FunctionDefinition) bool {
	res := d.ResultTypes()
	return len(d.ParamTypes()) == 0 && (len(res) == 0 || len(res) == 1 && res[0] == i32)
}

// newExtismInstance instantiates the Extism kernel and the module. No
// guest code runs here: extism go-sdk runs the guest's initialiser
// (_initialize) at its first call, which is on_start when the module
// takes events, else the first API call, under that call's timeout.
func (a *App) newExtismInstance(ctx context.Context) (*instance, error) {
	in := &instance{
		app:    a,
		stdout: newLineWriter(a.log, "stdout"),
		stderr: newLineWriter(a.log, "stderr"),
	}
	w := &extismWatch{app: a, limit: uint64(pages(a.lim.Memory)) << 16}
	ictx := experimental.WithCloseNotifier(experimental.WithMemoryAllocator(ctx, w), w)
	modCfg := guestModuleConfig().WithStdout(in.stdout).WithStderr(in.stderr)
	plug, err := a.ext.compiled.Instance(ictx, extism.PluginInstanceConfig{ModuleConfig: modCfg})
	if err != nil {
		w.release()
		return nil, fmt.Errorf("cannot start %s: %w", a.name, err)
	}
	plug.SetLogger(in.extismLog)
	in.x = &extismInstance{plug: plug, watch: w}
	return in, nil
}

func (x *extismInstance) close() {
	x.plug.Close(context.Background())
	x.watch.release()
}

// extismCall runs the export named method: the payload is its input, its
// output the reply.
func (in *instance) extismCall(ctx context.Context, method string, payload []byte) ([]byte, error) {
	a := in.app
	if !a.ext.methods[method] {
		return nil, fmt.Errorf("cannot call %s.%s: the module exports no such function: %w", a.name, method, abi.ErrNotFound)
	}
	out, err := in.extismRun(ctx, method, method, payload)
	if err != nil {
		return nil, err
	}
	if len(out) > a.lim.Payload {
		return nil, fmt.Errorf("cannot call %s.%s: reply of %d bytes is over the %d-byte limit: %w", a.name, method, len(out), a.lim.Payload, abi.ErrLimit)
	}
	return out, nil
}

// extismEvent delivers one event to the event export as JSON.
func (in *instance) extismEvent(ctx context.Context, what string, kind abi.Event, payload []byte) error {
	input, err := extismEventInput(kind, payload)
	if err != nil {
		return fmt.Errorf("cannot call %s.%s: %w", in.app.name, what, err)
	}
	_, err = in.extismRun(ctx, what, abi.ExtismExportEvent, input)
	return err
}

// extismRun calls export fn with input, bounded by Limits.Timeout and ctx.
// A guest's error comes back as an *abi.Error and keeps the instance; a
// trap, a timeout, memory exhaustion or an exit break it.
func (in *instance) extismRun(ctx context.Context, what, fn string, input []byte) ([]byte, error) {
	in.begin(ctx)
	defer in.end()
	// The deadline ctx is what stops the guest: wazero closes the module
	// when it is done. Capabilities run under it too; end cancels it.
	cctx, cancel := context.WithDeadlineCause(ctx, in.deadline, errCallTimeout)
	in.capCtx, in.capCancel = cctx, cancel
	in.x.watch.begin()

	rc, out, err := in.x.plug.CallWithContext(context.WithValue(cctx, extismCallKey{}, in), fn, input)
	switch {
	case err != nil && !in.x.isGuestMessage(err):
		if errors.Is(context.Cause(cctx), errCallTimeout) {
			in.expired.Store(true)
		}
		return nil, in.failure(ctx, what, err)
	case in.x.watch.exited.Load():
		// proc_exit(0) ends the guest without an error.
		return nil, in.failure(ctx, what, errGuestExited)
	case err != nil:
		return nil, guestError(err.Error())
	case rc != 0:
		return nil, abi.NewError(abi.StatusInternal, fmt.Sprintf("%s returned %d without an error message", fn, rc))
	}
	return out, nil
}

// isGuestMessage tells whether err is the message the guest set, rather
// than a failure of the call: extism go-sdk returns both as plain errors,
// but only the former is what the kernel holds as the call's error.
func (x *extismInstance) isGuestMessage(err error) bool {
	msg := x.plug.GetErrorWithContext(context.Background())
	return msg != "" && msg == err.Error()
}

// guestError maps a guest's error text to a status: "not_found: no such
// key" is StatusNotFound with message "no such key"; text that does not
// start with a status name is StatusInternal with the whole text.
func guestError(text string) *abi.Error {
	name, msg, _ := strings.Cut(text, ": ")
	if st, ok := abi.StatusByName(name); ok && st != abi.StatusOK {
		return abi.NewError(st, msg)
	}
	return abi.NewError(abi.StatusInternal, text)
}

// extismEventJSON is the input of the event export.
type extismEventJSON struct {
	Kind       string `json:"kind"`
	Node       string `json:"node,omitempty"`
	Partitions []int  `json:"partitions,omitempty"`
	Source     string `json:"source,omitempty"`
	Topic      string `json:"topic,omitempty"`
	Data       []byte `json:"data,omitempty"`
}

// extismEventInput turns an event's native payload into its JSON.
func extismEventInput(kind abi.Event, payload []byte) ([]byte, error) {
	ev := extismEventJSON{Kind: kind.String()}
	var err error
	switch kind {
	case abi.EventMemberJoin, abi.EventMemberLeave:
		ev.Node = string(payload)
	case abi.EventOwn, abi.EventRelease:
		ev.Partitions, err = abi.DecodePartitions(payload)
	case abi.EventMessage:
		ev.Source, ev.Topic, ev.Data, err = abi.DecodeMessage(payload)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// extismLog receives the guest's Extism log lines (log_info and up).
func (in *instance) extismLog(level extism.LogLevel, msg string) {
	ctx := in.parent
	if ctx == nil {
		ctx = context.Background()
	}
	l := abi.LevelInfo
	switch level {
	case extism.LogLevelTrace, extism.LogLevelDebug:
		l = abi.LevelDebug
	case extism.LogLevelWarn:
		l = abi.LevelWarn
	case extism.LogLevelError:
		l = abi.LevelError
	}
	in.app.caps.Log(ctx, l, []byte(msg[:min(len(msg), maxLogBytes)]))
}

// extismWatch is handed to wazero as the memory allocator and the close
// notifier of an instance's modules, the Extism kernel and the guest.
// extism go-sdk exposes neither module's memory, so counting it here is
// how Stats reports it and how a failure is told to be memory exhaustion;
// and a guest that exits with code 0 is noticed, which extism go-sdk takes
// for success.
type extismWatch struct {
	app    *App
	limit  uint64 // bytes: Limits.Memory in whole pages
	exited atomic.Bool

	mu       sync.Mutex
	total    int64 // bytes of linear memory, counted in app.memBytes
	full     bool  // a memory grew to the limit during the current call
	released bool
}

var (
	_ experimental.MemoryAllocator = (*extismWatch)(nil)
	_ experimental.CloseNotifier   = (*extismWatch)(nil)
	_ experimental.LinearMemory    = (*extismMemory)(nil)
)

// Allocate implements experimental.MemoryAllocator.
func (w *extismWatch) Allocate(capacity, _ uint64) experimental.LinearMemory {
	return &extismMemory{w: w, buf: make([]byte, 0, capacity)}
}

// CloseNotify implements experimental.CloseNotifier.
func (w *extismWatch) CloseNotify(context.Context, uint32) { w.exited.Store(true) }

func (w *extismWatch) grew(delta int64, size uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.released {
		return
	}
	w.total += delta
	w.full = w.full || size >= w.limit
	w.app.memBytes.Add(delta)
}

// begin starts a call: memory that reached the limit before, and stays
// there (the kernel's memory never shrinks), says nothing about this call.
func (w *extismWatch) begin() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.full = false
}

func (w *extismWatch) atLimit() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.full
}

// release takes what is still counted out of app.memBytes, whether or not
// wazero freed the memories yet.
func (w *extismWatch) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.released {
		w.released = true
		w.app.memBytes.Add(-w.total)
		w.total = 0
	}
}

// extismMemory is one linear memory: a Go slice grown as wazero's own.
// wasm memories never shrink, and bytes past the length were never
// exposed, so growing within the capacity needs no clearing.
type extismMemory struct {
	w   *extismWatch
	buf []byte
}

// Reallocate implements experimental.LinearMemory.
func (m *extismMemory) Reallocate(size uint64) []byte {
	old := len(m.buf)
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
	} else {
		m.buf = append(m.buf, make([]byte, size-uint64(old))...)
	}
	m.w.grew(int64(size)-int64(old), size)
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *extismMemory) Free() {
	m.w.grew(-int64(len(m.buf)), 0)
	m.buf = nil
}
