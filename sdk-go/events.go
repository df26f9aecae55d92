package sdk

// Events between apps. An app publishes on its own topics, those its
// manifest lists under data.events.publish, and receives the events of the
// topics it subscribes to in its manifest through the handler OnEvent
// registers. The platform publishes events too, with source "platform"
// and JSON data.

// Event is one event the app subscribed to.
type Event struct {
	// Source is the app that published the event, or "platform".
	Source string
	// Topic is the topic it was published on.
	Topic string
	// Data is the event's bytes, JSON for platform events. Like a
	// handler's payload it is valid only until the handler returns: copy
	// what you keep.
	Data []byte
}

var errBadTopic = &Error{Status: StatusInvalid, Message: "topic must be 1 to 64 bytes"}

// Publish publishes data on topic, one of the app's own topics. Subscribers
// receive it as an Event whose Source is this app. It answers ErrDenied
// unless the manifest lists topic under data.events.publish, and ErrLimit
// for data over the payload limit.
func Publish(topic string, data []byte) error {
	if len(topic) == 0 || len(topic) > MaxTopicLen {
		return errBadTopic
	}
	if ret := hostEventPublish(stringPtr(topic), uint32(len(topic)), bytesPtr(data), uint32(len(data))); ret < 0 {
		return hostErr(ret)
	}
	return nil
}

// onEvent is the registered event handler.
var onEvent func(Event) error

// OnEvent registers f to run for each event the app subscribed to, one at
// a time and never during a call of this instance. Returning an error, or
// panicking, refuses the event: for a durable subscription the host
// delivers it again later, so f should be idempotent. Without a handler
// events are taken in and dropped.
//
//	func init() {
//		sdk.OnEvent(func(e sdk.Event) error {
//			if e.Source == "orders" && e.Topic == "created" {
//				_, err := sdk.Exec("INSERT OR IGNORE INTO seen(id) VALUES (?)", e.Data)
//				return err
//			}
//			return nil
//		})
//	}
func OnEvent(f func(e Event) error) {
	checkRegister("OnEvent", f == nil, onEvent != nil)
	onEvent = f
}

// errBadMessage answers an event payload that is not a message.
var errBadMessage = &Error{Status: StatusInvalid, Message: "malformed event payload"}

func runEvent(payload []byte) error {
	e, ok := decodeMessage(payload)
	if !ok {
		return errBadMessage
	}
	if onEvent == nil {
		return nil
	}
	return onEvent(e)
}
