package abi

import (
	"encoding/binary"
	"errors"
)

// A List is how a host function returns several byte strings (kv_keys): each
// item is its length as a little-endian u32 followed by its bytes, items
// back to back, nothing before or after. An empty list is zero bytes.

// ErrBadList is returned by DecodeList for bytes that are not a List.
var ErrBadList = errors.New("malformed list encoding")

// AppendList appends the List encoding of items to dst.
func AppendList(dst []byte, items ...[]byte) []byte {
	for _, it := range items {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

// ListSize returns the encoded size of items.
func ListSize(items ...[]byte) int {
	n := 0
	for _, it := range items {
		n += 4 + len(it)
	}
	return n
}

// DecodeList splits a List into its items. The items alias b.
func DecodeList(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, ErrBadList
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, ErrBadList
		}
		out = append(out, b[:n:n])
		b = b[n:]
	}
	return out, nil
}
