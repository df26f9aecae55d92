package abi

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Kind is the calling convention a module is built for.
type Kind int

// Kinds of module.
const (
	KindNative Kind = iota + 1 // this package's ABI, run on wazero directly
	KindExtism                 // an Extism PDK module, run through extism go-sdk
)

func (k Kind) String() string {
	switch k {
	case KindNative:
		return "native"
	case KindExtism:
		return "extism"
	}
	return "unknown"
}

// ErrMissingExport is a module that lacks an export its ABI requires.
var ErrMissingExport = errors.New("missing export")

// ErrNotAnApp is a module that speaks neither the native ABI nor Extism's.
var ErrNotAnApp = errors.New("module is not a go-cluster app")

// Detect tells which ABI a module speaks from the names of the modules it
// imports and the functions it exports. It refuses unknown major versions
// and modules without the exports their ABI requires, naming what is wrong.
func Detect(importModules, exports []string) (Kind, error) {
	exported := make(map[string]bool, len(exports))
	for _, e := range exports {
		exported[e] = true
	}
	versions := map[int]bool{}
	extism := false
	for _, m := range importModules {
		if m == ExtismModule {
			extism = true
		}
		if v, ok := versionOf(m, ModulePrefix, ""); ok {
			versions[v] = true
		}
	}
	for _, e := range exports {
		if v, ok := versionOf(e, ModulePrefix, "_"); ok {
			versions[v] = true
		}
	}
	for _, v := range sortedKeys(versions) {
		if v != Version {
			return 0, fmt.Errorf("cannot load module speaking gocluster_v%d (this host speaks v%d): %w", v, Version, ErrUnknownVersion)
		}
	}
	switch {
	case len(versions) > 0:
		var missing []string
		for _, e := range RequiredExports {
			if !exported[e] {
				missing = append(missing, e)
			}
		}
		if len(missing) > 0 {
			return 0, fmt.Errorf("cannot load native module: %w %s (build Go guests with -buildmode=c-shared and the sdk)", ErrMissingExport, strings.Join(missing, ", "))
		}
		return KindNative, nil
	case extism:
		return KindExtism, nil
	}
	return 0, fmt.Errorf("cannot load module: %w: it neither imports %q nor exports %s", ErrNotAnApp, ImportModule, ExportHandle)
}

// versionOf parses "gocluster_v12" (sep "") or "gocluster_v12_x" (sep "_").
func versionOf(name, prefix, sep string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits := rest
	if sep != "" {
		var found bool
		digits, _, found = strings.Cut(rest, sep)
		if !found {
			return 0, false
		}
	}
	v, err := strconv.Atoi(digits)
	if err != nil || v <= 0 || digits[0] == '0' {
		return 0, false
	}
	return v, true
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
