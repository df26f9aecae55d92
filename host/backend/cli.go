package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultToolSlack is how much longer than its own timeout a stop
	// command may take before it is given up: docker stop -t N kills at N
	// but then still has to talk to the engine.
	defaultToolSlack = 10 * time.Second
	// killTimeout bounds systemctl kill and docker kill.
	killTimeout = 10 * time.Second
	// toolWaitDelay bounds the wait for a tool's output after it exited:
	// a child it left behind may hold the pipe.
	toolWaitDelay = time.Second
	// maxToolOutput bounds what is kept of a tool's output.
	maxToolOutput = 4096
)

// tool is a command-line program that manages a backend for the host:
// systemctl or docker. It runs with the host's environment.
type tool struct {
	bin  string // as configured: a name on PATH or a path
	hint string // what to do when bin cannot be found
}

func (t tool) path() (string, error) {
	p, err := exec.LookPath(t.bin)
	if err == nil {
		return p, nil
	}
	where := "on PATH"
	if strings.Contains(t.bin, "/") {
		where = "or not executable"
	}
	return "", fmt.Errorf("%w: %s not found %s: %s", ErrUnavailable, t.bin, where, t.hint)
}

// run runs the tool and returns its standard output. A failure says how
// it exited and what it wrote to standard error; an *exec.ExitError in
// the chain means the tool ran and answered no.
func (t tool) run(ctx context.Context, args ...string) (string, error) {
	p, err := t.path()
	if err != nil {
		return "", err
	}
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxToolOutput, maxToolOutput
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = toolWaitDelay
	err = cmd.Run()
	if err == nil {
		return stdout.String(), nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	line := strings.Join(append([]string{t.bin}, args...), " ")
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return "", fmt.Errorf("%s: %w: %s", line, err, msg)
	}
	return "", fmt.Errorf("%s: %w", line, err)
}

// limitedBuffer keeps the first max bytes written to it and drops the
// rest, so a chatty program cannot grow the host's memory.
type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// systemd runs a backend as a systemd unit through systemctl.
//
// Threading: used by one goroutine at a time (the supervisor's rule).
type systemd struct {
	unit    string
	tool    tool
	log     *slog.Logger
	started bool // a start was tried since the last stop
}

var _ runner = (*systemd)(nil)

func (s *systemd) start(ctx context.Context) error {
	if _, err := s.tool.path(); err != nil {
		return err
	}
	// A refused start can leave the unit activating; stop must see to it.
	s.started = true
	if _, err := s.tool.run(ctx, "start", s.unit); err != nil {
		return fmt.Errorf("%w: %w; see journalctl -u %s", ErrStart, err, s.unit)
	}
	return nil
}

func (s *systemd) stop(ctx context.Context, grace time.Duration) error {
	if !s.started {
		return nil
	}
	s.started = false
	polite, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	stopErr := error(nil)
	if _, stopErr = s.tool.run(polite, "stop", s.unit); stopErr == nil {
		return nil
	}
	s.log.Warn("systemctl stop did not succeed in time; killing the unit", "unit", s.unit, "err", stopErr)
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), killTimeout)
	defer cancel()
	if _, err := s.tool.run(hard, "kill", "--signal=SIGKILL", s.unit); err != nil {
		return fmt.Errorf("cannot stop unit %s: %w", s.unit, errors.Join(stopErr, err))
	}
	return nil
}

func (s *systemd) running(ctx context.Context) (bool, error) {
	_, err := s.tool.run(ctx, "is-active", "--quiet", s.unit)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && ctx.Err() == nil:
		return false, nil // inactive, failed, activating or unknown
	}
	return false, fmt.Errorf("cannot tell whether unit %s is active: %w", s.unit, err)
}

func (s *systemd) pid() int { return 0 }

func (s *systemd) exited() <-chan struct{} { return nil }

func (s *systemd) exitCause() string {
	return fmt.Sprintf("unit %s is not active; see systemctl status %s", s.unit, s.unit)
}

// docker runs a backend as an existing docker container through the
// docker CLI.
//
// Threading: used by one goroutine at a time (the supervisor's rule).
type docker struct {
	container string
	tool      tool
	log       *slog.Logger
	started   bool          // a start was tried since the last stop
	mainPID   int           // the container's main process, as last inspected
	slack     time.Duration // see defaultToolSlack
}

var _ runner = (*docker)(nil)

func (d *docker) start(ctx context.Context) error {
	if _, err := d.tool.path(); err != nil {
		return err
	}
	d.started = true
	if _, err := d.tool.run(ctx, "start", d.container); err != nil {
		return fmt.Errorf("%w: %w; see docker logs %s", ErrStart, err, d.container)
	}
	return nil
}

// stop asks docker to stop the container, which sends SIGTERM and after
// grace (in whole seconds, rounded up) SIGKILL itself.
func (d *docker) stop(ctx context.Context, grace time.Duration) error {
	if !d.started {
		return nil
	}
	d.started, d.mainPID = false, 0
	secs := int((grace + time.Second - 1) / time.Second)
	bounded, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+d.slack)
	defer cancel()
	_, stopErr := d.tool.run(bounded, "stop", "-t", strconv.Itoa(secs), d.container)
	if stopErr == nil {
		return nil
	}
	d.log.Warn("docker stop did not succeed; killing the container", "container", d.container, "err", stopErr)
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), killTimeout)
	defer cancel()
	if _, err := d.tool.run(hard, "kill", d.container); err != nil {
		return fmt.Errorf("cannot stop container %s: %w", d.container, errors.Join(stopErr, err))
	}
	return nil
}

func (d *docker) running(ctx context.Context) (bool, error) {
	out, err := d.tool.run(ctx, "inspect", "-f", "{{.State.Running}} {{.State.Pid}}", d.container)
	if err != nil {
		// No such container and no engine look alike from here; both
		// mean the backend is not running.
		return false, fmt.Errorf("cannot inspect container %s: %w", d.container, err)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return false, fmt.Errorf("cannot inspect container %s: unexpected answer %q", d.container, out)
	}
	d.mainPID, _ = strconv.Atoi(f[1])
	return f[0] == "true", nil
}

func (d *docker) pid() int { return d.mainPID }

func (d *docker) exited() <-chan struct{} { return nil }

func (d *docker) exitCause() string {
	return fmt.Sprintf("container %s is not running; see docker logs %s", d.container, d.container)
}
