package sdk

import "unsafe"

// The app's key-value store. Each app sees only its own keys: the host
// derives the storage from the app's identity, so a key is plain data
// (any bytes, 1 to MaxKeyLen long; dots, wildcards and non-UTF-8 bytes mean
// nothing special). Values are arbitrary bytes. Every write returns the
// key's new revision, which KVUpdate takes for compare-and-set.
//
// Errors match the sentinels with errors.Is: ErrNotFound for an absent key,
// ErrConflict for a failed create or update, ErrDenied when the manifest
// does not grant kv, ErrInvalid for a bad key.

// errBadKey is returned without crossing to the host.
var errBadKey = &Error{Status: StatusInvalid, Message: "key must be 1 to 512 bytes"}

func checkKey(key string) error {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return errBadKey
	}
	return nil
}

// KVGet returns the value of key and its revision.
func KVGet(key string) (value []byte, rev uint64, err error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	n := hostKVGet(stringPtr(key), uint32(len(key)), scratchPtr(), scratchSize, unsafe.Pointer(&rev))
	if n < 0 {
		return nil, 0, hostErr(n)
	}
	value, err = result(n)
	if err != nil {
		return nil, 0, err
	}
	return value, rev, nil
}

// KVPut sets key to value, whatever it held, and returns the new revision.
func KVPut(key string, value []byte) (rev uint64, err error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if ret := hostKVPut(stringPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), unsafe.Pointer(&rev)); ret < 0 {
		return 0, hostErr(ret)
	}
	return rev, nil
}

// KVCreate sets key to value only if key does not exist, and returns the
// new revision; ErrConflict when it exists.
func KVCreate(key string, value []byte) (rev uint64, err error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if ret := hostKVCreate(stringPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), unsafe.Pointer(&rev)); ret < 0 {
		return 0, hostErr(ret)
	}
	return rev, nil
}

// KVUpdate sets key to value only if its revision is still rev, and returns
// the new revision; ErrConflict when another write came first. Read with
// KVGet, compute, then KVUpdate, and retry from the read on ErrConflict.
func KVUpdate(key string, value []byte, rev uint64) (newRev uint64, err error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if ret := hostKVUpdate(stringPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), rev, unsafe.Pointer(&newRev)); ret < 0 {
		return 0, hostErr(ret)
	}
	return newRev, nil
}

// KVDelete deletes key. Deleting an absent key is not an error.
func KVDelete(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if ret := hostKVDelete(stringPtr(key), uint32(len(key))); ret < 0 {
		return hostErr(ret)
	}
	return nil
}

// KVKeys returns the app's keys that start with prefix, sorted. An empty
// prefix lists every key.
func KVKeys(prefix string) ([]string, error) {
	if len(prefix) > MaxKeyLen {
		return nil, errBadKey
	}
	n := hostKVKeys(stringPtr(prefix), uint32(len(prefix)), scratchPtr(), scratchSize)
	if n < 0 {
		return nil, hostErr(n)
	}
	if n == 0 {
		return nil, nil
	}
	b, err := result(n)
	if err != nil {
		return nil, err
	}
	keys, ok := decodeList(unsafe.String(unsafe.SliceData(b), len(b)))
	if !ok {
		return nil, &Error{Status: StatusInternal, Message: "host sent a malformed key list"}
	}
	return keys, nil
}

// decodeList splits the host's List encoding (each item a little-endian u32
// length then its bytes, back to back) into strings that share b's memory.
// It reports false for bytes that are not a List.
func decodeList(b string) ([]string, bool) {
	count := 0
	for rest := b; len(rest) > 0; count++ {
		if len(rest) < 4 {
			return nil, false
		}
		n := uint64(le32(rest))
		if n > uint64(len(rest)-4) {
			return nil, false
		}
		rest = rest[4+n:]
	}
	items := make([]string, count)
	for i := range items {
		n := le32(b)
		items[i] = b[4 : 4+n]
		b = b[4+n:]
	}
	return items, true
}

func le32(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
