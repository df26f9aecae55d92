package registry

import (
	"time"

	"github.com/ozanturksever/go-cluster/placement"
)

// Node is what a host tells the platform about itself, stored as the value
// of its membership lease in the nodes bucket.
type Node struct {
	ID        string            `json:"id"`
	Labels    map[string]string `json:"labels,omitempty"`
	Address   string            `json:"address"` // NATS URL clients can use
	Version   string            `json:"version"`
	StartedAt time.Time         `json:"startedAt"`
	Instance  string            `json:"instance"` // the host process, unique
}

// Placement is an app's placement as the scheduler stores it: the
// assignment and the fencing token of the scheduler term that wrote it.
type Placement struct {
	placement.Assignment
	Token uint64 `json:"token"`
}

// Roles an instance reports in its Status.
const (
	RoleActive  = "active"
	RoleStandby = "standby"
	RolePool    = "pool"
	RoleRing    = "ring"
)
