package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ozanturksever/go-cluster/abi"
)

// ErrClosed is returned by every method of a Runtime or App after Close.
var ErrClosed = errors.New("closed")

// ErrNotWasm is a module whose bytes are not valid WebAssembly. Errors
// wrapping it also wrap abi.ErrInvalid, so a deploy answers "invalid".
var ErrNotWasm = errors.New("not a wasm module")

// Config configures a Runtime.
type Config struct {
	// CacheDir holds compiled machine code across processes, keyed by the
	// wasm bytes and the wazero version. "" keeps the cache in memory only.
	CacheDir string
	// Logger receives guest stdout and stderr lines and runtime warnings.
	// nil means slog.Default().
	Logger *slog.Logger
}

// Runtime compiles and runs apps. One Runtime serves every app of a node;
// each App gets its own wazero runtime (so memory limits are per app) and
// all of them share one compilation cache.
//
// A Runtime is safe for concurrent use.
type Runtime struct {
	log   *slog.Logger
	cache wazero.CompilationCache
	// inspector compiles modules for Inspect. Its config matches the apps'
	// so the machine code it leaves in the shared cache is reused by Load.
	inspector wazero.Runtime

	mu     sync.Mutex
	apps   map[*App]struct{}
	closed bool
}

// New returns a Runtime. With cfg.CacheDir set it creates the directory
// when missing.
func New(cfg Config) (*Runtime, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	cache := wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("cannot open compilation cache %s: %w", cfg.CacheDir, err)
		}
	}
	r := &Runtime{log: log, cache: cache, apps: map[*App]struct{}{}}
	r.inspector = wazero.NewRuntimeWithConfig(context.Background(), r.runtimeConfig(maxPages))
	return r, nil
}

// maxPages is the most 64 KiB pages a 32-bit wasm memory can have.
const maxPages = 65536

// runtimeConfig is the one wazero configuration every app runs with; only
// the memory limit differs between apps.
func (r *Runtime) runtimeConfig(pages uint32) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(pages).
		// Untrusted code must be stoppable: this makes compiled code check
		// for a done context or a closed module at function entries and
		// loop back-edges, at a small cost per call.
		WithCloseOnContextDone(true)
}

// Close closes every app loaded by r, then r itself. Calls in flight get
// until ctx is done to finish (see App.Close).
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	apps := make([]*App, 0, len(r.apps))
	for a := range r.apps {
		apps = append(apps, a)
	}
	r.mu.Unlock()

	var errs []error
	for _, a := range apps {
		errs = append(errs, a.Close(ctx))
	}
	errs = append(errs, r.inspector.Close(ctx), r.cache.Close(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot close runtime: %w", err)
	}
	return nil
}

// Inspect compiles wasm and tells which ABI it speaks, refusing what could
// not be loaded: bytes that are not wasm (ErrNotWasm), unknown ABI
// versions (abi.ErrUnknownVersion), missing or mistyped exports
// (abi.ErrMissingExport) and imports the host does not provide. The machine
// code stays in the compilation cache, so a Load that follows is quick.
func (r *Runtime) Inspect(ctx context.Context, wasm []byte) (abi.Kind, error) {
	if err := r.checkOpen(); err != nil {
		return 0, fmt.Errorf("cannot inspect module: %w", err)
	}
	compiled, err := compile(ctx, r.inspector, wasm)
	if err != nil {
		return 0, fmt.Errorf("cannot inspect module: %w", err)
	}
	defer compiled.Close(ctx)
	kind, err := check(compiled)
	if err != nil {
		return 0, fmt.Errorf("cannot inspect module: %w", err)
	}
	return kind, nil
}

// Check tells whether a host could run wasm and which ABI it speaks, like
// Inspect, but only decodes and validates it with wazero's interpreter: no
// machine code is produced, so a client checks a module of megabytes in a
// fraction of the time a compile takes.
func Check(ctx context.Context, wasm []byte) (abi.Kind, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := compile(ctx, rt, wasm)
	if err != nil {
		return 0, fmt.Errorf("cannot check module: %w", err)
	}
	defer compiled.Close(ctx)
	kind, err := check(compiled)
	if err != nil {
		return 0, fmt.Errorf("cannot check module: %w", err)
	}
	return kind, nil
}

func (r *Runtime) checkOpen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	return nil
}

var wasmMagic = []byte("\x00asm")

// compile turns wazero's decoding errors into ErrNotWasm, which callers
// can tell apart from a valid module the host refuses.
func compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (wazero.CompiledModule, error) {
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return nil, notWasm{`it does not start with the wasm magic bytes \0asm`}
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, notWasm{err.Error()}
	}
	return compiled, nil
}

// notWasm reads "not a wasm module: <why>" and matches both ErrNotWasm and
// abi.ErrInvalid.
type notWasm struct{ why string }

func (e notWasm) Error() string { return ErrNotWasm.Error() + ": " + e.why }

func (e notWasm) Is(target error) bool { return target == ErrNotWasm || target == abi.ErrInvalid }

// check refuses a compiled module the host cannot run: it must speak a
// known ABI, export the functions that ABI needs with their exact types,
// import only host functions this host provides and, for the native ABI,
// have a memory. An Extism module keeps its data in the Extism kernel's
// memory and needs none.
func check(m wazero.CompiledModule) (abi.Kind, error) {
	var imports, exports []string
	for _, f := range m.ImportedFunctions() {
		mod, _, _ := f.Import()
		imports = append(imports, mod)
	}
	for name := range m.ExportedFunctions() {
		exports = append(exports, name)
	}
	kind, err := abi.Detect(imports, exports)
	if err != nil {
		return 0, err
	}
	if kind == abi.KindExtism {
		if err := checkExtism(m); err != nil {
			return 0, err
		}
		return kind, nil
	}
	if err := checkExports(m.ExportedFunctions()); err != nil {
		return 0, err
	}
	if err := checkImports(m.ImportedFunctions()); err != nil {
		return 0, err
	}
	if len(m.ExportedMemories()) == 0 {
		return 0, fmt.Errorf("%w memory: the host exchanges data through the guest's own memory", abi.ErrMissingExport)
	}
	return kind, nil
}

// wasmSig is a function type, e.g. "(i32,i32)->i32".
type wasmSig struct{ params, results []api.ValueType }

func sigOf(d api.FunctionDefinition) wasmSig { return wasmSig{d.ParamTypes(), d.ResultTypes()} }

func (s wasmSig) String() string {
	names := func(ts []api.ValueType) string {
		var b bytes.Buffer
		for i, t := range ts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(api.ValueTypeName(t))
		}
		return b.String()
	}
	return "(" + names(s.params) + ")->(" + names(s.results) + ")"
}

func (s wasmSig) equal(o wasmSig) bool {
	return bytes.Equal(s.params, o.params) && bytes.Equal(s.results, o.results)
}

var guestExports = map[string]wasmSig{
	abi.ExportBuffer:     {[]api.ValueType{i32}, []api.ValueType{i32}},
	abi.ExportHandle:     {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.ExportEvent:      {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.ExportInitialize: {nil, nil},
}

func checkExports(defs map[string]api.FunctionDefinition) error {
	for name, want := range guestExports {
		d, ok := defs[name]
		if !ok {
			continue // Detect already required the mandatory ones; the rest are optional
		}
		if got := sigOf(d); !got.equal(want) {
			return fmt.Errorf("%w %s with type %v (it has %v)", abi.ErrMissingExport, name, want, got)
		}
	}
	return nil
}

// wasiModule is the only import module besides the host's own.
const wasiModule = "wasi_snapshot_preview1"

func checkImports(defs []api.FunctionDefinition) error {
	for _, d := range defs {
		mod, name, _ := d.Import()
		switch mod {
		case abi.ImportModule:
			hf, ok := hostFuncByName[name]
			if !ok {
				return fmt.Errorf("module imports %s.%s, which this host does not provide: %w", mod, name, abi.ErrInvalid)
			}
			if got := sigOf(d); !got.equal(hf.sig) {
				return fmt.Errorf("module imports %s.%s as %v, the host provides %v: %w", mod, name, got, hf.sig, abi.ErrInvalid)
			}
		case wasiModule:
		default:
			return fmt.Errorf("module imports from %q; only %s and %s are provided: %w", mod, abi.ImportModule, wasiModule, abi.ErrInvalid)
		}
	}
	return nil
}

// Load compiles wasm (from the cache when it was compiled before, in this
// process or, with a CacheDir, an earlier one) and starts an App with one
// warm instance. name labels the app's log lines and errors. caps is what
// the app's guests reach through host functions; lim's zero fields take
// DefaultLimits' values.
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte, caps Capabilities, lim Limits) (*App, error) {
	if err := r.checkOpen(); err != nil {
		return nil, fmt.Errorf("cannot load %s: %w", name, err)
	}
	a, err := newApp(ctx, r, name, wasm, caps, lim.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("cannot load %s: %w", name, err)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		a.Close(ctx)
		return nil, fmt.Errorf("cannot load %s: %w", name, ErrClosed)
	}
	r.apps[a] = struct{}{}
	r.mu.Unlock()
	return a, nil
}

func (r *Runtime) forget(a *App) {
	r.mu.Lock()
	delete(r.apps, a)
	r.mu.Unlock()
}
