package abi

import "strconv"

// Event is the kind of a lifecycle event, the first argument of the
// optional guest export gocluster_v1_event. The package comment specifies
// each kind's payload and when the host sends it.
type Event int32

// Lifecycle event kinds.
const (
	// EventStart: the instance is about to serve. No payload.
	EventStart Event = 1
	// EventActive: the instance's node holds the app's lease. No payload.
	EventActive Event = 2
	// EventPassive: the instance is a warm standby. No payload.
	EventPassive Event = 3
	// EventStop: the instance is about to be closed. No payload.
	EventStop Event = 4
	// EventMemberJoin: a node joined the app's group. Payload: its id.
	EventMemberJoin Event = 5
	// EventMemberLeave: a node left the app's group. Payload: its id.
	EventMemberLeave Event = 6
	// EventOwn: the instance's node now owns these partitions too.
	// Payload: the partitions encoding.
	EventOwn Event = 7
	// EventRelease: the instance's node no longer owns these partitions.
	// Payload: the partitions encoding.
	EventRelease Event = 8
	// EventMessage: an event the app subscribed to. Payload: a message,
	// the List [source, topic, data].
	EventMessage Event = 9
)

var eventNames = [...]string{
	EventStart:       "start",
	EventActive:      "active",
	EventPassive:     "passive",
	EventStop:        "stop",
	EventMemberJoin:  "member_join",
	EventMemberLeave: "member_leave",
	EventOwn:         "own",
	EventRelease:     "release",
	EventMessage:     "event",
}

// AppendMessage appends the payload of an EventMessage.
func AppendMessage(dst []byte, source, topic string, data []byte) []byte {
	return AppendList(dst, []byte(source), []byte(topic), data)
}

// DecodeMessage splits the payload of an EventMessage. The results alias b.
func DecodeMessage(b []byte) (source, topic string, data []byte, err error) {
	items, err := DecodeList(b)
	if err != nil || len(items) != 3 {
		return "", "", nil, ErrBadList
	}
	return string(items[0]), string(items[1]), items[2], nil
}

// Events lists every event kind of this version, in numeric order.
func Events() []Event {
	out := make([]Event, 0, len(eventNames)-1)
	for i := 1; i < len(eventNames); i++ {
		out = append(out, Event(i))
	}
	return out
}

func (e Event) valid() bool { return e >= EventStart && int(e) < len(eventNames) }

// String returns the event's name, e.g. "member_join"; guests name their
// handlers after it with an "on_" prefix.
func (e Event) String() string {
	if !e.valid() {
		return "event(" + strconv.Itoa(int(e)) + ")"
	}
	return eventNames[e]
}
