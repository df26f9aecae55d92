package backend

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/manifest"
)

// groupMembers returns the live (not zombie) processes of group pgid.
func groupMembers(t testing.TB, pgid int) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestStartsHealthy(t *testing.T) {
	tests := []struct {
		name   string
		health func(port, dir string) *manifest.Health
	}{
		{"http", func(port, _ string) *manifest.Health {
			return &manifest.Health{HTTP: "http://127.0.0.1:" + port + "/healthz"}
		}},
		{"tcp", func(port, _ string) *manifest.Health {
			return &manifest.Health{TCP: "127.0.0.1:" + port}
		}},
		{"exec relative to dir", func(_, dir string) *manifest.Health {
			writeScript(t, dir, "check", `test -e "$READY"`)
			return &manifest.Health{Exec: []string{"./check"}}
		}},
		{"none", func(string, string) *manifest.Health { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, dir := freePort(t), t.TempDir()
			spec := serverSpec(t, port)
			spec.Dir = dir
			spec.Env["READY"] = filepath.Join(dir, "ready")
			spec.Health = tt.health(port, dir)
			if spec.Health != nil {
				spec.Health.Interval = manifest.Duration(50 * time.Millisecond)
			}
			s, ev := newSupervisor(t, Config{Spec: spec})
			start(t, s)
			st := s.Status()
			if st.State != StateHealthy || st.PID == 0 || st.Kind != manifest.BackendProcess || st.App != "web" {
				t.Fatalf("status after Start = %+v, want healthy with a pid", st)
			}
			if spec.Health != nil && !exists(spec.Env["READY"]) {
				t.Error("healthy before the server was listening")
			}
			if got, want := ev.kinds(), []string{EventStarted, EventHealthy}; !slices.Equal(got, want) {
				t.Errorf("events = %v, want %v", got, want)
			}
			pid := st.PID
			stop(t, s)
			if m := groupMembers(t, pid); len(m) > 0 {
				t.Errorf("processes %v of the backend remain after Stop", m)
			}
			if st := s.Status(); st.State != StateStopped || st.PID != 0 {
				t.Errorf("status after Stop = %+v, want stopped without a pid", st)
			}
			if got := ev.kinds(); got[len(got)-1] != EventStopped {
				t.Errorf("events = %v, want stopped last", got)
			}
		})
	}
}

func TestStartFails(t *testing.T) {
	tests := []struct {
		name    string
		spec    func(t *testing.T, dir string) manifest.Backend
		is      []error
		message []string
	}{
		{
			name: "never healthy",
			spec: func(t *testing.T, dir string) manifest.Backend {
				spec := shellSpec(dir, "sleep 1000 & exec sleep 1000")
				spec.Health = &manifest.Health{HTTP: "http://127.0.0.1:" + freePort(t) + "/healthz",
					Interval: manifest.Duration(50 * time.Millisecond), Timeout: manifest.Duration(time.Second)}
				spec.StartTimeout = manifest.Duration(400 * time.Millisecond)
				return spec
			},
			is:      []error{ErrStart, ErrUnhealthy},
			message: []string{"not healthy within 400ms", "connection refused"},
		},
		{
			name: "exits first",
			spec: func(t *testing.T, dir string) manifest.Backend {
				spec := shellSpec(dir, "echo cannot open config >&2; exit 7")
				spec.Health = &manifest.Health{TCP: "127.0.0.1:" + freePort(t)}
				return spec
			},
			is:      []error{ErrStart},
			message: []string{"exit status 7", "cannot open config"},
		},
		{
			name: "no such command",
			spec: func(t *testing.T, dir string) manifest.Backend {
				spec := shellSpec(dir, "")
				spec.Command, spec.Args = "./server", nil
				return spec
			},
			is:      []error{ErrUnavailable},
			message: []string{"server does not exist: check the command and the dir"},
		},
		{
			name: "not executable",
			spec: func(t *testing.T, dir string) manifest.Backend {
				if err := os.WriteFile(filepath.Join(dir, "server"), []byte("#!/bin/sh\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				spec := shellSpec(dir, "")
				spec.Command, spec.Args = "./server", nil
				return spec
			},
			is:      []error{ErrUnavailable},
			message: []string{"server is not an executable file"},
		},
		{
			name: "not on PATH",
			spec: func(t *testing.T, dir string) manifest.Backend {
				spec := shellSpec(dir, "")
				spec.Command, spec.Args = "gocluster-no-such-program", nil
				return spec
			},
			is:      []error{ErrUnavailable},
			message: []string{"gocluster-no-such-program not found on PATH"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ev := newSupervisor(t, Config{Spec: tt.spec(t, t.TempDir())})
			err := s.Start(context.Background())
			if err == nil {
				t.Fatal("Start succeeded")
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("Start: %v, want %v", err, target)
				}
			}
			for _, m := range append(tt.message, "cannot start backend of app web") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Start: %q does not say %q", err, m)
				}
			}
			if st := s.Status(); st.State != StateFailed || st.LastError == "" || st.PID != 0 {
				t.Errorf("status = %+v, want failed with the error", st)
			}
			if e, ok := ev.first(EventStarted); ok {
				if m := groupMembers(t, e.PID); len(m) > 0 {
					t.Errorf("processes %v remain after a failed Start", m)
				}
			}
			if got := ev.kinds(); got[len(got)-1] != EventFailed {
				t.Errorf("events = %v, want failed last", got)
			}
		})
	}
}

func TestRestartsAfterCrash(t *testing.T) {
	port := freePort(t)
	s, ev := newSupervisor(t, Config{Spec: serverSpec(t, port)})
	start(t, s)
	first := s.Status().PID
	get(port, "/exit")
	waitFor(t, waitLong, "a restarted, healthy backend", func() bool {
		st := s.Status()
		return st.State == StateHealthy && st.Restarts == 1 && st.PID != first && st.PID != 0
	})
	want := []string{EventStarted, EventHealthy, EventExited, EventRestarted, EventStarted, EventHealthy}
	if got := ev.kinds(); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	exited, _ := ev.first(EventExited)
	if exited.PID != first || !strings.Contains(exited.Err, "exit status 3") || !strings.Contains(exited.Err, "exiting on request") {
		t.Errorf("exited event = %+v, want pid %d, exit status 3 and the last output", exited, first)
	}
	if restarted, _ := ev.first(EventRestarted); restarted.Restarts != 1 {
		t.Errorf("restarted event = %+v, want Restarts 1", restarted)
	}
	if m := groupMembers(t, first); len(m) > 0 {
		t.Errorf("processes %v of the crashed run remain", m)
	}
	if st := s.Status(); !strings.Contains(st.LastError, "exit status 3") {
		t.Errorf("LastError = %q, want the crash", st.LastError)
	}
	select {
	case <-s.Failed():
		t.Fatalf("failed after one restart: %v", s.Err())
	default:
	}
}

func TestGivesUp(t *testing.T) {
	tests := []struct {
		restarts int
	}{{0}, {2}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.restarts)+" restarts", func(t *testing.T) {
			dir := t.TempDir()
			spec := shellSpec(dir, `echo $$ >> pids; sleep 0.1; exit 1`)
			spec.Restarts = tt.restarts
			s, ev := newSupervisor(t, Config{Spec: spec})
			start(t, s)
			select {
			case <-s.Failed():
			case <-time.After(waitLong):
				t.Fatalf("not failed; events %v", ev.kinds())
			}
			err := s.Err()
			if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "exit status 1") {
				t.Errorf("Err = %v, want ErrFailed saying exit status 1", err)
			}
			var want []string
			for i := 0; i <= tt.restarts; i++ {
				if i > 0 {
					want = append(want, EventRestarted)
				}
				want = append(want, EventStarted, EventHealthy, EventExited)
			}
			want = append(want, EventFailed)
			if got := ev.kinds(); !slices.Equal(got, want) {
				t.Errorf("events = %v, want %v", got, want)
			}
			if st := s.Status(); st.State != StateFailed || st.Restarts != tt.restarts || st.PID != 0 {
				t.Errorf("status = %+v, want failed after %d restarts", st, tt.restarts)
			}
			pids, err := os.ReadFile(filepath.Join(dir, "pids"))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range strings.Fields(string(pids)) {
				pid, _ := strconv.Atoi(p)
				if m := groupMembers(t, pid); len(m) > 0 {
					t.Errorf("processes %v remain after giving up", m)
				}
			}
			stop(t, s) // still fine, and says nothing more
			if got := ev.kinds(); got[len(got)-1] != EventFailed {
				t.Errorf("events after Stop = %v, want failed last", got)
			}
		})
	}
}

func TestRestartWindowForgets(t *testing.T) {
	spec := shellSpec(t.TempDir(), "sleep 0.05; exit 1")
	spec.Restarts = 1
	spec.RestartWindow = manifest.Duration(time.Millisecond)
	s, _ := newSupervisor(t, Config{Spec: spec})
	start(t, s)
	waitFor(t, waitLong, "three restarts", func() bool { return s.Status().Restarts >= 3 })
	select {
	case <-s.Failed():
		t.Fatalf("gave up although each restart was alone in its window: %v", s.Err())
	default:
	}
}

func TestRestartsWhenUnhealthy(t *testing.T) {
	port := freePort(t)
	s, ev := newSupervisor(t, Config{Spec: serverSpec(t, port)})
	start(t, s)
	first := s.Status().PID
	get(port, "/sick")
	waitFor(t, waitLong, "a restarted, healthy backend", func() bool {
		st := s.Status()
		return st.State == StateHealthy && st.Restarts == 1
	})
	want := []string{EventStarted, EventHealthy, EventUnhealthy, EventRestarted, EventStarted, EventHealthy}
	if got := ev.kinds(); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	e, _ := ev.first(EventUnhealthy)
	if !strings.Contains(e.Err, "2 health checks failed in a row") || !strings.Contains(e.Err, "500") {
		t.Errorf("unhealthy event says %q", e.Err)
	}
	if s.Status().PID == first {
		t.Error("the unhealthy process was not replaced")
	}
	if m := groupMembers(t, first); len(m) > 0 {
		t.Errorf("processes %v of the unhealthy run remain", m)
	}
}

func TestGrace(t *testing.T) {
	for _, grace := range []time.Duration{0, 700 * time.Millisecond} {
		t.Run(grace.String(), func(t *testing.T) {
			port := freePort(t)
			spec := serverSpec(t, port)
			spec.Env["SICK_AFTER_FIRST"] = "1"
			spec.Health.Failures = 1
			spec.Health.Grace = manifest.Duration(grace)
			spec.Restarts = 0
			s, ev := newSupervisor(t, Config{Spec: spec})
			start(t, s)
			waitFor(t, waitLong, "the backend to turn unhealthy", func() bool { return ev.count(EventUnhealthy) > 0 })
			started, _ := ev.first(EventStarted)
			unhealthy, _ := ev.first(EventUnhealthy)
			if d := unhealthy.At.Sub(started.At); d < grace {
				t.Errorf("unhealthy %s after the start, within the %s grace period", d, grace)
			}
		})
	}
}

func TestStopKillsGroup(t *testing.T) {
	tests := []struct {
		name   string
		script string
		stop   time.Duration
		forced bool // Stop has to wait for StopTimeout
	}{
		{"polite", `sleep 1000 & sh -c 'sleep 1000' & touch ready; wait`, 5 * time.Second, false},
		{"leader ignores TERM", `trap '' TERM; sleep 1000 & sleep 1000 & touch ready; while :; do wait; done`, 300 * time.Millisecond, true},
		{"grandchild ignores TERM", `sh -c 'trap "" TERM; sleep 1000; :' & touch ready; wait`, 300 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := shellSpec(t.TempDir(), tt.script)
			spec.Health = &manifest.Health{Exec: []string{"test", "-e", "ready"},
				Interval: manifest.Duration(50 * time.Millisecond), Timeout: manifest.Duration(time.Second)}
			spec.StopTimeout = manifest.Duration(tt.stop)
			s, _ := newSupervisor(t, Config{Spec: spec})
			start(t, s)
			pgid := s.Status().PID
			waitFor(t, waitLong, "the backend's children", func() bool { return len(groupMembers(t, pgid)) >= 3 })
			took := stop(t, s)
			if m := groupMembers(t, pgid); len(m) > 0 {
				t.Errorf("processes %v of the group remain after Stop", m)
			}
			switch {
			case tt.forced && took < tt.stop:
				t.Errorf("Stop took %s, less than StopTimeout %s, yet something ignored SIGTERM", took, tt.stop)
			case !tt.forced && took >= tt.stop:
				t.Errorf("Stop took %s, as long as StopTimeout, though all obeyed SIGTERM", took)
			}
		})
	}
}

func TestStopDuringStart(t *testing.T) {
	spec := shellSpec(t.TempDir(), "exec sleep 1000")
	spec.Health = &manifest.Health{TCP: "127.0.0.1:" + freePort(t), Interval: manifest.Duration(50 * time.Millisecond)}
	spec.StartTimeout = manifest.Duration(time.Minute)
	s, ev := newSupervisor(t, Config{Spec: spec})
	errc := make(chan error, 1)
	go func() { errc <- s.Start(context.Background()) }()
	waitFor(t, waitLong, "the start", func() bool { return ev.count(EventStarted) > 0 })
	stop(t, s)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrStopped) {
			t.Errorf("Start = %v, want ErrStopped", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Start did not return after Stop")
	}
	e, _ := ev.first(EventStarted)
	if m := groupMembers(t, e.PID); len(m) > 0 {
		t.Errorf("processes %v remain", m)
	}
	if got, want := ev.kinds(), []string{EventStarted, EventStopped}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if st := s.Status(); st.State != StateStopped || st.LastError != "" {
		t.Errorf("status = %+v, want stopped without an error", st)
	}
}

func TestStartOnce(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, s *Supervisor)
		want   error
	}{
		{"after Start", func(t *testing.T, s *Supervisor) { start(t, s) }, ErrStarted},
		{"after Stop", func(t *testing.T, s *Supervisor) { stop(t, s) }, ErrStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ev := newSupervisor(t, Config{Spec: shellSpec(t.TempDir(), "exec sleep 1000")})
			tt.before(t, s)
			if err := s.Start(context.Background()); !errors.Is(err, tt.want) {
				t.Errorf("Start = %v, want %v", err, tt.want)
			}
			stop(t, s)
			stop(t, s) // idempotent
			if st := s.Status(); st.State != StateStopped {
				t.Errorf("state = %s, want stopped", st.State)
			}
			if n := ev.count(EventStopped); n > 1 {
				t.Errorf("%d stopped events, want at most one", n)
			}
		})
	}
}

func TestProcessEnvDirArgs(t *testing.T) {
	t.Setenv("BACKEND_LEAK", "host secret")
	dir := t.TempDir()
	writeScript(t, dir, "show", `echo "dir=$(pwd -P)"
echo "args=$#:$1:$2"
echo "spec=$FROM_SPEC both=$BOTH app=$GOCLUSTER_APP"
echo "leak=${BACKEND_LEAK-unset} path=${PATH:+set}"
exec sleep 1000
`)
	spec := shellSpec(dir, "")
	spec.Command, spec.Args = "./show", []string{"a b", "c"}
	spec.Env = map[string]string{"FROM_SPEC": "1", "BOTH": "spec"}
	s, _ := newSupervisor(t, Config{Spec: spec, Env: map[string]string{"BOTH": "host", "GOCLUSTER_APP": "web"}})
	start(t, s)
	waitFor(t, waitLong, "four lines of output", func() bool { return len(s.Logs()) == 4 })
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dir=" + real, "args=2:a b:c", "spec=1 both=host app=web", "leak=unset path=set"}
	var got []string
	for _, l := range s.Logs() {
		got = append(got, l.Text)
	}
	if !slices.Equal(got, want) {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestLogCapture(t *testing.T) {
	rec := newRecords()
	script := `printf '%05000d\n' 0; echo oops >&2; for i in 1 2 3 4 5 6 7 8 9 10; do echo out$i; done; exec sleep 1000`
	s, _ := newSupervisor(t, Config{Spec: shellSpec(t.TempDir(), script), LogLines: 5,
		Logger: slog.New(rec)})
	start(t, s)
	waitFor(t, waitLong, "every line", func() bool { return len(rec.attrs("backend output")) == 13 })

	// The tail keeps the newest 5 lines; stderr's line may land anywhere
	// among stdout's.
	logs := s.Logs()
	if len(logs) != 5 {
		t.Fatalf("kept %d lines, want 5: %v", len(logs), logs)
	}
	next := 10
	for i := len(logs) - 1; i >= 0; i-- {
		l := logs[i]
		switch {
		case l.Stream == "stderr" && l.Text == "oops":
		case l.Stream == "stdout" && l.Text == "out"+strconv.Itoa(next):
			next--
		default:
			t.Errorf("tail line %d = %+v, out of order", i, l)
		}
		if l.At.IsZero() {
			t.Errorf("tail line %d has no time", i)
		}
	}

	var long []int
	stderr := false
	for _, a := range rec.attrs("backend output") {
		if a["app"] != "web" {
			t.Errorf("output record without app: %v", a)
		}
		if len(a["line"]) > 100 {
			long = append(long, len(a["line"]))
		}
		if a["stream"] == "stderr" && a["line"] == "oops" {
			stderr = true
		}
	}
	if !slices.Equal(long, []int{maxLine, 5000 - maxLine}) {
		t.Errorf("the 5000-byte line was logged in pieces of %v, want [%d %d]", long, maxLine, 5000-maxLine)
	}
	if !stderr {
		t.Error("the stderr line was not logged with stream=stderr")
	}
}

// A bare command is looked up on the backend's PATH, which the spec may
// set.
func TestCommandOnSpecPath(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "gocluster-test-backend", "echo found; exec sleep 1000\n")
	spec := shellSpec(t.TempDir(), "")
	spec.Command, spec.Args = "gocluster-test-backend", nil
	spec.Env = map[string]string{"PATH": dir + ":/usr/bin:/bin"}
	s, _ := newSupervisor(t, Config{Spec: spec})
	start(t, s)
	waitFor(t, waitLong, "the output", func() bool { return len(s.Logs()) == 1 })
	if got := s.Logs()[0].Text; got != "found" {
		t.Errorf("output = %q", got)
	}
}
