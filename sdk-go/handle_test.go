//go:build !wasip1

package sdk

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// register adds a handler for the duration of the test.
func register(t testing.TB, method string, h Handler) {
	t.Helper()
	Handle(method, h)
	t.Cleanup(func() { delete(handlers, method) })
}

// call runs one API call the way the host does: buffer, write, handle.
func call(t testing.TB, h *memHost, method string, payload []byte) (Status, []byte) {
	t.Helper()
	size := len(method) + len(payload)
	p := inputBuffer(int32(size))
	if p == nil {
		t.Fatalf("inputBuffer(%d) = nil", size)
	}
	buf := unsafe.Slice(p, size)
	copy(buf, method)
	copy(buf[len(method):], payload)
	h.replies = h.replies[:0]
	st := dispatch(int32(len(method)), int32(len(payload)))
	var reply []byte
	if n := len(h.replies); n > 0 {
		reply = h.replies[n-1]
	}
	return st, reply
}

func TestDispatchReplies(t *testing.T) {
	h := useHost(t)
	register(t, "t.echo", func(p []byte) ([]byte, error) { return p, nil })
	register(t, "t.empty", func(p []byte) ([]byte, error) { return nil, nil })
	tests := []struct {
		method  string
		payload []byte
		want    []byte
	}{
		{"t.echo", []byte("hello"), []byte("hello")},
		{"t.echo", nil, nil},
		{"t.echo", []byte{0, 0xff, '.', '*', '>'}, []byte{0, 0xff, '.', '*', '>'}},
		{"t.echo", bytes.Repeat([]byte("x"), 3*minInput+1), bytes.Repeat([]byte("x"), 3*minInput+1)},
		{"t.empty", []byte("ignored"), nil},
	}
	for _, tt := range tests {
		st, got := call(t, h, tt.method, tt.payload)
		if st != StatusOK || !bytes.Equal(got, tt.want) {
			t.Errorf("%s(%.20q) = %v %.20q, want ok %.20q", tt.method, tt.payload, st, got, tt.want)
		}
	}
}

type customErr struct{}

func (customErr) Error() string { return "custom" }

func TestDispatchErrors(t *testing.T) {
	h := useHost(t)
	var ret error
	register(t, "t.err", func([]byte) ([]byte, error) { return []byte("discarded"), ret })
	tests := []struct {
		err     error
		status  Status
		message string
	}{
		{ErrNotFound, StatusNotFound, "not found"},
		{fmt.Errorf("user 7: %w", ErrConflict), StatusConflict, "user 7: conflict"},
		{&Error{Status: StatusDenied, Message: "no kv"}, StatusDenied, "no kv"},
		{&Error{Status: StatusLimit}, StatusLimit, "limit exceeded"},
		{fmt.Errorf("outer: %w", NewError(StatusTimeout, "slow")), StatusTimeout, "outer: slow"},
		{errors.Join(customErr{}, ErrInvalid), StatusInvalid, "custom\ninvalid"},
		{customErr{}, StatusInternal, "custom"},
		{&Error{Status: StatusOK, Message: "ok?"}, StatusInternal, "ok?"},
		{&Error{Status: 42, Message: "future"}, StatusInternal, "future"},
	}
	for _, tt := range tests {
		ret = tt.err
		st, msg := call(t, h, "t.err", nil)
		if st != tt.status || string(msg) != tt.message {
			t.Errorf("error %#v: got %v %q, want %v %q", tt.err, st, msg, tt.status, tt.message)
		}
	}
}

func TestDispatchUnknownMethod(t *testing.T) {
	h := useHost(t)
	st, msg := call(t, h, "t.nope", []byte("x"))
	if st != StatusNotFound || string(msg) != "no handler for method t.nope" {
		t.Fatalf("got %v %q", st, msg)
	}
}

func TestDispatchPanics(t *testing.T) {
	h := useHost(t)
	var do func()
	register(t, "t.panic", func([]byte) ([]byte, error) { do(); return nil, nil })
	register(t, "t.after", func([]byte) ([]byte, error) { return []byte("alive"), nil })
	tests := []struct {
		name string
		do   func()
		want string
	}{
		{"string", func() { panic("boom") }, "panic: boom"},
		{"error", func() { panic(ErrConflict) }, "panic: conflict"},
		{"int", func() { panic(42) }, "panic: 42"},
		{"nil deref", func() {
			var p *int
			_ = *p
		}, "panic: runtime error: invalid memory address or nil pointer dereference"},
		{"index", func() {
			var s []int
			i := 3
			_ = s[i]
		}, "panic: runtime error: index out of range [3] with length 0"},
	}
	for _, tt := range tests {
		do = tt.do
		st, msg := call(t, h, "t.panic", nil)
		if st != StatusInternal || string(msg) != tt.want {
			t.Errorf("%s: got %v %q, want internal %q", tt.name, st, msg, tt.want)
		}
		if st, msg := call(t, h, "t.after", nil); st != StatusOK || string(msg) != "alive" {
			t.Errorf("after %s panic: got %v %q", tt.name, st, msg)
		}
	}
}

func TestDispatchBadLengths(t *testing.T) {
	h := useHost(t)
	register(t, "t.echo2", func(p []byte) ([]byte, error) { return p, nil })
	inputBuffer(10)
	tests := []struct{ method, payload int32 }{
		{-1, 0},
		{0, -1},
		{int32(len(input)), 1},
		{1 << 30, 1 << 30},
		{0x7fffffff, 0x7fffffff},
	}
	for _, tt := range tests {
		h.replies = nil
		if st := dispatch(tt.method, tt.payload); st != StatusInvalid {
			t.Errorf("dispatch(%d, %d) = %v, want invalid", tt.method, tt.payload, st)
		}
		if len(h.replies) != 1 || !strings.Contains(string(h.replies[0]), "input buffer") {
			t.Errorf("dispatch(%d, %d) replied %q", tt.method, tt.payload, h.replies)
		}
	}
}

func TestInputBuffer(t *testing.T) {
	input = nil // as in a new instance, whatever ran before
	if inputBuffer(-1) != nil {
		t.Error("negative size must answer nil")
	}
	p := inputBuffer(0)
	if p == nil || len(input) < minInput {
		t.Fatalf("inputBuffer(0) = %p with %d bytes", p, len(input))
	}
	if q := inputBuffer(int32(len(input))); q != p {
		t.Error("a size that fits must reuse the buffer")
	}
	big := int32(len(input) + 1)
	q := inputBuffer(big)
	if len(input) < int(big) || len(input)%minInput != 0 {
		t.Errorf("inputBuffer(%d) gave %d bytes", big, len(input))
	}
	if r := inputBuffer(1); r != q {
		t.Error("a smaller size must keep the grown buffer")
	}
}

func TestHandleRejects(t *testing.T) {
	register(t, "t.dup", func(p []byte) ([]byte, error) { return p, nil })
	ok := func(p []byte) ([]byte, error) { return p, nil }
	tests := []struct {
		name   string
		method string
		h      Handler
		want   string
	}{
		{"empty", "", ok, "empty method"},
		{"long", strings.Repeat("m", MaxMethodLen+1), ok, "longer than"},
		{"nil", "t.nil", nil, "nil handler"},
		{"dup", "t.dup", ok, "registered twice"},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tt.want) {
					t.Errorf("%s: panic %v, want %q", tt.name, r, tt.want)
				}
			}()
			Handle(tt.method, tt.h)
		}()
	}
	Handle(strings.Repeat("m", MaxMethodLen), ok) // the longest name is fine
	delete(handlers, strings.Repeat("m", MaxMethodLen))
}

func TestDispatchDoesNotAllocate(t *testing.T) {
	h := useHost(t)
	register(t, "t.fast", func(p []byte) ([]byte, error) { return p, nil })
	payload := []byte("payload")
	allocs := testing.AllocsPerRun(100, func() {
		p := unsafe.Slice(inputBuffer(int32(6+len(payload))), 6+len(payload))
		copy(p, "t.fast")
		copy(p[6:], payload)
		h.replies = h.replies[:0]
		if st := dispatch(6, int32(len(payload))); st != StatusOK {
			t.Fatal(st)
		}
	})
	// The only allocation is the fake host's copy of the reply.
	if allocs > 1 {
		t.Errorf("dispatch allocated %v times per call", allocs)
	}
}
