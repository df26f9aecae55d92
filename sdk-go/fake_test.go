//go:build !wasip1

package sdk

// These tests run natively against an in-memory host (host_other.go).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// memHost is an in-memory host that follows the ABI's rules: results larger
// than out_cap stay pending for take, revisions are written little-endian.
type memHost struct {
	version int32
	conf    map[string]string
	kv      map[string]memEntry
	rev     uint64
	fail    int32 // when non-zero, every KV function returns it

	calls     []memCall
	callReply []byte
	callFail  int32 // when non-zero, call returns it

	db       []memStmt // every statement db_exec, db_query and db_batch ran
	dbFail   int32     // when non-zero, the db functions return it
	dbResult Result    // what db_exec reports
	dbRows   []byte    // what db_query returns, encoded
	dbBatchN int       // when non-zero, db_batch returns this many results

	locks     map[string]memLock
	lockCalls []memLockCall
	tokens    uint64

	published  []memEvent
	publishErr int32 // when non-zero, event_publish returns it

	errMsg     string // the message last_error reports for a failure
	failed     bool   // whether the last host function (not last_error or take) failed
	lastErrors int    // last_error calls

	pending []byte
	replies [][]byte
	logs    []memLog
	takes   int
}

// memStmt is one statement the memHost ran, its arguments decoded.
type memStmt struct {
	fn   string
	sql  string
	args []any
}

type memLock struct {
	token uint64
	ttlMS int32
}

// memLockCall is one lock function call the memHost received.
type memLockCall struct {
	fn            string
	name          string
	token         uint64
	ttlMS, waitMS int32
}

type memEvent struct {
	topic string
	data  []byte
}

type memEntry struct {
	val []byte
	rev uint64
}

type memLog struct {
	level int32
	msg   string
}

// useHost installs a fresh memHost for the duration of the test.
func useHost(t testing.TB) *memHost {
	h := &memHost{version: version, conf: map[string]string{}, kv: map[string]memEntry{}, locks: map[string]memLock{}}
	testHost = h
	t.Cleanup(func() { testHost = nil })
	return h
}

const invalid = -int32(StatusInvalid)

// track records whether a host function other than take and last_error
// failed, for last_error; each defers it on its result.
func (h *memHost) track(ret *int32) { h.failed = *ret < 0 }

func (h *memHost) lastError(out []byte) int32 {
	h.lastErrors++
	h.pending = nil
	if !h.failed || h.errMsg == "" {
		return -int32(StatusNotFound)
	}
	return h.out([]byte(h.errMsg), out)
}

// out answers a variable-length result: written when it fits, else pending.
func (h *memHost) out(res, out []byte) int32 {
	if len(res) <= len(out) {
		copy(out, res)
	} else {
		h.pending = bytes.Clone(res)
	}
	return int32(len(res))
}

func (h *memHost) abiVersion() int32 { h.pending, h.failed = nil, false; return h.version }

func (h *memHost) reply(b []byte) {
	h.pending, h.failed = nil, false
	h.replies = append(h.replies, bytes.Clone(b))
}

func (h *memHost) log(level int32, msg []byte) {
	h.pending, h.failed = nil, false
	h.logs = append(h.logs, memLog{level, string(msg)})
}

func (h *memHost) config(key, out []byte) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	v, ok := h.conf[string(key)]
	if !ok {
		return -int32(StatusNotFound)
	}
	return h.out([]byte(v), out)
}

func (h *memHost) take(out []byte) int32 {
	h.takes++
	p := h.pending
	h.pending = nil
	if p == nil || len(p) != len(out) {
		return invalid
	}
	copy(out, p)
	return 0
}

func (h *memHost) check(key []byte) int32 {
	h.pending = nil
	if h.fail != 0 {
		return h.fail
	}
	if len(key) == 0 || len(key) > MaxKeyLen {
		return invalid
	}
	return 0
}

func (h *memHost) write(key, val, revOut []byte) int32 {
	h.rev++
	h.kv[string(key)] = memEntry{bytes.Clone(val), h.rev}
	binary.LittleEndian.PutUint64(revOut, h.rev)
	return 0
}

func (h *memHost) kvGet(key, out, rev []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.check(key); st != 0 {
		return st
	}
	e, ok := h.kv[string(key)]
	if !ok {
		return -int32(StatusNotFound)
	}
	binary.LittleEndian.PutUint64(rev, e.rev)
	return h.out(e.val, out)
}

func (h *memHost) kvPut(key, val, rev []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.check(key); st != 0 {
		return st
	}
	return h.write(key, val, rev)
}

func (h *memHost) kvCreate(key, val, rev []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.check(key); st != 0 {
		return st
	}
	if _, ok := h.kv[string(key)]; ok {
		return -int32(StatusConflict)
	}
	return h.write(key, val, rev)
}

func (h *memHost) kvUpdate(key, val []byte, rev uint64, newRev []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.check(key); st != 0 {
		return st
	}
	if e, ok := h.kv[string(key)]; !ok || e.rev != rev {
		return -int32(StatusConflict)
	}
	return h.write(key, val, newRev)
}

func (h *memHost) kvDelete(key []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.check(key); st != 0 {
		return st
	}
	delete(h.kv, string(key))
	return 0
}

func (h *memHost) kvKeys(prefix, out []byte) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	if h.fail != 0 {
		return h.fail
	}
	var keys []string
	for k := range h.kv {
		if strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return h.out(encodeList(keys), out)
}

func encodeList(items []string) []byte {
	var b []byte
	for _, it := range items {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(it)))
		b = append(b, it...)
	}
	return b
}

// decodeArgs decodes a values encoding spanning all of b with the SDK's
// own reader, so what the SDK encodes is checked by decoding it back.
func decodeArgs(b []byte) ([]any, bool) {
	r := reader{b: b}
	args := make([]any, r.count(1))
	for i := range args {
		args[i] = r.value()
	}
	return args, !r.bad && len(r.b) == 0
}

// decodeStatement decodes one statement of a batch from r.
func decodeStatement(r *reader) memStmt {
	sql := r.text()
	args := make([]any, r.count(1))
	for i := range args {
		args[i] = r.value()
	}
	return memStmt{fn: "batch", sql: strings.Clone(sql), args: args}
}

func (h *memHost) dbStart(fn string, sql, params []byte) int32 {
	h.pending = nil
	var args []any
	if len(params) > 0 {
		var ok bool
		if args, ok = decodeArgs(bytes.Clone(params)); !ok {
			return invalid
		}
	}
	h.db = append(h.db, memStmt{fn, string(sql), args})
	return h.dbFail
}

func (h *memHost) dbExec(sql, params, out []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.dbStart("exec", sql, params); st != 0 {
		return st
	}
	binary.LittleEndian.PutUint64(out, uint64(h.dbResult.RowsAffected))
	binary.LittleEndian.PutUint64(out[8:], uint64(h.dbResult.LastInsertID))
	return 0
}

func (h *memHost) dbQuery(sql, params, out []byte) (ret int32) {
	defer h.track(&ret)
	if st := h.dbStart("query", sql, params); st != 0 {
		return st
	}
	return h.out(h.dbRows, out)
}

func (h *memHost) dbBatch(batch, out []byte) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	r := reader{b: bytes.Clone(batch)}
	n := r.count(8)
	for range n {
		h.db = append(h.db, decodeStatement(&r))
	}
	if r.bad || len(r.b) != 0 {
		return invalid
	}
	if h.dbFail != 0 {
		return h.dbFail
	}
	if h.dbBatchN != 0 {
		n = h.dbBatchN
	}
	var res []byte
	for i := range n {
		res = binary.LittleEndian.AppendUint64(res, uint64(i+1))
		res = binary.LittleEndian.AppendUint64(res, uint64(100+i))
	}
	return h.out(res, out)
}

func (h *memHost) lockAcquire(name []byte, ttlMS, waitMS int32, token []byte) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	h.lockCalls = append(h.lockCalls, memLockCall{"acquire", string(name), 0, ttlMS, waitMS})
	if h.fail != 0 {
		return h.fail
	}
	if l, held := h.locks[string(name)]; held {
		h.errMsg = fmt.Sprintf("held by another instance with token %d", l.token)
		return -int32(StatusConflict)
	}
	h.tokens++
	h.locks[string(name)] = memLock{h.tokens, ttlMS}
	binary.LittleEndian.PutUint64(token, h.tokens)
	return 0
}

// holds checks that token holds the lock name.
func (h *memHost) holds(name []byte, token uint64) int32 {
	if h.fail != 0 {
		return h.fail
	}
	if l, held := h.locks[string(name)]; !held || l.token != token {
		h.errMsg = "lock " + string(name) + " is not held with this token"
		return -int32(StatusConflict)
	}
	return 0
}

func (h *memHost) lockRenew(name []byte, token uint64, ttlMS int32) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	h.lockCalls = append(h.lockCalls, memLockCall{"renew", string(name), token, ttlMS, 0})
	if st := h.holds(name, token); st != 0 {
		return st
	}
	h.locks[string(name)] = memLock{token, ttlMS}
	return 0
}

func (h *memHost) lockRelease(name []byte, token uint64) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	h.lockCalls = append(h.lockCalls, memLockCall{"release", string(name), token, 0, 0})
	if st := h.holds(name, token); st != 0 {
		return st
	}
	delete(h.locks, string(name))
	return 0
}

func (h *memHost) eventPublish(topic, payload []byte) (ret int32) {
	defer h.track(&ret)
	h.pending = nil
	if h.publishErr != 0 {
		return h.publishErr
	}
	h.published = append(h.published, memEvent{string(topic), bytes.Clone(payload)})
	return 0
}
