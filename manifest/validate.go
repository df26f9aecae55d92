package manifest

import (
	"cmp"
	"net/netip"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ozanturksever/go-cluster/layout"
)

// Defaults and bounds. A manifest may lower or raise a limit within its
// bounds; the bounds keep one app from starving a node.
const (
	DefaultMemory = 64 * MiB
	MinMemory     = 1 * MiB
	MaxMemory     = 4 * GiB // all of wasm32's address space

	DefaultTimeout = Duration(5 * time.Second)
	MinTimeout     = Duration(time.Millisecond)
	MaxTimeout     = Duration(10 * time.Minute)

	DefaultInstances = 4
	MinInstances     = 1
	MaxInstances     = 256

	DefaultPayload = 1 * MiB
	MinPayload     = 1 * KiB
	MaxPayload     = 4 * MiB

	DefaultPartitions = 256
	MaxPartitions     = 4096
	MaxReplicas       = 1024
	MaxWeight         = 100

	DefaultHealthInterval = Duration(10 * time.Second)
	DefaultHealthTimeout  = Duration(2 * time.Second)
	DefaultHealthFailures = 3
	MinHealthInterval     = Duration(100 * time.Millisecond)
	MaxHealthInterval     = Duration(time.Hour)
	MaxHealthFailures     = 100
	MaxHealthGrace        = Duration(time.Hour)

	DefaultBackendStartTimeout  = Duration(30 * time.Second)
	DefaultBackendStopTimeout   = Duration(10 * time.Second)
	DefaultBackendRestarts      = 3
	DefaultBackendRestartWindow = Duration(5 * time.Minute)
	MaxBackendTimeout           = Duration(10 * time.Minute)
	MaxBackendRestarts          = 100
	MaxBackendRestartWindow     = Duration(24 * time.Hour)
)

// Validate checks m as it is and reports every problem it finds as Errors.
// It does not fill in defaults: call SetDefaults first on a manifest built
// by hand (Parse and ParseJSON do).
func (m *Manifest) Validate() error {
	if err := m.validate(); err != nil {
		return err.capped()
	}
	return nil
}

// validate returns every problem, uncapped, for Parse to merge with its own.
func (m *Manifest) validate() Errors {
	var c errs
	m.checkIdentity(&c)
	m.checkTopology(&c)
	if m.Placement != nil {
		m.Placement.check(&c, m)
	}
	if len(m.API) == 0 {
		c.add("api", "required: list the methods callers may invoke")
	}
	checkNames(&c, "api", m.API, methodRule)
	m.Data.check(&c)
	if m.Data.DB != nil && m.Pattern != PatternActivePassive && m.Pattern != "" {
		c.add("data.db", "a database has one writer, the active instance; it needs pattern: active-passive (pattern is %s)", m.Pattern)
	}
	checkNames(&c, "calls", m.Calls, appNameRule)
	m.Limits.check(&c)
	m.checkVIP(&c)
	if m.Backend != nil {
		m.Backend.check(&c)
	}
	checkConfig(&c, m.Config)
	return c.list
}

func (m *Manifest) checkIdentity(c *errs) {
	if m.Name == "" {
		c.add("name", "required")
	} else {
		appNameRule.check(c, "name", m.Name)
	}
	if m.Name == layout.PlatformApp {
		c.add("name", "%q is reserved: it is the source of the platform's own events (%s.node_join, ...); choose another name", m.Name, layout.PlatformApp)
	}
	switch v := m.Version; {
	case v == "":
		c.add("version", "required (a semantic version, like 1.0.0)")
	case len(v) > MaxVersionLen:
		c.add("version", "%q is %d bytes; the limit is %d", v, len(v), MaxVersionLen)
	case !semverRE.MatchString(v):
		c.add("version", "%q is not a semantic version (like 1.0.0 or 2.1.0-rc.1)", v)
	case strings.Contains(v, "+"):
		// Semver ignores build metadata when ordering, so two deploys
		// differing only there could not be told apart for a rollback.
		c.add("version", "%q has build metadata (+...), which is not allowed; use a pre-release (-...) instead", v)
	}
	checkWasmPath(c, m.Wasm)
}

// checkWasmPath keeps the module inside the manifest's directory, judged
// on the path alone: a symlink placed there by the app's author is theirs.
func checkWasmPath(c *errs, p string) {
	switch {
	case p == "":
		c.add("wasm", "required: the module's path relative to the manifest")
	case strings.Contains(p, `\`):
		c.add("wasm", "%q contains \\; use / between directories", p)
	case path.IsAbs(p) || filepath.IsAbs(p) || filepath.VolumeName(p) != "":
		c.add("wasm", "%q is absolute; give a path relative to the manifest", p)
	case !filepath.IsLocal(p) || path.Clean(p) == ".":
		c.add("wasm", "%q leaves the manifest's directory; put the module beside the manifest or below it", p)
	case !utf8.ValidString(p) || strings.ContainsRune(p, 0):
		c.add("wasm", "%q is not a valid file name", p)
	}
}

func (m *Manifest) checkTopology(c *errs) {
	if !oneOf(c, "mode", m.Mode, ModeSingleton, ModeSpread, ModeReplicas) {
		return
	}
	switch {
	case m.Mode == ModeReplicas && m.Replicas == 0:
		c.add("replicas", "required with mode: replicas (1 to %d)", MaxReplicas)
	case m.Mode == ModeReplicas:
		checkRange(c, "replicas", m.Replicas, 1, MaxReplicas, strconv.Itoa)
	case m.Replicas != 0:
		c.add("replicas", "only with mode: replicas (mode is %s)", m.Mode)
	}
	if !oneOf(c, "pattern", m.Pattern, PatternActivePassive, PatternPool, PatternRing) {
		return
	}
	switch {
	case m.Pattern == PatternActivePassive && m.Mode != ModeSingleton:
		c.add("pattern", "active-passive runs one active instance; it needs mode: singleton (mode is %s)", m.Mode)
	case m.Pattern == PatternRing && m.Mode == ModeSingleton:
		c.add("pattern", "ring splits partitions among instances; it needs mode: spread or replicas, not singleton")
	}
	switch {
	case m.Pattern == PatternRing:
		checkRange(c, "partitions", m.Partitions, 1, MaxPartitions, strconv.Itoa)
	case m.Partitions != 0:
		c.add("partitions", "only with pattern: ring (pattern is %s)", m.Pattern)
	}
}

func (d *Data) check(c *errs) {
	if d.DB != nil {
		oneOf(c, "data.db.durability", d.DB.Durability, DurabilitySync, DurabilityAsync)
	}
	if d.Events == nil {
		return
	}
	checkNames(c, "data.events.publish", d.Events.Publish, eventRule)
	checkNames(c, "data.events.subscribe", d.Events.Subscribe, nameRule{})
	for i, s := range d.Events.Subscribe {
		if p := subscriptionProblem(s); p != "" {
			c.add(index("data.events.subscribe", i), "%s", p)
		}
	}
	if d.Events.Durable && len(d.Events.Subscribe) == 0 {
		c.add("data.events.durable", "only with subscribe: durable delivery applies to the events this app subscribes to")
	}
}

func (l *Limits) check(c *errs) {
	checkRange(c, "limits.memory", l.Memory, MinMemory, MaxMemory, Size.String)
	checkRange(c, "limits.timeout", l.Timeout, MinTimeout, MaxTimeout, Duration.String)
	checkRange(c, "limits.instances", l.Instances, MinInstances, MaxInstances, strconv.Itoa)
	checkRange(c, "limits.payload", l.Payload, MinPayload, MaxPayload, Size.String)
}

func (m *Manifest) checkVIP(c *errs) {
	v := m.VIP
	if v == nil {
		return
	}
	if p, err := netip.ParsePrefix(v.Address); v.Address == "" {
		c.add("vip.address", "required (an address with its prefix length, like 10.0.1.100/24)")
	} else if err != nil {
		c.add("vip.address", "%q is not an address with a prefix length (like 10.0.1.100/24)", v.Address)
	} else if a := p.Addr(); a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
		c.add("vip.address", "%s is not an address a node can hold for clients", a)
	}
	if v.Interface == "" {
		c.add("vip.interface", "required (a network interface, like eth0)")
	} else if !validInterface(v.Interface) {
		c.add("vip.interface", "%q is not a network interface name (at most %d bytes, no /, : or spaces)", v.Interface, MaxInterfaceLen)
	}
	if m.Pattern != PatternActivePassive && m.Pattern != "" {
		c.add("vip", "the address follows the active instance; it needs pattern: active-passive (pattern is %s)", m.Pattern)
	}
}

func checkConfig(c *errs, cfg map[string]string) {
	total := 0
	for _, k := range sortedKeys(cfg) {
		configKeyRule.check(c, mapKey("config", k), k)
		if !utf8.ValidString(cfg[k]) {
			c.add(mapKey("config", k), "the value is not valid UTF-8")
		}
		total += len(k) + len(cfg[k])
	}
	if total > MaxConfigBytes {
		c.add("config", "%d bytes of keys and values; the limit is %d", total, MaxConfigBytes)
	}
}

// checkNames checks each entry against rule (skipped when rule is zero)
// and reports repeats, which are always mistakes in a set written as a
// list.
func checkNames(c *errs, field string, list []string, rule nameRule) {
	seen := make(map[string]int, len(list))
	for i, s := range list {
		if j, dup := seen[s]; dup {
			c.add(index(field, i), "%q is listed twice (also at %s)", s, index(field, j))
			continue
		}
		seen[s] = i
		if rule.re != nil {
			rule.check(c, index(field, i), s)
		}
	}
}

// oneOf reports whether v is one of allowed, adding a problem if not.
func oneOf[T ~string](c *errs, field string, v T, allowed ...T) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	words := make([]string, len(allowed))
	for i, a := range allowed {
		words[i] = string(a)
	}
	if v == "" {
		c.add(field, "required (%s)", strings.Join(words, ", "))
	} else {
		c.add(field, "%q is not one of %s", string(v), strings.Join(words, ", "))
	}
	return false
}

func checkRange[T cmp.Ordered](c *errs, field string, v, lo, hi T, show func(T) string) {
	if v < lo {
		c.add(field, "%s is under the minimum %s", show(v), show(lo))
	} else if v > hi {
		c.add(field, "%s is over the maximum %s", show(v), show(hi))
	}
}
