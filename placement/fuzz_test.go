package placement

import (
	"hash/fnv"
	"testing"
)

// TestPartitionOf pins PartitionOf: SDKs reimplement it, so these values
// are the contract and must never change.
func TestPartitionOf(t *testing.T) {
	tests := []struct {
		key        string
		partitions int
		want       int
	}{
		{"", 256, 193},
		{"a", 256, 192},
		{"user:42", 256, 102},
		{"user:43", 256, 209},
		{"hello world", 1000, 256},
		{"hello world", 4096, 1792},
		{"user:42", 1, 0},
		{"user:42", 0, 0},
		{"user:42", -5, 0},
	}
	for _, tt := range tests {
		if got := PartitionOf([]byte(tt.key), tt.partitions); got != tt.want || reference([]byte(tt.key), tt.partitions) != tt.want {
			t.Errorf("PartitionOf(%q, %d) = %d, want %d", tt.key, tt.partitions, got, tt.want)
		}
	}
}

// reference is PartitionOf as its documentation states it, on the
// standard library's FNV-1a.
func reference(key []byte, partitions int) int {
	if partitions <= 1 {
		return 0
	}
	f := fnv.New64a()
	f.Write(key)
	h := f.Sum64()
	h ^= h >> 32
	return int(h % uint64(partitions))
}

// TestPartitionOfSpread: keys like the ones apps use spread evenly over
// the partitions.
func TestPartitionOfSpread(t *testing.T) {
	for _, partitions := range []int{16, 256, 4096} {
		counts := make([]int, partitions)
		keys := 64 * partitions
		for i := range keys {
			counts[PartitionOf([]byte("user:"+itoa(i)), partitions)]++
		}
		for p, n := range counts {
			if n < 64/2 || n > 64*2 {
				t.Fatalf("%d partitions: partition %d got %d keys, want about 64", partitions, p, n)
			}
		}
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

func FuzzPartitionOf(f *testing.F) {
	f.Add([]byte("user:42"), 256)
	f.Add([]byte{}, 0)
	f.Add([]byte{0xff, 0}, -1)
	f.Fuzz(func(t *testing.T, key []byte, partitions int) {
		got := PartitionOf(key, partitions)
		if got != reference(key, partitions) {
			t.Fatalf("PartitionOf(%q, %d) = %d, the documented hash gives %d", key, partitions, got, reference(key, partitions))
		}
		if got < 0 || got >= max(partitions, 1) {
			t.Fatalf("PartitionOf(%q, %d) = %d, out of range", key, partitions, got)
		}
	})
}

// FuzzCompute builds a cluster from the fuzz bytes, names included, with
// a previous assignment that may be nonsense, and checks that Compute
// neither panics nor breaks the ring's one-owner rule.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "a0", "n1", "zone", "a")
	f.Add([]byte("seed the generator with text"), "", "", "", "")
	f.Add([]byte{8, 10, 255, 254, 0, 1, 7, 3, 3, 3, 3, 9, 9, 9, 2, 2, 2}, "a1", "n1", "disk", "")
	f.Fuzz(func(t *testing.T, data []byte, app, node, key, value string) {
		s := &byteSource{data}
		g := gen{nodes: 8, apps: 10, linked: true, moves: true, odd: true}
		apps, nodes := g.cluster(s)
		if len(apps) > 0 {
			apps[0].Name, apps[0].MoveTo = app, node
		}
		if len(nodes) > 0 {
			nodes[0].ID = node
			nodes[0].Labels[key] = value
		}
		prev := map[string]Assignment{app: {Nodes: []string{node, node, "n1"}}}
		for _, a := range apps[min(1, len(apps)):] {
			prev[a.Name] = Assignment{Nodes: []string{node, a.MoveTo, "n2", "n2"}}
		}
		first := Compute(apps, nodes, prev)
		next := Compute(apps, nodes, first)
		for name, a := range next {
			total := 0
			for _, ps := range a.Partitions {
				total += len(ps)
			}
			if msg := checkPartitions(a, total); a.Partitions != nil && msg != "" {
				t.Fatalf("%s: %s: %+v", name, msg, a)
			}
			Moves(first[name], a)
			Moves(prev[name], a)
			Owner(a, -1)
			Owner(a, 1<<30)
		}
	})
}
