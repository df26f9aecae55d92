package abi

import (
	"encoding/binary"
	"errors"
	"math"
)

// The partitions encoding is the payload of EventOwn and EventRelease: each
// partition number as a little-endian u32, in strictly ascending order (so
// without duplicates), back to back, nothing before or after. n partitions
// take 4n bytes; none is zero bytes. There is exactly one encoding of a set
// of partitions, so SDKs can check theirs byte for byte against the golden
// vectors in testdata/partitions.txt.

// PartitionSize is the size of one encoded partition number.
const PartitionSize = 4

// ErrBadPartitions is returned for partitions that have no encoding (out of
// range, not ascending) and for bytes that are not an encoding.
var ErrBadPartitions = errors.New("malformed partitions")

// AppendPartitions appends the encoding of partitions to dst. They must be
// strictly ascending and each in [0, 2^32); otherwise it returns dst
// unchanged and ErrBadPartitions.
func AppendPartitions(dst []byte, partitions []int) ([]byte, error) {
	for i, p := range partitions {
		if p < 0 || uint64(p) > math.MaxUint32 || (i > 0 && p <= partitions[i-1]) {
			return dst, ErrBadPartitions
		}
	}
	for _, p := range partitions {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(p))
	}
	return dst, nil
}

// DecodePartitions returns the partitions b encodes, ascending. It refuses
// a length that is not a multiple of PartitionSize and numbers that are not
// strictly ascending.
func DecodePartitions(b []byte) ([]int, error) {
	if len(b)%PartitionSize != 0 {
		return nil, ErrBadPartitions
	}
	out := make([]int, 0, len(b)/PartitionSize)
	for i := 0; i < len(b); i += PartitionSize {
		p := int(binary.LittleEndian.Uint32(b[i:]))
		if n := len(out); n > 0 && p <= out[n-1] {
			return nil, ErrBadPartitions
		}
		out = append(out, p)
	}
	return out, nil
}
