// Command raw is a guest written against the ABI directly, without the SDK.
// It exists to attack the host: its "attack" method calls every host
// function that returns a status with out-of-bounds pointers, lengths of
// 0xffffffff, ranges that wrap past 4 GiB, bad keys and names, a negative
// timeout and misuse of take, and replies a JSON object mapping
// "function/case" to the i32 each returned.
// A correct host answers every one with -7 (negated INVALID) and stays up.
//
// Other methods:
//
//	attack_log    calls log with hostile pointers and levels; replies "ok"
//	attack_reply  calls reply with an out-of-bounds pointer and returns OK
//	echo          replies with the payload
//
// attack writes the key "attack" when the app may use KV, to leave a result
// pending for the take cases; without KV those cases still expect INVALID.
package main

import (
	"strconv"
	"unsafe"
)

//go:wasmimport gocluster_v1 abi_version
func abiVersion() int32

//go:wasmimport gocluster_v1 reply
func reply(ptr, n uint32)

//go:wasmimport gocluster_v1 log
func log(level int32, ptr, n uint32)

//go:wasmimport gocluster_v1 config
func config(keyPtr, keyLen, outPtr, outCap uint32) int32

//go:wasmimport gocluster_v1 take
func take(ptr, n uint32) int32

//go:wasmimport gocluster_v1 kv_get
func kvGet(keyPtr, keyLen, outPtr, outCap, revPtr uint32) int32

//go:wasmimport gocluster_v1 kv_put
func kvPut(keyPtr, keyLen, valPtr, valLen, revPtr uint32) int32

//go:wasmimport gocluster_v1 kv_create
func kvCreate(keyPtr, keyLen, valPtr, valLen, revPtr uint32) int32

//go:wasmimport gocluster_v1 kv_update
func kvUpdate(keyPtr, keyLen, valPtr, valLen uint32, rev uint64, revPtr uint32) int32

//go:wasmimport gocluster_v1 kv_delete
func kvDelete(keyPtr, keyLen uint32) int32

//go:wasmimport gocluster_v1 kv_keys
func kvKeys(prefixPtr, prefixLen, outPtr, outCap uint32) int32

//go:wasmimport gocluster_v1 call
func call(appPtr, appLen, methodPtr, methodLen, payloadPtr, payloadLen, keyPtr, keyLen uint32, timeoutMS int32, outPtr, outCap uint32) int32

//go:wasmimport gocluster_v1 db_exec
func dbExec(sqlPtr, sqlLen, paramsPtr, paramsLen, outPtr uint32) int32

//go:wasmimport gocluster_v1 db_query
func dbQuery(sqlPtr, sqlLen, paramsPtr, paramsLen, outPtr, outCap uint32) int32

//go:wasmimport gocluster_v1 db_batch
func dbBatch(batchPtr, batchLen, outPtr, outCap uint32) int32

//go:wasmimport gocluster_v1 lock_acquire
func lockAcquire(namePtr, nameLen uint32, ttlMS, waitMS int32, tokenPtr uint32) int32

//go:wasmimport gocluster_v1 lock_renew
func lockRenew(namePtr, nameLen uint32, token uint64, ttlMS int32) int32

//go:wasmimport gocluster_v1 lock_release
func lockRelease(namePtr, nameLen uint32, token uint64) int32

//go:wasmimport gocluster_v1 event_publish
func eventPublish(topicPtr, topicLen, payloadPtr, payloadLen uint32) int32

//go:wasmimport gocluster_v1 last_error
func lastError(outPtr, outCap uint32) int32

var input []byte

//go:wasmexport gocluster_v1_buffer
func buffer(size int32) uint32 {
	if size < 0 {
		return 0
	}
	if int(size) > len(input) || input == nil {
		input = make([]byte, max(int(size), 64))
	}
	return addr(input)
}

//go:wasmexport gocluster_v1_handle
func handle(methodLen, payloadLen int32) int32 {
	method := string(input[:methodLen])
	payload := input[methodLen : methodLen+payloadLen]
	switch method {
	case "echo":
		reply(addr(payload), uint32(len(payload)))
	case "attack":
		out := attack()
		reply(addr(out), uint32(len(out)))
	case "attack_log":
		attackLog()
		ok := []byte("ok")
		reply(addr(ok), uint32(len(ok)))
	case "attack_reply":
		reply(oob, 16)
	default:
		msg := []byte("no handler for method " + method)
		reply(addr(msg), uint32(len(msg)))
		return 1 // NOT_FOUND
	}
	return 0
}

func main() {}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// Hostile addresses. No Go guest's memory comes near 4 GiB, so oob is out
// of bounds; wrap+wrapLen overflows a u32.
const (
	oob     = 0xffff0000
	wrap    = 0xfffffff0
	wrapLen = 0x20
	huge    = 0xffffffff
	revWrap = 0xfffffffc // 4 bytes before the end of the address space
)

var (
	area    = make([]byte, 4096)
	longKey = make([]byte, 513) // one past MaxKeyLen; also past the name limits
	value   = make([]byte, 64)
)

func attack() []byte {
	good := addr(area)
	copy(area, "attack")
	key, keyLen := good, uint32(len("attack"))
	long := addr(longKey)
	val := addr(value)
	results := []struct {
		name string
		ret  int32
	}{
		{"config/key_oob", config(oob, 4, good, 64)},
		{"config/key_huge_len", config(good, huge, good, 64)},
		{"config/key_wrap", config(wrap, wrapLen, good, 64)},
		{"config/key_long", config(long, 513, good, 64)},
		{"config/out_oob", config(key, keyLen, oob, 64)},
		{"config/out_huge_cap", config(key, keyLen, good, huge)},
		{"config/out_wrap", config(key, keyLen, wrap, wrapLen)},

		{"kv_get/key_oob", kvGet(oob, 4, good, 64, good)},
		{"kv_get/key_huge_len", kvGet(good, huge, good, 64, good)},
		{"kv_get/key_wrap", kvGet(wrap, wrapLen, good, 64, good)},
		{"kv_get/key_empty", kvGet(good, 0, good, 64, good)},
		{"kv_get/key_long", kvGet(long, 513, good, 64, good)},
		{"kv_get/out_oob", kvGet(key, keyLen, oob, 64, good)},
		{"kv_get/out_huge_cap", kvGet(key, keyLen, good, huge, good)},
		{"kv_get/out_wrap", kvGet(key, keyLen, wrap, wrapLen, good)},
		{"kv_get/rev_oob", kvGet(key, keyLen, good, 64, oob)},
		{"kv_get/rev_wrap", kvGet(key, keyLen, good, 64, revWrap)},

		{"kv_put/key_oob", kvPut(oob, 4, val, 64, good)},
		{"kv_put/key_huge_len", kvPut(good, huge, val, 64, good)},
		{"kv_put/key_wrap", kvPut(wrap, wrapLen, val, 64, good)},
		{"kv_put/key_empty", kvPut(good, 0, val, 64, good)},
		{"kv_put/key_long", kvPut(long, 513, val, 64, good)},
		{"kv_put/val_oob", kvPut(key, keyLen, oob, 64, good)},
		{"kv_put/val_huge_len", kvPut(key, keyLen, val, huge, good)},
		{"kv_put/val_wrap", kvPut(key, keyLen, wrap, wrapLen, good)},
		{"kv_put/rev_oob", kvPut(key, keyLen, val, 64, oob)},
		{"kv_put/rev_wrap", kvPut(key, keyLen, val, 64, revWrap)},

		{"kv_create/key_oob", kvCreate(oob, 4, val, 64, good)},
		{"kv_create/key_huge_len", kvCreate(good, huge, val, 64, good)},
		{"kv_create/key_wrap", kvCreate(wrap, wrapLen, val, 64, good)},
		{"kv_create/key_empty", kvCreate(good, 0, val, 64, good)},
		{"kv_create/key_long", kvCreate(long, 513, val, 64, good)},
		{"kv_create/val_oob", kvCreate(key, keyLen, oob, 64, good)},
		{"kv_create/val_huge_len", kvCreate(key, keyLen, val, huge, good)},
		{"kv_create/val_wrap", kvCreate(key, keyLen, wrap, wrapLen, good)},
		{"kv_create/rev_oob", kvCreate(key, keyLen, val, 64, oob)},
		{"kv_create/rev_wrap", kvCreate(key, keyLen, val, 64, revWrap)},

		{"kv_update/key_oob", kvUpdate(oob, 4, val, 64, 1, good)},
		{"kv_update/key_huge_len", kvUpdate(good, huge, val, 64, 1, good)},
		{"kv_update/key_wrap", kvUpdate(wrap, wrapLen, val, 64, 1, good)},
		{"kv_update/key_empty", kvUpdate(good, 0, val, 64, 1, good)},
		{"kv_update/key_long", kvUpdate(long, 513, val, 64, 1, good)},
		{"kv_update/val_oob", kvUpdate(key, keyLen, oob, 64, 1, good)},
		{"kv_update/val_huge_len", kvUpdate(key, keyLen, val, huge, 1, good)},
		{"kv_update/val_wrap", kvUpdate(key, keyLen, wrap, wrapLen, 1, good)},
		{"kv_update/rev_oob", kvUpdate(key, keyLen, val, 64, 1, oob)},
		{"kv_update/rev_wrap", kvUpdate(key, keyLen, val, 64, 1, revWrap)},

		{"kv_delete/key_oob", kvDelete(oob, 4)},
		{"kv_delete/key_huge_len", kvDelete(good, huge)},
		{"kv_delete/key_wrap", kvDelete(wrap, wrapLen)},
		{"kv_delete/key_empty", kvDelete(good, 0)},
		{"kv_delete/key_long", kvDelete(long, 513)},

		{"kv_keys/prefix_oob", kvKeys(oob, 4, good, 64)},
		{"kv_keys/prefix_huge_len", kvKeys(good, huge, good, 64)},
		{"kv_keys/prefix_wrap", kvKeys(wrap, wrapLen, good, 64)},
		{"kv_keys/prefix_long", kvKeys(long, 513, good, 64)},
		{"kv_keys/out_oob", kvKeys(key, keyLen, oob, 64)},
		{"kv_keys/out_huge_cap", kvKeys(key, keyLen, good, huge)},
		{"kv_keys/out_wrap", kvKeys(key, keyLen, wrap, wrapLen)},

		{"call/app_oob", call(oob, 4, key, keyLen, val, 8, key, keyLen, 0, good, 64)},
		{"call/app_huge_len", call(good, huge, key, keyLen, val, 8, key, keyLen, 0, good, 64)},
		{"call/app_wrap", call(wrap, wrapLen, key, keyLen, val, 8, key, keyLen, 0, good, 64)},
		{"call/app_empty", call(good, 0, key, keyLen, val, 8, key, keyLen, 0, good, 64)},
		{"call/app_long", call(long, 33, key, keyLen, val, 8, key, keyLen, 0, good, 64)},
		{"call/method_oob", call(key, keyLen, oob, 4, val, 8, key, keyLen, 0, good, 64)},
		{"call/method_huge_len", call(key, keyLen, good, huge, val, 8, key, keyLen, 0, good, 64)},
		{"call/method_wrap", call(key, keyLen, wrap, wrapLen, val, 8, key, keyLen, 0, good, 64)},
		{"call/method_empty", call(key, keyLen, good, 0, val, 8, key, keyLen, 0, good, 64)},
		{"call/method_long", call(key, keyLen, long, 65, val, 8, key, keyLen, 0, good, 64)},
		{"call/payload_oob", call(key, keyLen, key, keyLen, oob, 8, key, keyLen, 0, good, 64)},
		{"call/payload_huge_len", call(key, keyLen, key, keyLen, val, huge, key, keyLen, 0, good, 64)},
		{"call/payload_wrap", call(key, keyLen, key, keyLen, wrap, wrapLen, key, keyLen, 0, good, 64)},
		{"call/key_oob", call(key, keyLen, key, keyLen, val, 8, oob, 4, 0, good, 64)},
		{"call/key_huge_len", call(key, keyLen, key, keyLen, val, 8, good, huge, 0, good, 64)},
		{"call/key_wrap", call(key, keyLen, key, keyLen, val, 8, wrap, wrapLen, 0, good, 64)},
		{"call/key_long", call(key, keyLen, key, keyLen, val, 8, long, 513, 0, good, 64)},
		{"call/timeout_negative", call(key, keyLen, key, keyLen, val, 8, key, keyLen, -1, good, 64)},
		{"call/out_oob", call(key, keyLen, key, keyLen, val, 8, key, keyLen, 0, oob, 64)},
		{"call/out_huge_cap", call(key, keyLen, key, keyLen, val, 8, key, keyLen, 0, good, huge)},
		{"call/out_wrap", call(key, keyLen, key, keyLen, val, 8, key, keyLen, 0, wrap, wrapLen)},

		{"db_exec/sql_oob", dbExec(oob, 4, val, 0, good)},
		{"db_exec/sql_huge_len", dbExec(good, huge, val, 0, good)},
		{"db_exec/sql_wrap", dbExec(wrap, wrapLen, val, 0, good)},
		{"db_exec/sql_empty", dbExec(good, 0, val, 0, good)},
		{"db_exec/params_oob", dbExec(key, keyLen, oob, 8, good)},
		{"db_exec/params_wrap", dbExec(key, keyLen, wrap, wrapLen, good)},
		{"db_exec/params_malformed", dbExec(key, keyLen, good, 16, good)},
		{"db_exec/out_oob", dbExec(key, keyLen, val, 0, oob)},
		{"db_exec/out_wrap", dbExec(key, keyLen, val, 0, revWrap)},

		{"db_query/sql_oob", dbQuery(oob, 4, val, 0, good, 64)},
		{"db_query/sql_huge_len", dbQuery(good, huge, val, 0, good, 64)},
		{"db_query/sql_empty", dbQuery(good, 0, val, 0, good, 64)},
		{"db_query/params_malformed", dbQuery(key, keyLen, good, 16, good, 64)},
		{"db_query/params_oob", dbQuery(key, keyLen, oob, 8, good, 64)},
		{"db_query/out_oob", dbQuery(key, keyLen, val, 0, oob, 64)},
		{"db_query/out_huge_cap", dbQuery(key, keyLen, val, 0, good, huge)},
		{"db_query/out_wrap", dbQuery(key, keyLen, val, 0, wrap, wrapLen)},

		{"db_batch/batch_oob", dbBatch(oob, 8, good, 64)},
		{"db_batch/batch_huge_len", dbBatch(good, huge, good, 64)},
		{"db_batch/batch_wrap", dbBatch(wrap, wrapLen, good, 64)},
		{"db_batch/batch_malformed", dbBatch(good, 16, good, 64)},
		{"db_batch/batch_empty", dbBatch(val, 4, good, 64)},
		{"db_batch/out_oob", dbBatch(val, 4, oob, 64)},
		{"db_batch/out_huge_cap", dbBatch(val, 4, good, huge)},

		{"lock_acquire/name_oob", lockAcquire(oob, 4, 1000, 0, good)},
		{"lock_acquire/name_huge_len", lockAcquire(good, huge, 1000, 0, good)},
		{"lock_acquire/name_empty", lockAcquire(good, 0, 1000, 0, good)},
		{"lock_acquire/name_long", lockAcquire(long, 513, 1000, 0, good)},
		{"lock_acquire/ttl_zero", lockAcquire(key, keyLen, 0, 0, good)},
		{"lock_acquire/ttl_negative", lockAcquire(key, keyLen, -1, 0, good)},
		{"lock_acquire/ttl_too_long", lockAcquire(key, keyLen, 5*60*1000+1, 0, good)},
		{"lock_acquire/wait_negative", lockAcquire(key, keyLen, 1000, -1, good)},
		{"lock_acquire/wait_too_long", lockAcquire(key, keyLen, 1000, 30*1000+1, good)},
		{"lock_acquire/token_oob", lockAcquire(key, keyLen, 1000, 0, oob)},
		{"lock_acquire/token_wrap", lockAcquire(key, keyLen, 1000, 0, revWrap)},

		{"lock_renew/name_oob", lockRenew(oob, 4, 1, 1000)},
		{"lock_renew/name_empty", lockRenew(good, 0, 1, 1000)},
		{"lock_renew/name_long", lockRenew(long, 513, 1, 1000)},
		{"lock_renew/ttl_zero", lockRenew(key, keyLen, 1, 0)},
		{"lock_renew/ttl_too_long", lockRenew(key, keyLen, 1, 5*60*1000+1)},

		{"lock_release/name_oob", lockRelease(oob, 4, 1)},
		{"lock_release/name_huge_len", lockRelease(good, huge, 1)},
		{"lock_release/name_empty", lockRelease(good, 0, 1)},
		{"lock_release/name_long", lockRelease(long, 513, 1)},

		{"event_publish/topic_oob", eventPublish(oob, 4, val, 8)},
		{"event_publish/topic_huge_len", eventPublish(good, huge, val, 8)},
		{"event_publish/topic_empty", eventPublish(good, 0, val, 8)},
		{"event_publish/topic_long", eventPublish(long, 65, val, 8)},
		{"event_publish/payload_oob", eventPublish(key, keyLen, oob, 8)},
		{"event_publish/payload_wrap", eventPublish(key, keyLen, wrap, wrapLen)},

		{"last_error/out_oob", lastError(oob, 64)},
		{"last_error/out_huge_cap", lastError(good, huge)},
		{"last_error/out_wrap", lastError(wrap, wrapLen)},

		{"take/no_pending", take(good, 16)},
		{"take/wrong_len", pendThen(func(n uint32) int32 { return take(good, n+1) })},
		{"take/short_len", pendThen(func(n uint32) int32 { return take(good, n-1) })},
		{"take/oob", pendThen(func(n uint32) int32 { return take(oob, n) })},
		{"take/wrap", pendThen(func(n uint32) int32 { return take(wrap, n) })},
		{"take/huge_len", pendThen(func(n uint32) int32 { return take(good, huge) })},
		{"take/after_other_call", pendThen(func(n uint32) int32 { abiVersion(); return take(good, n) })},
		{"take/twice", pendThen(func(n uint32) int32 { take(good, n); return take(good, n) })},
	}
	out := []byte{'{'}
	for i, r := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, r.name)
		out = append(out, ':')
		out = strconv.AppendInt(out, int64(r.ret), 10)
	}
	return append(out, '}')
}

// pendThen leaves a 64-byte result pending (the value of "attack", read
// with no room for it) and runs f with its length. Without KV nothing is
// pending and f runs with 64 anyway.
func pendThen(f func(n uint32) int32) int32 {
	good := addr(area)
	copy(area, "attack")
	kvPut(good, 6, addr(value), uint32(len(value)), good+64)
	n := kvGet(good, 6, good, 0, good+64)
	if n <= 0 {
		n = int32(len(value))
	}
	return f(uint32(n))
}

func attackLog() {
	good := addr(area)
	copy(area, "log line")
	log(1, oob, 4)
	log(1, good, huge)
	log(1, wrap, wrapLen)
	log(99, good, 8)
	log(-1, good, 8)
}
