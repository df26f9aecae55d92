package wal

import (
	"sync"
	"time"
)

// Role is what a DB is doing.
type Role string

// Roles.
const (
	RoleStandby Role = "standby"
	RoleWriter  Role = "writer"
	RoleClosed  Role = "closed"
)

// Status is a DB's state at one moment, for metrics and health checks.
type Status struct {
	Role Role
	// Fenced: this writer saw a newer generation and takes no writes.
	Fenced bool
	// Generation and Token of the current writer term (writer only).
	Generation uint64
	Token      uint64
	// LocalTXID is the TXID the local copy is at; ReplicaTXID the TXID
	// the replica is known to hold (the writer: confirmed shipped; a
	// standby: the newest valid file it has seen).
	LocalTXID   uint64
	ReplicaTXID uint64
	// Lag: on the writer, the age of the oldest commit not yet shipped
	// (0 when all are); on a standby, the time since it last caught up
	// with the replica.
	Lag time.Duration
	// LastShip is when the writer last shipped successfully.
	LastShip time.Time
	// LastError is the last background error (shipping, following), and
	// when it happened; it is not cleared by later successes.
	LastError   string
	LastErrorAt time.Time
}

// status collects what Status reports.
type status struct {
	mu       sync.Mutex
	s        Status
	role     Role
	oldest   time.Time // writer: oldest unshipped commit
	caughtAt time.Time // standby: last time at the replica's tip
}

func (st *status) get() Status {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Role = st.role
	switch {
	case st.role == RoleWriter && !st.oldest.IsZero():
		s.Lag = time.Since(st.oldest)
	case st.role == RoleStandby && !st.caughtAt.IsZero():
		s.Lag = time.Since(st.caughtAt)
	}
	return s
}

func (st *status) update(f func(st *status)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(st)
}

func (st *status) failed(err error) {
	st.update(func(st *status) { st.s.LastError, st.s.LastErrorAt = err.Error(), time.Now() })
}

func (st *status) caughtUp(local, replica uint64) {
	st.update(func(st *status) {
		st.s.LocalTXID, st.s.ReplicaTXID = local, replica
		if local >= replica {
			st.caughtAt = time.Now()
		}
	})
}

func (st *status) committed() {
	st.update(func(st *status) {
		if st.oldest.IsZero() {
			st.oldest = time.Now()
		}
	})
}

// shippedAt records a ship that began at start. If commits came in while
// it ran, the oldest unshipped one is no older than start.
func (st *status) shippedAt(local, replica uint64, all bool, start time.Time) {
	st.update(func(st *status) {
		st.s.LocalTXID, st.s.ReplicaTXID, st.s.LastShip = local, replica, time.Now()
		if all {
			st.oldest = time.Time{}
		} else {
			st.oldest = start
		}
	})
}

func (st *status) becameWriter(gen, token uint64) {
	st.update(func(st *status) {
		st.role, st.s.Generation, st.s.Token, st.s.Fenced = RoleWriter, gen, token, false
	})
}

func (st *status) fence() { st.update(func(st *status) { st.s.Fenced = true }) }

func (st *status) becameStandby() {
	st.update(func(st *status) {
		st.role, st.s.Generation, st.s.Token, st.s.Fenced, st.oldest = RoleStandby, 0, 0, false, time.Time{}
	})
}

func (st *status) becameClosed() { st.update(func(st *status) { st.role = RoleClosed }) }
