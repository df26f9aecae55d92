//go:build wasip1

package sdk

import "unsafe"

// The host functions, imported from the gocluster_v1 module. Pointers and
// lengths address this module's linear memory; the host copies what it reads
// and writes only inside the ranges it is given. Each returns a negated
// Status on failure. //go:noescape lets callers keep their revision words
// and buffers on the stack: the host never retains a pointer.

//go:wasmimport gocluster_v1 abi_version
func hostABIVersion() int32

//go:wasmimport gocluster_v1 reply
//go:noescape
func hostReply(ptr unsafe.Pointer, n uint32)

//go:wasmimport gocluster_v1 log
//go:noescape
func hostLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport gocluster_v1 config
//go:noescape
func hostConfig(keyPtr unsafe.Pointer, keyLen uint32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport gocluster_v1 take
//go:noescape
func hostTake(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport gocluster_v1 kv_get
//go:noescape
func hostKVGet(keyPtr unsafe.Pointer, keyLen uint32, outPtr unsafe.Pointer, outCap uint32, revPtr unsafe.Pointer) int32

//go:wasmimport gocluster_v1 kv_put
//go:noescape
func hostKVPut(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32, revPtr unsafe.Pointer) int32

//go:wasmimport gocluster_v1 kv_create
//go:noescape
func hostKVCreate(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32, revPtr unsafe.Pointer) int32

//go:wasmimport gocluster_v1 kv_update
//go:noescape
func hostKVUpdate(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32, rev uint64, revPtr unsafe.Pointer) int32

//go:wasmimport gocluster_v1 kv_delete
//go:noescape
func hostKVDelete(keyPtr unsafe.Pointer, keyLen uint32) int32

//go:wasmimport gocluster_v1 kv_keys
//go:noescape
func hostKVKeys(prefixPtr unsafe.Pointer, prefixLen uint32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport gocluster_v1 call
//go:noescape
func hostCall(appPtr unsafe.Pointer, appLen uint32, methodPtr unsafe.Pointer, methodLen uint32, payloadPtr unsafe.Pointer, payloadLen uint32, keyPtr unsafe.Pointer, keyLen uint32, timeoutMS int32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport gocluster_v1 db_exec
//go:noescape
func hostDBExec(sqlPtr unsafe.Pointer, sqlLen uint32, paramsPtr unsafe.Pointer, paramsLen uint32, outPtr unsafe.Pointer) int32

//go:wasmimport gocluster_v1 db_query
//go:noescape
func hostDBQuery(sqlPtr unsafe.Pointer, sqlLen uint32, paramsPtr unsafe.Pointer, paramsLen uint32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport gocluster_v1 db_batch
//go:noescape
func hostDBBatch(batchPtr unsafe.Pointer, batchLen uint32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport gocluster_v1 lock_acquire
//go:noescape
func hostLockAcquire(namePtr unsafe.Pointer, nameLen uint32, ttlMS int32, waitMS int32, tokenPtr unsafe.Pointer) int32

//go:wasmimport gocluster_v1 lock_renew
//go:noescape
func hostLockRenew(namePtr unsafe.Pointer, nameLen uint32, token uint64, ttlMS int32) int32

//go:wasmimport gocluster_v1 lock_release
//go:noescape
func hostLockRelease(namePtr unsafe.Pointer, nameLen uint32, token uint64) int32

//go:wasmimport gocluster_v1 event_publish
//go:noescape
func hostEventPublish(topicPtr unsafe.Pointer, topicLen uint32, payloadPtr unsafe.Pointer, payloadLen uint32) int32

//go:wasmimport gocluster_v1 last_error
//go:noescape
func hostLastError(outPtr unsafe.Pointer, outCap uint32) int32

// exportBufferFunc is gocluster_v1_buffer: the address of a buffer of at
// least size bytes that the host writes the next call into, or 0 for a
// negative size.
//
//go:wasmexport gocluster_v1_buffer
func exportBufferFunc(size int32) uint32 {
	p := inputBuffer(size)
	if p == nil {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(p)))
}

// exportHandleFunc is gocluster_v1_handle: runs the handler of the method
// in the input buffer and returns its Status.
//
//go:wasmexport gocluster_v1_handle
func exportHandleFunc(methodLen, payloadLen int32) int32 {
	return int32(dispatch(methodLen, payloadLen))
}

// exportEventFunc is gocluster_v1_event: runs the handler of one lifecycle
// event, its payload in the input buffer, and returns its Status.
//
//go:wasmexport gocluster_v1_event
func exportEventFunc(kind, payloadLen int32) int32 {
	return int32(event(kind, payloadLen))
}
