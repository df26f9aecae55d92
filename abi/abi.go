// Package abi is the contract between the go-cluster host and a guest
// compiled to WebAssembly. It holds names, the memory protocol, status codes
// and the one binary encoding the SDKs share. It imports only the standard
// library, so guests' SDKs and the host agree on it without depending on
// each other.
//
// # Version
//
// The major version is part of every name: the host functions live in the
// import module "gocluster_v1" and the guest's exports are prefixed
// "gocluster_v1_". A module that imports "gocluster_vN" or exports
// "gocluster_vN_*" for an N the host does not know is refused at deploy with
// ErrUnknownVersion. A later major version keeps the previous one loadable.
//
// # Guest exports
//
//	gocluster_v1_buffer(size i32) -> ptr i32
//	    Returns the address of a guest-owned buffer of at least size bytes.
//	    The buffer stays valid and unmoved until the next call to
//	    gocluster_v1_buffer. The host writes each call's input there.
//	gocluster_v1_handle(method_len i32, payload_len i32) -> status i32
//	    Handles one API call. The buffer holds method_len bytes of the
//	    method name followed by payload_len bytes of payload. The guest
//	    answers by calling reply (the last call wins; none means an empty
//	    reply) and returns a Status. When the status is not OK the reply
//	    bytes are the error message.
//	gocluster_v1_event(kind i32, payload_len i32) -> status i32
//	    Optional. Delivers one lifecycle event (an Event). The buffer holds
//	    payload_len bytes of payload, written exactly as for handle. The
//	    guest returns a Status: OK when it took the event in; anything else
//	    means it refused or failed, with the reply bytes as the message.
//	    A guest answers OK to a kind it does not know, so later hosts of
//	    this major version may add kinds. A module without this export
//	    gets no events and still loads.
//	_initialize()
//	    The WASI reactor initialiser (Go's -buildmode=c-shared emits it).
//	    Optional; when present the host calls it once per instance before
//	    anything else.
//
// # Lifecycle events
//
// The host tells each instance what happens to its app through
// gocluster_v1_event, one event at a time and never during a call. Kinds
// and payloads:
//
//	1 start         none        the instance is about to serve calls
//	2 active        none        this node holds the app's lease
//	3 passive       none        this node is a warm standby
//	4 stop          none        the instance is about to be closed
//	5 member_join   node id     a node joined the app's group
//	6 member_leave  node id     a node left the app's group
//	7 own           partitions  this node now also owns these partitions
//	8 release       partitions  this node no longer owns these partitions
//	9 event         message     an event the app subscribed to
//
// A message is a List of three items: the source (the publishing app, or
// "platform" for platform events), the topic, and the event's bytes.
// Platform events carry JSON. The guest answers OK once it has handled the
// event; for a durable subscription any other status makes the host
// deliver it again later. Events go to one instance at a time, never
// during a call on that instance.
//
// A node id is its bytes, as the host names nodes (letters, digits, "_"
// and "-"). Partitions use the partitions encoding (see AppendPartitions):
// little-endian u32s, strictly ascending.
//
// The role (active or passive) and the owned partitions are state: an
// instance that starts after they were set, because the pool grew or a
// failed instance was replaced, receives start, then its role event if the
// app has one, then own with every partition its node owns, all before its
// first call. An instance that refused an event (non-OK status) keeps its
// previous state; the host may send the event again. Member events are
// news, not state: only the instances alive when they happen receive them.
// stop goes to each instance as the app is closed; a host that cannot
// wait (a trapped instance, a kill) does not send it.
//
// # Host functions (import module "gocluster_v1")
//
// All integers are i32 unless marked i64; ptr/len pairs address guest
// memory. A function that returns i32 returns a non-negative value on
// success and a negated Status on failure.
//
//	abi_version() -> i32
//	    Returns Version. Has no other effect.
//	reply(ptr, len)
//	    Sets the output of the call in progress.
//	log(level, ptr, len)
//	    Writes a log line at a Level, labelled with the app and node.
//	config(key_ptr, key_len, out_ptr, out_cap) -> n
//	    Reads a manifest config value; NOT_FOUND when absent.
//	kv_get(key_ptr, key_len, out_ptr, out_cap, rev_ptr) -> n
//	    Reads a key of the app's KV; writes its revision (u64 little
//	    endian) at rev_ptr; NOT_FOUND when absent.
//	kv_put(key_ptr, key_len, val_ptr, val_len, rev_ptr) -> 0
//	    Writes a key; writes the new revision at rev_ptr.
//	kv_create(key_ptr, key_len, val_ptr, val_len, rev_ptr) -> 0
//	    Writes a key that must not exist; CONFLICT when it does.
//	kv_update(key_ptr, key_len, val_ptr, val_len, rev i64, rev_ptr) -> 0
//	    Writes a key whose current revision is rev; CONFLICT otherwise.
//	kv_delete(key_ptr, key_len) -> 0
//	    Deletes a key; deleting an absent key is not an error.
//	kv_keys(prefix_ptr, prefix_len, out_ptr, out_cap) -> n
//	    Lists the app's keys that start with prefix, sorted, as a List.
//	call(app_ptr, app_len, method_ptr, method_len, payload_ptr, payload_len,
//	     key_ptr, key_len, timeout_ms, out_ptr, out_cap) -> n
//	    Calls method of another app (or of this one) over the API bus and
//	    returns the length of its reply. app is 1 to MaxAppNameLen bytes,
//	    method 1 to MaxMethodLen, key 0 to MaxKeyLen (0: no key; with one,
//	    a ring app's call goes to the owner of the key's partition; the key
//	    travels in a header, so control characters in it are INVALID).
//	    timeout_ms > 0 bounds the call; 0 means the rest of the caller's own
//	    call time; the host caps both. Negative is INVALID. DENIED unless
//	    the manifest lists app under calls (an app may always call itself);
//	    LIMIT for a payload or a reply over the caller's payload limit;
//	    TIMEOUT, UNAVAILABLE (nothing serves app) as they happen. When the
//	    callee answers a non-OK status, call returns that status negated,
//	    so an error passes through any number of hops. The callee runs with
//	    its own capabilities only: nothing of the caller's is lent.
//	db_exec(sql_ptr, sql_len, params_ptr, params_len, out_ptr) -> 0
//	    Runs one SQL statement on the app's own database with params (a
//	    Values encoding; params_len 0 means none) and writes its
//	    ExecResult (ExecResultSize bytes) at out_ptr.
//	db_query(sql_ptr, sql_len, params_ptr, params_len, out_ptr, out_cap) -> n
//	    Runs a query and returns its Rows encoding; LIMIT when the result
//	    is over the app's payload limit.
//	db_batch(batch_ptr, batch_len, out_ptr, out_cap) -> n
//	    Runs a Batch encoding in one transaction, all or nothing, and
//	    returns one ExecResult per statement, back to back.
//	    The db functions answer DENIED when the manifest grants no db,
//	    UNAVAILABLE where the database is read-only (any instance but the
//	    active one of an active-passive app, or a writer a newer one has
//	    fenced off), CONFLICT for a constraint violation, INVALID for bad
//	    SQL, parameters or encodings, TIMEOUT when the database stays busy.
//	    With durability sync a write returns only once it is replicated.
//	lock_acquire(name_ptr, name_len, ttl_ms, wait_ms, token_ptr) -> 0
//	    Takes the app's lock named name (1 to MaxKeyLen bytes) for ttl_ms
//	    (MinLockTTL to MaxLockTTL), waiting up to wait_ms (0: do not wait,
//	    at most MaxLockWait) while another holds it, and writes the
//	    fencing token (u64 little endian, larger for every later holder)
//	    at token_ptr. CONFLICT when still held after the wait.
//	lock_renew(name_ptr, name_len, token i64, ttl_ms) -> 0
//	    Extends the lock for ttl_ms from now; CONFLICT unless token holds
//	    it (it expired and perhaps someone else took it).
//	lock_release(name_ptr, name_len, token i64) -> 0
//	    Frees the lock; CONFLICT unless token holds it.
//	    Locks answer DENIED when the manifest grants none.
//	event_publish(topic_ptr, topic_len, payload_ptr, payload_len) -> 0
//	    Publishes an event on one of the app's own topics; DENIED unless
//	    the manifest lists topic under data.events.publish; LIMIT for a
//	    payload over the payload limit. Subscribers get it as an event
//	    (kind 9) with source the publishing app.
//	last_error(out_ptr, out_cap) -> n
//	    Returns the message of the most recent host function call of this
//	    instance that failed, as UTF-8 text (a SQL error, who holds a lock,
//	    a callee's own message); NOT_FOUND when the most recent call other
//	    than last_error and take succeeded. Large messages use take.
//	take(ptr, len) -> 0
//	    Copies a pending result into guest memory (see below).
//
// # Results larger than the guest's buffer
//
// A function that returns variable-length data writes it to out when it
// fits in out_cap bytes and returns its length n. When n > out_cap it writes
// nothing, keeps the result pending and still returns n; the guest then
// makes room for n bytes and calls take(ptr, n). The pending result lasts
// until the next host function call. take with no pending result, or with a
// different length, returns INVALID. This keeps the common case to one
// crossing and never calls back into the guest from a host function.
//
// # Keys
//
// A guest names keys only: arbitrary bytes, 1 to MaxKeyLen long. The host
// derives every bucket, subject and file from the app's identity, so no key
// can name another app's data: wildcards, dots and non-UTF-8 bytes in a key
// are data, never syntax.
package abi

// Version is the ABI major version this package describes.
const Version = 1

// Module names.
const (
	// ImportModule is the module the host functions live in.
	ImportModule = "gocluster_v1"
	// ExportPrefix prefixes every guest export of this version.
	ExportPrefix = "gocluster_v1_"
	// ModulePrefix is what every version's import module starts with; the
	// digits after it are the major version.
	ModulePrefix = "gocluster_v"
	// ExtismModule is imported by modules built with an Extism PDK.
	ExtismModule = "extism:host/env"
	// ExtismHostNamespace is the import module of the host functions an
	// Extism module may use: JSON in, JSON out (see EXTISM.md).
	ExtismHostNamespace = "gocluster:host/v1"
	// ExtismExportEvent is the optional export through which an Extism
	// module receives lifecycle and subscribed events (see EXTISM.md).
	ExtismExportEvent = "gocluster_event"
)

// Guest exports.
const (
	ExportBuffer     = ExportPrefix + "buffer"
	ExportHandle     = ExportPrefix + "handle"
	ExportEvent      = ExportPrefix + "event"
	ExportInitialize = "_initialize"
)

// Exports lists every guest export of this version, required or optional,
// for tests and tools that must cover them all.
var Exports = []string{ExportBuffer, ExportHandle, ExportEvent, ExportInitialize}

// RequiredExports lists the exports a native module cannot do without.
var RequiredExports = []string{ExportBuffer, ExportHandle}

// Host functions in ImportModule.
const (
	FuncABIVersion   = "abi_version"
	FuncReply        = "reply"
	FuncLog          = "log"
	FuncConfig       = "config"
	FuncTake         = "take"
	FuncKVGet        = "kv_get"
	FuncKVPut        = "kv_put"
	FuncKVCreate     = "kv_create"
	FuncKVUpdate     = "kv_update"
	FuncKVDelete     = "kv_delete"
	FuncKVKeys       = "kv_keys"
	FuncCall         = "call"
	FuncDBExec       = "db_exec"
	FuncDBQuery      = "db_query"
	FuncDBBatch      = "db_batch"
	FuncLockAcquire  = "lock_acquire"
	FuncLockRenew    = "lock_renew"
	FuncLockRelease  = "lock_release"
	FuncEventPublish = "event_publish"
	FuncLastError    = "last_error"
)

// HostFuncs lists every host function of this version, for tests and tools
// that must cover them all.
var HostFuncs = []string{
	FuncABIVersion, FuncReply, FuncLog, FuncConfig, FuncTake,
	FuncKVGet, FuncKVPut, FuncKVCreate, FuncKVUpdate, FuncKVDelete, FuncKVKeys,
	FuncCall,
	FuncDBExec, FuncDBQuery, FuncDBBatch,
	FuncLockAcquire, FuncLockRenew, FuncLockRelease,
	FuncEventPublish, FuncLastError,
}

// Level is a guest log level.
type Level int32

// Log levels.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Limits every host enforces whatever the manifest says.
const (
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = 512
	// MaxMethodLen is the longest API method name, in bytes.
	MaxMethodLen = 64
	// MaxAppNameLen is the longest app name, in bytes.
	MaxAppNameLen = 32
	// RevSize is the size of a revision written at rev_ptr.
	RevSize = 8
	// TokenSize is the size of a lock's fencing token written at token_ptr.
	TokenSize = 8
	// MaxTopicLen is the longest event topic, in bytes.
	MaxTopicLen = 64
	// MaxSQLLen is the longest SQL text of one statement, in bytes.
	MaxSQLLen = 1 << 20
)

// Lock bounds, in milliseconds as lock_acquire and lock_renew take them.
const (
	MinLockTTL  = 1000 // the server counts message TTLs in whole seconds
	MaxLockTTL  = 5 * 60 * 1000
	MaxLockWait = 30 * 1000
)
