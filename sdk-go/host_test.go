//go:build !wasip1

package sdk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	h := useHost(t)
	h.conf["greeting"] = "Hello"
	h.conf["empty"] = ""
	h.conf["big"] = strings.Repeat("c", scratchSize+1)
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{"greeting", "Hello", true},
		{"empty", "", true},
		{"big", h.conf["big"], true},
		{"absent", "", false},
	}
	for _, tt := range tests {
		got, ok := Config(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Config(%q) = %.20q %v, want %.20q %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
	if h.takes != 1 {
		t.Errorf("take called %d times, want 1", h.takes)
	}
}

func TestTakeFailure(t *testing.T) {
	h := &takeFails{memHost: useHost(t)}
	testHost = h
	h.conf["big"] = strings.Repeat("c", scratchSize+1)
	if _, ok := Config("big"); ok {
		t.Error("Config must report false when take fails")
	}
	if _, err := KVPut("k", []byte(h.conf["big"])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := KVGet("k"); !errors.Is(err, ErrInvalid) {
		t.Errorf("get with failing take: %v", err)
	}
}

// takeFails is a host whose take always answers INVALID.
type takeFails struct{ *memHost }

func (takeFails) take([]byte) int32 { return invalid }

func TestLog(t *testing.T) {
	h := useHost(t)
	LogDebug("d")
	LogInfo("i")
	LogWarn("w")
	LogError("e")
	Log(Level(7), "odd level")
	Logf(LevelInfo, "n=%d s=%q", 3, "x")
	want := []memLog{
		{int32(LevelDebug), "d"}, {int32(LevelInfo), "i"}, {int32(LevelWarn), "w"},
		{int32(LevelError), "e"}, {7, "odd level"}, {int32(LevelInfo), `n=3 s="x"`},
	}
	if fmt.Sprint(h.logs) != fmt.Sprint(want) {
		t.Errorf("logs = %v, want %v", h.logs, want)
	}
}

func TestABIVersion(t *testing.T) {
	h := useHost(t)
	if v := ABIVersion(); v != version {
		t.Errorf("ABIVersion = %d, want %d", v, version)
	}
	h.version = 2
	if v := ABIVersion(); v != 2 {
		t.Errorf("ABIVersion = %d, want 2", v)
	}
}

// Every host function's error carries the host's message when it has one,
// and stays the bare sentinel when it has none.
func TestHostErrorMessages(t *testing.T) {
	h := useHost(t)
	h.fail, h.errMsg = -int32(StatusDenied), "the manifest grants no kv"
	_, _, err := KVGet("k")
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusDenied || err.Error() != h.errMsg || !errors.Is(err, ErrDenied) {
		t.Errorf("KVGet: %#v, want StatusDenied with the host's message", err)
	}
	if _, err := KVKeys(""); err == nil || err.Error() != h.errMsg {
		t.Errorf("KVKeys: %v", err)
	}
	h.fail, h.errMsg = 0, "unused"
	if _, _, err := KVGet("absent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("KVGet absent: %v", err)
	}
	for _, msg := range []string{"", "not found"} {
		h.errMsg = msg
		if _, _, err := KVGet("absent"); err != ErrNotFound {
			t.Errorf("KVGet absent with message %q: %#v, want the sentinel itself", msg, err)
		}
	}

	// A callee's message passes through a call, however long.
	long := strings.Repeat("m", scratchSize+10)
	h.callFail, h.errMsg = -int32(StatusNotFound), long
	if _, err := Call("users", "get", nil); !errors.Is(err, ErrNotFound) || err.Error() != long || StatusOf(err) != StatusNotFound {
		t.Errorf("Call: %.40v", err)
	}

	// A status this SDK does not know is internal and keeps the message.
	h.callFail, h.errMsg = -99, "from a later host"
	if _, err := Call("users", "get", nil); !errors.Is(err, ErrInternal) || err.Error() != "host returned unknown status(99): from a later host" {
		t.Errorf("Call with an unknown status: %v", err)
	}
}

// lastError asks only after a failure, and a failing take reports no
// message of its own.
func TestLastErrorOnlyAfterFailure(t *testing.T) {
	h := useHost(t)
	h.conf["big"] = strings.Repeat("c", scratchSize+1)
	if _, err := KVPut("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := KVGet("k"); err != nil {
		t.Fatal(err)
	}
	if h.lastErrors != 0 {
		t.Errorf("successful calls asked for the last error %d times", h.lastErrors)
	}
	tf := &takeFails{memHost: h}
	testHost = tf
	h.errMsg = "not this one"
	if _, err := KVPut("big", []byte(h.conf["big"])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := KVGet("big"); err != ErrInvalid {
		t.Errorf("KVGet with a failing take: %#v, want the bare sentinel", err)
	}
	if h.lastErrors != 0 {
		t.Errorf("a failing take asked for the last error %d times", h.lastErrors)
	}
}

// A message that take cannot fetch is no message: the error is the
// status's sentinel.
func TestLastErrorTakeFails(t *testing.T) {
	h := useHost(t)
	testHost = &takeFails{memHost: h}
	h.fail, h.errMsg = -int32(StatusConflict), strings.Repeat("x", scratchSize+1)
	if _, err := KVCreate("k", nil); err != ErrConflict {
		t.Errorf("KVCreate: %#v, want ErrConflict itself", err)
	}
}
