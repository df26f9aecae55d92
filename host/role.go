package host

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/layout"
)

// Activation records one term of an app's active role on a node, for the
// fencing tests and for status.
type Activation struct {
	App, Node string
	Token     uint64
	Won       time.Time // the lease was won
	Began     time.Time // the database was caught up and on_active returned
	Ended     time.Time // zero while active
}

// role runs an active-passive app's election on this node. The active
// holds the app's lease, serves calls itself and takes calls standbys
// forward on the app's active subject; a standby forwards.
//
// The active role is taken in order (lease -> on_active -> active subject)
// and given up in reverse (active subject -> on_passive -> lease), so a
// former active has stopped serving before its lease can pass on.
type role struct {
	a *app

	mu         sync.Mutex
	active     bool
	term       *lease.Term
	preferred  string
	placements int // how many placements this role was given
	subs       []*nats.Subscription

	calls sync.WaitGroup // calls served as the active, awaited on release

	linger    sync.WaitGroup // former active subscriptions still answering "retry"
	lingerCut chan struct{}  // closed by stop: drain them now

	stepdown chan struct{} // ask the active to hand over
	cancel   context.CancelFunc
	done     chan struct{}
}

// preferHeadStart is how long a standby that is not the preferred node
// waits after the lease frees before it tries, so a graceful hand-over
// (move, step-down) goes to the preferred node.
const preferHeadStart = 150 * time.Millisecond

// activeLinger is how long a former active keeps answering "retry" on the
// active subject before it lets the subscription go.
const activeLinger = time.Second

// stepdownCooldown keeps a node that stepped down out of the next election.
const stepdownCooldown = 750 * time.Millisecond

// opsFailureCooldown keeps a node whose VIP or backend failed out of the
// elections longer: another node should get the role first, and a node
// that fails again must not take it back at once.
const opsFailureCooldown = 5 * time.Second

func newRole(a *app, p Placement) *role {
	r := &role{a: a, stepdown: make(chan struct{}, 1), done: make(chan struct{}), lingerCut: make(chan struct{})}
	r.setPlacement(p)
	return r
}

func (r *role) setPlacement(p Placement) {
	r.mu.Lock()
	r.placements++
	r.preferred = ""
	if len(p.Nodes) > 0 {
		r.preferred = p.Nodes[0]
	}
	r.mu.Unlock()
	r.checkPreference()
}

func (r *role) placementsSeen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.placements
}

// checkPreference asks the active to hand over when another live node is
// preferred.
func (r *role) checkPreference() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active && r.preferred != "" && r.preferred != r.a.h.cfg.NodeID && r.a.h.members.alive(r.preferred) {
		r.requestStepdown()
	}
}

func (r *role) requestStepdown() {
	select {
	case r.stepdown <- struct{}{}:
	default:
	}
}

func (r *role) isActive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active
}

// enter admits a call to be served here, as the active; a standby's
// caller forwards instead. Calls admitted are awaited before the lease
// is released.
func (r *role) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active {
		r.calls.Add(1)
	}
	return r.active
}

func (r *role) leave() { r.calls.Done() }

// activeToken is the fencing token of the term this node holds, if any.
func (r *role) activeToken() (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.active || r.term == nil {
		return 0, false
	}
	return r.term.Token(), true
}

// report tells the platform this node's role, without holding up the
// election on a slow NATS.
func (r *role) report() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.a.h.reportRunning(ctx, r.a)
}

func (r *role) isPreferred() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.preferred == "" || r.preferred == r.a.h.cfg.NodeID || !r.a.h.members.alive(r.preferred)
}

func (r *role) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.run(ctx)
	}()
}

// stop gives up the role (if held) and waits for the election loop.
func (r *role) stop() {
	r.cancel()
	<-r.done
	close(r.lingerCut)
	r.linger.Wait()
}

func (r *role) run(ctx context.Context) {
	h := r.a.h
	l, err := lease.New(lease.Config{KV: h.b.leases, Key: layout.AppLeaseKey(r.a.dep.App), Holder: h.instance + "/" + r.a.dep.App,
		Value: []byte(h.cfg.NodeID), Logger: h.log, Metrics: h.leaseMetrics})
	if err != nil {
		h.log.Error("cannot elect an active", "app", r.a.dep.App, "err", err)
		return
	}
	for ctx.Err() == nil {
		term, err := r.elect(ctx, l)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, lease.ErrHeld) {
				h.log.Warn("election failed; retrying", "app", r.a.dep.App, "err", err)
				sleepCtx(ctx, h.cfg.Retry)
			}
			continue
		}
		if cooldown := r.serveTerm(ctx, term); cooldown > 0 {
			sleepCtx(ctx, cooldown)
		}
	}
}

// elect wins the lease: at once when this node is preferred, otherwise
// after the lease frees and a head start for the preferred node.
func (r *role) elect(ctx context.Context, l *lease.Lease) (*lease.Term, error) {
	if r.isPreferred() {
		return l.Campaign(ctx)
	}
	last, err := waitLeaseFree(ctx, r.a.h, layout.AppLeaseKey(r.a.dep.App))
	if err != nil {
		return nil, err
	}
	// The head start is for the preferred node; when that node is the one
	// that just let go (it died, or stepped down), nobody needs it.
	r.mu.Lock()
	headStart := last == "" || last != r.preferred
	r.mu.Unlock()
	if headStart {
		sleepCtx(ctx, preferHeadStart)
	}
	return l.TryAcquire(ctx)
}

// waitLeaseFree returns once nobody holds key, woken by the key's watch,
// with the node that held it last ("" when unknown). App leases carry
// their holder's node id as their value.
func waitLeaseFree(ctx context.Context, h *Host, key string) (last string, err error) {
	w, err := h.b.leases.Watch(ctx, key)
	if err != nil {
		return "", err
	}
	defer w.Stop()
	for {
		e, err := nextEntry(ctx, w)
		if err != nil {
			return "", err
		}
		if e == nil {
			if _, err := lease.Current(ctx, h.b.leases, key); errors.Is(err, lease.ErrNotHeld) {
				return last, nil
			}
			continue
		}
		if e.Operation() != jetstream.KeyValuePut { // deleted, purged or expired
			return last, nil
		}
		if info, err := lease.ParseEntry(e); err == nil {
			last = string(info.Value)
		}
	}
}

// serveTerm acts as the active until the term ends, ctx ends or a
// step-down is asked; it returns how long to stay out of the elections.
func (r *role) serveTerm(ctx context.Context, term *lease.Term) (cooldown time.Duration) {
	h, name := r.a.h, r.a.dep.App
	won := time.Now()
	seen := r.placementsSeen()
	if err := r.a.promote(term); err != nil {
		h.log.Error("cannot take over the database; stepping down", "app", name, "err", err)
		r.a.demote()
		r.resign(term)
		return stepdownCooldown
	}
	if err := r.a.ops.acquire(term); err != nil {
		h.log.Error("cannot take the vip or start the backend; stepping down", "app", name, "err", err)
		r.a.ops.release()
		r.a.demote()
		r.resign(term)
		return opsFailureCooldown
	}
	if err := r.a.plug.Activate(term.Context()); err != nil {
		h.log.Error("on_active failed; stepping down", "app", name, "err", err)
		r.a.ops.release()
		r.a.demote()
		r.resign(term)
		return stepdownCooldown
	}
	r.a.startTermSubscription(term)
	// Active before subscribed: a call that arrives on the active subject
	// is then always served here, never forwarded back to this node.
	act := &Activation{App: name, Node: h.cfg.NodeID, Token: term.Token(), Won: won, Began: time.Now()}
	r.mu.Lock()
	r.active, r.term = true, term
	r.mu.Unlock()
	h.recordActivation(act)
	if err := r.subscribeActive(); err != nil {
		h.log.Error("cannot serve as active; stepping down", "app", name, "err", err)
		r.release(term, func(at time.Time) { h.endActivation(act, at) })
		return stepdownCooldown
	}
	h.log.Info("active", "app", name, "token", term.Token())
	h.announceLeader(name, term.Token())
	r.report()
	// A placement that came while this node was activating asked nobody
	// to step down: look again, but only then (the preferred node may be
	// dead but not yet expired, or cooling down after its own step-down).
	if r.placementsSeen() != seen {
		r.checkPreference()
	}
	select {
	case <-term.Done():
		h.log.Warn("lost the active role", "app", name, "err", term.Err())
		// The VIP went with the term; the backend must not wait for calls
		// and on_passive while another node may be starting its own.
		r.a.ops.stopBackend()
	case <-ctx.Done():
	case <-r.stepdown:
		cooldown = stepdownCooldown
		h.log.Info("stepping down", "app", name)
	case <-r.a.ops.failed():
		cooldown = opsFailureCooldown
		h.log.Error("the backend failed; stepping down", "app", name)
	}
	r.release(term, func(at time.Time) { h.endActivation(act, at) })
	r.report()
	return cooldown
}

// release gives the role up in reverse order and frees the lease. It tells
// stopped the moment this node stopped acting (no call taken or running),
// before on_passive and the resignation, which may wait on a lost NATS.
func (r *role) release(term *lease.Term, stopped func(time.Time)) {
	r.mu.Lock()
	r.active, r.term = false, nil
	subs := r.subs
	r.subs = nil
	r.mu.Unlock()
	// Keep the subscriptions a while, answering "retry": in a NATS cluster
	// the end of this node's interest reaches the other servers a little
	// later, and a request routed here meanwhile would be dropped, leaving
	// its caller waiting out its timeout. Then drain, not unsubscribe.
	r.linger.Go(func() {
		t := time.NewTimer(activeLinger)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.lingerCut:
		}
		for _, sub := range subs {
			_ = sub.Drain()
		}
	})
	r.calls.Wait()
	if stopped != nil {
		stopped(time.Now())
	}
	r.a.stopTermSubscription()
	ctx, cancel := context.WithTimeout(context.Background(), r.a.timeout())
	defer cancel()
	if err := r.a.plug.Deactivate(ctx); err != nil {
		r.a.h.log.Warn("on_passive failed", "app", r.a.dep.App, "err", err)
	}
	r.a.ops.release()
	r.a.demote()
	r.resign(term)
}

func (r *role) resign(term *lease.Term) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = term.Resign(ctx)
}

// subscribeActive takes forwarded calls and step-down requests.
func (r *role) subscribeActive() error {
	h, m := r.a.h, r.a.dep.Manifest
	var subs []*nats.Subscription
	for _, method := range m.API {
		mm := h.metrics.forMethod(m.Name, method)
		handler := r.a.handler(method, mm)
		s, err := h.nc.QueueSubscribe(h.layout.ActiveSubject(m.Name, method), h.layout.APIQueue(), func(msg *nats.Msg) {
			handler(msgRequest{msg})
		})
		if err != nil {
			unsubscribeAll(subs)
			return err
		}
		subs = append(subs, s)
	}
	s, err := h.nc.Subscribe(h.layout.StepdownSubject(m.Name), func(msg *nats.Msg) {
		r.requestStepdown()
		_ = msg.Respond([]byte(h.cfg.NodeID))
	})
	if err != nil {
		unsubscribeAll(subs)
		return err
	}
	subs = append(subs, s)
	if r.a.db != nil {
		s, err := h.nc.Subscribe(h.layout.DBSnapshotSubject(m.Name), r.a.answerSnapshot)
		if err != nil {
			unsubscribeAll(subs)
			return err
		}
		subs = append(subs, s)
	}
	r.mu.Lock()
	r.subs = subs
	r.mu.Unlock()
	return nil
}

func unsubscribeAll(subs []*nats.Subscription) {
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
}

// retryHeader answers a call forwarded to a node that is no longer the
// active: the forwarder tries again instead of this node forwarding it on,
// which could chain requests through a subscription about to go away.
const retryHeader = "Gc-Retry"

// notActive handles a call that reached this node while it is not the
// active: a forwarded one is sent back to retry, any other is forwarded.
func (r *role) notActive(req micro.Request, method string, mm *methodMetrics) {
	if mr, ok := req.(msgRequest); ok && req.Subject() == r.a.h.layout.ActiveSubject(r.a.dep.App, method) {
		resp := nats.NewMsg(mr.m.Reply)
		resp.Header.Set(retryHeader, "1")
		_ = mr.m.RespondMsg(resp)
		return
	}
	r.a.forwards.Go(func() { r.forward(req, method, mm) })
}

// forward sends a call that reached a standby to the active, waiting out
// a failover in progress until the call's own timeout. Should this node
// become the active meanwhile, it serves the call itself.
func (r *role) forward(req micro.Request, method string, mm *methodMetrics) {
	h, name := r.a.h, r.a.dep.App
	ctx, cancel := context.WithTimeout(h.callCtx, r.a.timeout()+time.Second)
	defer cancel()
	msg := &nats.Msg{Subject: h.layout.ActiveSubject(name, method), Data: req.Data()}
	for {
		if r.isActive() {
			r.a.dispatch(req, method, mm)
			return
		}
		resp, err := h.nc.RequestMsgWithContext(ctx, msg)
		if err == nil && resp.Header.Get(retryHeader) != "" {
			err = nats.ErrNoResponders // reached a former active: try again
		}
		if err == nil {
			if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
				_ = req.Error(code, resp.Header.Get(micro.ErrorHeader), nil)
				return
			}
			_ = req.Respond(resp.Data)
			return
		}
		if !errors.Is(err, nats.ErrNoResponders) || ctx.Err() != nil {
			_ = req.Error(abi.StatusUnavailable.Code(), "no active instance of "+name+" answered: "+err.Error(), nil)
			return
		}
		sleepCtx(ctx, 25*time.Millisecond)
	}
}
