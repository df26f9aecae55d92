package sdk

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The //go:wasmimport and //go:wasmexport directives cannot name constants,
// so this checks the strings they repeat against abi.go.
func TestDirectivesMatchABI(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var imports, exports []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, group := range f.Comments {
			for _, c := range group.List {
				fields := strings.Fields(c.Text)
				switch {
				case len(fields) == 3 && fields[0] == "//go:wasmimport":
					if fields[1] != importModule {
						t.Errorf("%s: imports from %q, want %q", fset.Position(c.Pos()), fields[1], importModule)
					}
					imports = append(imports, fields[2])
				case len(fields) == 2 && fields[0] == "//go:wasmexport":
					exports = append(exports, fields[1])
				case len(fields) > 0 && strings.HasPrefix(fields[0], "//go:wasm"):
					t.Errorf("%s: malformed directive %q", fset.Position(c.Pos()), c.Text)
				}
			}
		}
	}
	hostFuncs := []string{
		funcABIVersion, funcReply, funcLog, funcConfig, funcTake,
		funcKVGet, funcKVPut, funcKVCreate, funcKVUpdate, funcKVDelete, funcKVKeys,
		funcCall,
		funcDBExec, funcDBQuery, funcDBBatch,
		funcLockAcquire, funcLockRenew, funcLockRelease,
		funcEventPublish, funcLastError,
	}
	slices.Sort(imports)
	slices.Sort(hostFuncs)
	if !slices.Equal(imports, hostFuncs) {
		t.Errorf("imported host functions %q, want %q", imports, hostFuncs)
	}
	slices.Sort(exports)
	want := []string{exportBuffer, exportHandle, exportEvent}
	slices.Sort(want)
	if !slices.Equal(exports, want) {
		t.Errorf("exports %q, want %q", exports, want)
	}
	if !strings.HasPrefix(exportBuffer, exportPrefix) || !strings.HasSuffix(importModule, "1") || version != 1 {
		t.Error("names and version disagree")
	}
}
