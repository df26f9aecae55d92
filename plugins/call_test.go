package plugins

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// callReq is a testapp call request; fields are JSON without braces.
func callReq(fields string) []byte { return []byte("{" + fields + "}") }

func TestCallReachesCapability(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})
	out := call(t, a, "call", callReq(`"app":"users","method":"get","payload":"ann","key":"k1","timeout_ms":250`))
	if string(out) != "users.get(ann)" {
		t.Errorf("reply = %q", out)
	}
	got := caps.receivedCalls()
	want := fakeCall{"users", "get", "ann", "k1", 250 * time.Millisecond, true}
	if len(got) != 1 || got[0] != want {
		t.Errorf("capability saw %+v, want %+v", got, want)
	}
	call(t, a, "call", callReq(`"app":"users","method":"get"`))
	if got := caps.receivedCalls(); len(got) != 2 || got[1].key != "" || got[1].timeout != 0 || !got[1].hadDeadline {
		t.Errorf("a call without key or timeout reached the capability as %+v", got[1])
	}
}

func TestCallBigReplyIsTaken(t *testing.T) {
	caps := newFakeCaps()
	big := bytes.Repeat([]byte("z"), 100<<10)
	caps.callFn = func(string, string, []byte) ([]byte, error) { return big, nil }
	a, _ := load(t, "testapp", caps, Limits{})
	if out := call(t, a, "call", callReq(`"app":"users","method":"dump"`)); !bytes.Equal(out, big) {
		t.Errorf("reply of %d bytes, want %d", len(out), len(big))
	}
}

// TestCallErrorPassesThrough: the callee's status reaches the caller's
// guest, which returns it, so the outer caller sees the same status.
func TestCallErrorPassesThrough(t *testing.T) {
	for _, s := range []abi.Status{abi.StatusNotFound, abi.StatusConflict, abi.StatusInternal, abi.StatusTimeout} {
		caps := newFakeCaps()
		caps.callFn = func(string, string, []byte) ([]byte, error) {
			return nil, abi.NewError(s, "from the callee")
		}
		a, _ := load(t, "testapp", caps, Limits{})
		_, err := a.Call(context.Background(), "call", callReq(`"app":"users","method":"get"`))
		if !errors.Is(err, s.Err()) {
			t.Errorf("callee answered %v; caller got %v", s, err)
		}
	}
}

func TestCallLimits(t *testing.T) {
	caps := newFakeCaps()
	caps.callFn = func(string, string, []byte) ([]byte, error) { return []byte("ok"), nil }
	a, _ := load(t, "testapp", caps, Limits{Payload: 1024})
	if _, err := a.Call(context.Background(), "call", callReq(`"app":"users","method":"get","payload_size":1024`)); err != nil {
		t.Fatalf("a call at the limit: %v", err)
	}
	_, err := a.Call(context.Background(), "call", callReq(`"app":"users","method":"get","payload_size":1025`))
	if !errors.Is(err, abi.ErrLimit) {
		t.Errorf("a payload over the caller's limit: %v, want limit", err)
	}
	if n := len(caps.receivedCalls()); n != 1 {
		t.Errorf("%d calls reached the capability, want only the one within the limit", n)
	}
	caps.callFn = func(string, string, []byte) ([]byte, error) { return make([]byte, 1025), nil }
	_, err = a.Call(context.Background(), "call", callReq(`"app":"users","method":"get"`))
	if !errors.Is(err, abi.ErrLimit) {
		t.Errorf("a reply over the caller's payload limit: %v, want limit", err)
	}
}

func TestCallWithoutCapabilitiesIsDenied(t *testing.T) {
	a, _ := load(t, "testapp", nil, Limits{})
	_, err := a.Call(context.Background(), "call", callReq(`"app":"users","method":"get"`))
	if !errors.Is(err, abi.ErrDenied) {
		t.Errorf("call without capabilities: %v, want denied", err)
	}
}
