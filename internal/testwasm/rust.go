package testwasm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// RustTarget is the wasm target Rust guests are built for.
const RustTarget = "wasm32-unknown-unknown"

// RustInstall is what a machine needs to build Rust guests: Debian's
// toolchain, whose std has a wasm32 build (rustup's here has none).
const RustInstall = "apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld-14"

// BuildRust builds a Rust guest and returns the module's bytes. dir is a
// cargo package (relative to the repository root, or absolute); example
// names one of its [[example]] cdylibs, or "" for the package's own cdylib.
// Builds are release builds for RustTarget, cached like Go guests under
// os.TempDir keyed by the sources of the package and of its path
// dependencies plus the rustc version.
//
// Without the toolchain the test is skipped with what to install, except
// under CI (CI set in the environment), where it fails: CI installs it.
func BuildRust(tb testing.TB, dir, example string) []byte {
	tb.Helper()
	path := BuildRustFile(tb, dir, example)
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("testwasm: reading the build of %s: %v", dir, err)
	}
	return b
}

// BuildRustFile is BuildRust returning the path of the cached .wasm file.
// The file is shared: do not modify it.
func BuildRustFile(tb testing.TB, dir, example string) string {
	tb.Helper()
	tc, err := rustToolchain()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("testwasm: %v", err)
		}
		tb.Skipf("SKIPPING: testwasm: %v", err)
	}
	abs, err := resolve(dir)
	if err != nil {
		tb.Fatalf("testwasm: %v", err)
	}
	id := abs + "\x00" + example
	mu.Lock()
	b := rustBuilds[id]
	if b == nil {
		b = new(build)
		rustBuilds[id] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.err = buildRustCached(tc, abs, example) })
	if b.err != nil {
		tb.Fatalf("testwasm: building Rust guest %s %s: %v", dir, example, b.err)
	}
	return b.path
}

var rustBuilds = map[string]*build{}

// toolchain is the rustc and cargo that build Rust guests.
type toolchain struct {
	rustc, cargo, linker, version string
}

var (
	toolOnce sync.Once
	tool     toolchain
	toolErr  error
)

// rustToolchain finds Debian's rustc and cargo (RUSTC and CARGO override
// them) and the wasm linker, and checks that std has a wasm32 build.
func rustToolchain() (toolchain, error) {
	toolOnce.Do(func() {
		tc := toolchain{rustc: envOr("RUSTC", "/usr/bin/rustc"), cargo: envOr("CARGO", "/usr/bin/cargo"), linker: envOr("RUST_WASM_LINKER", "wasm-ld-14")}
		for _, bin := range []string{tc.rustc, tc.cargo, tc.linker} {
			if _, err := exec.LookPath(bin); err != nil {
				toolErr = fmt.Errorf("Rust guests need %s (%v): %s", bin, err, RustInstall)
				return
			}
		}
		out, err := exec.Command(tc.rustc, "--print", "sysroot").Output()
		if err != nil {
			toolErr = fmt.Errorf("%s --print sysroot: %v: %s", tc.rustc, err, RustInstall)
			return
		}
		std := filepath.Join(strings.TrimSpace(string(out)), "lib", "rustlib", RustTarget)
		if _, err := os.Stat(std); err != nil {
			toolErr = fmt.Errorf("%s has no std for %s: %s", tc.rustc, RustTarget, RustInstall)
			return
		}
		v, err := exec.Command(tc.rustc, "--version").Output()
		if err != nil {
			toolErr = fmt.Errorf("%s --version: %v", tc.rustc, err)
			return
		}
		tc.version = strings.TrimSpace(string(v))
		tool = tc
	})
	return tool, toolErr
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func buildRustCached(tc toolchain, dir, example string) (string, error) {
	key, err := rustSourceKey(tc, dir, example)
	if err != nil {
		return "", err
	}
	cache := filepath.Join(os.TempDir(), "go-cluster-testwasm")
	name := filepath.Base(dir)
	if example != "" {
		name += "-" + example
	}
	final := filepath.Join(cache, name+"-rs-"+key[:24]+".wasm")
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	// One target directory per package, kept across builds so a source
	// change recompiles only what changed; cargo locks it against
	// concurrent builds by other test binaries.
	sum := sha256.Sum256([]byte(dir))
	target := filepath.Join(cache, "cargo-"+filepath.Base(dir)+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "--release", "--target", RustTarget, "--target-dir", target}
	out := filepath.Join(target, RustTarget, "release")
	if example != "" {
		args = append(args, "--example", example)
		out = filepath.Join(out, "examples", example+".wasm")
	} else {
		args = append(args, "--lib")
		crate, err := rustLibName(dir)
		if err != nil {
			return "", err
		}
		out = filepath.Join(out, crate+".wasm")
	}
	cmd := exec.Command(tc.cargo, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RUSTC="+tc.rustc,
		"CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="+tc.linker, "CARGO_NET_OFFLINE=true")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cargo %s in %s: %v\n%s", strings.Join(args, " "), dir, err, output)
	}
	tmp, err := os.CreateTemp(cache, "build-*.wasm")
	if err != nil {
		return "", err
	}
	tmp.Close()
	b, err := os.ReadFile(out)
	if err == nil {
		err = os.WriteFile(tmp.Name(), b, 0o644)
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp made it private
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return final, nil
}

// rustLibName is the file name cargo gives the package's library: its
// [lib] name, else the package name, with '-' turned into '_'.
func rustLibName(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Cargo.toml"))
	if err != nil {
		return "", err
	}
	section, pkg, lib := "", "", ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		if m := tomlName.FindStringSubmatch(line); m != nil {
			switch section {
			case "[package]":
				pkg = m[1]
			case "[lib]":
				lib = m[1]
			}
		}
	}
	name := lib
	if name == "" {
		name = pkg
	}
	if name == "" {
		return "", fmt.Errorf("%s/Cargo.toml names no package", dir)
	}
	return strings.ReplaceAll(name, "-", "_"), nil
}

var (
	tomlName = regexp.MustCompile(`^name\s*=\s*"([^"]+)"`)
	tomlPath = regexp.MustCompile(`path\s*=\s*"([^"]+)"`)
)

// rustSourceKey hashes the package's sources and those of its path
// dependencies (followed transitively), with the toolchain and the build.
func rustSourceKey(tc toolchain, dir, example string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nexample %s\n", tc.version, RustTarget, example)
	seen := map[string]bool{}
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		files, err := rustFiles(d)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %s %d\n", filepath.Base(d), filepath.ToSlash(f), len(b))
			h.Write(b)
		}
		deps, err := rustPathDeps(d)
		if err != nil {
			return "", err
		}
		queue = append(queue, deps...)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rustPathDeps returns the directories of the package's path
// dependencies: path = "..." values that hold a Cargo.toml.
func rustPathDeps(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Cargo.toml"))
	if err != nil {
		return nil, err
	}
	var deps []string
	for _, m := range tomlPath.FindAllStringSubmatch(string(b), -1) {
		p := m[1]
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(filepath.Join(p, "Cargo.toml")); err == nil {
			deps = append(deps, filepath.Clean(p))
		}
	}
	return deps, nil
}

// rustFiles lists, sorted and relative to dir, the files a build reads:
// Rust sources, Cargo.toml, Cargo.lock and cargo configuration. Build
// output (target) and hidden directories other than .cargo are skipped.
func rustFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (name == "target" || (strings.HasPrefix(name, ".") && name != ".cargo")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if strings.HasSuffix(name, ".rs") || name == "Cargo.toml" || name == "Cargo.lock" || name == "config.toml" {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}
