package plugins

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// fakeCaps is an in-memory Capabilities: plugins' boundary is that
// interface, so tests need no NATS.
type fakeCaps struct {
	config map[string]string

	mu   sync.Mutex
	kv   map[string]fakeEntry
	rev  uint64
	logs []fakeLog

	// inKV counts KV calls in progress; maxInKV is the most at once.
	inKV, maxInKV int
	// kvGate, when set, is called inside every KV call, outside mu.
	kvGate func()

	calls     []fakeCall
	stmts     []fakeStmt
	locks     []fakeLock
	published []string
	// callFn, when set, answers Call.
	callFn func(app, method string, payload []byte) ([]byte, error)
}

type fakeEntry struct {
	val []byte
	rev uint64
}

type fakeLog struct {
	level abi.Level
	msg   string
}

func newFakeCaps() *fakeCaps {
	return &fakeCaps{config: map[string]string{}, kv: map[string]fakeEntry{}}
}

func (f *fakeCaps) Config(key string) (string, bool) {
	v, ok := f.config[key]
	return v, ok
}

func (f *fakeCaps) Log(_ context.Context, level abi.Level, msg []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fakeLog{level, string(msg)})
}

func (f *fakeCaps) loggedMessages() []fakeLog {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeLog(nil), f.logs...)
}

// enter tracks concurrency and runs the gate; the returned func leaves.
func (f *fakeCaps) enter() func() {
	f.mu.Lock()
	f.inKV++
	f.maxInKV = max(f.maxInKV, f.inKV)
	gate := f.kvGate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	return func() {
		f.mu.Lock()
		f.inKV--
		f.mu.Unlock()
	}
}

func (f *fakeCaps) KVGet(_ context.Context, key []byte) ([]byte, uint64, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.kv[string(key)]
	if !ok {
		return nil, 0, fmt.Errorf("key %q: %w", key, abi.ErrNotFound)
	}
	return bytes.Clone(e.val), e.rev, nil
}

func (f *fakeCaps) write(key, val []byte, check func(e fakeEntry, exists bool) error) (uint64, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	e, exists := f.kv[string(key)]
	if err := check(e, exists); err != nil {
		return 0, err
	}
	f.rev++
	f.kv[string(key)] = fakeEntry{bytes.Clone(val), f.rev}
	return f.rev, nil
}

func (f *fakeCaps) KVPut(_ context.Context, key, val []byte) (uint64, error) {
	return f.write(key, val, func(fakeEntry, bool) error { return nil })
}

func (f *fakeCaps) KVCreate(_ context.Context, key, val []byte) (uint64, error) {
	return f.write(key, val, func(_ fakeEntry, exists bool) error {
		if exists {
			return fmt.Errorf("key %q exists: %w", key, abi.ErrConflict)
		}
		return nil
	})
}

func (f *fakeCaps) KVUpdate(_ context.Context, key, val []byte, rev uint64) (uint64, error) {
	return f.write(key, val, func(e fakeEntry, exists bool) error {
		if !exists || e.rev != rev {
			return fmt.Errorf("key %q is not at revision %d: %w", key, rev, abi.ErrConflict)
		}
		return nil
	})
}

func (f *fakeCaps) KVDelete(_ context.Context, key []byte) error {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.kv, string(key))
	return nil
}

func (f *fakeCaps) KVKeys(_ context.Context, prefix []byte) ([][]byte, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys [][]byte
	for k := range f.kv {
		if bytes.HasPrefix([]byte(k), prefix) {
			keys = append(keys, []byte(k))
		}
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	return keys, nil
}

// fakeCall is one call fakeCaps received.
type fakeCall struct {
	app, method  string
	payload, key string
	timeout      time.Duration
	hadDeadline  bool
}

// Call records the call and answers with callFn, or by default with
// "app.method(payload)".
func (f *fakeCaps) Call(ctx context.Context, app, method string, payload, key []byte, timeout time.Duration) ([]byte, error) {
	_, hasDeadline := ctx.Deadline()
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{app, method, string(payload), string(key), timeout, hasDeadline})
	fn := f.callFn
	f.mu.Unlock()
	if fn != nil {
		return fn(app, method, payload)
	}
	return []byte(app + "." + method + "(" + string(payload) + ")"), nil
}

func (f *fakeCaps) receivedCalls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}
