package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ozanturksever/go-cluster/internal/testwait"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
)

// testCacheDir is shared by the package's tests so each guest is compiled
// to machine code once per run, not once per test.
var testCacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plugins-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guest returns the wasm of a guest under plugins/testdata/guests.
func guest(tb testing.TB, name string) []byte {
	tb.Helper()
	return testwasm.Build(tb, "plugins/testdata/guests/"+name)
}

// logSink collects a Logger's output for assertions.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// lines returns the logged lines containing every one of subs.
func (s *logSink) lines(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(s.String(), "\n") {
		all := l != ""
		for _, sub := range subs {
			all = all && strings.Contains(l, sub)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

func newTestLogger(sink *logSink) *slog.Logger {
	return slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newTestRuntime(tb testing.TB) (*Runtime, *logSink) {
	tb.Helper()
	sink := &logSink{}
	r, err := New(Config{CacheDir: testCacheDir, Logger: newTestLogger(sink)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r, sink
}

// load loads a guest into a fresh Runtime.
func load(tb testing.TB, name string, caps Capabilities, lim Limits) (*App, *logSink) {
	tb.Helper()
	r, sink := newTestRuntime(tb)
	a, err := r.Load(context.Background(), name, guest(tb, name), caps, lim)
	if err != nil {
		tb.Fatalf("Load %s: %v", name, err)
	}
	return a, sink
}

func call(t testing.TB, a *App, method string, payload []byte) []byte {
	t.Helper()
	out, err := a.Call(context.Background(), method, payload)
	if err != nil {
		t.Fatalf("Call %s: %v", method, err)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 10*time.Second, time.Millisecond, what, cond)
}

func TestEcho(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	for _, p := range [][]byte{nil, []byte("hello"), binary, bytes.Repeat([]byte("xyz"), 100_000)} {
		if got := call(t, a, "echo", p); !bytes.Equal(got, p) {
			t.Errorf("echo of %d bytes returned %d bytes", len(p), len(got))
		}
	}
	// Shrinking and growing payloads reuse or replace the guest buffer.
	for _, n := range []int{10, 70_000, 5, 200_000} {
		p := bytes.Repeat([]byte{'q'}, n)
		if got := call(t, a, "echo", p); !bytes.Equal(got, p) {
			t.Errorf("echo of %d bytes returned %d bytes", n, len(got))
		}
	}
}

func TestGuestStatus(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	for _, s := range abi.Statuses()[1:] {
		_, err := a.Call(context.Background(), "fail", fmt.Appendf(nil, "%d:boom %s", s, s))
		var ge *abi.Error
		if !errors.As(err, &ge) || ge.Status != s || ge.Message != "boom "+s.String() {
			t.Errorf("fail %v: err = %#v, want *abi.Error{%v, boom}", s, err, s)
			continue
		}
		if !errors.Is(err, s.Err()) || abi.StatusOf(err) != s {
			t.Errorf("fail %v: errors.Is/StatusOf do not see %v in %v", s, s, err)
		}
	}
	_, err := a.Call(context.Background(), "fail", []byte("42:odd"))
	if abi.StatusOf(err) != abi.StatusInternal || !strings.Contains(err.Error(), "odd") {
		t.Errorf("unknown status: err = %v, want internal carrying the message", err)
	}
	_, err = a.Call(context.Background(), "no-such-method", nil)
	if !errors.Is(err, abi.ErrNotFound) {
		t.Errorf("unknown method: err = %v, want not found", err)
	}
	for _, m := range []string{"", strings.Repeat("m", abi.MaxMethodLen+1)} {
		if _, err := a.Call(context.Background(), m, nil); !errors.Is(err, abi.ErrInvalid) {
			t.Errorf("method of %d bytes: err = %v, want invalid", len(m), err)
		}
	}
}

func TestPanicKeepsApp(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	_, err := a.Call(context.Background(), "panic", []byte("now"))
	if !errors.Is(err, abi.ErrInternal) || !strings.Contains(err.Error(), "deliberate panic now") {
		t.Fatalf("panic: err = %v, want internal with the panic text", err)
	}
	if got := call(t, a, "echo", []byte("after")); string(got) != "after" {
		t.Fatalf("echo after panic = %q", got)
	}
}

func TestBigReply(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	for _, n := range []int{0, 1, 8 << 10, 300_000} {
		got := call(t, a, "big", fmt.Append(nil, n))
		if len(got) != n {
			t.Fatalf("big %d: got %d bytes", n, len(got))
		}
		for i, c := range got {
			if c != 'a'+byte(i%26) {
				t.Fatalf("big %d: byte %d = %q", n, i, c)
			}
		}
	}
}

func TestConcurrentCallsUseSeparateInstances(t *testing.T) {
	const pool, callers = 3, 12
	g := newKVGate(callers)
	g.caps.kv["k"] = fakeEntry{[]byte("v"), 1}
	a, _ := load(t, "testapp", g.caps, Limits{Instances: pool})

	g.run(t, pool, callers, func() error {
		_, err := a.Call(context.Background(), "kv", []byte(`{"op":"get","key":"k"}`))
		return err
	}, func() {
		if s := a.Stats(); s.Instances != pool || s.Busy != pool || s.Idle != 0 {
			t.Errorf("stats with every instance busy = %+v", s)
		}
	})
	if s := a.Stats(); s.Instances != pool || s.Idle != pool || s.Busy != 0 {
		t.Errorf("stats after = %+v", s)
	}
}

// kvGate holds every KV call of its caps until released, to see how many
// calls of an app run at once.
type kvGate struct {
	caps             *fakeCaps
	arrived, release chan struct{}
}

func newKVGate(callers int) *kvGate {
	g := &kvGate{caps: newFakeCaps(), arrived: make(chan struct{}, callers), release: make(chan struct{})}
	g.caps.kvGate = func() {
		g.arrived <- struct{}{}
		<-g.release
	}
	return g
}

// run makes callers calls at once: pool of them must reach KV together,
// each from its own instance, while the others wait for one. whileBusy
// runs then; after the release every call must succeed, and no more than
// pool may have been in KV at once.
func (g *kvGate) run(t *testing.T, pool, callers int, call func() error, whileBusy func()) {
	t.Helper()
	errs := make(chan error, callers)
	for range callers {
		go func() { errs <- call() }()
	}
	for i := range pool {
		select {
		case <-g.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d calls ran at once", i, pool)
		}
	}
	whileBusy()
	close(g.release)
	for range callers {
		if err := <-errs; err != nil {
			t.Errorf("call: %v", err)
		}
	}
	if g.caps.maxInKV != pool {
		t.Errorf("most calls at once = %d, want %d", g.caps.maxInKV, pool)
	}
}

func TestStats(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Payload: 8 << 20})
	s := a.Stats()
	if s.Instances != 1 || s.Idle != 1 || s.Busy != 0 {
		t.Errorf("stats after Load = %+v, want one warm idle instance", s)
	}
	if s.MemoryBytes == 0 || s.MemoryBytes%(64<<10) != 0 {
		t.Errorf("memory = %d, want whole wasm pages", s.MemoryBytes)
	}
	call(t, a, "big", []byte("5000000"))
	if after := a.Stats(); after.MemoryBytes <= s.MemoryBytes {
		t.Errorf("memory after a 5 MB reply = %d, before %d", after.MemoryBytes, s.MemoryBytes)
	}
}

func TestClose(t *testing.T) {
	r, _ := newTestRuntime(t)
	wasm := guest(t, "testapp")
	a, err := r.Load(context.Background(), "testapp", wasm, nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(context.Background(), "echo", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close: %v, want ErrClosed", err)
	}
	if s := a.Stats(); s != (Stats{}) {
		t.Errorf("stats after Close = %+v", s)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}

	b, err := r.Load(context.Background(), "testapp", wasm, nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Call(context.Background(), "echo", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Runtime.Close: %v, want ErrClosed", err)
	}
	if _, err := r.Load(context.Background(), "testapp", wasm, nil, Limits{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
	if _, err := r.Inspect(context.Background(), wasm); !errors.Is(err, ErrClosed) {
		t.Errorf("Inspect after Close: %v, want ErrClosed", err)
	}
}

func TestCloseWaitsForCalls(t *testing.T) {
	caps := newFakeCaps()
	release := make(chan struct{})
	caps.kvGate = func() { <-release }
	a, _ := load(t, "testapp", caps, Limits{})
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(context.Background(), "kv", []byte(`{"op":"put","key":"k","value":"v"}`))
		done <- err
	}()
	waitFor(t, "the call to start", func() bool { return a.Stats().Busy == 1 })

	closed := make(chan error, 1)
	go func() { closed <- a.Close(context.Background()) }()
	waitFor(t, "new calls to be refused", func() bool {
		_, err := a.Call(context.Background(), "echo", nil)
		return errors.Is(err, ErrClosed)
	})
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a call was running", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("call in flight during Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
