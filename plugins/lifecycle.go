package plugins

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ozanturksever/go-cluster/abi"
)

// Lifecycle events (abi.Event) tell an app's guests what happens to it. The
// host drives them through the App methods below; each delivers its event
// to every live instance, one instance at a time and each between calls,
// and returns the first failure.
//
// The role and the owned partitions are state: the app keeps them, each
// instance keeps what it was told, and an instance is brought up to date
// by the difference. A new instance (the pool grew, or a failed one was
// replaced) gets on_start, its role and on_own before its first call. An
// instance that refused an event, or was not reached because an earlier
// one failed, is retried by the next state change; calling the same method
// again retries at once. Member events are news, sent once to the
// instances alive at the time.

// Role is what an app's instances are told their node is for the app.
type Role int

// Roles.
const (
	// RoleNone: not told yet, or the app's pattern has no roles.
	RoleNone Role = iota
	// RoleActive: this node holds the app's lease (on_active).
	RoleActive
	// RolePassive: this node is a warm standby (on_passive).
	RolePassive
)

func (r Role) String() string {
	switch r {
	case RoleActive:
		return "active"
	case RolePassive:
		return "passive"
	}
	return "none"
}

func (r Role) event() abi.Event {
	if r == RoleActive {
		return abi.EventActive
	}
	return abi.EventPassive
}

// lifecycle is an app's side of the events: the state every instance is
// brought to and a count of member events.
type lifecycle struct {
	// turn is held by the notification in progress, so events reach each
	// instance in the order the host sent them.
	turn chan struct{}

	mu    sync.Mutex
	role  Role
	owned []int // ascending; replaced, never modified, so instances share it

	// version counts changes of role and owned; an instance whose synced
	// is lower must be told the difference. members counts member events.
	version atomic.Uint64
	members atomic.Uint64
}

func (l *lifecycle) snapshot() (Role, []int, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.role, l.owned, l.version.Load()
}

// apply sets the state edit returns, counting a change only if there is one.
func (l *lifecycle) apply(edit func(Role, []int) (Role, []int)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	role, owned := edit(l.role, l.owned)
	if role != l.role || !slices.Equal(owned, l.owned) {
		l.role, l.owned = role, owned
		l.version.Add(1)
	}
}

// Activate tells every instance that this node holds the app's lease
// (on_active), and makes active the role new instances start with. When an
// instance refuses or fails, Activate returns its error (a guest status is
// an *abi.Error) and the host should step down with Deactivate.
func (a *App) Activate(ctx context.Context) error {
	return a.change(ctx, "make "+a.name+" active", func(_ Role, owned []int) (Role, []int) {
		return RoleActive, owned
	})
}

// Deactivate tells every instance that this node is a warm standby
// (on_passive), and makes passive the role new instances start with.
func (a *App) Deactivate(ctx context.Context) error {
	return a.change(ctx, "make "+a.name+" passive", func(_ Role, owned []int) (Role, []int) {
		return RolePassive, owned
	})
}

// Own tells every instance that this node now also owns partitions, in any
// order (on_own with those it did not own yet), and adds them to those new
// instances start with. Partitions are 0 to 2^32-1 (abi.ErrInvalid
// otherwise).
func (a *App) Own(ctx context.Context, partitions []int) error {
	what := fmt.Sprintf("give %s partitions %v", a.name, partitions)
	set, err := partitionSet(partitions)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	return a.change(ctx, what, func(role Role, owned []int) (Role, []int) {
		return role, union(owned, set)
	})
}

// Release tells every instance that this node no longer owns partitions
// (on_release with those it owned), and removes them from those new
// instances start with. When Release returns nil, no instance of this app
// holds them: another node may take them.
func (a *App) Release(ctx context.Context, partitions []int) error {
	what := fmt.Sprintf("take partitions %v from %s", partitions, a.name)
	set, err := partitionSet(partitions)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	return a.change(ctx, what, func(role Role, owned []int) (Role, []int) {
		return role, minus(owned, set)
	})
}

// MemberJoined tells every live instance that node joined the app's group
// (on_member_join). Instances started later are not told.
func (a *App) MemberJoined(ctx context.Context, node string) error {
	return a.member(ctx, abi.EventMemberJoin, node)
}

// MemberLeft tells every live instance that node left the app's group
// (on_member_leave).
func (a *App) MemberLeft(ctx context.Context, node string) error {
	return a.member(ctx, abi.EventMemberLeave, node)
}

// Role returns the role last set by Activate or Deactivate.
func (a *App) Role() Role {
	role, _, _ := a.life.snapshot()
	return role
}

// Owned returns the partitions this node owns for the app, ascending.
func (a *App) Owned() []int {
	_, owned, _ := a.life.snapshot()
	return slices.Clone(owned)
}

// change sets the app's state and brings every live instance to it.
func (a *App) change(ctx context.Context, what string, edit func(Role, []int) (Role, []int)) error {
	if err := a.takeTurn(ctx); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	defer a.endTurn()
	a.life.apply(edit)
	if !a.hasEvents {
		return nil
	}
	stale := func(in *instance) bool { return in.synced.Load() < a.life.version.Load() }
	if err := a.pool.visit(ctx, stale, func(in *instance) error { return a.catchUp(ctx, in) }); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	return nil
}

func (a *App) member(ctx context.Context, kind abi.Event, node string) error {
	what := fmt.Sprintf("tell %s of %s %q", a.name, kind, node)
	if node == "" {
		return fmt.Errorf("cannot %s: empty node id: %w", what, abi.ErrInvalid)
	}
	if err := a.takeTurn(ctx); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	defer a.endTurn()
	if !a.hasEvents {
		return nil
	}
	seq := a.life.members.Add(1)
	payload := []byte(node)
	stale := func(in *instance) bool { return in.heard.Load() < seq }
	err := a.pool.visit(ctx, stale, func(in *instance) error {
		in.heard.Store(seq) // news: told once, whatever the answer
		return in.event(ctx, kind, payload)
	})
	if err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	return nil
}

// takeTurn waits for the notification in progress, if any, to finish.
func (a *App) takeTurn(ctx context.Context) error {
	select {
	case a.life.turn <- struct{}{}:
	case <-ctx.Done():
		return ctxError(ctx)
	case <-a.pool.done:
		return ErrClosed
	}
	if a.pool.isClosed() {
		a.endTurn()
		return ErrClosed
	}
	return nil
}

func (a *App) endTurn() { <-a.life.turn }

// prepare brings a new instance, not yet serving, to the app's state:
// on_start, its role, then on_own with every owned partition.
func (a *App) prepare(ctx context.Context, in *instance) error {
	if !a.hasEvents {
		return nil
	}
	if err := in.event(ctx, abi.EventStart, nil); err != nil {
		return err
	}
	return a.catchUp(ctx, in)
}

// catchUp tells an instance the difference between what it was told and
// the app's state: its role, then the partitions it must release, then
// those it now owns. It records each step the guest accepted, so a failed
// step is all that a later catchUp repeats.
func (a *App) catchUp(ctx context.Context, in *instance) error {
	role, owned, version := a.life.snapshot()
	if role != RoleNone && in.role != role {
		if err := in.event(ctx, role.event(), nil); err != nil {
			return err
		}
		in.role = role
	}
	if gone := minus(in.owned, owned); len(gone) > 0 {
		if err := in.partitionEvent(ctx, abi.EventRelease, gone); err != nil {
			return err
		}
		in.owned = minus(in.owned, gone)
	}
	if added := minus(owned, in.owned); len(added) > 0 {
		if err := in.partitionEvent(ctx, abi.EventOwn, added); err != nil {
			return err
		}
	}
	in.owned = owned
	in.synced.Store(version)
	return nil
}

func (in *instance) partitionEvent(ctx context.Context, kind abi.Event, partitions []int) error {
	payload, err := abi.AppendPartitions(nil, partitions)
	if err != nil {
		return fmt.Errorf("cannot encode partitions %v: %w", partitions, err)
	}
	return in.event(ctx, kind, payload)
}

// stop tells instances the app is closing them (on_stop), one after the
// other while ctx allows. The pool holds every slot, so no call runs. A
// failure is the guest's business now; it is logged, not returned.
func (a *App) stop(ctx context.Context, ins []*instance) {
	for _, in := range ins {
		if ctx.Err() != nil || !a.hasEvents {
			return
		}
		if err := in.event(ctx, abi.EventStop, nil); err != nil {
			a.log.Warn("instance failed to stop cleanly", "err", err)
		}
	}
}

// partitionSet returns partitions sorted, without duplicates, checked to
// fit the encoding.
func partitionSet(partitions []int) ([]int, error) {
	set := slices.Clone(partitions)
	slices.Sort(set)
	set = slices.Compact(set)
	if len(set) > 0 && (set[0] < 0 || uint64(set[len(set)-1]) > math.MaxUint32) {
		return nil, fmt.Errorf("partitions must be 0 to %d: %w", uint64(math.MaxUint32), abi.ErrInvalid)
	}
	return set, nil
}

// union returns the ascending union of ascending a and b.
func union(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// minus returns the elements of ascending a that are not in ascending b.
func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		for len(b) > 0 && b[0] < x {
			b = b[1:]
		}
		if len(b) == 0 || b[0] != x {
			out = append(out, x)
		}
	}
	return out
}

// Deliver hands one event the app subscribed to (on_event) to one
// instance, as a call would be. The guest's non-OK status comes back as an
// *abi.Error, so a durable subscription can deliver the event again. A
// module without the event export takes every event as delivered.
func (a *App) Deliver(ctx context.Context, source, topic string, data []byte) error {
	what := fmt.Sprintf("deliver %s.%s to %s", source, topic, a.name)
	if len(data) > a.lim.Payload {
		return fmt.Errorf("cannot %s: event of %d bytes is over the %d-byte limit: %w", what, len(data), a.lim.Payload, abi.ErrLimit)
	}
	if !a.hasEvents {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cannot %s: %w", what, ctxError(ctx))
	}
	in, err := a.pool.get(ctx)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	err = in.event(ctx, abi.EventMessage, abi.AppendMessage(nil, source, topic, data))
	a.pool.put(in)
	return err
}
