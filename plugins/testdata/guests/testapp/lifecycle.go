package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

// Every lifecycle handler records its event in this instance's memory, as
// "kind" or "kind arg" (member_join n2, own 1,2), and the events method
// replies the record. Config keys make handlers misbehave:
//
//	fail_on  comma-separated event names whose handlers refuse with
//	         StatusUnavailable and the message "testapp refuses <name>"
//	loop_on  comma-separated event names whose handlers spin forever
//
// on_stop also logs "testapp stop" through the host, so a test can count
// the instances that were told to stop after they are gone.

// events is the record, in the order the events came.
var events []string

// holding is true while an events call waits in the host. An event that
// arrives then ran concurrently with a call; it is recorded as "overlap".
var holding bool

func init() {
	sdk.OnStart(func() error { return lifecycle("start", "") })
	sdk.OnActive(func() error { return lifecycle("active", "") })
	sdk.OnPassive(func() error { return lifecycle("passive", "") })
	sdk.OnStop(func() error { return lifecycle("stop", "") })
	sdk.OnMemberJoin(func(node string) error { return lifecycle("member_join", node) })
	sdk.OnMemberLeave(func(node string) error { return lifecycle("member_leave", node) })
	sdk.OnOwn(func(p []int) error { return lifecycle("own", joinInts(p)) })
	sdk.OnRelease(func(p []int) error { return lifecycle("release", joinInts(p)) })
	sdk.Handle("events", eventsMethod)
}

func lifecycle(kind, arg string) error {
	if holding {
		events = append(events, "overlap "+kind)
	}
	if configured("loop_on", kind) {
		loop(nil)
	}
	if configured("fail_on", kind) {
		return sdk.NewError(sdk.StatusUnavailable, "testapp refuses "+kind)
	}
	if arg != "" {
		kind += " " + arg
	}
	events = append(events, kind)
	if kind == "stop" {
		sdk.LogInfo("testapp stop")
	}
	return nil
}

// configured reports whether the config list under key names kind.
func configured(key, kind string) bool {
	v, ok := sdk.Config(key)
	return ok && slices.Contains(strings.Split(v, ","), kind)
}

func joinInts(p []int) string {
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// eventsReply is what the events method answers: the record so far and the
// state the SDK keeps from it.
type eventsReply struct {
	Events []string `json:"events"`
	Role   string   `json:"role"`
	Owned  []int    `json:"owned"`
}

// eventsMethod replies the events recorded before the call began. With
// payload "hold" it first reads the KV key "hold", so a test can keep the
// call, and its instance, busy in the host for as long as it needs.
func eventsMethod(p []byte) ([]byte, error) {
	rep := eventsReply{Events: slices.Clone(events), Role: sdk.CurrentRole().String(), Owned: sdk.Owned()}
	if string(p) == "hold" {
		holding = true
		_, _, err := sdk.KVGet("hold")
		holding = false
		if err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return nil, err
		}
	}
	return json.Marshal(rep)
}
