package testwasm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const smallGuest = "plugins/testdata/guests/noexports"

func TestBuild(t *testing.T) {
	path := BuildFile(t, smallGuest)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if again := BuildFile(t, smallGuest); again != path {
				t.Errorf("second build at %s, first at %s", again, path)
			}
		}()
	}
	wg.Wait()
	b := Build(t, smallGuest)
	if !bytes.HasPrefix(b, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("%s is not a wasm module: % x", path, b[:min(len(b), 8)])
	}
	abs, err := resolve(smallGuest)
	if err != nil {
		t.Fatal(err)
	}
	if p := BuildFile(t, abs); p != path {
		t.Errorf("absolute dir built to %s, relative to %s", p, path)
	}
}

// writeModule writes a guest module into a temporary directory.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fatalTB records the first Fatalf and stops the calling goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs f with a TB that captures Fatalf and returns the message.
func fatalOf(t *testing.T, f func(tb testing.TB)) string {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb.msg
}

func TestBuildFailureShowsCompilerOutput(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"go.mod":  "module broken\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { undefinedThing() }\n",
	})
	msg := fatalOf(t, func(tb testing.TB) { BuildFile(tb, dir) })
	if !strings.Contains(msg, "undefinedThing") || !strings.Contains(msg, "go build") {
		t.Fatalf("failure message lacks the compiler output: %q", msg)
	}
	// The failure is remembered for the process.
	if again := fatalOf(t, func(tb testing.TB) { BuildFile(tb, dir) }); again != msg {
		t.Errorf("second failure %q, first %q", again, msg)
	}
	if msg := fatalOf(t, func(tb testing.TB) { Build(tb, "no/such/guest") }); !strings.Contains(msg, "does not exist") {
		t.Errorf("missing dir: %q", msg)
	}
}

func TestSourceKey(t *testing.T) {
	lib := writeModule(t, map[string]string{
		"go.mod": "module lib\n\ngo 1.26\n",
		"lib.go": "package lib\n",
	})
	app := writeModule(t, map[string]string{
		"go.mod":            "module app\n\ngo 1.26\n\nrequire lib v0.0.0\n\nreplace lib => " + lib + "\n",
		"a/main.go":         "package main\n\nfunc main() {}\n",
		"b/main.go":         "package main\n\nfunc main() {}\n",
		"a/main_test.go":    "package main\n",
		"a/testdata/x.json": "{}",
	})
	key := func(dir string) string {
		t.Helper()
		k, err := sourceKey(dir)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, b := key(filepath.Join(app, "a")), key(filepath.Join(app, "b"))
	if a == b {
		t.Error("two guests of one module share a key")
	}
	edits := []struct {
		file    string
		content string
		changes bool
	}{
		{filepath.Join(app, "a/main_test.go"), "package main\n// edited\n", false},
		{filepath.Join(app, "a/testdata/x.json"), "[]", false},
		{filepath.Join(app, "a/main.go"), "package main\n\nfunc main() { println() }\n", true},
		{filepath.Join(app, "b/main.go"), "package main\n\n// a sibling\nfunc main() {}\n", true},
		{filepath.Join(lib, "lib.go"), "package lib\n\nconst X = 1\n", true},
		{filepath.Join(lib, "new.go"), "package lib\n", true},
	}
	prev := a
	for _, e := range edits {
		if err := os.WriteFile(e.file, []byte(e.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got := key(filepath.Join(app, "a"))
		if (got != prev) != e.changes {
			t.Errorf("editing %s: key changed = %v, want %v", e.file, got != prev, e.changes)
		}
		prev = got
	}
}

func TestLocalReplaces(t *testing.T) {
	tests := []struct {
		gomod string
		want  []string
	}{
		{"module m\n", nil},
		{"module m\nreplace a => ../a\n", []string{"../a"}},
		{"module m\nreplace a v1.0.0 => ./a // local\n", []string{"./a"}},
		{"module m\nreplace a => b v1.2.3\n", nil},
		{"module m\nreplace (\n\ta => ../../a\n\tb => c v1.0.0\n\t// d => ./d\n\te => /abs/e\n)\nrequire x v1\n", []string{"../../a", "/abs/e"}},
		{"module m\nrequire (\n\ta => ./nope\n)\n", nil},
		{"replace a =>", nil},
	}
	for _, tt := range tests {
		if got := localReplaces([]byte(tt.gomod)); !slices.Equal(got, tt.want) {
			t.Errorf("localReplaces(%q) = %q, want %q", tt.gomod, got, tt.want)
		}
	}
}

func FuzzLocalReplaces(f *testing.F) {
	f.Add([]byte("module m\nreplace a => ../a\n"))
	f.Add([]byte("replace (\n a => ./b\n)\n"))
	f.Add([]byte("replace a => b v1\n=> ./x"))
	f.Fuzz(func(t *testing.T, gomod []byte) {
		for _, d := range localReplaces(gomod) {
			if !(strings.HasPrefix(d, ".") || filepath.IsAbs(d)) || strings.ContainsAny(d, " \t\n") {
				t.Fatalf("localReplaces(%q) gave %q", gomod, d)
			}
			if !bytes.Contains(gomod, []byte(d)) {
				t.Fatalf("localReplaces(%q) invented %q", gomod, d)
			}
		}
	})
}

func TestBuildRust(t *testing.T) {
	path := BuildRustFile(t, "sdk-rust", "basic")
	if again := BuildRustFile(t, "sdk-rust", "basic"); again != path {
		t.Errorf("second build at %s, first at %s", again, path)
	}
	b := BuildRust(t, "sdk-rust", "basic")
	if !bytes.HasPrefix(b, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("%s is not a wasm module: % x", path, b[:min(len(b), 8)])
	}
	if !bytes.Contains(b, []byte("gocluster_v1_handle")) {
		t.Errorf("%s does not export gocluster_v1_handle", path)
	}
}

func TestRustLibName(t *testing.T) {
	dir := writeModule(t, map[string]string{"Cargo.toml": "[package]\nname = \"my-app\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n"})
	if got, err := rustLibName(dir); err != nil || got != "my_app" {
		t.Errorf("rustLibName = %q, %v; want my_app", got, err)
	}
	dir = writeModule(t, map[string]string{"Cargo.toml": "[package]\nname = \"my-app\"\n[lib]\nname = \"cache\"\n"})
	if got, err := rustLibName(dir); err != nil || got != "cache" {
		t.Errorf("rustLibName = %q, %v; want cache", got, err)
	}
}
