//go:build !wasip1

package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// message is the payload of an event: the List source, topic, data.
func message(source, topic string, data []byte) []byte {
	var b []byte
	for _, it := range [][]byte{[]byte(source), []byte(topic), data} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(it)))
		b = append(b, it...)
	}
	return b
}

func TestPublish(t *testing.T) {
	h := useHost(t)
	if err := Publish("created", []byte(`{"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := Publish("empty", nil); err != nil {
		t.Fatal(err)
	}
	if len(h.published) != 2 || h.published[0].topic != "created" || string(h.published[0].data) != `{"id":1}` ||
		h.published[1].topic != "empty" || len(h.published[1].data) != 0 {
		t.Errorf("host got %+v", h.published)
	}

	h.publishErr, h.errMsg = -int32(StatusDenied), "topic secret is not under data.events.publish"
	if err := Publish("secret", nil); !errors.Is(err, ErrDenied) || err.Error() != h.errMsg {
		t.Errorf("Publish on an unlisted topic: %v", err)
	}
	h.publishErr, h.errMsg = -int32(StatusLimit), ""
	if err := Publish("big", nil); err != ErrLimit {
		t.Errorf("Publish over the limit: %#v", err)
	}

	for _, topic := range []string{"", strings.Repeat("t", MaxTopicLen+1)} {
		n := len(h.published)
		if err := Publish(topic, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Publish(%q): %v, want ErrInvalid", topic, err)
		}
		if len(h.published) != n {
			t.Errorf("Publish(%q) reached the host", topic)
		}
	}
}

func TestPublishWithoutHost(t *testing.T) {
	if err := Publish("t", nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish without a host: %v", err)
	}
}

func TestOnEvent(t *testing.T) {
	h := useHost(t)
	resetLifecycle(t)
	var got []string
	OnEvent(func(e Event) error {
		got = append(got, fmt.Sprintf("%s/%s %s", e.Source, e.Topic, e.Data))
		switch string(e.Data) {
		case "retry":
			return fmt.Errorf("backend down: %w", ErrUnavailable)
		case "bad":
			return errors.New("cannot parse")
		case "panic":
			panic("boom")
		}
		return nil
	})
	tests := []struct {
		source, topic, data string
		status              Status
		msg                 string
	}{
		{"orders", "created", `{"id":1}`, StatusOK, ""},
		{"platform", "app.deployed", "", StatusOK, ""},
		{"orders", "created", "retry", StatusUnavailable, "backend down: unavailable"},
		{"orders", "created", "bad", StatusInternal, "cannot parse"},
		{"orders", "created", "panic", StatusInternal, "panic: boom"},
	}
	for _, tt := range tests {
		st, msg := send(t, h, eventMessage, message(tt.source, tt.topic, []byte(tt.data)))
		if st != tt.status || msg != tt.msg {
			t.Errorf("event %s: %v %q, want %v %q", tt.data, st, msg, tt.status, tt.msg)
		}
	}
	want := []string{`orders/created {"id":1}`, "platform/app.deployed ", "orders/created retry", "orders/created bad", "orders/created panic"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("handler saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, message("a", "b", nil)[:9], append(message("a", "b", nil), 0)} {
		n := len(got)
		if st, msg := send(t, h, eventMessage, bad); st != StatusInvalid || msg != "malformed event payload" {
			t.Errorf("payload %x: %v %q", bad, st, msg)
		}
		if len(got) != n {
			t.Errorf("payload %x reached the handler", bad)
		}
	}
}

func TestEventWithoutHandler(t *testing.T) {
	h := useHost(t)
	resetLifecycle(t)
	if st, msg := send(t, h, eventMessage, message("a", "t", []byte("d"))); st != StatusOK {
		t.Errorf("event without a handler: %v %q", st, msg)
	}
}

func TestOnEventRejects(t *testing.T) {
	resetLifecycle(t)
	ok := func(Event) error { return nil }
	OnEvent(ok)
	for _, tt := range []struct {
		f    func(Event) error
		want string
	}{{nil, "sdk.OnEvent: nil handler"}, {ok, "sdk.OnEvent: registered twice"}} {
		func() {
			defer func() {
				if r, _ := recover().(string); r != tt.want {
					t.Errorf("panic %q, want %q", r, tt.want)
				}
			}()
			OnEvent(tt.f)
		}()
	}
}
