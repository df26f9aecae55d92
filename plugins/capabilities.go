package plugins

import (
	"context"

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
