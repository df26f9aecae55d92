//go:build !wasip1

package sdk

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// memCall is one call the memHost received.
type memCall struct {
	app, method, key string
	payload          []byte
	timeoutMS        int32
}

func (h *memHost) call(app, method, payload, key []byte, timeoutMS int32, out []byte) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	h.calls = append(h.calls, memCall{string(app), string(method), string(key), bytes.Clone(payload), timeoutMS})
	if h.callFail != 0 {
		return h.callFail
	}
	return h.out(h.callReply, out)
}

func TestCall(t *testing.T) {
	h := useHost(t)
	h.callReply = []byte("pong")
	out, err := Call("users", "get", []byte("ping"), WithKey("k1"), WithTimeout(1500*time.Microsecond))
	if err != nil || string(out) != "pong" {
		t.Fatalf("Call = %q, %v", out, err)
	}
	want := memCall{"users", "get", "k1", []byte("ping"), 2}
	if len(h.calls) != 1 || h.calls[0].app != want.app || h.calls[0].method != want.method ||
		h.calls[0].key != want.key || !bytes.Equal(h.calls[0].payload, want.payload) || h.calls[0].timeoutMS != 2 {
		t.Errorf("host saw %+v, want %+v", h.calls, want)
	}
	if _, err := Call("users", "get", nil); err != nil || h.calls[1].timeoutMS != 0 || h.calls[1].key != "" {
		t.Errorf("a call without options: %v, host saw %+v", err, h.calls[1])
	}
	// The longest Duration is capped, not wrapped to a negative count.
	if _, err := Call("users", "get", nil, WithTimeout(math.MaxInt64)); err != nil || h.calls[2].timeoutMS != math.MaxInt32 {
		t.Errorf("a call with the longest timeout: %v, host saw %+v", err, h.calls[2])
	}
}

func TestCallBigReplyIsTaken(t *testing.T) {
	h := useHost(t)
	h.callReply = bytes.Repeat([]byte("x"), scratchSize+1)
	out, err := Call("users", "dump", nil)
	if err != nil || !bytes.Equal(out, h.callReply) {
		t.Fatalf("Call = %d bytes, %v", len(out), err)
	}
	if h.takes != 1 {
		t.Errorf("takes = %d, want 1", h.takes)
	}
}

func TestCallErrors(t *testing.T) {
	h := useHost(t)
	h.callFail = -int32(StatusDenied)
	if _, err := Call("other", "get", nil); !errors.Is(err, ErrDenied) {
		t.Errorf("denied call: %v", err)
	}
	h.callFail = -int32(StatusNotFound)
	if _, err := Call("other", "get", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("a callee's not found: %v", err)
	}
	for _, tc := range []struct {
		app, method, key string
	}{
		{"", "get", ""},
		{strings.Repeat("a", MaxAppNameLen+1), "get", ""},
		{"users", "", ""},
		{"users", strings.Repeat("m", MaxMethodLen+1), ""},
		{"users", "get", strings.Repeat("k", MaxKeyLen+1)},
	} {
		n := len(h.calls)
		if _, err := Call(tc.app, tc.method, nil, WithKey(tc.key)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Call(%q, %q, key %d bytes): %v, want ErrInvalid", tc.app, tc.method, len(tc.key), err)
		}
		if len(h.calls) != n {
			t.Errorf("Call(%q, %q) reached the host", tc.app, tc.method)
		}
	}
}

func TestCallWithoutHost(t *testing.T) {
	if _, err := Call("users", "get", nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Call without a host: %v", err)
	}
}
