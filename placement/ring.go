package placement

import "slices"

// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// PartitionOf maps a key to its ring partition, 0 to partitions-1. It is
// part of the contract with SDKs and clients, which may compute it
// themselves, so it is simple and fixed forever:
//
//	h := FNV-1a 64-bit hash of key (offset 14695981039346656037,
//	     prime 1099511628211; for each byte: h ^= byte; h *= prime)
//	h ^= h >> 32                 // fold the well-mixed high half in:
//	                             // FNV's low bits alone mix poorly
//	partition = h mod partitions // unsigned 64-bit
//
// partitions below 1 count as 1 (every key maps to 0).
func PartitionOf(key []byte, partitions int) int {
	if partitions <= 1 {
		return 0
	}
	h := uint64(fnvOffset)
	for _, b := range key {
		h ^= uint64(b)
		h *= fnvPrime
	}
	h ^= h >> 32
	return int(h % uint64(partitions))
}

// mix64 is the SplitMix64 finalizer: it spreads every input bit over the
// whole output, which FNV alone does not, so rendezvous weights of similar
// names (n1, n2) are independent.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// golden is SplitMix64's increment (2^64 / phi), used to derive one
// independent weight per partition from a node's weight.
const golden = 0x9e3779b97f4a7c15

// nodeWeight is the rendezvous weight of (app, node): mix64 of FNV-1a over
// app, a zero byte, node. The zero byte keeps ("ab","c") and ("a","bc")
// apart.
func nodeWeight(app, node string) uint64 {
	return mix64(fnvAdd(fnvAdd(fnvAdd(fnvOffset, app), "\x00"), node))
}

// partitionWeight is the rendezvous weight of (app, partition, node), from
// the node's weight for the app.
func partitionWeight(w uint64, partition int) uint64 {
	return mix64(w + uint64(partition+1)*golden)
}

// partition splits partitions 0..n-1 of app among nodes: each goes to the
// node with the highest weight for it (the lower id on a tie). Every node
// gets an entry, so a node without partitions is visible as one.
func partition(app string, nodes []string, n int) map[string][]int {
	ids := slices.Sorted(slices.Values(nodes))
	ids = slices.Compact(ids)
	weights := make([]uint64, len(ids))
	for i, id := range ids {
		weights[i] = nodeWeight(app, id)
	}
	out := make(map[string][]int, len(ids))
	for _, id := range ids {
		out[id] = make([]int, 0, n/len(ids)+n/(4*len(ids))+1)
	}
	for p := range n {
		best, bestW := 0, partitionWeight(weights[0], p)
		for i := 1; i < len(ids); i++ {
			if w := partitionWeight(weights[i], p); w > bestW {
				best, bestW = i, w
			}
		}
		out[ids[best]] = append(out[ids[best]], p)
	}
	return out
}

// Owner returns the node that owns partition p of a ring app's assignment,
// or "" when none does. When an assignment (built elsewhere) names two
// owners, the one listed first in a.Nodes wins.
func Owner(a Assignment, p int) string {
	for _, id := range a.Nodes {
		if _, ok := slices.BinarySearch(a.Partitions[id], p); ok {
			return id
		}
	}
	return ""
}
