package plugins

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// A tiny module assembler, for the cases no Go guest can produce: a trap
// in guest code, wrong export types, imports the host does not provide.

type wasmImport struct {
	module, name string
	typ          int
}

type wasmFunc struct {
	typ    int
	code   []byte // instructions, without the final end
	export string
}

type wasmModule struct {
	imports []wasmImport
	funcs   []wasmFunc
	memory  bool
}

// Function types every test module may use.
var wasmTypes = [][2][]byte{
	{nil, nil},                // 0: () -> ()
	{{0x7f}, {0x7f}},          // 1: (i32) -> i32
	{{0x7f, 0x7f}, {0x7f}},    // 2: (i32, i32) -> i32
	{{0x7f, 0x7f}, nil},       // 3: (i32, i32) -> ()
	{{0x7e}, {0x7f, 0x7f}},    // 4: (i64) -> (i32, i32)
	{{0x7f, 0x7f, 0x7f}, nil}, // 5: (i32, i32, i32) -> ()
	{nil, {0x7e}},             // 6: () -> i64
	{{0x7e}, {0x7e}},          // 7: (i64) -> i64
	{nil, {0x7f}},             // 8: () -> i32
}

func leb(n int) []byte {
	var out []byte
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func wasmName(s string) []byte { return append(leb(len(s)), s...) }

func wasmVec(items ...[]byte) []byte {
	out := leb(len(items))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func wasmSection(id byte, content []byte) []byte {
	return append(append([]byte{id}, leb(len(content))...), content...)
}

func (m wasmModule) bytes() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	var types, imports, funcs, exports, code [][]byte
	for _, t := range wasmTypes {
		types = append(types, append(append([]byte{0x60}, wasmVec(bytesOf(t[0])...)...), wasmVec(bytesOf(t[1])...)...))
	}
	for _, im := range m.imports {
		imports = append(imports, append(append(wasmName(im.module), wasmName(im.name)...), 0x00, byte(im.typ)))
	}
	for i, f := range m.funcs {
		funcs = append(funcs, leb(f.typ))
		body := append(append([]byte{0x00}, f.code...), 0x0b) // no locals
		code = append(code, append(leb(len(body)), body...))
		if f.export != "" {
			exports = append(exports, append(append(wasmName(f.export), 0x00), leb(len(m.imports)+i)...))
		}
	}
	out = append(out, wasmSection(1, wasmVec(types...))...)
	if len(imports) > 0 {
		out = append(out, wasmSection(2, wasmVec(imports...))...)
	}
	out = append(out, wasmSection(3, wasmVec(funcs...))...)
	if m.memory {
		out = append(out, wasmSection(5, []byte{1, 0, 1})...) // one memory, min 1 page
		exports = append(exports, append(wasmName("memory"), 0x02, 0x00))
	}
	out = append(out, wasmSection(7, wasmVec(exports...))...)
	return append(out, wasmSection(10, wasmVec(code...))...)
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// nativeFuncs are a minimal native guest: buffer at address 256, and a
// handle that runs handleCode.
func nativeFuncs(handleCode ...byte) []wasmFunc {
	return []wasmFunc{
		{typ: 1, code: []byte{0x41, 0x80, 0x02}, export: abi.ExportBuffer}, // i32.const 256
		{typ: 2, code: handleCode, export: abi.ExportHandle},
	}
}

// trapModule's handle executes unreachable.
func trapModule() []byte {
	return wasmModule{funcs: nativeFuncs(0x00), memory: true}.bytes()
}

// extismModule is a minimal Extism module: greet does nothing and
// answers nothing, trap executes unreachable. It has no event export.
func extismModule() []byte {
	return wasmModule{memory: true, funcs: []wasmFunc{
		{typ: 0, export: "greet"},
		{typ: 8, code: []byte{0x00}, export: "trap"},
	}, imports: []wasmImport{{abi.ExtismModule, "input_length", 6}}}.bytes()
}

// eventModule is a minimal native guest whose event export runs
// eventCode with the stack typed (kind, payload_len) -> status.
func eventModule(eventCode ...byte) []byte {
	return wasmModule{memory: true, funcs: append(nativeFuncs(0x41, 0x00),
		wasmFunc{typ: 2, code: eventCode, export: abi.ExportEvent})}.bytes()
}

// TestInspect runs every case through Runtime.Inspect (compiles) and
// Check (validates only): both must agree.
func TestInspect(t *testing.T) {
	r, _ := newTestRuntime(t)
	checks := map[string]func(context.Context, []byte) (abi.Kind, error){
		"Inspect": r.Inspect,
		"Check":   Check,
	}
	testapp := guest(t, "testapp")
	tests := []struct {
		name string
		wasm []byte
		kind abi.Kind
		err  []error
		msg  string
	}{
		{"testapp", testapp, abi.KindNative, nil, ""},
		{"garbage", []byte("#!/bin/sh\necho hello\n"), 0, []error{ErrNotWasm, abi.ErrInvalid}, "not a wasm module"},
		{"empty", nil, 0, []error{ErrNotWasm}, "not a wasm module"},
		{"truncated", testapp[:len(testapp)/2], 0, []error{ErrNotWasm, abi.ErrInvalid}, "not a wasm module"},
		{"noexports", guest(t, "noexports"), 0, []error{abi.ErrNotAnApp}, abi.ExportHandle},
		{"v9", guest(t, "v9"), 0, []error{abi.ErrUnknownVersion}, "gocluster_v9"},
		{"handmade", trapModule(), abi.KindNative, nil, ""},
		{"mistyped export", wasmModule{memory: true, funcs: []wasmFunc{
			{typ: 1, code: []byte{0x41, 0x00}, export: abi.ExportBuffer},
			{typ: 1, code: []byte{0x41, 0x00}, export: abi.ExportHandle},
		}}.bytes(), 0, []error{abi.ErrMissingExport}, "(i32,i32)->(i32)"},
		{"no memory", wasmModule{funcs: nativeFuncs(0x41, 0x00)}.bytes(), 0, []error{abi.ErrMissingExport}, "memory"},
		{"event export", eventModule(0x41, 0x00), abi.KindNative, nil, ""},
		{"mistyped event export", wasmModule{memory: true, funcs: append(nativeFuncs(0x41, 0x00),
			wasmFunc{typ: 1, code: []byte{0x41, 0x00}, export: abi.ExportEvent})}.bytes(), 0, []error{abi.ErrMissingExport}, abi.ExportEvent},
		{"unknown host function", wasmModule{memory: true, funcs: nativeFuncs(0x41, 0x00),
			imports: []wasmImport{{abi.ImportModule, "nope", 0}}}.bytes(), 0, []error{abi.ErrInvalid}, "gocluster_v1.nope"},
		{"mistyped host function", wasmModule{memory: true, funcs: nativeFuncs(0x41, 0x00),
			imports: []wasmImport{{abi.ImportModule, abi.FuncABIVersion, 1}}}.bytes(), 0, []error{abi.ErrInvalid}, "abi_version"},
		{"foreign import", wasmModule{memory: true, funcs: nativeFuncs(0x41, 0x00),
			imports: []wasmImport{{"env", "f", 0}}}.bytes(), 0, []error{abi.ErrInvalid}, `"env"`},
		{"extism", extismModule(), abi.KindExtism, nil, ""},
		{"extism with host functions", wasmModule{funcs: []wasmFunc{{typ: 8, code: []byte{0x41, 0x00}, export: "greet"}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 6}, {abi.ExtismHostNamespace, "kv_get", 7}, {"wasi_snapshot_preview1", "sched_yield", 8}}}.bytes(), abi.KindExtism, nil, ""},
		{"extism unknown host function", wasmModule{funcs: []wasmFunc{{typ: 0, export: "greet"}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 6}, {abi.ExtismHostNamespace, "nope", 7}}}.bytes(), 0, []error{abi.ErrInvalid}, "gocluster:host/v1.nope"},
		{"extism mistyped host function", wasmModule{funcs: []wasmFunc{{typ: 0, export: "greet"}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 6}, {abi.ExtismHostNamespace, "kv_get", 6}}}.bytes(), 0, []error{abi.ErrInvalid}, "kv_get"},
		{"extism mistyped kernel function", wasmModule{funcs: []wasmFunc{{typ: 0, export: "greet"}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 0}}}.bytes(), 0, []error{abi.ErrInvalid}, "input_length"},
		{"extism unknown kernel function", wasmModule{funcs: []wasmFunc{{typ: 0, export: "greet"}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 6}, {abi.ExtismModule, "nope", 0}}}.bytes(), 0, []error{abi.ErrInvalid}, "extism:host/env.nope"},
		{"extism foreign import", wasmModule{funcs: []wasmFunc{{typ: 0, export: "greet"}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 6}, {"extism:host/user", "f", 7}}}.bytes(), 0, []error{abi.ErrInvalid}, `"extism:host/user"`},
		{"extism mistyped event export", wasmModule{funcs: []wasmFunc{{typ: 1, code: []byte{0x41, 0x00}, export: abi.ExtismExportEvent}},
			imports: []wasmImport{{abi.ExtismModule, "input_length", 6}}}.bytes(), 0, []error{abi.ErrMissingExport}, abi.ExtismExportEvent},
	}
	for _, tt := range tests {
		for how, inspect := range checks {
			t.Run(how+"/"+tt.name, func(t *testing.T) {
				testInspectCase(t, inspect, tt.wasm, tt.kind, tt.err, tt.msg)
			})
		}
	}
}

func testInspectCase(t *testing.T, inspect func(context.Context, []byte) (abi.Kind, error), wasm []byte, wantKind abi.Kind, wantErrs []error, msg string) {
	kind, err := inspect(context.Background(), wasm)
	if kind != wantKind {
		t.Errorf("kind = %v, want %v", kind, wantKind)
	}
	if wantErrs == nil {
		if err != nil {
			t.Errorf("err = %v", err)
		}
		return
	}
	for _, want := range wantErrs {
		if !errors.Is(err, want) {
			t.Errorf("err = %v, want one wrapping %v", err, want)
		}
	}
	if err != nil && !strings.Contains(err.Error(), msg) {
		t.Errorf("err = %q, want it to mention %q", err, msg)
	}
}

func TestLoadRefusesWhatInspectRefuses(t *testing.T) {
	r, _ := newTestRuntime(t)
	ctx := context.Background()
	if _, err := r.Load(ctx, "v9", guest(t, "v9"), nil, Limits{}); !errors.Is(err, abi.ErrUnknownVersion) {
		t.Errorf("Load v9: %v", err)
	}
	if _, err := r.Load(ctx, "junk", []byte("junk"), nil, Limits{}); !errors.Is(err, ErrNotWasm) {
		t.Errorf("Load junk: %v", err)
	}
	extism := wasmModule{funcs: []wasmFunc{{typ: 0, export: "greet"}},
		imports: []wasmImport{{abi.ExtismModule, "input_length", 6}, {abi.ExtismHostNamespace, "nope", 7}}}.bytes()
	if _, err := r.Load(ctx, "extism", extism, nil, Limits{}); !errors.Is(err, abi.ErrInvalid) {
		t.Errorf("Load extism importing an unknown host function: %v", err)
	}
}

func TestCompilationCache(t *testing.T) {
	dir := t.TempDir()
	wasm := guest(t, "testapp")
	loadOnce := func() {
		r, err := New(Config{CacheDir: dir, Logger: newTestLogger(&logSink{})})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(context.Background())
		start := time.Now()
		a, err := r.Load(context.Background(), "testapp", wasm, nil, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Load took %v", time.Since(start))
		if got := call(t, a, "echo", []byte("cached")); string(got) != "cached" {
			t.Fatalf("echo = %q", got)
		}
	}
	loadOnce()
	var files int
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatalf("cache dir %s holds no files after a Load", dir)
	}
	// A new Runtime, as in a restarted process, loads from the cache.
	loadOnce()
}
