package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ozanturksever/go-cluster/manifest"
)

// startPace bounds the pause between checks while a start waits for the
// backend to become healthy, so that a long health interval does not
// delay a start that is ready at once.
const startPace = 250 * time.Millisecond

// runner is one kind of backend: a process, a systemd unit or a docker
// container. The supervisor's logic is the same for all of them.
//
// Threading: not safe for concurrent use. Start, then the supervising
// goroutine, then Stop use it, one after the other.
type runner interface {
	// start launches the backend and returns without waiting for it to
	// be healthy.
	start(ctx context.Context) error
	// stop stops what start launched: politely, then by force after
	// grace or once ctx ends. Without a start since the last stop it does
	// nothing.
	stop(ctx context.Context, grace time.Duration) error
	// running reports whether the backend still runs; an error means it
	// could not be told.
	running(ctx context.Context) (bool, error)
	// pid is the backend's main process, 0 when unknown.
	pid() int
	// exited is closed when a process ends; nil for the kinds that are
	// watched by calling running.
	exited() <-chan struct{}
	// exitCause says why the backend no longer runs.
	exitCause() string
}

// Supervisor runs one app's backend on the node that holds the app's
// active role: Start once when the role is taken, Stop when it is given
// up. In between it restarts a backend that exits or turns unhealthy, and
// gives it up (Failed) when restarts do not help.
//
// Threading: all methods are safe for concurrent use. It owns one
// goroutine, from a successful Start until Stop returns or the backend is
// given up.
type Supervisor struct {
	cfg   Config
	log   *slog.Logger
	run   runner
	check checker // nil: running counts as healthy
	tail  *tail

	life   context.Context // ends when Stop begins
	cancel context.CancelFunc
	wg     sync.WaitGroup // the supervising goroutine
	// opMu is held by Start and by Stop, which keeps them and the
	// supervising goroutine (started by Start, awaited by Stop) from
	// using the runner at the same time.
	opMu sync.Mutex

	// Used only by whoever uses the runner.
	startedAt time.Time   // of the current run, for Health.Grace
	restarts  []time.Time // restarts begun within RestartWindow

	mu      sync.Mutex // guards the fields below
	started bool       // Start was called
	status  Status
	err     error
	failed  chan struct{}
}

// New checks cfg (after filling its defaults) and returns a Supervisor. It
// does no I/O: programs are looked for by Start.
func New(cfg Config) (*Supervisor, error) {
	cfg = cfg.clone()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec := cfg.Spec
	log := cfg.Logger.With("app", cfg.App, "backend", string(spec.Kind))
	t := newTail(cfg.LogLines)
	env := processEnv(spec.Env, cfg.Env)
	s := &Supervisor{
		cfg:    cfg,
		log:    log,
		check:  newChecker(spec.Health, cfg.NetNS, cfg.IP, spec.Dir, env),
		tail:   t,
		failed: make(chan struct{}),
		status: Status{App: cfg.App, Kind: spec.Kind, State: StateIdle, Since: time.Now()},
	}
	switch spec.Kind {
	case manifest.BackendProcess:
		s.run = &process{path: spec.Command, argv: spec.Args, dir: spec.Dir, env: env,
			netns: cfg.NetNS, ip: cfg.IP, log: log, tail: t}
	case manifest.BackendSystemd:
		s.run = &systemd{unit: spec.Unit, log: log,
			tool: tool{bin: cfg.Systemctl, hint: "install systemd or use kind: process"}}
	case manifest.BackendDocker:
		s.run = &docker{container: spec.Container, log: log, slack: defaultToolSlack,
			tool: tool{bin: cfg.Docker, hint: "install the docker CLI or use kind: process"}}
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start starts the backend and waits until it is healthy: its first health
// check passed or, without one, it runs. Past Spec.StartTimeout, or when
// it exits first, Start stops what it started and fails with ErrStart. On
// success the supervisor watches the backend until Stop. ctx bounds only
// the start. A Supervisor starts once: a second Start fails with
// ErrStarted, and one after Stop with ErrStopped.
func (s *Supervisor) Start(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.started = true
	s.mu.Unlock()
	if started {
		return s.startErr(ErrStarted)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.life.Err() != nil { // Stop came first
		return s.startErr(ErrStopped)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)()
	if err := s.launch(ctx); err != nil {
		if s.life.Err() != nil {
			// Not a failure: Stop, waiting for this, says stopped.
			return s.startErr(fmt.Errorf("%w while starting: %w", ErrStopped, err))
		}
		if ctx.Err() == nil {
			s.cfg.Metrics.failed(s.cfg.App)
		}
		s.setState(StateFailed, err.Error())
		s.emit(EventFailed, err.Error())
		return s.startErr(err)
	}
	s.wg.Go(s.supervise)
	return nil
}

func (s *Supervisor) startErr(err error) error {
	return fmt.Errorf("cannot start backend of app %s: %w", s.cfg.App, err)
}

// Stop stops supervising and stops the backend: SIGTERM to a process's
// group, systemctl stop or docker stop, and after Spec.StopTimeout (or
// once ctx ends) SIGKILL to the group, systemctl kill or docker kill. It
// is idempotent, may come before Start (which then fails) or during it
// (which it ends), and belongs after Failed too: the host calls it
// whenever it gives up the role.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.cancel()
	s.opMu.Lock()
	defer s.opMu.Unlock()
	// Once the goroutine sees the cancellation it returns at once, except
	// in the middle of a restart, which stops what it started first.
	s.wg.Wait()
	err := s.run.stop(ctx, s.cfg.Spec.StopTimeout.Std())
	s.cfg.Metrics.setUp(s.cfg.App, false)
	s.mu.Lock()
	s.status.PID = 0
	state := s.status.State
	s.mu.Unlock()
	switch state {
	case StateIdle:
		s.setState(StateStopped, "") // nothing ran, nothing to tell
	case StateFailed, StateStopped:
	default:
		s.setState(StateStopped, "")
		s.emit(EventStopped, "")
	}
	if err != nil {
		s.log.Error("cannot stop backend", "err", err)
		return fmt.Errorf("cannot stop backend of app %s: %w", s.cfg.App, err)
	}
	return nil
}

// Failed is closed when the supervisor gives the backend up; Err says
// why. The host should then give up the app's active role and call Stop.
func (s *Supervisor) Failed() <-chan struct{} { return s.failed }

// Err is nil until Failed is closed, then wraps ErrFailed.
func (s *Supervisor) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Status returns the backend's state now.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Logs returns the last lines a process backend wrote (up to
// Config.LogLines, across restarts), oldest first.
func (s *Supervisor) Logs() []LogLine { return s.tail.snapshot() }

// launch starts the backend and waits until it is healthy, within
// StartTimeout. On failure it stops what it started.
func (s *Supervisor) launch(ctx context.Context) error {
	s.setState(StateStarting, "")
	s.cfg.Metrics.started(s.cfg.App)
	began := time.Now()
	sctx, cancel := context.WithTimeout(ctx, s.cfg.Spec.StartTimeout.Std())
	defer cancel()
	err := s.run.start(sctx)
	if err == nil {
		s.startedAt = time.Now()
		s.setPID(s.run.pid())
		s.emit(EventStarted, "")
		err = s.awaitHealthy(sctx)
	}
	if err != nil {
		// Bounded by StopTimeout, not by ctx: a cancelled start must
		// still stop what it launched.
		if stopErr := s.run.stop(context.WithoutCancel(ctx), s.cfg.Spec.StopTimeout.Std()); stopErr != nil {
			s.log.Error("cannot stop backend after a failed start", "err", stopErr)
		}
		s.setPID(0)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	s.cfg.Metrics.healthyAfter(s.cfg.App, time.Since(began))
	s.cfg.Metrics.setUp(s.cfg.App, true)
	s.setPID(s.run.pid())
	s.setState(StateHealthy, "")
	s.emit(EventHealthy, "")
	return nil
}

// awaitHealthy checks the fresh backend until it runs and its check
// passes, or ctx (bounded by StartTimeout) ends. Failures do not count
// here: only the deadline matters.
func (s *Supervisor) awaitHealthy(ctx context.Context) error {
	pace := min(s.cfg.Poll, startPace)
	if h := s.cfg.Spec.Health; h != nil {
		pace = min(h.Interval.Std(), startPace)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("%w: not healthy within %s: %w", ErrStart, s.cfg.Spec.StartTimeout, last)
		case <-timer.C:
		case <-s.run.exited():
		}
		ok, err := s.run.running(ctx)
		switch {
		case err != nil:
			last = err
		case !ok && s.run.exited() != nil:
			return fmt.Errorf("%w: %s before it was healthy", ErrStart, s.run.exitCause())
		case !ok:
			last = errors.New(s.run.exitCause())
		case s.check == nil:
			return nil
		default:
			err := probe(ctx, s.check, s.cfg.Spec.Health.Timeout.Std())
			s.cfg.Metrics.checked(s.cfg.App, err)
			if err == nil {
				return nil
			}
			last = fmt.Errorf("%w: %w", ErrUnhealthy, err)
		}
		timer.Reset(pace)
	}
}

// supervise watches the backend from a successful Start until Stop or
// until it gives the backend up, restarting it on each failure.
func (s *Supervisor) supervise() {
	ctx := s.life
	for {
		kind, cause := s.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		s.cfg.Metrics.setUp(s.cfg.App, false)
		s.failure(kind, cause)
		for {
			if !s.mayRestart() {
				s.giveUp(ctx, cause)
				return
			}
			s.beginRestart()
			// A restart stops the old run politely even if Stop comes
			// meanwhile: it is bounded by StopTimeout either way.
			if err := s.run.stop(context.WithoutCancel(ctx), s.cfg.Spec.StopTimeout.Std()); err != nil {
				s.log.Error("cannot stop backend for a restart", "err", err)
			}
			s.setPID(0)
			err := s.launch(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			cause = err.Error()
			kind = EventExited
			if errors.Is(err, ErrUnhealthy) {
				kind = EventUnhealthy
			}
			s.failure(kind, cause)
		}
	}
}

// watch returns once the backend has failed: its process exited, its unit
// or container stopped running, or its health check failed
// Health.Failures times in a row outside Health.Grace. It returns the
// event kind and the cause, or nothing once ctx ends.
func (s *Supervisor) watch(ctx context.Context) (kind, cause string) {
	every := s.cfg.Poll
	h := s.cfg.Spec.Health
	if h != nil {
		every = h.Interval.Std()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return "", ""
		case <-s.run.exited():
			return EventExited, s.run.exitCause()
		case <-tick.C:
		}
		ok, err := s.run.running(ctx)
		if ctx.Err() != nil {
			return "", ""
		}
		switch {
		case err != nil:
			return EventExited, err.Error()
		case !ok:
			return EventExited, s.run.exitCause()
		}
		s.setPID(s.run.pid())
		if s.check == nil {
			continue
		}
		err = probe(ctx, s.check, h.Timeout.Std())
		if ctx.Err() != nil {
			return "", ""
		}
		s.cfg.Metrics.checked(s.cfg.App, err)
		switch {
		case err == nil:
			if fails > 0 {
				s.log.Info("backend health check passes again", "after", fails)
			}
			fails = 0
		case time.Since(s.startedAt) < h.Grace.Std():
			s.log.Debug("backend health check failed within the grace period", "err", err)
		default:
			fails++
			s.log.Warn("backend health check failed", "failures", fails, "of", h.Failures, "err", err)
			if fails >= h.Failures {
				return EventUnhealthy, fmt.Sprintf("%s: %d health checks failed in a row, the last: %v", ErrUnhealthy, fails, err)
			}
		}
	}
}

// failure records a failure of kind EventExited or EventUnhealthy.
func (s *Supervisor) failure(kind, cause string) {
	state := StateRestarting // until the restart begins, or the end
	if kind == EventUnhealthy {
		state = StateUnhealthy
	}
	s.setState(state, cause)
	s.emit(kind, cause)
}

// mayRestart reports whether another restart stays within Spec.Restarts
// over the last Spec.RestartWindow.
func (s *Supervisor) mayRestart() bool {
	since := time.Now().Add(-s.cfg.Spec.RestartWindow.Std())
	kept := s.restarts[:0]
	for _, t := range s.restarts {
		if t.After(since) {
			kept = append(kept, t)
		}
	}
	s.restarts = kept
	return len(kept) < s.cfg.Spec.Restarts
}

func (s *Supervisor) beginRestart() {
	s.restarts = append(s.restarts, time.Now())
	s.cfg.Metrics.restarted(s.cfg.App)
	s.mu.Lock()
	s.status.Restarts++
	s.mu.Unlock()
	s.setState(StateRestarting, "")
	s.emit(EventRestarted, "")
}

// giveUp stops the backend, so that it does not linger on a node about to
// give up the active role, then reports the failure.
func (s *Supervisor) giveUp(ctx context.Context, cause string) {
	if err := s.run.stop(context.WithoutCancel(ctx), s.cfg.Spec.StopTimeout.Std()); err != nil {
		s.log.Error("cannot stop backend that failed", "err", err)
	}
	err := fmt.Errorf("%w: app %s: %d restarts within %s did not keep it up (see its logs); the last failure: %s",
		ErrFailed, s.cfg.App, len(s.restarts), s.cfg.Spec.RestartWindow, cause)
	s.cfg.Metrics.failed(s.cfg.App)
	s.cfg.Metrics.setUp(s.cfg.App, false)
	s.mu.Lock()
	s.err = err
	s.status.PID = 0
	s.mu.Unlock()
	s.setState(StateFailed, err.Error())
	s.emit(EventFailed, err.Error())
	close(s.failed)
}

// setState enters state; a non-empty lastErr is remembered.
func (s *Supervisor) setState(state, lastErr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != state {
		s.status.State, s.status.Since = state, time.Now()
	}
	if lastErr != "" {
		s.status.LastError = lastErr
	}
}

func (s *Supervisor) setPID(pid int) {
	s.mu.Lock()
	s.status.PID = pid
	s.mu.Unlock()
}

// emit logs an event and hands it to OnEvent.
func (s *Supervisor) emit(kind, cause string) {
	s.mu.Lock()
	ev := Event{App: s.cfg.App, Kind: kind, PID: s.status.PID, Restarts: s.status.Restarts, Err: cause, At: time.Now()}
	s.mu.Unlock()
	level := slog.LevelInfo
	if cause != "" {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "backend "+kind, "pid", ev.PID, "restarts", ev.Restarts, "err", cause)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}
