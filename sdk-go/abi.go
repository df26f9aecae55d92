package sdk

// This file holds every name and number of the host-guest contract that the
// SDK relies on, in one place. They must equal the host's package abi; a
// test in the host module parses this file and compares each value, so it
// stays plain constant declarations without build tags. The
// //go:wasmimport and //go:wasmexport directives cannot name constants, so
// they repeat these strings; a test in this package checks they agree.

// version is the ABI major version this SDK speaks.
const version = 1

// Module and export names.
const (
	importModule     = "gocluster_v1"
	exportPrefix     = "gocluster_v1_"
	exportBuffer     = exportPrefix + "buffer"
	exportHandle     = exportPrefix + "handle"
	exportEvent      = exportPrefix + "event"
	exportInitialize = "_initialize"
)

// Lifecycle event kinds, the first argument of gocluster_v1_event.
const (
	eventStart       = 1 // no payload
	eventActive      = 2 // no payload
	eventPassive     = 3 // no payload
	eventStop        = 4 // no payload
	eventMemberJoin  = 5 // payload: the node id
	eventMemberLeave = 6 // payload: the node id
	eventOwn         = 7 // payload: partitions
	eventRelease     = 8 // payload: partitions
	eventMessage     = 9 // payload: a message, the List [source, topic, data]
)

// partitionSize is the size of one partition in an own or release payload:
// a little-endian u32. Partitions come strictly ascending.
const partitionSize = 4

// Host functions in importModule.
const (
	funcABIVersion   = "abi_version"
	funcReply        = "reply"
	funcLog          = "log"
	funcConfig       = "config"
	funcTake         = "take"
	funcKVGet        = "kv_get"
	funcKVPut        = "kv_put"
	funcKVCreate     = "kv_create"
	funcKVUpdate     = "kv_update"
	funcKVDelete     = "kv_delete"
	funcKVKeys       = "kv_keys"
	funcCall         = "call"
	funcDBExec       = "db_exec"
	funcDBQuery      = "db_query"
	funcDBBatch      = "db_batch"
	funcLockAcquire  = "lock_acquire"
	funcLockRenew    = "lock_renew"
	funcLockRelease  = "lock_release"
	funcEventPublish = "event_publish"
	funcLastError    = "last_error"
)

// Status is the outcome of a call across the boundary: what a handler
// answers and what a host function reports. Host functions return it
// negated. The SDK maps each non-OK status to one of the sentinel errors
// (ErrNotFound, ...), so code tests errors with errors.Is, not statuses.
type Status int32

// Status codes.
const (
	StatusOK          Status = 0
	StatusNotFound    Status = 1
	StatusConflict    Status = 2
	StatusDenied      Status = 3
	StatusLimit       Status = 4
	StatusTimeout     Status = 5
	StatusUnavailable Status = 6
	StatusInvalid     Status = 7
	StatusInternal    Status = 8
)

// Level is the severity of a log line.
type Level int32

// Log levels.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Limits every host enforces.
const (
	// MaxKeyLen is the longest KV key, in bytes. Keys are 1 to MaxKeyLen
	// bytes long.
	MaxKeyLen = 512
	// MaxMethodLen is the longest API method name, in bytes.
	MaxMethodLen = 64
	// MaxAppNameLen is the longest app name, in bytes.
	MaxAppNameLen = 32
	// MaxTopicLen is the longest event topic, in bytes.
	MaxTopicLen = 64
	// MaxSQLLen is the longest SQL text of one statement, in bytes.
	MaxSQLLen = 1 << 20
	// revSize is the size of the little-endian revision a host function
	// writes at rev_ptr.
	revSize = 8
	// tokenSize is the size of the little-endian fencing token
	// lock_acquire writes at token_ptr.
	tokenSize = 8
)

// Lock bounds in milliseconds, as lock_acquire and lock_renew take them;
// lock.go exports them as durations.
const (
	minLockTTLMillis  = 1000
	maxLockTTLMillis  = 5 * 60 * 1000
	maxLockWaitMillis = 30 * 1000
)

// The database encodings: a value is one type byte then its data, all
// integers little endian (see values.go).
const (
	typeNull    = 0 // nothing
	typeInteger = 1 // i64
	typeReal    = 2 // f64 bits
	typeText    = 3 // u32 length, UTF-8 bytes
	typeBlob    = 4 // u32 length, bytes

	// execResultSize is the size of an exec result: rows affected, then
	// the last inserted row id, two i64.
	execResultSize = 16
)
