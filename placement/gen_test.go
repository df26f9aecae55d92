package placement

import (
	"fmt"
	"math/rand/v2"

	"github.com/ozanturksever/go-cluster/manifest"
)

// source makes the generator's choices: seeded randomness for property
// tests and benchmarks, fuzz bytes for the fuzz test.
type source interface {
	intn(n int) int // 0 to n-1; n >= 1
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }

func seeded(seed uint64) source { return randSource{rand.New(rand.NewPCG(seed, 0x9e3779b9))} }

// byteSource reads one byte per choice and answers 0 once it runs out, so
// every byte string is a cluster.
type byteSource struct{ b []byte }

func (s *byteSource) intn(n int) int {
	if len(s.b) == 0 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	return v % n
}

// gen describes the clusters to generate.
type gen struct {
	nodes, apps int  // at most this many
	linked      bool // with and awayFrom between apps
	moves       bool // operator moves
	odd         bool // input manifest.Validate would refuse: bad counts, unknown modes, duplicate names
}

var (
	zones = []string{"a", "b", "c"}
	disks = []string{"ssd", "hdd", "nvme"}
)

func (g gen) node(s source, i int) Node {
	n := Node{ID: fmt.Sprintf("n%d", i), Labels: map[string]string{}}
	if g.odd {
		n.ID = fmt.Sprintf("n%d", s.intn(g.nodes+1))
	}
	n.Labels["zone"] = zones[s.intn(len(zones))]
	if s.intn(3) > 0 {
		n.Labels["disk"] = disks[s.intn(len(disks))]
	}
	if s.intn(4) == 0 {
		n.Labels["gpu"] = "yes"
	}
	n.Cordoned = s.intn(6) == 0
	n.Draining = s.intn(8) == 0
	return n
}

func (g gen) cluster(s source) ([]App, []Node) {
	nodes := make([]Node, s.intn(g.nodes+1))
	for i := range nodes {
		nodes[i] = g.node(s, i+1)
	}
	apps := make([]App, s.intn(g.apps+1))
	for i := range apps {
		apps[i] = g.app(s, i, len(apps), len(nodes))
	}
	return apps, nodes
}

func (g gen) app(s source, i, apps, nodes int) App {
	a := App{Name: fmt.Sprintf("a%d", i)}
	if g.odd && s.intn(8) == 0 {
		a.Name = fmt.Sprintf("a%d", s.intn(apps))
	}
	switch s.intn(3) {
	case 0:
		a.Mode = manifest.ModeSingleton
	case 1:
		a.Mode = manifest.ModeSpread
	default:
		a.Mode, a.Replicas = manifest.ModeReplicas, 1+s.intn(4)
	}
	if a.Mode != manifest.ModeSingleton && s.intn(3) == 0 {
		a.Pattern, a.Partitions = manifest.PatternRing, []int{0, 1, 7, 64, 256}[s.intn(5)]
	}
	if g.odd && s.intn(6) == 0 {
		a.Mode = []manifest.Mode{"", "many", manifest.ModeReplicas}[s.intn(3)]
		a.Replicas = s.intn(4) - 1
		a.Pattern = []manifest.Pattern{"", "mesh", manifest.PatternRing}[s.intn(3)]
		a.Partitions = []int{-1, 0, 5000, manifest.MaxPartitions}[s.intn(4)]
	}
	if s.intn(3) > 0 {
		a.Placement = g.rules(s, a.Name, apps, nodes)
	}
	if g.moves && s.intn(5) == 0 {
		a.MoveTo = fmt.Sprintf("n%d", s.intn(nodes+2))
	}
	return a
}

// rules draws a placement with a few rules of every kind.
func (g gen) rules(s source, self string, apps, nodes int) *manifest.Placement {
	p := &manifest.Placement{}
	nodeID := func() string { return fmt.Sprintf("n%d", 1+s.intn(nodes+1)) }
	if s.intn(5) == 0 {
		for range 1 + s.intn(3) {
			p.Nodes = append(p.Nodes, nodeID())
		}
	}
	if s.intn(6) == 0 {
		p.Avoid = append(p.Avoid, nodeID())
	}
	if s.intn(5) == 0 {
		p.Labels = map[string]string{"zone": zones[s.intn(len(zones))]}
	}
	if s.intn(3) == 0 {
		p.Selectors = append(p.Selectors, g.selector(s))
	}
	for range s.intn(3) {
		if s.intn(2) == 0 {
			p.Prefer = append(p.Prefer, manifest.Preference{Node: nodeID(), Weight: 1 + s.intn(100)})
		} else {
			p.Prefer = append(p.Prefer, manifest.Preference{Labels: map[string]string{"disk": disks[s.intn(len(disks))]}, Weight: 1 + s.intn(100)})
		}
	}
	if g.linked && apps > 0 && s.intn(2) == 0 {
		for range 1 + s.intn(2) {
			other := fmt.Sprintf("a%d", s.intn(apps+1)) // sometimes one not deployed
			if s.intn(2) == 0 {
				p.With = append(p.With, other)
			} else if other != self {
				p.AwayFrom = append(p.AwayFrom, other)
			}
		}
	}
	return p
}

func (g gen) selector(s source) manifest.Selector {
	switch s.intn(5) {
	case 0:
		return manifest.Selector{Key: "zone", Op: manifest.OpEquals, Values: []string{zones[s.intn(3)]}}
	case 1:
		return manifest.Selector{Key: "disk", Op: manifest.OpIn, Values: []string{disks[s.intn(3)], disks[s.intn(3)]}}
	case 2:
		return manifest.Selector{Key: "disk", Op: manifest.OpNotIn, Values: []string{disks[s.intn(3)]}}
	case 3:
		return manifest.Selector{Key: "gpu", Op: manifest.OpExists}
	}
	return manifest.Selector{Key: "gpu", Op: manifest.OpNotExists}
}
