package plugins

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

func TestHostProvidesEveryABIFunction(t *testing.T) {
	var names []string
	for _, f := range hostFuncs {
		names = append(names, f.name)
	}
	want := slices.Clone(abi.HostFuncs)
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("host functions %v, abi lists %v", names, want)
	}
}

func TestHostChecksEveryExport(t *testing.T) {
	for _, name := range abi.Exports {
		if _, ok := guestExports[name]; !ok {
			t.Errorf("abi export %s has no signature in guestExports", name)
		}
	}
	if len(guestExports) != len(abi.Exports) {
		t.Errorf("guestExports has %d entries, abi lists %d exports", len(guestExports), len(abi.Exports))
	}
}

type kvReply struct {
	Value64 string   `json:"value64"`
	Rev     uint64   `json:"rev"`
	Keys64  []string `json:"keys64"`
}

// kvCall runs one testapp kv operation; req is JSON without braces.
func kvCall(t *testing.T, a *App, req string) (kvReply, error) {
	t.Helper()
	out, err := a.Call(context.Background(), "kv", []byte("{"+req+"}"))
	var rep kvReply
	if err == nil {
		if jerr := json.Unmarshal(out, &rep); jerr != nil {
			t.Fatalf("kv %s: reply %q: %v", req, out, jerr)
		}
	}
	return rep, err
}

func mustKV(t *testing.T, a *App, req string) kvReply {
	t.Helper()
	rep, err := kvCall(t, a, req)
	if err != nil {
		t.Fatalf("kv %s: %v", req, err)
	}
	return rep
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestKV(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})

	put := mustKV(t, a, `"op":"put","key":"a","value":"1"`)
	got := mustKV(t, a, `"op":"get","key":"a"`)
	if got.Value64 != b64("1") || got.Rev != put.Rev || put.Rev == 0 {
		t.Errorf("get after put = %+v, put rev %d", got, put.Rev)
	}

	_, err := kvCall(t, a, `"op":"create","key":"a","value":"2"`)
	var ge *abi.Error
	if !errors.As(err, &ge) || ge.Status != abi.StatusConflict || !strings.Contains(ge.Message, "conflict") {
		t.Errorf("create of an existing key: err = %#v, want a guest conflict", err)
	}
	_, err = kvCall(t, a, fmt.Sprintf(`"op":"update","key":"a","value":"2","rev":%d`, put.Rev+100))
	if !errors.Is(err, abi.ErrConflict) {
		t.Errorf("update at a wrong revision: err = %v, want conflict", err)
	}
	upd := mustKV(t, a, fmt.Sprintf(`"op":"update","key":"a","value":"2","rev":%d`, put.Rev))
	if upd.Rev <= put.Rev {
		t.Errorf("update rev %d, put rev %d", upd.Rev, put.Rev)
	}
	mustKV(t, a, `"op":"create","key":"b","value":"3"`)
	mustKV(t, a, `"op":"delete","key":"a"`)
	mustKV(t, a, `"op":"delete","key":"never-there"`)
	if _, err = kvCall(t, a, `"op":"get","key":"a"`); !errors.Is(err, abi.ErrNotFound) {
		t.Errorf("get of a deleted key: err = %v, want not found", err)
	}
	if _, err = kvCall(t, a, `"op":"get","key":""`); !errors.Is(err, abi.ErrInvalid) {
		t.Errorf("get of an empty key: err = %v, want invalid", err)
	}
	if got := string(call(t, a, "errorsis", nil)); got != "true" {
		t.Errorf("errorsis = %s", got)
	}
}

// TestKVBytes covers keys that are not text and results larger than the
// guest's scratch buffer, which the guest fetches with take.
func TestKVBytes(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})

	odd := "\xff\x00.*>"
	mustKV(t, a, fmt.Sprintf(`"op":"put","key64":%q,"value":"odd"`, b64(odd)))
	if v := caps.kv[odd]; string(v.val) != "odd" {
		t.Errorf("fake store holds %q under the odd key", v.val)
	}
	large := strings.Repeat("0123456789", 5_000)
	mustKV(t, a, fmt.Sprintf(`"op":"put","key":"large","value":%q`, large))
	if got := mustKV(t, a, `"op":"get","key":"large"`); got.Value64 != b64(large) {
		t.Errorf("large value came back as %d base64 bytes", len(got.Value64))
	}

	var want []string
	for i := range 400 {
		k := fmt.Sprintf("many/%03d/%s", i, strings.Repeat("k", 30))
		caps.kv[k] = fakeEntry{[]byte("v"), 1}
		want = append(want, b64(k))
	}
	if got := mustKV(t, a, `"op":"keys","prefix":"many/"`); !slices.Equal(got.Keys64, want) {
		t.Errorf("keys: got %d, want %d sorted", len(got.Keys64), len(want))
	}
	if got := mustKV(t, a, fmt.Sprintf(`"op":"keys","prefix64":%q`, b64("\xff"))); !slices.Equal(got.Keys64, []string{b64(odd)}) {
		t.Errorf("keys with a binary prefix = %v", got.Keys64)
	}
	if got := mustKV(t, a, `"op":"keys","prefix":"none/"`); len(got.Keys64) != 0 {
		t.Errorf("keys of an empty prefix range = %v", got.Keys64)
	}
}

func TestKVDeniedWithoutCapabilities(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	if _, err := kvCall(t, a, `"op":"put","key":"a","value":"1"`); !errors.Is(err, abi.ErrDenied) {
		t.Errorf("put without capabilities: err = %v, want denied", err)
	}
	if _, err := a.Call(context.Background(), "config", []byte("any")); !errors.Is(err, abi.ErrNotFound) {
		t.Errorf("config without capabilities: err = %v, want not found", err)
	}
}

func TestConfig(t *testing.T) {
	caps := newFakeCaps()
	caps.config["greeting"] = "hello"
	caps.config["empty"] = ""
	caps.config["large"] = strings.Repeat("abcdefgh", 4_000)
	a, _ := load(t, "testapp", caps, Limits{})
	for key, want := range caps.config {
		if got := string(call(t, a, "config", []byte(key))); got != want {
			t.Errorf("config %s = %d bytes, want %d", key, len(got), len(want))
		}
	}
	if _, err := a.Call(context.Background(), "config", []byte("absent")); !errors.Is(err, abi.ErrNotFound) {
		t.Errorf("absent config: err = %v, want not found", err)
	}
}

func TestGuestLog(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})
	call(t, a, "log", []byte("a line from the guest"))
	logs := caps.loggedMessages()
	if len(logs) != 1 || logs[0] != (fakeLog{abi.LevelInfo, "a line from the guest"}) {
		t.Errorf("logs = %+v", logs)
	}
	call(t, a, "log", bytes.Repeat([]byte("x"), 2*maxLogBytes))
	if logs := caps.loggedMessages(); len(logs) != 2 || len(logs[1].msg) != maxLogBytes {
		t.Errorf("an oversized log line was not cut to %d bytes", maxLogBytes)
	}
}

// TestRawAttack runs a guest that calls every host function with hostile
// pointers and lengths: each must answer INVALID, and the host must stay up.
func TestRawAttack(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps Capabilities
	}{{"with kv", newFakeCaps()}, {"without capabilities", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := load(t, "raw", tc.caps, Limits{})
			var results map[string]int32
			if err := json.Unmarshal(call(t, a, "attack", nil), &results); err != nil {
				t.Fatal(err)
			}
			if len(results) < 60 {
				t.Errorf("only %d attack results", len(results))
			}
			covered := map[string]bool{}
			for name, ret := range results {
				covered[strings.Split(name, "/")[0]] = true
				if ret != -int32(abi.StatusInvalid) {
					t.Errorf("%s returned %d, want %d", name, ret, -abi.StatusInvalid)
				}
			}
			for _, f := range abi.HostFuncs {
				if !covered[f] && f != abi.FuncABIVersion && f != abi.FuncReply && f != abi.FuncLog {
					t.Errorf("attack does not cover %s", f)
				}
			}
			if got := string(call(t, a, "attack_log", nil)); got != "ok" {
				t.Errorf("attack_log = %q", got)
			}
			_, err := a.Call(context.Background(), "attack_reply", nil)
			if !errors.Is(err, abi.ErrInternal) || !strings.Contains(err.Error(), "outside its memory") {
				t.Errorf("attack_reply: err = %v, want internal naming the bad reply", err)
			}
			if got := string(call(t, a, "echo", []byte("alive"))); got != "alive" {
				t.Errorf("echo after the attack = %q", got)
			}
		})
	}
}
