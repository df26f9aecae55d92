package abi

import (
	"go/constant"
	"go/token"
	"go/types"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sdk-rust restates the contract in Rust: its constants in src/abi.rs, the
// log levels in src/runtime.rs, the import names in src/host/mod.rs (an
// attribute cannot name a constant) and the export names in the export!
// macro of src/app.rs. These tests read those sources and check them
// against this package, as sdkgo_test.go does for sdk-go.

const (
	sdkRustABIFile     = "../sdk-rust/src/abi.rs"
	sdkRustRuntimeFile = "../sdk-rust/src/runtime.rs"
	sdkRustHostFile    = "../sdk-rust/src/host/mod.rs"
	sdkRustAppFile     = "../sdk-rust/src/app.rs"
)

// sdkRustNames maps constants of this package to the name sdk-rust gives
// them, qualified by their Rust module inside abi.rs ("status::OK").
var sdkRustNames = map[string]string{
	"Version":           "VERSION",
	"ImportModule":      "IMPORT_MODULE",
	"ExportPrefix":      "EXPORT_PREFIX",
	"ExportBuffer":      "EXPORT_BUFFER",
	"ExportHandle":      "EXPORT_HANDLE",
	"ExportEvent":       "EXPORT_EVENT",
	"StatusOK":          "status::OK",
	"StatusNotFound":    "status::NOT_FOUND",
	"StatusConflict":    "status::CONFLICT",
	"StatusDenied":      "status::DENIED",
	"StatusLimit":       "status::LIMIT",
	"StatusTimeout":     "status::TIMEOUT",
	"StatusUnavailable": "status::UNAVAILABLE",
	"StatusInvalid":     "status::INVALID",
	"StatusInternal":    "status::INTERNAL",
	"EventStart":        "event::START",
	"EventActive":       "event::ACTIVE",
	"EventPassive":      "event::PASSIVE",
	"EventStop":         "event::STOP",
	"EventMemberJoin":   "event::MEMBER_JOIN",
	"EventMemberLeave":  "event::MEMBER_LEAVE",
	"EventOwn":          "event::OWN",
	"EventRelease":      "event::RELEASE",
	"EventMessage":      "event::MESSAGE",
	"PartitionSize":     "PARTITION_SIZE",
	"MaxKeyLen":         "MAX_KEY_LEN",
	"MaxMethodLen":      "MAX_METHOD_LEN",
	"MaxAppNameLen":     "MAX_APP_NAME_LEN",
	"MaxTopicLen":       "MAX_TOPIC_LEN",
	"MaxSQLLen":         "MAX_SQL_LEN",
	"MinLockTTL":        "MIN_LOCK_TTL_MS",
	"MaxLockTTL":        "MAX_LOCK_TTL_MS",
	"MaxLockWait":       "MAX_LOCK_WAIT_MS",
	"TypeNull":          "value_type::NULL",
	"TypeInteger":       "value_type::INTEGER",
	"TypeReal":          "value_type::REAL",
	"TypeText":          "value_type::TEXT",
	"TypeBlob":          "value_type::BLOB",
	"ExecResultSize":    "EXEC_RESULT_SIZE",
	"LevelDebug":        "Level::Debug",
	"LevelInfo":         "Level::Info",
	"LevelWarn":         "Level::Warn",
	"LevelError":        "Level::Error",
}

// sdkRustSkip lists constants of this package sdk-rust has no copy of,
// and why.
var sdkRustSkip = map[string]string{
	"ExportInitialize": "a Rust cdylib has no runtime to initialise; setup runs on the first export call",
	"RevSize":          "revisions are written through a *mut u64",
	"TokenSize":        "tokens are written through a *mut u64",
}

func TestSDKRustAgrees(t *testing.T) {
	got := sdkRustConsts(t)
	want := abiConstValues()
	for abiName, rustName := range sdkRustNames {
		w, ok := want[abiName]
		if !ok {
			t.Errorf("sdkRustNames maps abi.%s, which this package does not declare", abiName)
			continue
		}
		v, ok := got[rustName]
		switch {
		case !ok:
			t.Errorf("sdk-rust has no constant %s (abi.%s = %v)", rustName, abiName, w)
		case !constant.Compare(v, token.EQL, w):
			t.Errorf("sdk-rust: %s = %v, want %v as abi.%s", rustName, v, w, abiName)
		}
	}
}

// TestSDKRustCoversABI fails when this package gains a constant that
// sdkRustNames does not check, or sdk-rust's imports or exports differ
// from this version's host functions and exports.
func TestSDKRustCoversABI(t *testing.T) {
	for _, name := range abiConstNames(t) {
		// Host function names are compared below, as link names.
		if strings.HasPrefix(name, "Func") {
			continue
		}
		if sdkRustNames[name] == "" && sdkRustSkip[name] == "" && sdkGoSkip[name] == "" {
			t.Errorf("abi.%s is not compared with sdk-rust: add it to sdkRustNames or sdkRustSkip", name)
		}
	}
	imports := rustLinkNames(t)
	if !slices.Equal(slices.Sorted(slices.Values(imports)), slices.Sorted(slices.Values(HostFuncs))) {
		t.Errorf("%s imports %v, want exactly the host functions %v", sdkRustHostFile, imports, HostFuncs)
	}
	app := readFile(t, sdkRustAppFile)
	for _, e := range Exports {
		if e == ExportInitialize {
			continue
		}
		if !strings.Contains(app, "fn "+e+"(") {
			t.Errorf("%s: the export! macro defines no %s", sdkRustAppFile, e)
		}
	}
}

var (
	rustModule = regexp.MustCompile(`^\s*(?:pub(?:\(crate\))?\s+)?mod\s+(\w+)\s*\{`)
	rustConst  = regexp.MustCompile(`^\s*pub(?:\(crate\))?\s+const\s+(\w+)\s*:\s*[^=]+=\s*([^;]+);`)
	rustLevel  = regexp.MustCompile(`^\s*(Debug|Info|Warn|Error)\s*=\s*(\d+),`)
	rustLink   = regexp.MustCompile(`#\[link_name\s*=\s*"([^"]+)"\]`)
)

// sdkRustConsts evaluates the constants of abi.rs (qualified by module)
// and the Level variants of runtime.rs. Rust's constant expressions used
// there (literals, <<, *) read the same in Go.
func sdkRustConsts(t *testing.T) map[string]constant.Value {
	t.Helper()
	out := map[string]constant.Value{}
	mod := ""
	for i, line := range strings.Split(readFile(t, sdkRustABIFile), "\n") {
		if m := rustModule.FindStringSubmatch(line); m != nil {
			mod = m[1] + "::"
			continue
		}
		if strings.TrimSpace(line) == "}" {
			mod = ""
			continue
		}
		m := rustConst.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := rustValue(m[2])
		if err != nil {
			t.Errorf("%s:%d: cannot evaluate %s: %v", sdkRustABIFile, i+1, m[2], err)
			continue
		}
		out[mod+m[1]] = v
	}
	for _, line := range strings.Split(readFile(t, sdkRustRuntimeFile), "\n") {
		if m := rustLevel.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			out["Level::"+m[1]] = constant.MakeInt64(n)
		}
	}
	return out
}

func rustValue(expr string) (constant.Value, error) {
	expr = strings.TrimSpace(expr)
	if s, err := strconv.Unquote(expr); err == nil {
		return constant.MakeString(s), nil
	}
	tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, expr)
	if err != nil {
		return nil, err
	}
	return tv.Value, nil
}

func rustLinkNames(t *testing.T) []string {
	var names []string
	for _, m := range rustLink.FindAllStringSubmatch(readFile(t, sdkRustHostFile), -1) {
		names = append(names, m[1])
	}
	return names
}

// abiConstValues returns the value of every constant sdkRustNames names.
func abiConstValues() map[string]constant.Value {
	out := map[string]constant.Value{}
	for _, n := range sdkGoNames {
		out[n.abi] = n.want
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cannot read %s: %v", path, err)
	}
	return string(b)
}
