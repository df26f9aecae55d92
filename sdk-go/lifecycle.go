package sdk

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Lifecycle events tell an instance what happens to its app: it starts and
// stops, its node becomes the active one or a standby (pattern
// active-passive), nodes join and leave the app's group, and its node comes
// to own or release partitions (pattern ring). The events the app
// subscribed to arrive the same way (see OnEvent). Register a handler from
// init for the events that matter to the app; the others succeed without
// doing anything.
//
// The host delivers events one at a time and never while a call runs in
// the instance, so handlers and API handlers may share package state
// without locks. A handler may use every host function (KV, Config, Log).
// Returning an error, or panicking, refuses the event: the host learns the
// error's status and message, the instance keeps its previous role and
// partitions, and the host decides what follows (after a refused
// OnActive, it steps down).
//
// An instance that starts while its node is already active, a standby or
// owner of partitions, because the host added or replaced an instance, is
// told so before its first call: OnStart, then OnActive or OnPassive, then
// OnOwn with every partition its node owns. If it refuses any of these the
// host discards it rather than let it serve in the wrong state.

// Role is what an instance was last told its node is for the app.
type Role int

// Roles.
const (
	// RoleNone: no role yet, or the app's pattern has none.
	RoleNone Role = iota
	// RoleActive: this node holds the app's lease.
	RoleActive
	// RolePassive: this node is a warm standby.
	RolePassive
)

func (r Role) String() string {
	switch r {
	case RoleActive:
		return "active"
	case RolePassive:
		return "passive"
	}
	return "none"
}

// The registered handlers. A guest handles one event or call at a time, so
// they need no lock.
var (
	onStart, onActive, onPassive, onStop func() error
	onMemberJoin, onMemberLeave          func(node string) error
	onOwn, onRelease                     func(partitions []int) error
)

// The state the events told this instance.
var (
	role  Role
	owned = map[int]struct{}{}
)

// OnStart registers f to run when the instance starts, after init and
// before its first call. Unlike init, f may refuse: an instance whose
// OnStart fails never serves, and a host whose first instance of the app
// fails to start reports the app as failed instead of running it.
func OnStart(f func() error) {
	checkRegister("OnStart", f == nil, onStart != nil)
	onStart = f
}

// OnActive registers f to run when this node becomes the active one of an
// active-passive app. Acquire what only the active node may hold here; an
// error makes the host step down instead of running half active.
//
//	func init() {
//		sdk.OnActive(func() error {
//			return startTicker() // only the active node runs the schedule
//		})
//		sdk.OnPassive(func() error {
//			stopTicker()
//			return nil
//		})
//	}
func OnActive(f func() error) {
	checkRegister("OnActive", f == nil, onActive != nil)
	onActive = f
}

// OnPassive registers f to run when this node becomes, or is at start, a
// warm standby of an active-passive app.
func OnPassive(f func() error) {
	checkRegister("OnPassive", f == nil, onPassive != nil)
	onPassive = f
}

// OnStop registers f to run before the host closes the instance. It is a
// courtesy, not a guarantee: an instance that traps, or a host that is
// killed, stops without it. Keep what must survive in the KV store.
func OnStop(f func() error) {
	checkRegister("OnStop", f == nil, onStop != nil)
	onStop = f
}

// OnMemberJoin registers f to run when a node joins the app's group. Member
// events are news: an instance that starts later is not told of earlier
// joins.
func OnMemberJoin(f func(node string) error) {
	checkRegister("OnMemberJoin", f == nil, onMemberJoin != nil)
	onMemberJoin = f
}

// OnMemberLeave registers f to run when a node leaves the app's group.
func OnMemberLeave(f func(node string) error) {
	checkRegister("OnMemberLeave", f == nil, onMemberLeave != nil)
	onMemberLeave = f
}

// OnOwn registers f to run when this node comes to own partitions of a
// ring app, in addition to those it owned. partitions are ascending and f
// may keep them. Another node owned them until it released them, so f may
// load their state.
//
//	func init() {
//		sdk.OnOwn(func(partitions []int) error {
//			for _, p := range partitions {
//				if err := warm(p); err != nil {
//					return err // the host learns this node cannot take p
//				}
//			}
//			return nil
//		})
//		sdk.Handle("get", func(key []byte) ([]byte, error) {
//			if !sdk.Owns(partitionOf(key)) {
//				return nil, sdk.ErrUnavailable
//			}
//			return lookup(key)
//		})
//	}
func OnOwn(f func(partitions []int) error) {
	checkRegister("OnOwn", f == nil, onOwn != nil)
	onOwn = f
}

// OnRelease registers f to run when this node gives up partitions. The host
// hands them to another node only after f returned or ran out of time, so
// f may flush their state.
func OnRelease(f func(partitions []int) error) {
	checkRegister("OnRelease", f == nil, onRelease != nil)
	onRelease = f
}

// checkRegister panics on a nil handler or a second registration, like
// Handle, so the mistake shows at deploy.
func checkRegister(name string, isNil, taken bool) {
	if isNil {
		panic(fmt.Sprintf("sdk.%s: nil handler", name))
	}
	if taken {
		panic(fmt.Sprintf("sdk.%s: registered twice", name))
	}
}

// CurrentRole returns the role this instance was last told, by OnActive or
// OnPassive (or RoleNone). It changes only when the handler succeeded.
func CurrentRole() Role { return role }

// Owned returns the partitions this instance's node owns, ascending: those
// of successful OnOwn events minus those of OnRelease events.
func Owned() []int {
	out := make([]int, 0, len(owned))
	for p := range owned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Owns reports whether this instance's node owns partition p.
func Owns(p int) bool {
	_, ok := owned[p]
	return ok
}

// event implements gocluster_v1_event: it runs the handler of one
// lifecycle event with the payload in the input buffer and records the new
// state once the handler accepted it. A panic refuses the event with
// StatusInternal, as for calls.
func event(kind, payloadLen int32) (status Status) {
	if payloadLen < 0 || int(payloadLen) > len(input) {
		return replyStatus(StatusInvalid, "event does not fit the input buffer")
	}
	payload := input[:payloadLen:payloadLen]
	defer func() {
		if r := recover(); r != nil {
			status = replyStatus(StatusInternal, "panic: "+panicText(r))
		}
	}()
	if err := deliver(kind, payload); err != nil {
		return replyStatus(StatusOf(err), err.Error())
	}
	return StatusOK
}

func deliver(kind int32, payload []byte) error {
	switch kind {
	case eventStart:
		return run(onStart)
	case eventStop:
		return run(onStop)
	case eventActive:
		return becomes(RoleActive, onActive)
	case eventPassive:
		return becomes(RolePassive, onPassive)
	case eventMemberJoin:
		return runNode(onMemberJoin, payload)
	case eventMemberLeave:
		return runNode(onMemberLeave, payload)
	case eventOwn, eventRelease:
		return changeOwned(kind == eventOwn, payload)
	case eventMessage:
		return runEvent(payload)
	}
	// A kind from a later host of this major version: not ours to refuse.
	return nil
}

func run(f func() error) error {
	if f == nil {
		return nil
	}
	return f()
}

func becomes(r Role, f func() error) error {
	if err := run(f); err != nil {
		return err
	}
	role = r
	return nil
}

func runNode(f func(string) error, payload []byte) error {
	if f == nil {
		return nil
	}
	return f(string(payload))
}

func changeOwned(own bool, payload []byte) error {
	parts, err := decodePartitions(payload)
	if err != nil {
		return err
	}
	f := onRelease
	if own {
		f = onOwn
	}
	if f != nil {
		if err := f(slices.Clone(parts)); err != nil {
			return err
		}
	}
	for _, p := range parts {
		if own {
			owned[p] = struct{}{}
		} else {
			delete(owned, p)
		}
	}
	return nil
}

// errBadPartitions answers a payload that is not the partitions encoding.
var errBadPartitions = &Error{Status: StatusInvalid, Message: "malformed partitions payload"}

// decodePartitions reads little-endian u32s, which must be strictly
// ascending: the one encoding every host and SDK share.
func decodePartitions(b []byte) ([]int, error) {
	if len(b)%partitionSize != 0 {
		return nil, errBadPartitions
	}
	out := make([]int, 0, len(b)/partitionSize)
	for i := 0; i < len(b); i += partitionSize {
		p := int(binary.LittleEndian.Uint32(b[i:]))
		if n := len(out); n > 0 && p <= out[n-1] {
			return nil, errBadPartitions
		}
		out = append(out, p)
	}
	return out, nil
}
