package host

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// msgRequest lets a plain NATS message (a forwarded call on an active or
// node subject) be served like a micro request.
type msgRequest struct{ m *nats.Msg }

var _ micro.Request = msgRequest{}

func (r msgRequest) Respond(data []byte, opts ...micro.RespondOpt) error {
	resp := nats.NewMsg(r.m.Reply)
	resp.Data = data
	return r.m.RespondMsg(resp)
}

func (r msgRequest) RespondJSON(v any, opts ...micro.RespondOpt) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.Respond(b, opts...)
}

func (r msgRequest) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	resp := nats.NewMsg(r.m.Reply)
	resp.Data = data
	resp.Header.Set(micro.ErrorCodeHeader, code)
	resp.Header.Set(micro.ErrorHeader, description)
	return r.m.RespondMsg(resp)
}

func (r msgRequest) Data() []byte           { return r.m.Data }
func (r msgRequest) Headers() micro.Headers { return micro.Headers(r.m.Header) }
func (r msgRequest) Subject() string        { return r.m.Subject }
func (r msgRequest) Reply() string          { return r.m.Reply }
