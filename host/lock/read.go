package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers that mark a key's latest write as a removal rather than a value.
const (
	kvOperation  = "KV-Operation"               // DEL or PURGE: a release
	markerReason = jetstream.MarkerReasonHeader // the server's expiry marker
)

// msgGetResponse is the answer of the stream's message-get API.
type msgGetResponse struct {
	Error   *jetstream.APIError `json:"error,omitempty"`
	Message *struct {
		Sequence uint64    `json:"seq"`
		Header   []byte    `json:"hdrs,omitempty"`
		Data     []byte    `json:"data,omitempty"`
		Time     time.Time `json:"time"`
	} `json:"message,omitempty"`
}

// read returns the key's latest write as the stream's leader has it.
//
// KeyValue.Get is a direct get, which any replica answers, the nearest
// first: a follower that has not yet applied the latest write answers
// with the one before. Renew and Release decide on what they read (does
// this token hold the lock, over which revision), and a caller renewing
// right after Acquire must see its own write; the message-get API is
// answered by the leader only, which has applied every acknowledged
// write.
func (t *Table) read(ctx context.Context, key string) (entry, error) {
	req, err := json.Marshal(map[string]string{"last_by_subj": t.subject + key})
	if err != nil {
		return entry{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readTimeout)
		defer cancel()
	}
	msg, err := t.cfg.JS.Conn().RequestWithContext(ctx, t.msgGet, req)
	if err != nil {
		return entry{}, fmt.Errorf("cannot read the lock: %w", err)
	}
	var resp msgGetResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return entry{}, fmt.Errorf("cannot read the lock: %w", err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
		return entry{free: true}, nil
	case resp.Error != nil:
		return entry{}, fmt.Errorf("cannot read the lock: %w", resp.Error)
	case resp.Message == nil:
		return entry{}, errors.New("cannot read the lock: empty answer")
	}
	m := resp.Message
	hdr, err := headers(m.Header)
	if err != nil {
		return entry{}, fmt.Errorf("cannot read the lock at revision %d: %w", m.Sequence, err)
	}
	if hdr.Get(kvOperation) != "" || hdr.Get(markerReason) != "" {
		return entry{free: true, rev: m.Sequence}, nil
	}
	return parse(m.Data, m.Sequence, m.Time), nil
}

// readTimeout bounds a read whose context has no deadline.
const readTimeout = 5 * time.Second

func headers(b []byte) (nats.Header, error) {
	if len(b) == 0 {
		return nats.Header{}, nil
	}
	return nats.DecodeHeadersMsg(b)
}
