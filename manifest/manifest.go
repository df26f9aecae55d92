package manifest

import "net/netip"

// Manifest describes one app: its identity, where and how many instances
// run, the API it exposes, the data and calls it is granted, and its
// limits. The YAML keys and the JSON keys are the same.
type Manifest struct {
	// Name is the app's identity; every bucket, subject and file of the
	// app derives from it. See ValidAppName.
	Name string `yaml:"name" json:"name"`
	// Version is a semantic version, e.g. 1.0.0. NATS micro requires it.
	Version string `yaml:"version" json:"version"`
	// Wasm is the module's path relative to the manifest file, with /
	// separators. It cannot leave the manifest's directory.
	Wasm string `yaml:"wasm" json:"wasm"`

	// Mode is how many instances run. Default ModeSingleton.
	Mode Mode `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Replicas is the instance count with ModeReplicas, and only then.
	Replicas int `yaml:"replicas,omitempty" json:"replicas,omitempty"`
	// Placement restricts and ranks the nodes instances may run on. Nil
	// means any node.
	Placement *Placement `yaml:"placement,omitempty" json:"placement,omitempty"`
	// Pattern is how instances share work. Default PatternActivePassive
	// for a singleton, PatternPool otherwise.
	Pattern Pattern `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	// Partitions is the ring size with PatternRing, and only then.
	// Default DefaultPartitions.
	Partitions int `yaml:"partitions,omitempty" json:"partitions,omitempty"`

	// API lists the methods callers may invoke; nothing else is callable.
	API []string `yaml:"api" json:"api"`
	// Data grants the app its own stores; each is off unless named.
	Data Data `yaml:"data,omitempty" json:"data,omitzero"`
	// Calls lists the apps whose APIs this app may call.
	Calls []string `yaml:"calls,omitempty" json:"calls,omitempty"`
	// Limits bound each instance. Zero fields take the defaults.
	Limits Limits `yaml:"limits,omitempty" json:"limits"`

	// VIP is a virtual address held by the active instance.
	VIP *VIP `yaml:"vip,omitempty" json:"vip,omitempty"`
	// Backend is an external service the active role starts and stops.
	Backend *Backend `yaml:"backend,omitempty" json:"backend,omitempty"`
	// Config is offered to the guest through the config host function.
	Config map[string]string `yaml:"config,omitempty" json:"config,omitempty"`
}

// Mode is how many instances of an app run.
type Mode string

// Modes.
const (
	// ModeSingleton runs one instance in the cluster.
	ModeSingleton Mode = "singleton"
	// ModeSpread runs one instance on every eligible node.
	ModeSpread Mode = "spread"
	// ModeReplicas runs Replicas instances, at most one per node.
	ModeReplicas Mode = "replicas"
)

// Pattern is how an app's instances share work and fail over.
type Pattern string

// Patterns.
const (
	// PatternActivePassive has one active instance; the others stand by
	// and take over when its lease ends. Only with ModeSingleton: standby
	// nodes are the other eligible ones.
	PatternActivePassive Pattern = "active-passive"
	// PatternPool has every instance serve any call.
	PatternPool Pattern = "pool"
	// PatternRing splits the key space into Partitions, each owned by one
	// instance at a time. Not with ModeSingleton.
	PatternRing Pattern = "ring"
)

// Placement decides which nodes may run an app (the hard rules: Nodes,
// Labels, Selectors, Avoid, With, AwayFrom, all of which must hold) and
// which of those are preferred (Prefer). The zero Placement allows every
// node.
type Placement struct {
	// Nodes, when set, is the only nodes allowed.
	Nodes []string `yaml:"nodes,omitempty" json:"nodes,omitempty"`
	// Labels must all be present on the node with equal values.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Selectors must all match the node's labels.
	Selectors []Selector `yaml:"selectors,omitempty" json:"selectors,omitempty"`
	// Avoid lists nodes never allowed.
	Avoid []string `yaml:"avoid,omitempty" json:"avoid,omitempty"`
	// Prefer ranks allowed nodes: a node scores the sum of the weights of
	// the preferences it matches, and higher scores are chosen first.
	Prefer []Preference `yaml:"prefer,omitempty" json:"prefer,omitempty"`
	// With lists apps that must have an instance on the node (affinity).
	With []string `yaml:"with,omitempty" json:"with,omitempty"`
	// AwayFrom lists apps that must not have an instance on the node
	// (anti-affinity).
	AwayFrom []string `yaml:"awayFrom,omitempty" json:"awayFrom,omitempty"`
}

// Selector matches a node label.
type Selector struct {
	Key    string     `yaml:"key" json:"key"`
	Op     SelectorOp `yaml:"op" json:"op"`
	Values []string   `yaml:"values,omitempty" json:"values,omitempty"`
}

// SelectorOp is how a Selector compares a label.
type SelectorOp string

// Selector operators.
const (
	// OpIn: the label is set to one of Values (one or more).
	OpIn SelectorOp = "in"
	// OpNotIn: the label is unset or set to none of Values (one or more).
	OpNotIn SelectorOp = "notin"
	// OpExists: the label is set; Values must be empty.
	OpExists SelectorOp = "exists"
	// OpNotExists: the label is unset; Values must be empty.
	OpNotExists SelectorOp = "notexists"
	// OpEquals: the label is set to Values[0], the only value.
	OpEquals SelectorOp = "equals"
)

// Preference is a soft placement rule: nodes matching Labels (all of them)
// or named Node score Weight, 1 to 100. Exactly one of Labels and Node is
// set.
type Preference struct {
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Node   string            `yaml:"node,omitempty" json:"node,omitempty"`
	Weight int               `yaml:"weight" json:"weight"`
}

// Data grants an app its stores. Each is private to the app: a guest names
// keys and events, never buckets or subjects.
type Data struct {
	// KV grants a key-value bucket.
	KV bool `yaml:"kv,omitempty" json:"kv,omitempty"`
	// DB grants a SQLite database replicated through NATS.
	DB *DB `yaml:"db,omitempty" json:"db,omitempty"`
	// Locks grants named distributed locks.
	Locks bool `yaml:"locks,omitempty" json:"locks,omitempty"`
	// Events grants publishing and subscribing to events.
	Events *Events `yaml:"events,omitempty" json:"events,omitempty"`
}

// DB configures the app's database.
type DB struct {
	// Durability is when a write is acknowledged. Default DurabilityAsync.
	Durability Durability `yaml:"durability,omitempty" json:"durability,omitempty"`
}

// Durability is when a database write counts as done.
type Durability string

// Durabilities.
const (
	// DurabilitySync acknowledges a write once it is replicated.
	DurabilitySync Durability = "sync"
	// DurabilityAsync acknowledges a write once it is local; replication
	// follows.
	DurabilityAsync Durability = "async"
)

// Events lists the events an app publishes and those it receives.
type Events struct {
	// Publish names this app's events, e.g. "updated". See ValidEventName.
	Publish []string `yaml:"publish,omitempty" json:"publish,omitempty"`
	// Subscribe names events as app.event, e.g. "other.updated", or
	// app.* for all of that app's events. An app may name itself.
	// Platform events are platform.KIND (see PlatformEvents) or
	// platform.*. See ParseSubscription.
	Subscribe []string `yaml:"subscribe,omitempty" json:"subscribe,omitempty"`
	// Durable delivers the subscribed events through one durable consumer
	// shared by the app's instances: each event is handled once, by one
	// instance, acknowledged after the guest handled it and redelivered
	// after an error, including events published while no instance ran.
	// Without it, every running instance sees every event published while
	// it runs, and nothing is redelivered. Only with Subscribe.
	Durable bool `yaml:"durable,omitempty" json:"durable,omitempty"`
}

// Limits bound each instance of an app.
type Limits struct {
	// Memory is the most linear memory an instance may grow to. The host
	// rounds it down to whole 64KiB WebAssembly pages (see MemoryPages).
	Memory Size `yaml:"memory,omitempty" json:"memory"`
	// Timeout is the longest one call may run.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout"`
	// Instances is the most instances one node keeps for concurrent calls.
	Instances int `yaml:"instances,omitempty" json:"instances"`
	// Payload is the largest request or reply.
	Payload Size `yaml:"payload,omitempty" json:"payload"`
}

// WasmPageSize is the size of a WebAssembly memory page.
const WasmPageSize = 64 * KiB

// MemoryPages returns Memory in whole WebAssembly pages, rounded down.
func (l Limits) MemoryPages() uint32 { return uint32(l.Memory / WasmPageSize) }

// VIP is a virtual IP address the active instance's node holds.
type VIP struct {
	// Address is an address with its prefix length, e.g. 10.0.1.100/24.
	Address string `yaml:"address" json:"address"`
	// Interface is the network interface to add it to, e.g. eth0.
	Interface string `yaml:"interface" json:"interface"`
}

// Prefix returns the parsed Address; the zero Prefix when it is invalid.
func (v *VIP) Prefix() netip.Prefix {
	p, _ := netip.ParsePrefix(v.Address)
	return p
}

// Backend is an external service that runs beside the app. The kind picks
// which other fields apply.
type Backend struct {
	Kind BackendKind `yaml:"kind" json:"kind"`
	// Command, Args, Env and Dir start a BackendProcess. Command is
	// required; a relative Command resolves against Dir.
	Command string            `yaml:"command,omitempty" json:"command,omitempty"`
	Args    []string          `yaml:"args,omitempty" json:"args,omitempty"`
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Dir     string            `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Unit is the systemd unit of a BackendSystemd, e.g. app.service.
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Container is the name or id of a BackendDocker container.
	Container string `yaml:"container,omitempty" json:"container,omitempty"`
	// Health checks the backend; without it, running counts as healthy.
	Health *Health `yaml:"health,omitempty" json:"health,omitempty"`
	// StartTimeout is the budget for a start to become healthy; past it
	// the start counts as failed. Default DefaultBackendStartTimeout.
	StartTimeout Duration `yaml:"start_timeout,omitempty" json:"start_timeout"`
	// StopTimeout is how long a stop waits after the polite request (TERM
	// to the process group, systemctl stop, docker stop) before it kills.
	// Default DefaultBackendStopTimeout.
	StopTimeout Duration `yaml:"stop_timeout,omitempty" json:"stop_timeout"`
	// Restarts is how many times a backend that exited or turned unhealthy
	// is restarted within RestartWindow before the node gives up the active
	// role, so that another node takes over. 0 gives it up at the first
	// failure. Default DefaultBackendRestarts; -1 is stored as 0.
	Restarts int `yaml:"restarts,omitempty" json:"restarts"`
	// RestartWindow is the span over which Restarts are counted. Default
	// DefaultBackendRestartWindow.
	RestartWindow Duration `yaml:"restart_window,omitempty" json:"restart_window"`
}

// BackendKind is how a backend is run.
type BackendKind string

// Backend kinds.
const (
	// BackendProcess is a child process the host starts and stops.
	BackendProcess BackendKind = "process"
	// BackendSystemd is a systemd unit the host starts and stops.
	BackendSystemd BackendKind = "systemd"
	// BackendDocker is an existing docker container the host starts and
	// stops.
	BackendDocker BackendKind = "docker"
)

// Health is a backend health check. Exactly one of HTTP, TCP and Exec is
// set. A check fails when it errs or takes longer than Timeout; after
// Failures failures in a row the backend is unhealthy. Failures during
// Grace after a start do not count.
type Health struct {
	// HTTP is a URL to GET; a 2xx or 3xx answer is healthy.
	HTTP string `yaml:"http,omitempty" json:"http,omitempty"`
	// TCP is a host:port to connect to.
	TCP string `yaml:"tcp,omitempty" json:"tcp,omitempty"`
	// Exec is a command and its arguments; exit status 0 is healthy.
	Exec []string `yaml:"exec,omitempty" json:"exec,omitempty"`

	Interval Duration `yaml:"interval,omitempty" json:"interval"`
	Timeout  Duration `yaml:"timeout,omitempty" json:"timeout"`
	Failures int      `yaml:"failures,omitempty" json:"failures"`
	Grace    Duration `yaml:"grace,omitempty" json:"grace,omitempty"`
}
