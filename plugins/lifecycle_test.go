package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// report is testapp's answer to "events": the lifecycle events an
// instance received, and the role and partitions the SDK kept from them.
type report struct {
	Events []string `json:"events"`
	Role   string   `json:"role"`
	Owned  []int    `json:"owned"`
}

func (r report) String() string { return fmt.Sprintf("%q role=%s owned=%v", r.Events, r.Role, r.Owned) }

func parseReport(t *testing.T, out []byte) report {
	t.Helper()
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("events reply %q: %v", out, err)
	}
	return r
}

// reports asks every instance of a for its report. It holds every slot,
// so no call or notification runs meanwhile.
func reports(t *testing.T, a *App) []report {
	t.Helper()
	for range cap(a.pool.slots) {
		a.pool.slots <- struct{}{}
	}
	defer func() {
		for range cap(a.pool.slots) {
			<-a.pool.slots
		}
	}()
	a.pool.mu.Lock()
	idle := slices.Clone(a.pool.idle)
	a.pool.mu.Unlock()
	var out []report
	for _, in := range idle {
		b, err := in.call(context.Background(), "events", nil)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		out = append(out, parseReport(t, b))
	}
	return out
}

// wantReports checks that a has n instances and that each reports want.
func wantReports(t *testing.T, a *App, n int, want report) {
	t.Helper()
	got := reports(t, a)
	if len(got) != n {
		t.Fatalf("%d instances, want %d: %v", len(got), n, got)
	}
	for i, r := range got {
		if r.String() != want.String() {
			t.Errorf("instance %d: %v\nwant        %v", i, r, want)
		}
	}
}

// holder keeps testapp's "events hold" calls waiting in the host, each in
// an instance of its own, until released.
type holder struct {
	arrived chan struct{}
	mu      sync.Mutex
	release chan struct{}
}

func newHolder(caps *fakeCaps) *holder {
	h := &holder{arrived: make(chan struct{}, 64)}
	caps.kvGate = func() {
		h.mu.Lock()
		release := h.release
		h.mu.Unlock()
		h.arrived <- struct{}{}
		<-release
	}
	return h
}

// hold starts n held calls and waits until all of them are in the host.
// The returned func releases them and returns what each replied: the
// events its instance had received when the call began.
func (h *holder) hold(t *testing.T, a *App, n int) func() []report {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	// A failing test must not leave calls held: closing the runtime would
	// wait for them.
	t.Cleanup(let)
	h.mu.Lock()
	h.release = release
	h.mu.Unlock()
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			out, err := a.Call(context.Background(), "events", []byte("hold"))
			results <- result{out, err}
		}()
	}
	for i := range n {
		select {
		case <-h.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d calls reached the host", i, n)
		}
	}
	return func() []report {
		let()
		var out []report
		for range n {
			r := <-results
			if r.err != nil {
				t.Fatalf("held call: %v", r.err)
			}
			out = append(out, parseReport(t, r.out))
		}
		return out
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestLifecycleReachesEveryInstanceInOrder(t *testing.T) {
	caps := newFakeCaps()
	h := newHolder(caps)
	a, _ := load(t, "testapp", caps, Limits{Instances: 3})
	h.hold(t, a, 3)() // grow the pool to three instances
	ctx := context.Background()

	must(t, "Activate", a.Activate(ctx))
	must(t, "Activate again", a.Activate(ctx)) // already told: nothing new
	must(t, "MemberJoined", a.MemberJoined(ctx, "n2"))
	must(t, "Own", a.Own(ctx, []int{3, 1, 3}))
	must(t, "Own again", a.Own(ctx, []int{1}))
	must(t, "Release", a.Release(ctx, []int{1, 8}))
	must(t, "MemberLeft", a.MemberLeft(ctx, "n2"))
	must(t, "Deactivate", a.Deactivate(ctx))

	wantReports(t, a, 3, report{
		Events: []string{"start", "active", "member_join n2", "own 1,3", "release 1", "member_leave n2", "passive"},
		Role:   "passive", Owned: []int{3},
	})
	if a.Role() != RolePassive || !slices.Equal(a.Owned(), []int{3}) {
		t.Errorf("app state: %v %v", a.Role(), a.Owned())
	}
}

func TestNewInstancesCatchUpBeforeServing(t *testing.T) {
	caps := newFakeCaps()
	h := newHolder(caps)
	a, _ := load(t, "testapp", caps, Limits{Instances: 3})
	ctx := context.Background()
	must(t, "Activate", a.Activate(ctx))
	must(t, "Own", a.Own(ctx, []int{7, 5}))
	must(t, "MemberJoined", a.MemberJoined(ctx, "n0"))

	// Three calls at once: two run in instances started for them. Each
	// reply holds what its instance had been told when the call began.
	got := h.hold(t, a, 3)()
	caughtUp := report{Events: []string{"start", "active", "own 5,7"}, Role: "active", Owned: []int{5, 7}}
	warm := caughtUp
	warm.Events = append(slices.Clone(caughtUp.Events), "member_join n0")
	var fresh, old int
	for _, r := range got {
		switch r.String() {
		case caughtUp.String():
			fresh++ // member events are news: not replayed
		case warm.String():
			old++
		default:
			t.Errorf("instance served a call in state %v", r)
		}
	}
	if fresh != 2 || old != 1 {
		t.Errorf("%d new and %d old instances, want 2 and 1", fresh, old)
	}
}

func TestReplacementCatchesUp(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	must(t, "Deactivate", a.Deactivate(ctx))
	must(t, "Own", a.Own(ctx, []int{2}))
	if _, err := a.Call(ctx, "loop", nil); !errors.Is(err, abi.ErrTimeout) {
		t.Fatalf("loop: %v, want timeout", err)
	}
	r := parseReport(t, call(t, a, "events", nil))
	want := report{Events: []string{"start", "passive", "own 2"}, Role: "passive", Owned: []int{2}}
	if r.String() != want.String() {
		t.Errorf("replacement: %v\nwant         %v", r, want)
	}
}

func TestRefusedEvents(t *testing.T) {
	caps := newFakeCaps()
	caps.config["fail_on"] = "active,own"
	a, _ := load(t, "testapp", caps, Limits{})
	ctx := context.Background()

	err := a.Activate(ctx)
	var ge *abi.Error
	if !errors.As(err, &ge) || ge.Status != abi.StatusUnavailable || ge.Message != "testapp refuses active" {
		t.Fatalf("Activate refused: err = %v, want the guest's unavailable status and message", err)
	}
	if a.Role() != RoleActive {
		t.Errorf("role after a refused Activate = %v, want the one asked for", a.Role())
	}
	// Stepping down reaches the instance that refused: it was never told
	// it is active, and it is told it is passive now.
	must(t, "Deactivate", a.Deactivate(ctx))
	if err := a.Own(ctx, []int{1}); abi.StatusOf(err) != abi.StatusUnavailable {
		t.Errorf("Own refused: err = %v", err)
	}
	must(t, "Release", a.Release(ctx, []int{1})) // never owned there: nothing to tell
	wantReports(t, a, 1, report{Events: []string{"start", "passive"}, Role: "passive"})
}

func TestRefusedStartFailsLoad(t *testing.T) {
	caps := newFakeCaps()
	caps.config["fail_on"] = "start"
	r, _ := newTestRuntime(t)
	_, err := r.Load(context.Background(), "testapp", guest(t, "testapp"), caps, Limits{})
	if abi.StatusOf(err) != abi.StatusUnavailable || !strings.Contains(err.Error(), "testapp refuses start") {
		t.Fatalf("Load of a guest refusing to start: err = %v", err)
	}
}

func TestEventTimeoutReplacesInstance(t *testing.T) {
	caps := newFakeCaps()
	caps.config["loop_on"] = "member_join"
	a, _ := load(t, "testapp", caps, Limits{Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	err := a.MemberJoined(ctx, "n2")
	if !errors.Is(err, abi.ErrTimeout) || !strings.Contains(err.Error(), "on_member_join") {
		t.Fatalf("MemberJoined into a looping handler: err = %v, want timeout naming on_member_join", err)
	}
	must(t, "Activate", a.Activate(ctx))
	wantReports(t, a, 1, report{Events: []string{"start", "active"}, Role: "active"})
}

func TestEventsNeedNoExport(t *testing.T) {
	a, _ := load(t, "raw", nil, Limits{})
	ctx := context.Background()
	must(t, "Activate", a.Activate(ctx))
	must(t, "Own", a.Own(ctx, []int{1, 2}))
	must(t, "Release", a.Release(ctx, []int{2}))
	must(t, "MemberJoined", a.MemberJoined(ctx, "n2"))
	must(t, "MemberLeft", a.MemberLeft(ctx, "n2"))
	must(t, "Deactivate", a.Deactivate(ctx))
	if got := call(t, a, "echo", []byte("still")); string(got) != "still" {
		t.Errorf("echo = %q", got)
	}
	if a.Role() != RolePassive || !slices.Equal(a.Owned(), []int{1}) {
		t.Errorf("state: %v %v", a.Role(), a.Owned())
	}
	must(t, "Close", a.Close(ctx))
}

// TestEventStatusWithoutSDK speaks the export's contract directly: a guest
// status without a reply is an *abi.Error with that status.
func TestEventStatusWithoutSDK(t *testing.T) {
	r, _ := newTestRuntime(t)
	a, err := r.Load(context.Background(), "denies", eventModule(0x41, byte(abi.StatusDenied)), nil, Limits{})
	if abi.StatusOf(err) != abi.StatusDenied {
		t.Fatalf("Load of a guest denying on_start: err = %v, want denied", err)
	}
	a, err = r.Load(context.Background(), "accepts", eventModule(0x41, 0x00), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, "Activate", a.Activate(context.Background()))
}

func TestNotificationWaitsForBusyInstance(t *testing.T) {
	caps := newFakeCaps()
	h := newHolder(caps)
	a, _ := load(t, "testapp", caps, Limits{Instances: 2})
	h.hold(t, a, 2)() // two instances
	release := h.hold(t, a, 1)

	done := make(chan error, 1)
	go func() { done <- a.Activate(context.Background()) }()
	waitFor(t, "Activate to wait for the busy instance", func() bool {
		a.pool.mu.Lock()
		defer a.pool.mu.Unlock()
		return a.pool.waiting == 1
	})
	select {
	case err := <-done:
		t.Fatalf("Activate returned %v while an instance was busy", err)
	default:
	}
	got := release()
	if got[0].String() != (report{Events: []string{"start"}, Role: "none"}).String() {
		t.Errorf("busy instance during Activate: %v", got[0])
	}
	must(t, "Activate", <-done)
	wantReports(t, a, 2, report{Events: []string{"start", "active"}, Role: "active"})
}

func TestNotificationsBetweenConcurrentCalls(t *testing.T) {
	const instances, callers, rounds = 3, 4, 10
	a, _ := load(t, "testapp", nil, Limits{Instances: instances})
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := a.Call(ctx, "echo", []byte("x")); err != nil {
					t.Errorf("echo: %v", err)
					return
				}
			}
		})
	}
	for i := range rounds {
		must(t, "Activate", a.Activate(ctx))
		must(t, "Own", a.Own(ctx, []int{i}))
		must(t, "Deactivate", a.Deactivate(ctx))
		must(t, "Release", a.Release(ctx, []int{i}))
	}
	close(stop)
	wg.Wait()
	for i, r := range reports(t, a) {
		for _, e := range r.Events {
			if strings.HasPrefix(e, "overlap") {
				t.Errorf("instance %d received an event during a call: %v", i, r)
			}
		}
		if r.Role != "passive" || len(r.Owned) != 0 {
			t.Errorf("instance %d ends %v", i, r)
		}
	}
}

func TestCloseStopsEveryInstance(t *testing.T) {
	caps := newFakeCaps()
	h := newHolder(caps)
	a, _ := load(t, "testapp", caps, Limits{Instances: 2})
	h.hold(t, a, 2)()
	release := h.hold(t, a, 1)

	closed := make(chan error, 1)
	go func() { closed <- a.Close(context.Background()) }()
	waitFor(t, "new calls and notifications to be refused", func() bool {
		return errors.Is(a.Activate(context.Background()), ErrClosed)
	})
	release()
	must(t, "Close", <-closed)
	stops := 0
	for _, l := range caps.loggedMessages() {
		if l.msg == "testapp stop" {
			stops++
		}
	}
	if stops != 2 {
		t.Errorf("%d instances were told to stop, want 2 (the busy one after its call)", stops)
	}
}

func TestOwnRefusesBadPartitions(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	for _, bad := range [][]int{{-1}, {1, 1 << 32}} {
		if err := a.Own(context.Background(), bad); !errors.Is(err, abi.ErrInvalid) {
			t.Errorf("Own(%v): %v, want invalid", bad, err)
		}
	}
	if err := a.MemberJoined(context.Background(), ""); !errors.Is(err, abi.ErrInvalid) {
		t.Errorf("MemberJoined(\"\"): %v, want invalid", err)
	}
	if len(a.Owned()) != 0 {
		t.Errorf("owned after refusals: %v", a.Owned())
	}
}

func TestPartitionSetAlgebra(t *testing.T) {
	a, b := []int{1, 3, 5, 7}, []int{2, 3, 7, 9}
	if got := union(a, b); !slices.Equal(got, []int{1, 2, 3, 5, 7, 9}) {
		t.Errorf("union = %v", got)
	}
	if got := minus(a, b); !slices.Equal(got, []int{1, 5}) {
		t.Errorf("minus = %v", got)
	}
	if got := minus(b, nil); !slices.Equal(got, b) {
		t.Errorf("minus nothing = %v", got)
	}
	if got := union(nil, nil); len(got) != 0 {
		t.Errorf("union of nothing = %v", got)
	}
}
