package backend

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/ozanturksever/go-cluster/manifest"
)

// Defaults of Config.
const (
	// DefaultLogLines is how many lines of a process's output are kept.
	DefaultLogLines = 200
	// DefaultPoll is how often a systemd unit or a docker container is
	// asked whether it still runs when the backend has no health check.
	DefaultPoll = time.Second
)

// Config describes the backend of one app on one node.
type Config struct {
	// App is the app's name, for logs, metrics and events.
	App string
	// Spec is the manifest's backend, validated and with its defaults
	// filled in (manifest.Parse does both). A zero duration takes the
	// manifest's default; Restarts is taken as it is, 0 meaning none.
	Spec manifest.Backend
	// Env is added to a process backend's environment (and an exec health
	// check's) after Spec.Env, so the host's values win: GOCLUSTER_APP,
	// GOCLUSTER_NODE and the like.
	Env map[string]string
	// NetNS is the network namespace the backend lives in; "" is the
	// host's own. A process backend is started in it and every health
	// check runs in it.
	NetNS string
	// LogLines is how many lines of a process's output Logs keeps.
	// Default DefaultLogLines.
	LogLines int
	// Poll is how often a systemd unit or a docker container is checked
	// to be running when there is no health check (with one, the check's
	// interval is used). Default DefaultPoll.
	Poll time.Duration
	// Systemctl, Docker and IP are the programs run for a systemd unit, a
	// docker container and a network namespace, by path or by a name
	// looked up on PATH. Defaults "systemctl", "docker" and "ip".
	Systemctl, Docker, IP string
	// Logger receives the supervisor's decisions and each line a process
	// backend writes (attributes app and stream). Default discards.
	Logger *slog.Logger
	// Metrics, shared by the backends of a process; nil records nothing.
	Metrics *Metrics
	// OnEvent, when set, is told of each change (see Event), in order, on
	// the goroutine that made it: Start's, Stop's or the supervisor's.
	// Calls never overlap. It must return quickly and must not call Start
	// or Stop; Status, Err and Logs are fine.
	OnEvent func(Event)
}

// Errors. Operations wrap them ("cannot start backend of app X: %w"); test
// with errors.Is.
var (
	// ErrConfig is a Config that cannot work; the message names the field.
	ErrConfig = errors.New("bad backend config")
	// ErrStart is a start that did not lead to a healthy backend within
	// Spec.StartTimeout, or that the program, unit or container refused.
	ErrStart = errors.New("backend did not start")
	// ErrUnhealthy is a backend whose health check failed: too often in a
	// row while it ran, or up to the end of a start.
	ErrUnhealthy = errors.New("backend unhealthy")
	// ErrFailed is a backend that failed more often than Spec.Restarts
	// within Spec.RestartWindow; the supervisor has given it up.
	ErrFailed = errors.New("backend failed")
	// ErrUnavailable is a program the backend needs (systemctl, docker,
	// ip, the command itself) that cannot be found.
	ErrUnavailable = errors.New("backend program unavailable")
	// ErrStarted is a second Start: a Supervisor runs its backend once.
	ErrStarted = errors.New("backend supervisor already started")
	// ErrStopped is a Start on a Supervisor that was stopped before or
	// while it started.
	ErrStopped = errors.New("backend supervisor stopped")
)

// SetDefaults fills the zero fields, including the Spec's durations.
func (c *Config) SetDefaults() {
	if c.LogLines == 0 {
		c.LogLines = DefaultLogLines
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	setIfZero(&c.Systemctl, "systemctl")
	setIfZero(&c.Docker, "docker")
	setIfZero(&c.IP, "ip")
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	b := &c.Spec
	setIfZero(&b.StartTimeout, manifest.DefaultBackendStartTimeout)
	setIfZero(&b.StopTimeout, manifest.DefaultBackendStopTimeout)
	setIfZero(&b.RestartWindow, manifest.DefaultBackendRestartWindow)
	if h := b.Health; h != nil {
		setIfZero(&h.Interval, manifest.DefaultHealthInterval)
		setIfZero(&h.Timeout, manifest.DefaultHealthTimeout)
		setIfZero(&h.Failures, manifest.DefaultHealthFailures)
	}
}

func setIfZero[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Validate reports every field that cannot work, after SetDefaults. It
// checks what the supervisor relies on, not everything the manifest does.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.App == "" {
		bad("App: empty")
	}
	b := &c.Spec
	switch b.Kind {
	case manifest.BackendProcess:
		if b.Command == "" {
			bad("Spec.Command: empty; a process backend needs the program to run")
		}
	case manifest.BackendSystemd:
		if b.Unit == "" {
			bad("Spec.Unit: empty; a systemd backend needs the unit, like app.service")
		}
	case manifest.BackendDocker:
		if b.Container == "" {
			bad("Spec.Container: empty; a docker backend needs the container's name or id")
		}
	default:
		bad("Spec.Kind: %q is not process, systemd or docker", b.Kind)
	}
	positive := func(field string, d manifest.Duration) {
		if d <= 0 {
			bad("%s: %s is not positive", field, d)
		}
	}
	positive("Spec.StartTimeout", b.StartTimeout)
	positive("Spec.StopTimeout", b.StopTimeout)
	positive("Spec.RestartWindow", b.RestartWindow)
	if b.Restarts < 0 {
		bad("Spec.Restarts: %d is negative (0 gives the backend up at its first failure)", b.Restarts)
	}
	if h := b.Health; h != nil {
		probes := 0
		for _, set := range []bool{h.HTTP != "", h.TCP != "", len(h.Exec) > 0} {
			if set {
				probes++
			}
		}
		if probes != 1 {
			bad("Spec.Health: needs exactly one of HTTP, TCP and Exec, not %d", probes)
		}
		if len(h.Exec) > 0 && h.Exec[0] == "" {
			bad("Spec.Health.Exec: the command is empty")
		}
		positive("Spec.Health.Interval", h.Interval)
		positive("Spec.Health.Timeout", h.Timeout)
		if h.Failures < 1 {
			bad("Spec.Health.Failures: %d is below 1", h.Failures)
		}
		if h.Grace < 0 {
			bad("Spec.Health.Grace: %s is negative", h.Grace)
		}
	}
	if c.LogLines < 0 {
		bad("LogLines: %d is negative", c.LogLines)
	}
	if c.Poll <= 0 {
		bad("Poll: %s is not positive", c.Poll)
	}
	return errors.Join(errs...)
}

// clone copies what the caller could change behind the supervisor's back.
func (c Config) clone() Config {
	c.Env = maps.Clone(c.Env)
	c.Spec.Args = slices.Clone(c.Spec.Args)
	c.Spec.Env = maps.Clone(c.Spec.Env)
	if h := c.Spec.Health; h != nil {
		hc := *h
		hc.Exec = slices.Clone(h.Exec)
		c.Spec.Health = &hc
	}
	return c
}

// Event kinds, in the order a backend's life produces them.
const (
	// EventStarted: the program was launched, or systemctl or docker said
	// the unit or container started. Not yet healthy.
	EventStarted = "started"
	// EventHealthy: the first health check after a start passed, or, with
	// no check, the backend was seen running.
	EventHealthy = "healthy"
	// EventUnhealthy: the health check failed Failures times in a row.
	EventUnhealthy = "unhealthy"
	// EventExited: the process exited, or the unit or container stopped
	// running, without being asked to.
	EventExited = "exited"
	// EventRestarted: a restart begins; Event.Restarts counts it.
	EventRestarted = "restarted"
	// EventFailed: Start failed, or the supervisor gave the backend up
	// after too many restarts. Event.Err says why.
	EventFailed = "failed"
	// EventStopped: Stop stopped the backend.
	EventStopped = "stopped"
)

// Event is one change in a backend's life, for the audit log.
type Event struct {
	App  string
	Kind string // one of the Event constants
	// PID is the process (or container's main process) concerned, when
	// known.
	PID int
	// Restarts is how many restarts the supervisor has begun so far.
	Restarts int
	// Err is the cause of an unhealthy, exited or failed event.
	Err string
	At  time.Time
}

// States of Status.State.
const (
	StateIdle       = "idle" // not started yet
	StateStarting   = "starting"
	StateHealthy    = "healthy"
	StateUnhealthy  = "unhealthy"
	StateRestarting = "restarting"
	StateFailed     = "failed"
	StateStopped    = "stopped"
)

// Status is a backend's state for display and diagnosis.
type Status struct {
	App   string
	Kind  manifest.BackendKind
	State string // one of the State constants
	// PID is the running process (or container's main process); 0 when
	// there is none or it is not known (systemd).
	PID int
	// Restarts is how many restarts the supervisor has begun since Start.
	Restarts int
	// Since is when State was entered.
	Since time.Time
	// LastError is the last failure's cause; it stays after a recovery.
	LastError string
}
