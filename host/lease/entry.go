package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Info is a lease as the server has it.
type Info struct {
	// Holder is the holder named in the latest write.
	Holder string
	// Token is the holder's fencing token: the revision of the write that
	// began its term.
	Token uint64
	// Value is the value stored with the lease.
	Value []byte
	// Revision is the latest write's (the last renewal's) revision.
	Revision uint64
	// Written is when the server stored the latest write.
	Written time.Time
}

// Current reads who holds key in the lease bucket kv. It answers ErrNotHeld
// when nobody does. The server's view can trail the holder's by up to
// Margin: a holder may have stepped down already while its key lives on.
func Current(ctx context.Context, kv KV, key string) (Info, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Info{}, fmt.Errorf("cannot read lease %s: %w", key, ErrNotHeld)
	}
	if err != nil {
		return Info{}, fmt.Errorf("cannot read lease %s: %w", key, err)
	}
	return ParseEntry(e)
}

// ParseEntry decodes a lease bucket entry, for instance one from a watch
// over all members. A delete or expiry marker answers ErrNotHeld.
func ParseEntry(e jetstream.KeyValueEntry) (Info, error) {
	if e.Operation() != jetstream.KeyValuePut {
		return Info{}, fmt.Errorf("cannot parse lease %s: %w", e.Key(), ErrNotHeld)
	}
	holder, token, value, err := decode(e.Value())
	if err != nil {
		return Info{}, fmt.Errorf("cannot parse lease %s at revision %d: %w", e.Key(), e.Revision(), err)
	}
	if token == 0 {
		token = e.Revision()
	}
	return Info{Holder: holder, Token: token, Value: value, Revision: e.Revision(), Written: e.Created()}, nil
}

// encode lays a write out as "HOLDER\nTOKEN\nVALUE": readable with
// `nats kv get`, and the value's bytes are kept as they are. The write
// that begins a term does not know its revision yet and carries token 0,
// which reads as "this revision".
func encode(holder string, token uint64, value []byte) []byte {
	b := make([]byte, 0, len(holder)+len(value)+22)
	b = append(b, holder...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, token, 10)
	b = append(b, '\n')
	return append(b, value...)
}

var errFormat = errors.New("not a lease record")

func decode(b []byte) (holder string, token uint64, value []byte, err error) {
	h, rest, ok := bytes.Cut(b, []byte{'\n'})
	if !ok || len(h) == 0 {
		return "", 0, nil, errFormat
	}
	t, value, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return "", 0, nil, errFormat
	}
	token, err = strconv.ParseUint(string(t), 10, 64)
	if err != nil {
		return "", 0, nil, errFormat
	}
	return string(h), token, bytes.Clone(value), nil
}
