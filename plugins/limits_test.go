package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// afterFailure checks that an app whose instance was just discarded still
// answers, from a single fresh instance.
func afterFailure(t *testing.T, a *App) {
	t.Helper()
	if got := call(t, a, "echo", []byte("still here")); string(got) != "still here" {
		t.Fatalf("echo after failure = %q", got)
	}
	if s := a.Stats(); s.Instances != 1 || s.Idle != 1 {
		t.Errorf("stats after failure = %+v, want the failed instance replaced by one", s)
	}
}

func TestTimeoutStopsGuest(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Timeout: 200 * time.Millisecond})
	_, err := a.Call(context.Background(), "loop", nil)
	if !errors.Is(err, abi.ErrTimeout) || abi.StatusOf(err) != abi.StatusTimeout {
		t.Fatalf("loop: err = %v, want timeout", err)
	}
	if !strings.Contains(err.Error(), "200ms") {
		t.Errorf("timeout error %q does not name the limit", err)
	}
	afterFailure(t, a)
}

func TestCallerDeadlineStopsGuest(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := a.Call(ctx, "loop", nil)
	if !errors.Is(err, abi.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("loop: err = %v, want timeout from the caller's deadline", err)
	}
	afterFailure(t, a)
}

func TestCallerCancelStopsGuest(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, "loop", nil)
		done <- err
	}()
	waitFor(t, "the loop to start", func() bool { return a.Stats().Busy == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || abi.StatusOf(err) != abi.StatusUnavailable {
		t.Fatalf("cancelled loop: err = %v, want unavailable wrapping context.Canceled", err)
	}
	afterFailure(t, a)
	if _, err := a.Call(ctx, "echo", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("call with a done context: err = %v", err)
	}
}

// TestLoopingGuestLetsGCRun checks that a guest spinning in native code
// does not stop the world: Go's garbage collector must be able to preempt
// its goroutine, or a single busy guest would freeze the whole host.
func TestLoopingGuestLetsGCRun(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, "loop", nil)
		done <- err
	}()
	waitFor(t, "the loop to start", func() bool { return a.Stats().Busy == 1 })
	runtime.GC()
	select {
	case err := <-done:
		t.Fatalf("the loop ended (%v) before the GC could finish", err)
	default:
	}
	cancel()
	<-done
}

func TestWaitForInstanceHonoursContext(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Instances: 1, Timeout: time.Hour})
	loopCtx, stopLoop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(loopCtx, "loop", nil)
		done <- err
	}()
	waitFor(t, "the only instance to be busy", func() bool { return a.Stats().Busy == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := a.Call(ctx, "echo", nil)
	if !errors.Is(err, abi.ErrTimeout) || !strings.Contains(err.Error(), "busy") {
		t.Errorf("call while the pool is full: err = %v, want timeout naming busy instances", err)
	}
	stopLoop()
	<-done
	afterFailure(t, a)
}

func TestMemoryLimit(t *testing.T) {
	a, sink := load(t, "testapp", nil, Limits{Memory: 32 << 20})
	_, err := a.Call(context.Background(), "grow", nil)
	if !errors.Is(err, abi.ErrLimit) || !strings.Contains(err.Error(), "32 MiB") {
		t.Fatalf("grow: err = %v, want limit naming 32 MiB", err)
	}
	// Guest stderr reaches the logger line by line, labelled.
	if got := sink.lines("app=testapp", "stream=stderr", "fatal error: out of memory"); len(got) != 1 {
		t.Errorf("logged Go's fatal error %d times:\n%s", len(got), sink)
	}
	afterFailure(t, a)
}

func TestMemoryLimitBelowModuleMinimum(t *testing.T) {
	r, _ := newTestRuntime(t)
	_, err := r.Load(context.Background(), "testapp", guest(t, "testapp"), nil, Limits{Memory: 1 << 20})
	if !errors.Is(err, abi.ErrLimit) || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("Load with 1 MiB: err = %v, want limit", err)
	}
}

func TestPayloadLimits(t *testing.T) {
	const limit = 4096
	a, _ := load(t, "testapp", nil, Limits{Payload: limit})
	call(t, a, "echo", make([]byte, limit))
	_, err := a.Call(context.Background(), "echo", make([]byte, limit+1))
	if !errors.Is(err, abi.ErrLimit) {
		t.Errorf("payload over the limit: err = %v, want limit", err)
	}
	_, err = a.Call(context.Background(), "big", fmt.Append(nil, limit+1))
	if !errors.Is(err, abi.ErrLimit) || !strings.Contains(err.Error(), "reply") {
		t.Errorf("reply over the limit: err = %v, want limit naming the reply", err)
	}
	if got := call(t, a, "big", fmt.Append(nil, limit)); len(got) != limit {
		t.Errorf("reply at the limit: %d bytes", len(got))
	}
	// An oversized reply is the guest's mistake, not a broken instance.
	if s := a.Stats(); s.Instances != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestTrapReplacesInstance(t *testing.T) {
	r, sink := newTestRuntime(t)
	a, err := r.Load(context.Background(), "trap", trapModule(), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := a.Call(context.Background(), "anything", nil)
		if !errors.Is(err, abi.ErrInternal) || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("trap: err = %v, want internal with the trap text", err)
		}
		if s := a.Stats(); s.Instances != 1 || s.Idle != 1 {
			t.Errorf("stats after trap = %+v", s)
		}
	}
	if strings.Contains(sink.String(), "level=ERROR") {
		t.Errorf("a guest trap logged an error:\n%s", sink)
	}
}

func TestLineWriterBounds(t *testing.T) {
	sink := &logSink{}
	w := newLineWriter(newTestLogger(sink), "stdout")
	w.begin()
	w.Write(bytes.Repeat([]byte("x"), 2*maxLineBytes+10))
	w.Write([]byte("a\nb"))
	w.Write([]byte("c\n"))
	for i := range maxLinesPerCall {
		fmt.Fprintf(w, "line %d\n", i)
	}
	w.end()
	logged := sink.lines(`msg="guest output"`)
	if len(logged) != maxLinesPerCall {
		t.Fatalf("logged %d lines, want the budget of %d", len(logged), maxLinesPerCall)
	}
	for i, want := range []string{"line=" + strings.Repeat("x", maxLineBytes), "", "line=xxxxxxxxxxa", "line=bc"} {
		if want != "" && !strings.HasSuffix(logged[i], want) {
			t.Errorf("line %d = %.80q..., want suffix %.40q", i, logged[i], want)
		}
	}
	if got := sink.lines("lines dropped", "dropped=4"); len(got) != 1 {
		t.Errorf("no report of the 4 dropped lines:\n%s", sink)
	}
	w.begin()
	w.Write([]byte("unfinished"))
	w.end()
	if got := sink.lines("line=unfinished"); len(got) != 1 {
		t.Errorf("unfinished line not flushed at the end of the call")
	}
}
