package placement

import "slices"

// Change is what differs between two assignments of one app, for audit
// records and `status` output.
type Change struct {
	// Added and Removed are the nodes that gain and lose an instance,
	// sorted.
	Added, Removed []string
	// PreferredFrom and PreferredTo are the old and new preferred active
	// (Nodes[0]) when it changed; both empty otherwise.
	PreferredFrom, PreferredTo string
	// Partitions are the ring partitions whose owner changed, in
	// ascending order.
	Partitions []PartitionMove
}

// PartitionMove is one partition changing owner. From or To is empty when
// the partition had or has no owner.
type PartitionMove struct {
	Partition int
	From, To  string
}

// Moves compares the previous and next assignment of one app.
func Moves(prev, next Assignment) Change {
	var c Change
	for _, id := range next.Nodes {
		if !slices.Contains(prev.Nodes, id) {
			c.Added = append(c.Added, id)
		}
	}
	for _, id := range prev.Nodes {
		if !slices.Contains(next.Nodes, id) {
			c.Removed = append(c.Removed, id)
		}
	}
	slices.Sort(c.Added)
	slices.Sort(c.Removed)
	if first(prev) != first(next) {
		c.PreferredFrom, c.PreferredTo = first(prev), first(next)
	}
	before, after := owners(prev), owners(next)
	for p := range max(len(before), len(after)) {
		from, to := at(before, p), at(after, p)
		if from != to {
			c.Partitions = append(c.Partitions, PartitionMove{p, from, to})
		}
	}
	return c
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && c.PreferredTo == "" && c.PreferredFrom == "" && len(c.Partitions) == 0
}

func first(a Assignment) string {
	if len(a.Nodes) == 0 {
		return ""
	}
	return a.Nodes[0]
}

// owners returns the owner of each partition of a, indexed by partition,
// with Owner's rule for partitions claimed twice.
func owners(a Assignment) []string {
	var out []string
	for i := len(a.Nodes) - 1; i >= 0; i-- {
		id := a.Nodes[i]
		for _, p := range a.Partitions[id] {
			if p < 0 || p > maxOwnerPartition {
				continue
			}
			for len(out) <= p {
				out = append(out, "")
			}
			out[p] = id // earlier nodes overwrite later ones, as in Owner
		}
	}
	return out
}

// maxOwnerPartition bounds the table owners builds from an assignment that
// came from elsewhere, so a bogus partition number cannot allocate without
// limit.
const maxOwnerPartition = 1 << 16

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}
