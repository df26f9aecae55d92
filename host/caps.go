package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/events"
	"github.com/ozanturksever/go-cluster/host/lock"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/plugins"
	"github.com/ozanturksever/go-cluster/wal"
)

// caps is one app's capabilities: its identity is bound in here, so the
// guest only ever supplies keys.
type caps struct {
	app    string
	config map[string]string
	log    *slog.Logger
	kv     jetstream.KeyValue // nil when the manifest grants no kv

	// For calls: the apps the manifest lets this one call, the connection
	// and names to call them with, and this node, for the callee to see.
	calls  []string
	nc     *nats.Conn
	layout layout.Layout
	node   string

	// The app's other stores, each nil unless the manifest grants it.
	db      *wal.DB
	writer  *writer // the active's term, for database writes
	fenced  func()  // a newer writer took over the database: step down
	locks   *lock.Table
	bus     *events.Bus
	publish []string
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

// Headers a host sets on every call a guest makes, so the callee (and
// anything watching the bus) knows who is asking. The callee's host does
// not trust them for anything: the callee acts with its own capabilities.
const (
	// CallerHeader names the calling app.
	CallerHeader = "Gc-Caller"
	// CallerNodeHeader names the node the caller runs on.
	CallerNodeHeader = "Gc-Caller-Node"
)

// maxCallTimeout bounds one call a guest makes, whatever it asks for: the
// caller's own call deadline usually ends it much sooner.
const maxCallTimeout = time.Minute

// Call calls method of app on the caller's behalf. The request carries the
// caller's identity but no credential of it: the callee's host runs it
// with the callee's own capabilities, so a call lends nothing.
func (c *caps) Call(ctx context.Context, app, method string, payload, key []byte, timeout time.Duration) ([]byte, error) {
	if app != c.app && !slices.Contains(c.calls, app) {
		return nil, fmt.Errorf("app %s may not call %s: add it to calls in its manifest: %w", c.app, app, abi.ErrDenied)
	}
	if !manifest.ValidMethod(method) {
		return nil, fmt.Errorf("cannot call %s: %q is not a method name: %w", app, method, abi.ErrInvalid)
	}
	if !keyHeaderSafe(key) {
		return nil, fmt.Errorf("cannot call %s.%s: a call key may not hold control characters: %w", app, method, abi.ErrInvalid)
	}
	if timeout <= 0 || timeout > maxCallTimeout {
		timeout = maxCallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg := &nats.Msg{
		Subject: c.layout.APISubject(app, method),
		// A copy: the payload aliases guest memory, which the connection
		// must not read after this returns.
		Data:   bytes.Clone(payload),
		Header: nats.Header{CallerHeader: {c.app}, CallerNodeHeader: {c.node}},
	}
	if len(key) > 0 {
		msg.Header.Set(layout.KeyHeader, string(key))
	}
	resp, err := c.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("cannot call %s.%s: nothing serves it: %w", app, method, abi.ErrUnavailable)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("cannot call %s.%s: no reply in time: %w", app, method, abi.ErrTimeout)
	case errors.Is(err, nats.ErrMaxPayload):
		return nil, fmt.Errorf("cannot call %s.%s: payload of %d bytes is over the NATS limit: %w", app, method, len(payload), abi.ErrLimit)
	case err != nil:
		return nil, fmt.Errorf("cannot call %s.%s: %w (%w)", app, method, abi.ErrUnavailable, err)
	}
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		return nil, abi.NewError(abi.StatusFromCode(code), resp.Header.Get(micro.ErrorHeader))
	}
	return resp.Data, nil
}

// keyHeaderSafe tells whether b can travel as a header value: CR or LF would
// end the header and let a guest write its own.
func keyHeaderSafe(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
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
