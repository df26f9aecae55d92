package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// The extismapp guest is built with the Extism Go PDK; its methods are
// documented in plugins/testdata/guests/extismapp/main.go.

func loadExtism(t *testing.T, caps Capabilities, lim Limits) (*App, *logSink) {
	t.Helper()
	return load(t, "extismapp", caps, lim)
}

func TestExtismDetectedAndLoaded(t *testing.T) {
	wasm := guest(t, "extismapp")
	r, _ := newTestRuntime(t)
	ctx := context.Background()
	for how, inspect := range map[string]func(context.Context, []byte) (abi.Kind, error){"Inspect": r.Inspect, "Check": Check} {
		if kind, err := inspect(ctx, wasm); kind != abi.KindExtism || err != nil {
			t.Errorf("%s = %v, %v; want extism", how, kind, err)
		}
	}
	a, err := r.Load(ctx, "extismapp", wasm, nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := call(t, a, "greet", []byte("Ada")); string(got) != "Hello, Ada!" {
		t.Errorf("greet = %q", got)
	}
	if s := a.Stats(); s.Instances != 1 || s.Idle != 1 || s.MemoryBytes == 0 {
		t.Errorf("stats = %+v, want one idle instance with memory", s)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.MemoryBytes != 0 {
		t.Errorf("memory after Close = %d, want 0", s.MemoryBytes)
	}
}

func TestExtismMethods(t *testing.T) {
	a, _ := loadExtism(t, nil, Limits{})
	if got := call(t, a, "echo", []byte("bytes\x00\xff")); string(got) != "bytes\x00\xff" {
		t.Errorf("echo = %q", got)
	}
	if got := call(t, a, "echo", nil); len(got) != 0 {
		t.Errorf("echo of nothing = %q", got)
	}
	// Exports that are no method, and names that are no export, are not found.
	for _, m := range []string{"nope", "_initialize", abi.ExtismExportEvent, "memory"} {
		if _, err := a.Call(context.Background(), m, nil); !errors.Is(err, abi.ErrNotFound) {
			t.Errorf("call %s: err = %v, want not found", m, err)
		}
	}
}

// hostResp calls host function fn with req through the guest's host
// method and returns the response as the guest read it.
func hostResp(t *testing.T, a *App, fn, req string) string {
	t.Helper()
	return string(call(t, a, "host", []byte(`{"fn":"`+fn+`","req":`+req+`}`)))
}

// TestExtismHostFunctions runs every host function, in order, against the
// fake capabilities: want is the exact response, or the status name of
// the error it must carry.
func TestExtismHostFunctions(t *testing.T) {
	caps := newFakeCaps()
	caps.config["greeting"] = "hello"
	caps.callFn = func(app, method string, payload []byte) ([]byte, error) {
		if app == "missing" {
			return nil, abi.NewError(abi.StatusNotFound, "no such thing")
		}
		return []byte(app + "." + method + "(" + string(payload) + ")"), nil
	}
	a, _ := loadExtism(t, caps, Limits{})
	longKey := strings.Repeat("k", abi.MaxKeyLen+1)
	values := `[{"null":true},{"int":-9007199254740993},{"real":0.5},{"text":"é"},{"blob":"AAH/"}]`
	steps := []struct{ fn, req, want string }{
		{"kv_put", `{"key":"a","value":"djE="}`, `{"revision":1}`},
		{"kv_get", `{"key":"a"}`, `{"value":"djE=","revision":1}`},
		{"kv_create", `{"key":"a","value":"eA=="}`, "conflict"},
		{"kv_update", `{"key":"a","value":"djI=","revision":1}`, `{"revision":2}`},
		{"kv_update", `{"key":"a","value":"djM=","revision":1}`, "conflict"},
		{"kv_create", `{"key":"b"}`, `{"revision":3}`},
		{"kv_get", `{"key":"b"}`, `{"value":"","revision":3}`},
		{"kv_keys", `{"prefix":""}`, `{"keys":["a","b"]}`},
		{"kv_keys", `{"prefix":"z"}`, `{"keys":[]}`},
		{"kv_delete", `{"key":"b"}`, `{}`},
		{"kv_get", `{"key":"b"}`, "not_found"},
		{"kv_get", `{"key":""}`, "invalid"},
		{"kv_get", `{"key":"` + longKey + `"}`, "invalid"},
		{"kv_get", `"not an object"`, "invalid"},
		{"config_get", `{"key":"greeting"}`, `{"value":"hello"}`},
		{"config_get", `{"key":"absent"}`, "not_found"},
		{"log", `{"level":"warn","message":"careful"}`, `{}`},
		{"log", `{"level":"loud","message":"x"}`, "invalid"},
		{"db_exec", `{"sql":"insert","params":[{"int":7},{"text":"t"}]}`, `{"rows_affected":1,"last_insert_id":2}`},
		{"db_exec", `{"sql":"fail"}`, "conflict"},
		{"db_exec", `{"sql":""}`, "invalid"},
		{"db_exec", `{"sql":"x","params":[{"int":1,"text":"two types"}]}`, "invalid"},
		{"db_exec", `{"sql":"x","params":[{"null":false}]}`, "invalid"},
		{"db_query", `{"sql":"select","params":` + values + `}`, `{"columns":["c0","c1","c2","c3","c4"],"rows":[` + values + `]}`},
		{"db_query", `{"sql":"select"}`, `{"columns":[],"rows":[]}`},
		{"db_batch", `{"statements":[{"sql":"a"},{"sql":"b","params":[{"int":1}]}]}`, `{"results":[{"rows_affected":1,"last_insert_id":0},{"rows_affected":1,"last_insert_id":1}]}`},
		{"db_batch", `{"statements":[]}`, "invalid"},
		{"db_batch", `{"statements":[{"sql":"a"},{"sql":""}]}`, "invalid"},
		{"lock_acquire", `{"name":"l","ttl_ms":5000}`, `{"token":4}`},
		{"lock_acquire", `{"name":"l","ttl_ms":5000,"wait_ms":10}`, "conflict"},
		{"lock_acquire", `{"name":"m","ttl_ms":10}`, "invalid"},
		{"lock_acquire", `{"name":"m","ttl_ms":5000,"wait_ms":-1}`, "invalid"},
		{"lock_renew", `{"name":"l","token":4,"ttl_ms":5000}`, `{}`},
		{"lock_renew", `{"name":"l","token":5,"ttl_ms":5000}`, "conflict"},
		{"lock_release", `{"name":"l","token":4}`, `{}`},
		{"lock_release", `{"name":"l","token":4}`, "conflict"},
		{"publish", `{"topic":"news","data":"aGk="}`, `{}`},
		{"publish", `{"topic":"secret","data":"aGk="}`, "denied"},
		{"publish", `{"topic":""}`, "invalid"},
		{"call", `{"app":"other","method":"m","payload":"cA==","key":"k","timeout_ms":250}`, `{"reply":"b3RoZXIubShwKQ=="}`},
		{"call", `{"app":"missing","method":"m"}`, "not_found"},
		{"call", `{"app":"","method":"m"}`, "invalid"},
		{"call", `{"app":"other","method":"m","timeout_ms":-1}`, "invalid"},
	}
	for i, s := range steps {
		got := hostResp(t, a, s.fn, s.req)
		if !strings.HasPrefix(s.want, "{") {
			var e extismError
			if err := json.Unmarshal([]byte(got), &e); err != nil || e.Error.Status != s.want || e.Error.Message == "" {
				t.Errorf("step %d: %s(%s) = %s, want a %s error with a message", i, s.fn, s.req, got, s.want)
			}
			continue
		}
		if got != s.want {
			t.Errorf("step %d: %s(%s) = %s, want %s", i, s.fn, s.req, got, s.want)
		}
	}

	if logs := caps.loggedMessages(); !slices.Contains(logs, fakeLog{abi.LevelWarn, "careful"}) {
		t.Errorf("logs = %+v", logs)
	}
	if got := caps.receivedCalls(); len(got) == 0 || got[0] != (fakeCall{"other", "m", "p", "k", 250 * time.Millisecond, true}) {
		t.Errorf("calls = %+v", got)
	}
	if got := caps.published; !slices.Equal(got, []string{"news=hi"}) {
		t.Errorf("published = %q", got)
	}
	want := []abi.Value{abi.Null(), abi.Integer(-9007199254740993), abi.Real(0.5), abi.Text("é"), abi.Blob([]byte{0, 1, 255})}
	if q := caps.stmts[2]; q.sql != "select" || fmt.Sprint(q.params) != fmt.Sprint(want) {
		t.Errorf("query reached the database as %+v, want params %+v", q, want)
	}
}

// TestExtismCapabilitiesFromGuestCode exercises the capabilities the way
// a plugin does, through the guest's own typed requests.
func TestExtismCapabilitiesFromGuestCode(t *testing.T) {
	caps := newFakeCaps()
	caps.config["colour"] = "blue"
	a, _ := loadExtism(t, caps, Limits{})
	tests := []struct{ method, payload, want string }{
		{"kv_roundtrip", `{"key":"k1","value":"v"}`, `{"Put":1,"Updated":2,"Got":"v","CreateConflict":true,"Keys":["k1"],"MissingNotFound":true}`},
		{"db", "", `{"Exec":{"rows_affected":1,"last_insert_id":5},"Columns":["c0","c1","c2","c3","c4"],"Rows":[[{"null":true},{"int":1152921504606846976},{"real":2.5},{"text":"tëxt"},{"blob":"AAH/"}]],"Batch":[{"rows_affected":1,"last_insert_id":0},{"rows_affected":1,"last_insert_id":2}]}`},
		{"lock", "door", `{"Token":3,"HeldConflict":true,"Renewed":true,"Released":true}`},
		{"publish", `{"topic":"t","data":"d"}`, ""},
		{"call", `{"app":"peer","method":"hi","payload":"x"}`, "peer.hi(x)"},
		{"config", "colour", "blue"},
	}
	for _, tt := range tests {
		if got := call(t, a, tt.method, []byte(tt.payload)); string(got) != tt.want {
			t.Errorf("%s = %s, want %s", tt.method, got, tt.want)
		}
	}
	if !slices.Equal(caps.published, []string{"t=d"}) {
		t.Errorf("published = %q", caps.published)
	}
}

func TestExtismLogs(t *testing.T) {
	caps := newFakeCaps()
	a, sink := loadExtism(t, caps, Limits{})
	call(t, a, "log", []byte("hi"))
	want := []fakeLog{{abi.LevelDebug, "debug hi"}, {abi.LevelInfo, "info hi"}, {abi.LevelWarn, "warn hi"}, {abi.LevelError, "error hi"}, {abi.LevelInfo, "extism hi"}}
	if got := caps.loggedMessages(); !slices.Equal(got, want) {
		t.Errorf("logs = %+v, want %+v", got, want)
	}
	if got := sink.lines("app=extismapp", "stream=stdout", "stdout hi"); len(got) != 1 {
		t.Errorf("stdout lines:\n%s", sink)
	}
}

// TestExtismErrorsCarryStatus checks that a plugin's error text "<status>:
// <message>" reaches the caller as that status, for every status.
func TestExtismErrorsCarryStatus(t *testing.T) {
	caps := newFakeCaps()
	a, _ := loadExtism(t, caps, Limits{})
	ctx := context.Background()
	for _, st := range abi.Statuses()[1:] {
		_, err := a.Call(ctx, "fail_with_status", []byte(st.String()+": went wrong"))
		var ae *abi.Error
		if !errors.As(err, &ae) || ae.Status != st || ae.Message != "went wrong" || !errors.Is(err, st.Err()) {
			t.Errorf("%v: err = %#v", st, err)
		}
	}
	tests := []struct {
		method, payload string
		status          abi.Status
		msg             string
	}{
		{"fail_with_status", "not_found", abi.StatusNotFound, ""},
		{"fail_with_status", "no status here", abi.StatusInternal, "no status here"},
		{"fail_with_status", "ok: fine", abi.StatusInternal, "ok: fine"},
		{"fail_with_status", "NOT_FOUND: shouting", abi.StatusInternal, "NOT_FOUND: shouting"},
		{"fail_rc", "", abi.StatusInternal, "fail_rc returned 3 without an error message"},
		// A host function's error passes through the guest unchanged.
		{"kv_get", "missing", abi.StatusNotFound, `key "missing": not found`},
	}
	for _, tt := range tests {
		_, err := a.Call(ctx, tt.method, []byte(tt.payload))
		var ae *abi.Error
		if !errors.As(err, &ae) || ae.Status != tt.status || ae.Message != tt.msg || !errors.Is(err, tt.status.Err()) {
			t.Errorf("%s(%q): err = %#v, want %v %q", tt.method, tt.payload, err, tt.status, tt.msg)
		}
	}
	// A plugin's error is an answer: the instance keeps serving.
	if s := a.Stats(); s.Instances != 1 {
		t.Errorf("stats = %+v", s)
	}
	caps.kv["k"] = fakeEntry{[]byte("v"), 1}
	if got := call(t, a, "kv_get", []byte("k")); string(got) != "v" {
		t.Errorf("kv_get after errors = %q", got)
	}
}

func TestExtismTimeout(t *testing.T) {
	a, _ := loadExtism(t, nil, Limits{Timeout: 200 * time.Millisecond})
	_, err := a.Call(context.Background(), "loop_forever", nil)
	if !errors.Is(err, abi.ErrTimeout) || !strings.Contains(err.Error(), "200ms") {
		t.Fatalf("loop_forever: err = %v, want timeout naming the limit", err)
	}
	afterFailure(t, a)
}

func TestExtismCallerContextStopsGuest(t *testing.T) {
	a, _ := loadExtism(t, nil, Limits{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := a.Call(ctx, "loop_forever", nil)
	if !errors.Is(err, abi.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("loop_forever: err = %v, want timeout from the caller's deadline", err)
	}
	afterFailure(t, a)

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, "loop_forever", nil)
		done <- err
	}()
	waitFor(t, "the loop to start", func() bool { return a.Stats().Busy == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || abi.StatusOf(err) != abi.StatusUnavailable {
		t.Fatalf("cancelled loop: err = %v, want unavailable wrapping context.Canceled", err)
	}
	afterFailure(t, a)
}

func TestExtismMemoryLimit(t *testing.T) {
	a, sink := loadExtism(t, nil, Limits{Memory: 32 << 20})
	_, err := a.Call(context.Background(), "alloc_forever", nil)
	if !errors.Is(err, abi.ErrLimit) || !strings.Contains(err.Error(), "32 MiB") {
		t.Fatalf("alloc_forever: err = %v, want limit naming 32 MiB", err)
	}
	if got := sink.lines("app=extismapp", "stream=stderr", "fatal error: out of memory"); len(got) != 1 {
		t.Errorf("logged Go's fatal error %d times", len(got))
	}
	afterFailure(t, a)

	// Extism's own memory is bounded too: the kernel refuses the block.
	_, err = a.Call(context.Background(), "alloc_blocks", nil)
	if !errors.Is(err, abi.ErrLimit) {
		t.Fatalf("alloc_blocks: err = %v, want the guest's limit error", err)
	}
	if got := call(t, a, "echo", []byte("ok")); string(got) != "ok" {
		t.Errorf("echo after alloc_blocks = %q", got)
	}
	if s := a.Stats(); s.MemoryBytes > 2*(32<<20) {
		t.Errorf("memory = %d bytes, over the limit for each of the two memories", s.MemoryBytes)
	}
}

func TestExtismPayloadLimit(t *testing.T) {
	const limit = 4096
	a, _ := loadExtism(t, nil, Limits{Payload: limit})
	call(t, a, "echo", make([]byte, limit))
	if _, err := a.Call(context.Background(), "echo", make([]byte, limit+1)); !errors.Is(err, abi.ErrLimit) {
		t.Errorf("payload over the limit: err = %v, want limit", err)
	}
	_, err := a.Call(context.Background(), "big_reply", fmt.Append(nil, limit+1))
	if !errors.Is(err, abi.ErrLimit) || !strings.Contains(err.Error(), "reply") {
		t.Errorf("reply over the limit: err = %v, want limit naming the reply", err)
	}
	if got := call(t, a, "big_reply", fmt.Append(nil, limit)); len(got) != limit {
		t.Errorf("reply at the limit: %d bytes", len(got))
	}
	if s := a.Stats(); s.Instances != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestExtismHostRequestLimit(t *testing.T) {
	caps := newFakeCaps()
	a, _ := loadExtism(t, caps, Limits{Payload: 4096})
	call(t, a, "kv_put_big", []byte("4096"))
	// 1 MiB travels as 1.4 MB of base64, over twice the payload limit
	// plus the longest SQL.
	_, err := a.Call(context.Background(), "kv_put_big", fmt.Append(nil, abi.MaxSQLLen))
	if !errors.Is(err, abi.ErrLimit) || !strings.Contains(err.Error(), "request") {
		t.Fatalf("oversized request: err = %v, want limit", err)
	}
	if got := len(caps.kv["big"].val); got != 4096 {
		t.Errorf("stored %d bytes, want the first put's 4096 only", got)
	}
}

func TestExtismTrapIsolation(t *testing.T) {
	a, _ := loadExtism(t, nil, Limits{Instances: 2, Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, "loop_forever", nil)
		done <- err
	}()
	waitFor(t, "the loop to start", func() bool { return a.Stats().Busy == 1 })
	for _, method := range []string{"panic", "exit"} {
		if _, err := a.Call(context.Background(), method, nil); !errors.Is(err, abi.ErrInternal) {
			t.Errorf("%s: err = %v, want internal", method, err)
		}
		if got := call(t, a, "greet", []byte("still")); string(got) != "Hello, still!" {
			t.Errorf("greet after %s = %q", method, got)
		}
	}
	cancel()
	<-done
	if got := call(t, a, "greet", []byte("after")); string(got) != "Hello, after!" {
		t.Errorf("greet after the loop = %q", got)
	}
}

func TestExtismTrapReplacesInstance(t *testing.T) {
	r, _ := newTestRuntime(t)
	a, err := r.Load(context.Background(), "trap", extismModule(), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := a.Call(context.Background(), "trap", nil)
		if !errors.Is(err, abi.ErrInternal) || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("trap: err = %v, want internal with the trap text", err)
		}
		if s := a.Stats(); s.Instances != 1 || s.Idle != 1 {
			t.Errorf("stats after trap = %+v", s)
		}
	}
	if out, err := a.Call(context.Background(), "greet", nil); err != nil || len(out) != 0 {
		t.Errorf("greet = %q, %v", out, err)
	}
}

// extismEvents returns the events the guest's instance recorded.
func extismEvents(t *testing.T, a *App) string {
	t.Helper()
	return string(call(t, a, "events", nil))
}

func TestExtismLifecycleEvents(t *testing.T) {
	a, _ := loadExtism(t, nil, Limits{Instances: 1})
	ctx := context.Background()
	steps := []func() error{
		func() error { return a.Activate(ctx) },
		func() error { return a.Own(ctx, []int{2, 1}) },
		func() error { return a.Release(ctx, []int{1}) },
		func() error { return a.MemberJoined(ctx, "n2") },
		func() error { return a.MemberLeft(ctx, "n2") },
		func() error { return a.Deliver(ctx, "src", "t", []byte("data")) },
		func() error { return a.Deliver(ctx, "platform", "empty", nil) },
		func() error { return a.Deactivate(ctx) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := `[{"kind":"start"},{"kind":"active"},{"kind":"own","partitions":[1,2]},{"kind":"release","partitions":[1]},` +
		`{"kind":"member_join","node":"n2"},{"kind":"member_leave","node":"n2"},` +
		`{"kind":"event","source":"src","topic":"t","data":"ZGF0YQ=="},{"kind":"event","source":"platform","topic":"empty"},` +
		`{"kind":"passive"}]`
	if got := extismEvents(t, a); got != want {
		t.Errorf("events =\n%s\nwant\n%s", got, want)
	}
	if a.Role() != RolePassive || !slices.Equal(a.Owned(), []int{2}) {
		t.Errorf("role %v, owned %v", a.Role(), a.Owned())
	}

	// A replacement instance catches up before it serves.
	if err := a.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(ctx, "panic", nil); !errors.Is(err, abi.ErrInternal) {
		t.Fatalf("panic: %v", err)
	}
	if got, want := extismEvents(t, a), `[{"kind":"start"},{"kind":"active"},{"kind":"own","partitions":[2]}]`; got != want {
		t.Errorf("events of the replacement = %s, want %s", got, want)
	}
}

func TestExtismRefusedEvent(t *testing.T) {
	caps := newFakeCaps()
	caps.config["fail_on"] = "active"
	a, _ := loadExtism(t, caps, Limits{})
	err := a.Activate(context.Background())
	var ae *abi.Error
	if !errors.As(err, &ae) || !errors.Is(err, abi.ErrUnavailable) || ae.Message != "refuses active" {
		t.Fatalf("Activate: err = %#v, want the guest's unavailable", err)
	}
	if err := a.Deactivate(context.Background()); err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	if got, want := extismEvents(t, a), `[{"kind":"start"},{"kind":"passive"}]`; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
}

func TestExtismStopOnClose(t *testing.T) {
	caps := newFakeCaps()
	a, _ := loadExtism(t, caps, Limits{})
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if logs := caps.loggedMessages(); !slices.Contains(logs, fakeLog{abi.LevelInfo, "extismapp stop"}) {
		t.Errorf("logs after Close = %+v, want the guest's stop", logs)
	}
}

func TestExtismEventsNeedNoExport(t *testing.T) {
	r, _ := newTestRuntime(t)
	a, err := r.Load(context.Background(), "plain", extismModule(), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, err := range []error{
		a.Activate(ctx), a.Own(ctx, []int{3}), a.MemberJoined(ctx, "n2"),
		a.Deliver(ctx, "src", "t", []byte("x")), a.Release(ctx, []int{3}), a.Own(ctx, []int{4}),
	} {
		if err != nil {
			t.Errorf("notification %d: %v", i, err)
		}
	}
	if a.Role() != RoleActive || !slices.Equal(a.Owned(), []int{4}) {
		t.Errorf("role %v, owned %v", a.Role(), a.Owned())
	}
}

func TestExtismConcurrentCalls(t *testing.T) {
	const pool, callers = 3, 5
	g := newKVGate(callers)
	g.caps.kv["k"] = fakeEntry{[]byte("v"), 1}
	a, _ := loadExtism(t, g.caps, Limits{Instances: pool})
	g.run(t, pool, callers, func() error {
		out, err := a.Call(context.Background(), "kv_get", []byte("k"))
		if err == nil && string(out) != "v" {
			err = fmt.Errorf("kv_get = %q", out)
		}
		return err
	}, func() {
		if s := a.Stats(); s.Instances != pool || s.Busy != pool {
			t.Errorf("stats with every instance busy = %+v", s)
		}
	})
}
