package abi

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"testing"
)

// sdk-go is a separate module with no dependencies, so it cannot import this
// package; it keeps its own copy of the contract in one file. This test
// parses that file and checks each value against this package, so the two
// cannot drift apart.

const sdkGoABIFile = "../sdk-go/abi.go"

// sdkGoName is a constant of this package, the name sdk-go gives it and its
// value here.
type sdkGoName struct {
	abi, sdk string
	want     constant.Value
}

// sdkGoNames lists every constant sdk-go must agree on. Constants sdk-go
// has no use for are in sdkGoSkip.
var sdkGoNames = []sdkGoName{
	{"Version", "version", constant.MakeInt64(Version)},
	{"ImportModule", "importModule", constant.MakeString(ImportModule)},
	{"ExportPrefix", "exportPrefix", constant.MakeString(ExportPrefix)},
	{"ExportBuffer", "exportBuffer", constant.MakeString(ExportBuffer)},
	{"ExportHandle", "exportHandle", constant.MakeString(ExportHandle)},
	{"ExportEvent", "exportEvent", constant.MakeString(ExportEvent)},
	{"ExportInitialize", "exportInitialize", constant.MakeString(ExportInitialize)},
	{"EventStart", "eventStart", constant.MakeInt64(int64(EventStart))},
	{"EventActive", "eventActive", constant.MakeInt64(int64(EventActive))},
	{"EventPassive", "eventPassive", constant.MakeInt64(int64(EventPassive))},
	{"EventStop", "eventStop", constant.MakeInt64(int64(EventStop))},
	{"EventMemberJoin", "eventMemberJoin", constant.MakeInt64(int64(EventMemberJoin))},
	{"EventMemberLeave", "eventMemberLeave", constant.MakeInt64(int64(EventMemberLeave))},
	{"EventOwn", "eventOwn", constant.MakeInt64(int64(EventOwn))},
	{"EventRelease", "eventRelease", constant.MakeInt64(int64(EventRelease))},
	{"EventMessage", "eventMessage", constant.MakeInt64(int64(EventMessage))},
	{"PartitionSize", "partitionSize", constant.MakeInt64(PartitionSize)},
	{"FuncABIVersion", "funcABIVersion", constant.MakeString(FuncABIVersion)},
	{"FuncReply", "funcReply", constant.MakeString(FuncReply)},
	{"FuncLog", "funcLog", constant.MakeString(FuncLog)},
	{"FuncConfig", "funcConfig", constant.MakeString(FuncConfig)},
	{"FuncTake", "funcTake", constant.MakeString(FuncTake)},
	{"FuncKVGet", "funcKVGet", constant.MakeString(FuncKVGet)},
	{"FuncKVPut", "funcKVPut", constant.MakeString(FuncKVPut)},
	{"FuncKVCreate", "funcKVCreate", constant.MakeString(FuncKVCreate)},
	{"FuncKVUpdate", "funcKVUpdate", constant.MakeString(FuncKVUpdate)},
	{"FuncKVDelete", "funcKVDelete", constant.MakeString(FuncKVDelete)},
	{"FuncKVKeys", "funcKVKeys", constant.MakeString(FuncKVKeys)},
	{"FuncCall", "funcCall", constant.MakeString(FuncCall)},
	{"FuncDBExec", "funcDBExec", constant.MakeString(FuncDBExec)},
	{"FuncDBQuery", "funcDBQuery", constant.MakeString(FuncDBQuery)},
	{"FuncDBBatch", "funcDBBatch", constant.MakeString(FuncDBBatch)},
	{"FuncLockAcquire", "funcLockAcquire", constant.MakeString(FuncLockAcquire)},
	{"FuncLockRenew", "funcLockRenew", constant.MakeString(FuncLockRenew)},
	{"FuncLockRelease", "funcLockRelease", constant.MakeString(FuncLockRelease)},
	{"FuncEventPublish", "funcEventPublish", constant.MakeString(FuncEventPublish)},
	{"FuncLastError", "funcLastError", constant.MakeString(FuncLastError)},
	{"StatusOK", "StatusOK", constant.MakeInt64(int64(StatusOK))},
	{"StatusNotFound", "StatusNotFound", constant.MakeInt64(int64(StatusNotFound))},
	{"StatusConflict", "StatusConflict", constant.MakeInt64(int64(StatusConflict))},
	{"StatusDenied", "StatusDenied", constant.MakeInt64(int64(StatusDenied))},
	{"StatusLimit", "StatusLimit", constant.MakeInt64(int64(StatusLimit))},
	{"StatusTimeout", "StatusTimeout", constant.MakeInt64(int64(StatusTimeout))},
	{"StatusUnavailable", "StatusUnavailable", constant.MakeInt64(int64(StatusUnavailable))},
	{"StatusInvalid", "StatusInvalid", constant.MakeInt64(int64(StatusInvalid))},
	{"StatusInternal", "StatusInternal", constant.MakeInt64(int64(StatusInternal))},
	{"LevelDebug", "LevelDebug", constant.MakeInt64(int64(LevelDebug))},
	{"LevelInfo", "LevelInfo", constant.MakeInt64(int64(LevelInfo))},
	{"LevelWarn", "LevelWarn", constant.MakeInt64(int64(LevelWarn))},
	{"LevelError", "LevelError", constant.MakeInt64(int64(LevelError))},
	{"MaxKeyLen", "MaxKeyLen", constant.MakeInt64(MaxKeyLen)},
	{"MaxMethodLen", "MaxMethodLen", constant.MakeInt64(MaxMethodLen)},
	{"MaxAppNameLen", "MaxAppNameLen", constant.MakeInt64(MaxAppNameLen)},
	{"RevSize", "revSize", constant.MakeInt64(RevSize)},
	{"TokenSize", "tokenSize", constant.MakeInt64(TokenSize)},
	{"MaxTopicLen", "MaxTopicLen", constant.MakeInt64(MaxTopicLen)},
	{"MaxSQLLen", "MaxSQLLen", constant.MakeInt64(MaxSQLLen)},
	{"MinLockTTL", "minLockTTLMillis", constant.MakeInt64(MinLockTTL)},
	{"MaxLockTTL", "maxLockTTLMillis", constant.MakeInt64(MaxLockTTL)},
	{"MaxLockWait", "maxLockWaitMillis", constant.MakeInt64(MaxLockWait)},
	{"TypeNull", "typeNull", constant.MakeInt64(int64(TypeNull))},
	{"TypeInteger", "typeInteger", constant.MakeInt64(int64(TypeInteger))},
	{"TypeReal", "typeReal", constant.MakeInt64(int64(TypeReal))},
	{"TypeText", "typeText", constant.MakeInt64(int64(TypeText))},
	{"TypeBlob", "typeBlob", constant.MakeInt64(int64(TypeBlob))},
	{"ExecResultSize", "execResultSize", constant.MakeInt64(ExecResultSize)},
}

// sdkGoSkip lists constants of this package that are not part of what a
// native guest speaks.
var sdkGoSkip = map[string]string{
	"ModulePrefix":        "host-side version detection",
	"ExtismModule":        "Extism modules",
	"ExtismHostNamespace": "Extism modules",
	"ExtismExportEvent":   "Extism modules",
	"KindNative":          "host-side module kinds",
	"KindExtism":          "host-side module kinds",
}

func TestSDKGoAgrees(t *testing.T) {
	got := sdkGoConsts(t)
	for _, n := range sdkGoNames {
		v, ok := got[n.sdk]
		switch {
		case !ok:
			t.Errorf("%s: no constant %s (abi.%s = %v)", sdkGoABIFile, n.sdk, n.abi, n.want)
		case !constant.Compare(v, token.EQL, n.want):
			t.Errorf("%s: %s = %v, want %v as abi.%s", sdkGoABIFile, n.sdk, v, n.want, n.abi)
		}
	}
}

// TestSDKGoCoversABI fails when this package gains a constant, a status or a
// host function that sdkGoNames does not check.
func TestSDKGoCoversABI(t *testing.T) {
	checked := map[string]bool{}
	values := map[string]bool{}
	for _, n := range sdkGoNames {
		checked[n.abi] = true
		values[n.want.ExactString()] = true
	}
	for _, name := range abiConstNames(t) {
		if !checked[name] && sdkGoSkip[name] == "" {
			t.Errorf("abi.%s is not compared with sdk-go: add it to sdkGoNames or sdkGoSkip", name)
		}
	}
	for _, f := range HostFuncs {
		if !values[constant.MakeString(f).ExactString()] {
			t.Errorf("host function %q is not compared with sdk-go", f)
		}
	}
	for _, e := range Exports {
		if !values[constant.MakeString(e).ExactString()] {
			t.Errorf("guest export %q is not compared with sdk-go", e)
		}
	}
	for _, s := range Statuses() {
		if !comparesInt(sdkGoNames, "Status", int64(s)) {
			t.Errorf("status %v is not compared with sdk-go", s)
		}
	}
	for _, e := range Events() {
		if !comparesInt(sdkGoNames, "Event", int64(e)) {
			t.Errorf("event %v is not compared with sdk-go", e)
		}
	}
}

// comparesInt tells whether one of names is a constant whose name starts
// with prefix and whose value is v.
func comparesInt(names []sdkGoName, prefix string, v int64) bool {
	for _, n := range names {
		if strings.HasPrefix(n.abi, prefix) && constant.Compare(n.want, token.EQL, constant.MakeInt64(v)) {
			return true
		}
	}
	return false
}

// sdkGoConsts type-checks sdk-go's abi.go on its own and returns the value
// of every constant it declares.
func sdkGoConsts(t *testing.T) map[string]constant.Value {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, sdkGoABIFile, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("cannot parse sdk-go's ABI constants: %v", err)
	}
	if len(f.Imports) > 0 {
		t.Fatalf("%s must not import anything, so it can be checked on its own", sdkGoABIFile)
	}
	pkg, err := new(types.Config).Check("sdk", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatalf("cannot type-check %s on its own: %v", sdkGoABIFile, err)
	}
	out := map[string]constant.Value{}
	for _, name := range pkg.Scope().Names() {
		if c, ok := pkg.Scope().Lookup(name).(*types.Const); ok {
			out[name] = c.Val()
		}
	}
	return out
}

// abiConstNames returns the exported constants declared in this package.
func abiConstNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					if id.IsExported() {
						names = append(names, id.Name)
					}
				}
			}
		}
	}
	return names
}
