package events

import "sync/atomic"

// Stats counts what a Bus or one Subscription did. The host turns them
// into metrics (e.g. Prometheus counter functions); the package keeps no
// registry of its own.
type Stats struct {
	// Published is events the stream stored; Duplicates is publishes it
	// dropped as a repeat of a message id (platform facts several hosts
	// reported).
	Published, Duplicates uint64
	// Delivered is events handed to a handler, redeliveries included.
	Delivered uint64
	// Failed is handler calls that returned an error (or panicked).
	Failed uint64
	// Acked is durable events acknowledged after their handler succeeded.
	Acked uint64
	// Naked is durable events handed back for redelivery: after a failure
	// (with a backoff delay), or unhandled when their Subscription closed.
	Naked uint64
	// GivenUp is durable events dropped after failing MaxDeliver times.
	GivenUp uint64
}

type counter int

const (
	published counter = iota
	duplicates
	delivered
	failed
	acked
	naked
	givenUp
	numCounters
)

// counters is Stats, safe for concurrent use.
type counters [numCounters]atomic.Uint64

func (c *counters) add(k counter) { c[k].Add(1) }

func (c *counters) stats() Stats {
	return Stats{
		Published:  c[published].Load(),
		Duplicates: c[duplicates].Load(),
		Delivered:  c[delivered].Load(),
		Failed:     c[failed].Load(),
		Acked:      c[acked].Load(),
		Naked:      c[naked].Load(),
		GivenUp:    c[givenUp].Load(),
	}
}
