//go:build !wasip1

package sdk

import "unsafe"

// Outside a wasip1 build there is no host: every host function answers
// StatusUnavailable, so code using the SDK compiles, vets and unit-tests
// natively. The package's own tests install a fake host in testHost to
// exercise the SDK's side of the protocol.

// testHost, when set, answers the host functions natively. Buffers alias
// the caller's memory, as guest memory does for a real host.
var testHost fakeHost

type fakeHost interface {
	abiVersion() int32
	reply(b []byte)
	log(level int32, msg []byte)
	config(key, out []byte) int32
	take(out []byte) int32
	kvGet(key, out, rev []byte) int32
	kvPut(key, val, rev []byte) int32
	kvCreate(key, val, rev []byte) int32
	kvUpdate(key, val []byte, rev uint64, newRev []byte) int32
	kvDelete(key []byte) int32
	kvKeys(prefix, out []byte) int32
	call(app, method, payload, key []byte, timeoutMS int32, out []byte) int32
	dbExec(sql, params, out []byte) int32
	dbQuery(sql, params, out []byte) int32
	dbBatch(batch, out []byte) int32
	lockAcquire(name []byte, ttlMS, waitMS int32, token []byte) int32
	lockRenew(name []byte, token uint64, ttlMS int32) int32
	lockRelease(name []byte, token uint64) int32
	eventPublish(topic, payload []byte) int32
	lastError(out []byte) int32
}

const unavailable = -int32(StatusUnavailable)

func mem(p unsafe.Pointer, n uint32) []byte {
	if p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

func hostABIVersion() int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.abiVersion()
}

func hostReply(ptr unsafe.Pointer, n uint32) {
	if testHost != nil {
		testHost.reply(mem(ptr, n))
	}
}

func hostLog(level int32, ptr unsafe.Pointer, n uint32) {
	if testHost != nil {
		testHost.log(level, mem(ptr, n))
	}
}

func hostConfig(keyPtr unsafe.Pointer, keyLen uint32, outPtr unsafe.Pointer, outCap uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.config(mem(keyPtr, keyLen), mem(outPtr, outCap))
}

func hostTake(ptr unsafe.Pointer, n uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.take(mem(ptr, n))
}

func hostKVGet(keyPtr unsafe.Pointer, keyLen uint32, outPtr unsafe.Pointer, outCap uint32, revPtr unsafe.Pointer) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.kvGet(mem(keyPtr, keyLen), mem(outPtr, outCap), mem(revPtr, revSize))
}

func hostKVPut(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32, revPtr unsafe.Pointer) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.kvPut(mem(keyPtr, keyLen), mem(valPtr, valLen), mem(revPtr, revSize))
}

func hostKVCreate(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32, revPtr unsafe.Pointer) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.kvCreate(mem(keyPtr, keyLen), mem(valPtr, valLen), mem(revPtr, revSize))
}

func hostKVUpdate(keyPtr unsafe.Pointer, keyLen uint32, valPtr unsafe.Pointer, valLen uint32, rev uint64, revPtr unsafe.Pointer) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.kvUpdate(mem(keyPtr, keyLen), mem(valPtr, valLen), rev, mem(revPtr, revSize))
}

func hostKVDelete(keyPtr unsafe.Pointer, keyLen uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.kvDelete(mem(keyPtr, keyLen))
}

func hostKVKeys(prefixPtr unsafe.Pointer, prefixLen uint32, outPtr unsafe.Pointer, outCap uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.kvKeys(mem(prefixPtr, prefixLen), mem(outPtr, outCap))
}

func hostCall(appPtr unsafe.Pointer, appLen uint32, methodPtr unsafe.Pointer, methodLen uint32, payloadPtr unsafe.Pointer, payloadLen uint32, keyPtr unsafe.Pointer, keyLen uint32, timeoutMS int32, outPtr unsafe.Pointer, outCap uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.call(mem(appPtr, appLen), mem(methodPtr, methodLen), mem(payloadPtr, payloadLen), mem(keyPtr, keyLen), timeoutMS, mem(outPtr, outCap))
}

func hostDBExec(sqlPtr unsafe.Pointer, sqlLen uint32, paramsPtr unsafe.Pointer, paramsLen uint32, outPtr unsafe.Pointer) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.dbExec(mem(sqlPtr, sqlLen), mem(paramsPtr, paramsLen), mem(outPtr, execResultSize))
}

func hostDBQuery(sqlPtr unsafe.Pointer, sqlLen uint32, paramsPtr unsafe.Pointer, paramsLen uint32, outPtr unsafe.Pointer, outCap uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.dbQuery(mem(sqlPtr, sqlLen), mem(paramsPtr, paramsLen), mem(outPtr, outCap))
}

func hostDBBatch(batchPtr unsafe.Pointer, batchLen uint32, outPtr unsafe.Pointer, outCap uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.dbBatch(mem(batchPtr, batchLen), mem(outPtr, outCap))
}

func hostLockAcquire(namePtr unsafe.Pointer, nameLen uint32, ttlMS int32, waitMS int32, tokenPtr unsafe.Pointer) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.lockAcquire(mem(namePtr, nameLen), ttlMS, waitMS, mem(tokenPtr, tokenSize))
}

func hostLockRenew(namePtr unsafe.Pointer, nameLen uint32, token uint64, ttlMS int32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.lockRenew(mem(namePtr, nameLen), token, ttlMS)
}

func hostLockRelease(namePtr unsafe.Pointer, nameLen uint32, token uint64) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.lockRelease(mem(namePtr, nameLen), token)
}

func hostEventPublish(topicPtr unsafe.Pointer, topicLen uint32, payloadPtr unsafe.Pointer, payloadLen uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.eventPublish(mem(topicPtr, topicLen), mem(payloadPtr, payloadLen))
}

func hostLastError(outPtr unsafe.Pointer, outCap uint32) int32 {
	if testHost == nil {
		return unavailable
	}
	return testHost.lastError(mem(outPtr, outCap))
}
