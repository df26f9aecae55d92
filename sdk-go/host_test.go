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
