package plugins

import (
	"context"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
)

// Capabilities is everything one app's guest can reach outside its own
// memory. The host implements it once per app and binds the app's identity
// into it, so a guest names keys, never buckets or subjects: plugins never
// sees either.
//
// Threading: methods are called concurrently from every instance of the app
// (one call at a time per instance). Byte slices passed in alias guest
// memory and are valid only until the method returns: copy what you keep.
// Errors should wrap an abi sentinel (abi.ErrNotFound, ...); any other error
// reaches the guest as abi.StatusInternal.
type Capabilities interface {
	// Config returns a value of the manifest's config map.
	Config(key string) (string, bool)
	// Log writes a guest log line with the app's labels.
	Log(ctx context.Context, level abi.Level, msg []byte)
	KV
	Caller
	DB
	Locks
	Events
}

// KV is the app's own key-value store. Keys are arbitrary bytes; the
// implementation maps them to storage names, never interprets them as syntax.
type KV interface {
	KVGet(ctx context.Context, key []byte) (val []byte, rev uint64, err error)
	KVPut(ctx context.Context, key, val []byte) (rev uint64, err error)
	// KVCreate fails with abi.ErrConflict when key exists.
	KVCreate(ctx context.Context, key, val []byte) (rev uint64, err error)
	// KVUpdate fails with abi.ErrConflict unless key's revision is rev.
	KVUpdate(ctx context.Context, key, val []byte, rev uint64) (newRev uint64, err error)
	KVDelete(ctx context.Context, key []byte) error
	// KVKeys returns the keys starting with prefix, sorted.
	KVKeys(ctx context.Context, prefix []byte) ([][]byte, error)
}

// Caller reaches other apps' APIs on the app's behalf. The implementation
// decides who may be called (the manifest's calls) and routes the call; the
// callee acts with its own capabilities, never the caller's.
type Caller interface {
	// Call calls method of app with payload and returns its reply. key,
	// when not empty, routes the call to the owner of its ring partition.
	// timeout 0 leaves the bound to ctx. A status the callee answered comes
	// back as an error with that status (an *abi.Error).
	Call(ctx context.Context, app, method string, payload, key []byte, timeout time.Duration) ([]byte, error)
}

// DB is the app's own SQL database. Implementations refuse writes where the
// app may not write (abi.ErrUnavailable) and map SQL errors to abi
// sentinels, keeping the database's message in the error.
type DB interface {
	DBExec(ctx context.Context, sql string, params []abi.Value) (abi.ExecResult, error)
	// DBQuery fails with abi.ErrLimit when the result's encoding
	// (abi.RowsSize) would be over maxBytes.
	DBQuery(ctx context.Context, sql string, params []abi.Value, maxBytes int) (*abi.Rows, error)
	// DBBatch runs stmts in one transaction: all or nothing.
	DBBatch(ctx context.Context, stmts []abi.Statement) ([]abi.ExecResult, error)
}

// Locks are the app's named distributed locks. A token is the fencing
// token of one holding; it grows with every new holder.
type Locks interface {
	LockAcquire(ctx context.Context, name []byte, ttl, wait time.Duration) (token uint64, err error)
	LockRenew(ctx context.Context, name []byte, token uint64, ttl time.Duration) error
	LockRelease(ctx context.Context, name []byte, token uint64) error
}

// Events publishes on the app's own topics; the implementation checks the
// manifest's publish list.
type Events interface {
	Publish(ctx context.Context, topic string, data []byte) error
}
