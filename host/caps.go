package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/plugins"
)

// caps is one app's capabilities: its identity is bound in here, so the
// guest only ever supplies keys.
type caps struct {
	app    string
	config map[string]string
	log    *slog.Logger
	kv     jetstream.KeyValue // nil when the manifest grants no kv
}

var _ plugins.Capabilities = (*caps)(nil)

func (c *caps) Config(key string) (string, bool) {
	v, ok := c.config[key]
	return v, ok
}

var guestLevels = map[abi.Level]slog.Level{
	abi.LevelDebug: slog.LevelDebug, abi.LevelInfo: slog.LevelInfo,
	abi.LevelWarn: slog.LevelWarn, abi.LevelError: slog.LevelError,
}

func (c *caps) Log(ctx context.Context, level abi.Level, msg []byte) {
	l, ok := guestLevels[level]
	if !ok {
		l = slog.LevelInfo
	}
	c.log.Log(ctx, l, string(msg), "source", "guest")
}

var errNoKV = fmt.Errorf("the app's manifest does not grant kv (data.kv: true): %w", abi.ErrDenied)

func (c *caps) key(key []byte) (string, error) {
	if c.kv == nil {
		return "", errNoKV
	}
	k, err := layout.EncodeKey(key)
	if err != nil {
		return "", fmt.Errorf("%w: %w", abi.ErrInvalid, err)
	}
	return k, nil
}

func (c *caps) KVGet(ctx context.Context, key []byte) ([]byte, uint64, error) {
	k, err := c.key(key)
	if err != nil {
		return nil, 0, err
	}
	e, err := c.kv.Get(ctx, k)
	if err != nil {
		return nil, 0, kvErr("get", err)
	}
	return e.Value(), e.Revision(), nil
}

func (c *caps) KVPut(ctx context.Context, key, val []byte) (uint64, error) {
	k, err := c.key(key)
	if err != nil {
		return 0, err
	}
	rev, err := c.kv.Put(ctx, k, bytes.Clone(val))
	return rev, kvErr("put", err)
}

func (c *caps) KVCreate(ctx context.Context, key, val []byte) (uint64, error) {
	k, err := c.key(key)
	if err != nil {
		return 0, err
	}
	rev, err := c.kv.Create(ctx, k, bytes.Clone(val))
	return rev, kvErr("create", err)
}

func (c *caps) KVUpdate(ctx context.Context, key, val []byte, rev uint64) (uint64, error) {
	k, err := c.key(key)
	if err != nil {
		return 0, err
	}
	n, err := c.kv.Update(ctx, k, bytes.Clone(val), rev)
	return n, kvErr("update", err)
}

func (c *caps) KVDelete(ctx context.Context, key []byte) error {
	k, err := c.key(key)
	if err != nil {
		return err
	}
	return kvErr("delete", c.kv.Delete(ctx, k))
}

func (c *caps) KVKeys(ctx context.Context, prefix []byte) ([][]byte, error) {
	if c.kv == nil {
		return nil, errNoKV
	}
	lister, err := c.kv.ListKeys(ctx)
	if err != nil {
		return nil, kvErr("list", err)
	}
	var out [][]byte
	for k := range lister.Keys() {
		raw, err := layout.DecodeKey(k)
		if err != nil {
			continue // not written through the ABI
		}
		if bytes.HasPrefix(raw, prefix) {
			out = append(out, raw)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, kvErr("list", err)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return compactKeys(out), nil
}

// compactKeys drops repeats, which a listing racing with writes may report.
func compactKeys(keys [][]byte) [][]byte {
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || !bytes.Equal(k, keys[i-1]) {
			out = append(out, k)
		}
	}
	return out
}

// kvErr maps a NATS KV error to the abi status the guest sees.
func kvErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var s error
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		s = abi.ErrNotFound
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		s = abi.ErrConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		s = abi.ErrTimeout
	case errors.Is(err, nats.ErrMaxPayload):
		s = abi.ErrLimit
	case errors.Is(err, jetstream.ErrInvalidKey):
		s = abi.ErrInvalid
	default:
		s = abi.ErrUnavailable
	}
	return fmt.Errorf("cannot kv %s: %w (%w)", op, s, err)
}
