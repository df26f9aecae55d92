package manifest

import "slices"

func (p *Placement) check(c *errs, m *Manifest) {
	checkNames(c, "placement.nodes", p.Nodes, nodeIDRule)
	checkLabels(c, "placement.labels", p.Labels)
	for i := range p.Selectors {
		p.Selectors[i].check(c, index("placement.selectors", i))
	}
	checkNames(c, "placement.avoid", p.Avoid, nodeIDRule)
	for i, n := range p.Avoid {
		if slices.Contains(p.Nodes, n) {
			c.add(index("placement.avoid", i), "%q is also in placement.nodes; list it in one place", n)
		}
	}
	for i := range p.Prefer {
		p.Prefer[i].check(c, index("placement.prefer", i))
	}
	p.checkApps(c, m.Name)
	if m.Mode == ModeReplicas && len(p.Nodes) > 0 && m.Replicas > len(p.Nodes) {
		c.add("replicas", "%d is more than the %d nodes placement.nodes allows (one instance per node)", m.Replicas, len(p.Nodes))
	}
}

func (p *Placement) checkApps(c *errs, self string) {
	checkNames(c, "placement.with", p.With, appNameRule)
	checkNames(c, "placement.awayFrom", p.AwayFrom, appNameRule)
	for i, a := range p.With {
		if a == self {
			c.add(index("placement.with", i), "an app cannot be placed with itself")
		}
	}
	for i, a := range p.AwayFrom {
		if a == self {
			// Instances of one app never share a node anyway.
			c.add(index("placement.awayFrom", i), "an app cannot be placed away from itself; its instances never share a node")
		}
		if slices.Contains(p.With, a) {
			c.add(index("placement.awayFrom", i), "%q is also in placement.with", a)
		}
	}
}

func (s *Selector) check(c *errs, field string) {
	if s.Key == "" {
		c.add(dot(field, "key"), "required")
	} else {
		labelKeyRule.check(c, dot(field, "key"), s.Key)
	}
	if !oneOf(c, dot(field, "op"), s.Op, OpIn, OpNotIn, OpExists, OpNotExists, OpEquals) {
		return
	}
	values := dot(field, "values")
	switch n := len(s.Values); {
	case (s.Op == OpIn || s.Op == OpNotIn) && n == 0:
		c.add(values, "required with op: %s (one or more)", s.Op)
	case (s.Op == OpExists || s.Op == OpNotExists) && n > 0:
		c.add(values, "not allowed with op: %s", s.Op)
	case s.Op == OpEquals && n != 1:
		c.add(values, "op: equals takes exactly one value, not %d", n)
	}
	for i, v := range s.Values {
		labelValueRule.check(c, index(values, i), v)
	}
}

func (p *Preference) check(c *errs, field string) {
	switch {
	case p.Node == "" && len(p.Labels) == 0:
		c.add(field, "needs labels or node")
	case p.Node != "" && len(p.Labels) > 0:
		c.add(field, "has both labels and node; write two preferences")
	case p.Node != "":
		nodeIDRule.check(c, dot(field, "node"), p.Node)
	}
	checkLabels(c, dot(field, "labels"), p.Labels)
	if p.Weight == 0 {
		c.add(dot(field, "weight"), "required (1 to %d)", MaxWeight)
	} else if p.Weight < 1 || p.Weight > MaxWeight {
		c.add(dot(field, "weight"), "%d is not 1 to %d", p.Weight, MaxWeight)
	}
}

func checkLabels(c *errs, field string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		labelKeyRule.check(c, mapKey(field, k), k)
		labelValueRule.check(c, mapKey(field, k), labels[k])
	}
}

// NodeInfo is what placement needs to know about a node.
type NodeInfo struct {
	ID     string
	Labels map[string]string
	// Apps are the apps with an instance on the node.
	Apps []string
}

// Eligible reports whether an instance may run on n: every hard rule
// holds. A nil Placement allows every node.
func (p *Placement) Eligible(n NodeInfo) bool {
	if p == nil {
		return true
	}
	if len(p.Nodes) > 0 && !slices.Contains(p.Nodes, n.ID) || slices.Contains(p.Avoid, n.ID) {
		return false
	}
	if !hasLabels(n.Labels, p.Labels) {
		return false
	}
	for _, s := range p.Selectors {
		if !s.Matches(n.Labels) {
			return false
		}
	}
	for _, a := range p.With {
		if !slices.Contains(n.Apps, a) {
			return false
		}
	}
	for _, a := range p.AwayFrom {
		if slices.Contains(n.Apps, a) {
			return false
		}
	}
	return true
}

// Score is the sum of the weights of the preferences n matches; among
// eligible nodes the scheduler favours higher scores.
func (p *Placement) Score(n NodeInfo) int {
	if p == nil {
		return 0
	}
	score := 0
	for _, pr := range p.Prefer {
		if pr.Node != "" && pr.Node == n.ID || len(pr.Labels) > 0 && hasLabels(n.Labels, pr.Labels) {
			score += pr.Weight
		}
	}
	return score
}

// Matches reports whether labels satisfy the selector.
func (s Selector) Matches(labels map[string]string) bool {
	v, ok := labels[s.Key]
	switch s.Op {
	case OpIn:
		return ok && slices.Contains(s.Values, v)
	case OpNotIn:
		return !ok || !slices.Contains(s.Values, v)
	case OpExists:
		return ok
	case OpNotExists:
		return !ok
	case OpEquals:
		return ok && len(s.Values) == 1 && v == s.Values[0]
	}
	return false
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
