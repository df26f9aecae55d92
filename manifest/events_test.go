package manifest

import (
	"errors"
	"slices"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
)

func TestParseSubscription(t *testing.T) {
	for _, tc := range []struct{ in, app, event string }{
		{"other.updated", "other", "updated"},
		{"other.*", "other", AllEvents},
		{"platform.node_join", layout.PlatformApp, EventNodeJoin},
		{"platform.undeploy", layout.PlatformApp, EventUndeploy},
		{"platform.*", layout.PlatformApp, AllEvents},
	} {
		app, event, err := ParseSubscription(tc.in)
		if err != nil || app != tc.app || event != tc.event {
			t.Errorf("ParseSubscription(%q) = %q, %q, %v; want %q, %q", tc.in, app, event, err, tc.app, tc.event)
		}
	}
	for _, in := range []string{"", "other", "other.", ".x", "other.a.b", "other.>", "Other.x", "other.*x",
		"platform.foo", "platform.>", "platform", "o.x y", "o.\x00"} {
		app, event, err := ParseSubscription(in)
		if err == nil || app != "" || event != "" {
			t.Errorf("ParseSubscription(%q) = %q, %q, %v; want an error", in, app, event, err)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, abi.ErrInvalid) {
			t.Errorf("ParseSubscription(%q): %v is not ErrInvalid", in, err)
		}
	}
}

func TestPlatformEvents(t *testing.T) {
	want := []string{"node_join", "node_leave", "leader", "deploy", "undeploy", "backend", "vip"}
	got := PlatformEvents()
	if !slices.Equal(got, want) {
		t.Fatalf("PlatformEvents() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if !IsPlatformEvent("node_join") || IsPlatformEvent("changed") || IsPlatformEvent("*") {
		t.Error("IsPlatformEvent disagrees with PlatformEvents, or PlatformEvents shares its slice")
	}
	for _, k := range want {
		if !ValidEventName(k) {
			t.Errorf("platform event %q is not a valid event name", k)
		}
	}
}

func TestPlatformNameReserved(t *testing.T) {
	if ValidAppName(layout.PlatformApp) {
		t.Errorf("ValidAppName(%q) = true", layout.PlatformApp)
	}
	_, err := Parse([]byte("name: platform\nversion: 1.0.0\nwasm: p.wasm\napi: [get]\n"))
	want := `line 1: name: "platform" is reserved: it is the source of the platform's own events (platform.node_join, ...); choose another name`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
