// Package testwasm builds the Go guests that tests load. A guest is a main
// package built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared; building
// one takes seconds, so each is built once per process and kept in a cache
// under os.TempDir keyed by a hash of everything its build reads (its
// module's sources and those of local replace targets, plus the Go
// version). Test binaries that run in parallel share the cache safely:
// a build lands under a temporary name and is renamed into place.
package testwasm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Build builds the guest in dir and returns the module's bytes. dir is
// relative to the repository root (or absolute), for example
// "plugins/testdata/guests/testapp". A failed build fails tb with the
// compiler's output.
func Build(tb testing.TB, dir string) []byte {
	tb.Helper()
	path := BuildFile(tb, dir)
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("testwasm: reading the build of %s: %v", dir, err)
	}
	return b
}

// BuildFile builds the guest in dir like Build and returns the path of the
// .wasm file in the cache. The file is shared: do not modify it.
func BuildFile(tb testing.TB, dir string) string {
	tb.Helper()
	abs, err := resolve(dir)
	if err != nil {
		tb.Fatalf("testwasm: %v", err)
	}
	mu.Lock()
	b := builds[abs]
	if b == nil {
		b = new(build)
		builds[abs] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.err = buildCached(abs) })
	if b.err != nil {
		tb.Fatalf("testwasm: building guest %s: %v", dir, b.err)
	}
	return b.path
}

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{} // by absolute directory
)

// resolve turns dir into an absolute path, relative to the repository root.
func resolve(dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("guest directory %s does not exist", dir)
	}
	return filepath.Clean(dir), nil
}

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// repoRoot finds the root module's directory: from this file's path when
// the binary was built with full paths, else from go env GOMOD in the test's
// working directory (a package directory of the root module).
func repoRoot() (string, error) {
	rootOnce.Do(func() {
		if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
			dir := filepath.Join(filepath.Dir(file), "..", "..")
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = filepath.Clean(dir)
				return
			}
		}
		out, err := exec.Command("go", "env", "GOMOD").Output()
		gomod := strings.TrimSpace(string(out))
		if err != nil || gomod == "" || gomod == os.DevNull {
			rootErr = fmt.Errorf("cannot find the repository root (go env GOMOD: %q, %v)", gomod, err)
			return
		}
		root = filepath.Dir(gomod)
	})
	return root, rootErr
}

// buildCached returns the cached build of the guest in dir, building it
// when the cache has none for the current sources.
func buildCached(dir string) (string, error) {
	key, err := sourceKey(dir)
	if err != nil {
		return "", err
	}
	cache := filepath.Join(os.TempDir(), "go-cluster-testwasm")
	final := filepath.Join(cache, filepath.Base(dir)+"-"+key[:24]+".wasm")
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	// go build refuses to overwrite a file that is not a binary, so build
	// into a private directory and rename the result into place.
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "guest.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWORK=off")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared in %s: %v\n%s", dir, err, output)
	}
	if err := os.Rename(out, final); err != nil {
		return "", err
	}
	return final, nil
}

// sourceKey hashes what a build of the guest in dir reads: every source of
// its module, every source of the module's local replace targets, the
// guest's directory and the Go version. Test files do not count.
func sourceKey(dir string) (string, error) {
	modRoot, err := findModule(dir)
	if err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(modRoot, "go.mod"))
	if err != nil {
		return "", err
	}
	trees := []string{modRoot}
	for _, r := range localReplaces(gomod) {
		if !filepath.IsAbs(r) {
			r = filepath.Join(modRoot, r)
		}
		trees = append(trees, filepath.Clean(r))
	}
	h := sha256.New()
	rel, err := filepath.Rel(modRoot, dir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "go %s\nwasip1/wasm c-shared\nguest %s\n", runtime.Version(), filepath.ToSlash(rel))
	for i, tree := range trees {
		files, err := sourceFiles(tree)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(tree, f))
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%d %s %d\n", i, filepath.ToSlash(f), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// findModule returns the directory of the go.mod that governs dir.
func findModule(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or above", dir)
		}
		d = parent
	}
}

// sourceFiles lists, relative to root and sorted, the files under root that
// a build may read: Go sources other than tests, go.mod, go.sum and
// embeddable data. Hidden directories and nested testdata are skipped.
func sourceFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, ".wasm") || strings.HasPrefix(name, ".") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replace target %s does not exist", root)
	}
	sort.Strings(files)
	return files, err
}

// localReplaces returns the directories that go.mod's replace directives
// point at (the ones that start with ./, ../ or /), in order.
func localReplaces(gomod []byte) []string {
	var dirs []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case fields[0] == "replace" && len(fields) == 2 && fields[1] == "(":
			inBlock = true
			continue
		case inBlock && fields[0] == ")":
			inBlock = false
			continue
		case fields[0] == "replace":
			fields = fields[1:]
		case !inBlock:
			continue
		}
		for i, f := range fields {
			if f == "=>" && i+1 < len(fields) {
				if t := fields[i+1]; strings.HasPrefix(t, "./") || strings.HasPrefix(t, "../") || filepath.IsAbs(t) || t == "." || t == ".." {
					dirs = append(dirs, t)
				}
				break
			}
		}
	}
	return dirs
}
