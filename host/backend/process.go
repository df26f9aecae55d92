package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// killWait bounds the wait for a killed process group to be gone;
	// SIGKILL cannot be refused, so only an unkillable (D state) process
	// outlasts it.
	killWait = 5 * time.Second
	// outputWait bounds the wait for a stopped process's output to drain.
	outputWait = time.Second
	// exitDrain bounds the wait for an exited process's last output
	// before its exit is reported; a grandchild may keep the pipe open.
	exitDrain = 100 * time.Millisecond
	// groupPoll is how often a stop looks whether the group has gone.
	groupPoll = 10 * time.Millisecond
	// defaultPath is the PATH of a backend when the host has none.
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// process runs a program as a child in its own process group, so that a
// stop reaches everything it started.
//
// Threading: used by one goroutine at a time (the supervisor's rule).
type process struct {
	path  string   // Spec.Command, resolved by resolve
	argv  []string // Spec.Args
	dir   string
	env   []string
	netns string
	ip    string
	log   *slog.Logger
	tail  *tail

	cur *procRun // nil when not started since the last stop
}

// procRun is one run of the program.
type procRun struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once cmd has been reaped
	waitErr error         // cmd.Wait's answer, set before done closes
	out     *capture
}

var _ runner = (*process)(nil)

// processEnv is a backend's environment: PATH, HOME and LANG from the host,
// then spec, then extra. It is deliberately not the host's whole
// environment, which holds the host's own settings (and perhaps secrets)
// that a backend should neither see nor come to depend on.
func processEnv(spec, extra map[string]string) []string {
	env := map[string]string{"PATH": defaultPath}
	for _, k := range []string{"PATH", "HOME", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for _, m := range []map[string]string{spec, extra} {
		for k, v := range m {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// resolve finds a command as the manifest says: a path with a slash is
// taken against dir when relative, a bare name is looked up on the
// backend's PATH (env's, which the spec may set). The answer is absolute
// so that it means the same after ip netns exec.
func resolve(command, dir string, env []string) (string, error) {
	if filepath.Base(command) == command {
		for _, d := range filepath.SplitList(envValue(env, "PATH")) {
			if d == "" {
				d = "."
			}
			p := filepath.Join(d, command)
			if !filepath.IsAbs(p) && dir != "" {
				p = filepath.Join(dir, p)
			}
			if executable(p) == nil {
				return filepath.Abs(p)
			}
		}
		return "", fmt.Errorf("%w: %s not found on PATH: install it or give its full path", ErrUnavailable, command)
	}
	p := command
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if err := executable(p); err != nil {
		return "", fmt.Errorf("%w: %s %w: check the command and the dir", ErrUnavailable, p, err)
	}
	return p, nil
}

var errNotExecutable = errors.New("is not an executable file (chmod +x?)")

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("does not exist")
	case err != nil:
		return err
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return errNotExecutable
	}
	return nil
}

// envValue returns the last value of key in env, as a program sees it.
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// inNetNS prefixes argv with ip netns exec when the backend has its own
// namespace; ip execs the program, so the pid stays the program's.
func inNetNS(ip, netns string, argv []string) ([]string, error) {
	if netns == "" {
		return argv, nil
	}
	p, err := exec.LookPath(ip)
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found on PATH: install iproute2 or run the backend without a network namespace", ErrUnavailable, ip)
	}
	return append([]string{p, "netns", "exec", netns}, argv...), nil
}

func (p *process) start(ctx context.Context) error {
	if p.cur != nil {
		return errors.New("process already started")
	}
	path, err := resolve(p.path, p.dir, p.env)
	if err != nil {
		return err
	}
	argv, err := inNetNS(p.ip, p.netns, append([]string{path}, p.argv...))
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.SysProcAttr = procAttr()
	// The child gets the write ends as files, so that exec.Cmd starts no
	// copying goroutine whose end Wait would await: a grandchild holding
	// the pipe would hang it. The read ends are copied by the run's capture.
	streams := []string{"stdout", "stderr"}
	var readers, ends []*os.File
	for _, name := range streams {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(ends)
			closeAll(readers)
			return fmt.Errorf("cannot make a pipe for the backend's %s: %w", name, err)
		}
		ends = append(ends, w)
		readers = append(readers, r)
	}
	cmd.Stdout, cmd.Stderr = ends[0], ends[1]
	err = cmd.Start()
	closeAll(ends) // the child has its copies
	if err != nil {
		closeAll(readers)
		return fmt.Errorf("cannot run %s: %w", path, err)
	}
	out := &capture{}
	out.copy(readers, streams, p.log, p.tail)
	run := &procRun{cmd: cmd, out: out, done: make(chan struct{})}
	p.cur = run
	// The reaper is owned by stop, which waits for done (unless the
	// process cannot be killed at all).
	go func() {
		run.waitErr = cmd.Wait()
		close(run.done)
	}()
	return nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// stop sends SIGTERM to the process group, waits up to grace (or until ctx
// ends) for the process and every other member of its group to be gone,
// then sends SIGKILL to the group and waits for that.
func (p *process) stop(ctx context.Context, grace time.Duration) error {
	run := p.cur
	if run == nil {
		return nil
	}
	pgid := run.cmd.Process.Pid
	defer func() {
		run.out.wait(outputWait)
		p.cur = nil
	}()
	if run.gone(pgid) {
		return nil
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cannot signal process group %d: %w", pgid, err)
	}
	polite, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if run.waitGone(polite, pgid) {
		return nil
	}
	p.log.Warn("backend did not stop in time; killing its process group", "pgid", pgid, "grace", grace)
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cannot kill process group %d: %w", pgid, err)
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), killWait)
	defer cancel()
	if !run.waitGone(hard, pgid) {
		return fmt.Errorf("process group %d still has processes %s after SIGKILL", pgid, killWait)
	}
	return nil
}

// gone reports whether the process has been reaped and nothing else of its
// group is alive.
func (r *procRun) gone(pgid int) bool {
	select {
	case <-r.done:
		return !groupAlive(pgid)
	default:
		return false
	}
}

func (r *procRun) waitGone(ctx context.Context, pgid int) bool {
	t := time.NewTicker(groupPoll)
	defer t.Stop()
	for !r.gone(pgid) {
		select {
		case <-ctx.Done():
			return r.gone(pgid)
		case <-r.done:
		case <-t.C:
		}
	}
	return true
}

func (p *process) running(context.Context) (bool, error) {
	if p.cur == nil {
		return false, nil
	}
	select {
	case <-p.cur.done:
		return false, nil
	default:
		return true, nil
	}
}

func (p *process) pid() int {
	if p.cur == nil {
		return 0
	}
	return p.cur.cmd.Process.Pid
}

func (p *process) exited() <-chan struct{} {
	if p.cur == nil {
		return nil
	}
	return p.cur.done
}

// exitCause describes how the process ended, with its last words.
func (p *process) exitCause() string {
	cause := "exited with status 0"
	if p.cur != nil {
		p.cur.out.drain(exitDrain)
		if p.cur.waitErr != nil {
			cause = p.cur.waitErr.Error()
		}
	}
	if last := p.tail.last(3); last != "" {
		cause += " (last output: " + last + ")"
	}
	return cause
}

// groupAlive reports whether a process of group pgid is alive. kill(-pgid,
// 0) alone cannot tell: it also succeeds on zombies, and orphaned zombies
// stay until init reaps them, which some container inits never do. So a
// group that answers is looked for in /proc for a member that is not a
// zombie.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	want := strconv.Itoa(pgid)
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) >= 3 && string(f[2]) == want && f[0][0] != 'Z' && f[0][0] != 'X' {
			return true
		}
	}
	return false
}
