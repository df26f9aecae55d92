//go:build !wasip1

package sdk

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// resetLifecycle clears the registered lifecycle handlers and the state
// the events recorded, now and after the test.
func resetLifecycle(t testing.TB) {
	reset := func() {
		onStart, onActive, onPassive, onStop = nil, nil, nil, nil
		onMemberJoin, onMemberLeave = nil, nil
		onOwn, onRelease = nil, nil
		onEvent = nil
		role = RoleNone
		clear(owned)
	}
	reset()
	t.Cleanup(reset)
}

// send delivers one event the way the host does: buffer, write, event.
func send(t testing.TB, h *memHost, kind int32, payload []byte) (Status, string) {
	t.Helper()
	p := inputBuffer(int32(len(payload)))
	copy(unsafe.Slice(p, len(payload)), payload)
	h.replies = h.replies[:0]
	st := event(kind, int32(len(payload)))
	var reply string
	if n := len(h.replies); n > 0 {
		reply = string(h.replies[n-1])
	}
	return st, reply
}

func parts(ps ...int) []byte {
	var b []byte
	for _, p := range ps {
		b = binary.LittleEndian.AppendUint32(b, uint32(p))
	}
	return b
}

func TestEventsWithoutHandlersSucceed(t *testing.T) {
	h := useHost(t)
	resetLifecycle(t)
	steps := []struct {
		kind    int32
		payload []byte
		role    Role
		owned   []int
	}{
		{eventStart, nil, RoleNone, nil},
		{eventPassive, nil, RolePassive, nil},
		{eventOwn, parts(1, 2, 7), RolePassive, []int{1, 2, 7}},
		{eventActive, nil, RoleActive, []int{1, 2, 7}},
		{eventMemberJoin, []byte("n2"), RoleActive, []int{1, 2, 7}},
		{eventRelease, parts(2, 9), RoleActive, []int{1, 7}},
		{eventMemberLeave, []byte("n2"), RoleActive, []int{1, 7}},
		{99, []byte("from a later host"), RoleActive, []int{1, 7}},
		{eventStop, nil, RoleActive, []int{1, 7}},
	}
	for _, s := range steps {
		if st, msg := send(t, h, s.kind, s.payload); st != StatusOK {
			t.Fatalf("event %d: %v %q", s.kind, st, msg)
		}
		if CurrentRole() != s.role || !slices.Equal(Owned(), s.owned) {
			t.Errorf("after event %d: role %v owned %v, want %v %v", s.kind, CurrentRole(), Owned(), s.role, s.owned)
		}
	}
	if !Owns(7) || Owns(2) {
		t.Errorf("Owns(7) = %v, Owns(2) = %v", Owns(7), Owns(2))
	}
}

func TestEventHandlersRun(t *testing.T) {
	h := useHost(t)
	resetLifecycle(t)
	var got []string
	note := func(s string) error { got = append(got, s); return nil }
	OnStart(func() error { return note("start " + CurrentRole().String()) })
	OnActive(func() error { return note("active, was " + CurrentRole().String()) })
	OnPassive(func() error { return note("passive") })
	OnStop(func() error { return note("stop") })
	OnMemberJoin(func(n string) error { return note("join " + n) })
	OnMemberLeave(func(n string) error { return note("leave " + n) })
	OnOwn(func(p []int) error {
		err := note(fmt.Sprint("own ", p, Owned()))
		p[0] = -1 // the handler's own copy
		return err
	})
	OnRelease(func(p []int) error { return note(fmt.Sprint("release ", p, Owned())) })

	for _, e := range []struct {
		kind    int32
		payload []byte
	}{
		{eventStart, nil}, {eventActive, nil}, {eventMemberJoin, []byte("node-2")},
		{eventOwn, parts(3, 4)}, {eventRelease, parts(3)}, {eventPassive, nil},
		{eventMemberLeave, []byte("node-2")}, {eventStop, nil},
	} {
		if st, msg := send(t, h, e.kind, e.payload); st != StatusOK {
			t.Fatalf("event %d: %v %q", e.kind, st, msg)
		}
	}
	want := []string{
		"start none", "active, was none", "join node-2", "own [3 4] []",
		"release [3] [3 4]", "passive", "leave node-2", "stop",
	}
	if !slices.Equal(got, want) {
		t.Errorf("handlers saw\n%q\nwant\n%q", got, want)
	}
	if !slices.Equal(Owned(), []int{4}) || CurrentRole() != RolePassive {
		t.Errorf("state: role %v owned %v", CurrentRole(), Owned())
	}
}

func TestEventRefused(t *testing.T) {
	h := useHost(t)
	resetLifecycle(t)
	OnActive(func() error { return fmt.Errorf("no backend: %w", ErrUnavailable) })
	OnOwn(func([]int) error { return &Error{Status: StatusLimit, Message: "too many"} })
	OnMemberJoin(func(string) error { panic("boom") })
	OnStart(func() error { return errors.New("plain") })

	tests := []struct {
		kind    int32
		payload []byte
		status  Status
		msg     string
	}{
		{eventActive, nil, StatusUnavailable, "no backend: unavailable"},
		{eventOwn, parts(1), StatusLimit, "too many"},
		{eventMemberJoin, []byte("n"), StatusInternal, "panic: boom"},
		{eventStart, nil, StatusInternal, "plain"},
		{eventOwn, []byte{1, 0, 0}, StatusInvalid, "malformed partitions payload"},
		{eventRelease, parts(2, 1), StatusInvalid, "malformed partitions payload"},
		{eventRelease, parts(1, 1), StatusInvalid, "malformed partitions payload"},
	}
	for _, tt := range tests {
		st, msg := send(t, h, tt.kind, tt.payload)
		if st != tt.status || msg != tt.msg {
			t.Errorf("event %d: %v %q, want %v %q", tt.kind, st, msg, tt.status, tt.msg)
		}
	}
	// A refused event changes nothing.
	if CurrentRole() != RoleNone || len(Owned()) != 0 {
		t.Errorf("after refusals: role %v owned %v", CurrentRole(), Owned())
	}
}

func TestEventBadLength(t *testing.T) {
	h := useHost(t)
	inputBuffer(10)
	for _, n := range []int32{-1, int32(len(input)) + 1, 0x7fffffff} {
		h.replies = nil
		if st := event(eventStart, n); st != StatusInvalid {
			t.Errorf("event(start, %d) = %v, want invalid", n, st)
		}
		if len(h.replies) != 1 || !strings.Contains(string(h.replies[0]), "input buffer") {
			t.Errorf("event(start, %d) replied %q", n, h.replies)
		}
	}
}

func TestRegisterLifecycleRejects(t *testing.T) {
	resetLifecycle(t)
	ok := func() error { return nil }
	OnActive(ok)
	tests := []struct {
		name string
		do   func()
		want string
	}{
		{"nil", func() { OnStart(nil) }, "sdk.OnStart: nil handler"},
		{"nil own", func() { OnOwn(nil) }, "sdk.OnOwn: nil handler"},
		{"twice", func() { OnActive(ok) }, "sdk.OnActive: registered twice"},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if r, _ := recover().(string); r != tt.want {
					t.Errorf("%s: panic %q, want %q", tt.name, r, tt.want)
				}
			}()
			tt.do()
		}()
	}
}

// The partitions encoding is shared by every host and SDK; its golden
// vectors live with the host's contract.
const partitionVectors = "../abi/testdata/partitions.txt"

func TestPartitionsGolden(t *testing.T) {
	f, err := os.Open(partitionVectors)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SKIP: %s not found: the SDK is outside the go-cluster repository", partitionVectors)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	vectors := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		vectors++
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("line %d: %q", n, line)
		}
		var b []byte
		if fields[1] != "-" {
			if b, err = hex.DecodeString(fields[1]); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		}
		got, err := decodePartitions(b)
		if fields[0] == "bad" {
			if err == nil {
				t.Errorf("line %d: decodePartitions(%x) = %v, want an error", n, b, got)
			}
			continue
		}
		var want []int
		if fields[2] != "-" {
			for _, s := range strings.Split(fields[2], ",") {
				p, perr := strconv.Atoi(s)
				if perr != nil {
					t.Fatalf("line %d: %v", n, perr)
				}
				want = append(want, p)
			}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("line %d: decodePartitions(%x) = %v, %v; want %v", n, b, got, err, want)
		}
	}
	if vectors == 0 {
		t.Fatal("no vectors read")
	}
}
