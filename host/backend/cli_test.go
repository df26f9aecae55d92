package backend

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/manifest"
)

// standIn is a recording stand-in for systemctl or docker: it appends its
// arguments to argv (each followed by |, one call a line) and answers from
// a state file, active or not. Files named start-fails and stop-hangs
// make those commands misbehave.
type standIn struct {
	dir, bin string
}

const standInScript = `D=%DIR%
printf '%s|' "$@" >> "$D/argv"; echo >> "$D/argv"
case "$1" in
start)
	if [ -e "$D/start-fails" ]; then echo "Job for the backend failed." >&2; exit 1; fi
	echo active > "$D/state";;
stop)
	if [ -e "$D/stop-hangs" ]; then exec sleep 1000; fi
	echo inactive > "$D/state";;
kill)
	echo inactive > "$D/state";;
is-active)
	[ "$(cat "$D/state" 2>/dev/null)" = active ];;
inspect)
	if [ "$(cat "$D/state" 2>/dev/null)" = active ]; then echo "true 4242"; else echo "false 0"; fi;;
*)
	echo "unexpected command $1" >&2; exit 2;;
esac
`

func newStandIn(t *testing.T, name string) *standIn {
	dir := t.TempDir()
	bin := writeScript(t, dir, name, strings.ReplaceAll(standInScript, "%DIR%", dir))
	return &standIn{dir: dir, bin: bin}
}

// calls returns the recorded command lines, leaving out the status polls
// (is-active, inspect), whose number depends on timing.
func (s *standIn) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "argv"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" && !strings.HasPrefix(l, "is-active|") && !strings.HasPrefix(l, "inspect|") {
			out = append(out, l)
		}
	}
	return out
}

// polls returns the status poll's command line as recorded, once.
func (s *standIn) polls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "argv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if (strings.HasPrefix(l, "is-active|") || strings.HasPrefix(l, "inspect|")) && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func (s *standIn) set(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *standIn) state(t *testing.T) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "state"))
	return strings.TrimSpace(string(b))
}

// toolKind is one of the kinds driven through a command-line tool.
type toolKind struct {
	name  string
	spec  manifest.Backend
	cfg   func(bin string) Config
	poll  string   // the status poll's command line
	start string   // the start's
	stop  []string // a stop's, given a StopTimeout of 1.5s
	kill  string   // a hung stop's follow-up
	pid   int      // the pid Status shows
	hints []string // what a failed start says to do
}

func toolKinds() []toolKind {
	timing := func(b manifest.Backend) manifest.Backend {
		b.StartTimeout = manifest.Duration(5 * time.Second)
		b.StopTimeout = manifest.Duration(1500 * time.Millisecond)
		b.Restarts = 3
		b.RestartWindow = manifest.Duration(time.Minute)
		return b
	}
	return []toolKind{
		{
			name:  "systemd",
			spec:  timing(manifest.Backend{Kind: manifest.BackendSystemd, Unit: "app.service"}),
			cfg:   func(bin string) Config { return Config{Systemctl: bin, Poll: 20 * time.Millisecond} },
			poll:  "is-active|--quiet|app.service|",
			start: "start|app.service|",
			stop:  []string{"stop|app.service|"},
			kill:  "kill|--signal=SIGKILL|app.service|",
			hints: []string{"Job for the backend failed.", "see journalctl -u app.service"},
		},
		{
			name:  "docker",
			spec:  timing(manifest.Backend{Kind: manifest.BackendDocker, Container: "cache"}),
			cfg:   func(bin string) Config { return Config{Docker: bin, Poll: 20 * time.Millisecond} },
			poll:  "inspect|-f|{{.State.Running}} {{.State.Pid}}|cache|",
			start: "start|cache|",
			stop:  []string{"stop|-t|2|cache|"},
			kill:  "kill|cache|",
			pid:   4242,
			hints: []string{"Job for the backend failed.", "see docker logs cache"},
		},
	}
}

func TestToolLifecycle(t *testing.T) {
	for _, k := range toolKinds() {
		t.Run(k.name, func(t *testing.T) {
			tool := newStandIn(t, k.name)
			cfg := k.cfg(tool.bin)
			cfg.Spec = k.spec
			s, ev := newSupervisor(t, cfg)
			start(t, s)
			if got := tool.calls(t); !slices.Equal(got, []string{k.start}) {
				t.Errorf("Start ran %q, want %q", got, k.start)
			}
			if got := tool.polls(t); !slices.Equal(got, []string{k.poll}) {
				t.Errorf("status polls %q, want %q", got, k.poll)
			}
			if st := s.Status(); st.State != StateHealthy || st.PID != k.pid || st.Kind != k.spec.Kind {
				t.Errorf("status = %+v, want healthy with pid %d", st, k.pid)
			}

			tool.set(t, "state", "inactive\n") // stopped behind the host's back
			waitFor(t, waitLong, "a restart", func() bool {
				st := s.Status()
				return st.Restarts == 1 && st.State == StateHealthy
			})
			want := []string{EventStarted, EventHealthy, EventExited, EventRestarted, EventStarted, EventHealthy}
			if got := ev.kinds(); !slices.Equal(got, want) {
				t.Errorf("events = %v, want %v", got, want)
			}
			if e, _ := ev.first(EventExited); !strings.Contains(e.Err, "not running") && !strings.Contains(e.Err, "not active") {
				t.Errorf("exited event says %q", e.Err)
			}
			want = append(append([]string{k.start}, k.stop...), k.start)
			if got := tool.calls(t); !slices.Equal(got, want) {
				t.Errorf("after the restart the tool ran %q, want %q", got, want)
			}

			stop(t, s)
			want = append(want, k.stop...)
			if got := tool.calls(t); !slices.Equal(got, want) {
				t.Errorf("after Stop the tool ran %q, want %q", got, want)
			}
			if st := tool.state(t); st != "inactive" {
				t.Errorf("state after Stop = %q", st)
			}
			stop(t, s)
			if got := tool.calls(t); len(got) != len(want) {
				t.Errorf("a second Stop ran %q", got[len(want):])
			}
		})
	}
}

func TestToolStartFails(t *testing.T) {
	for _, k := range toolKinds() {
		t.Run(k.name, func(t *testing.T) {
			tool := newStandIn(t, k.name)
			tool.set(t, "start-fails", "")
			cfg := k.cfg(tool.bin)
			cfg.Spec = k.spec
			s, ev := newSupervisor(t, cfg)
			err := s.Start(context.Background())
			if !errors.Is(err, ErrStart) {
				t.Fatalf("Start = %v, want ErrStart", err)
			}
			for _, h := range k.hints {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("Start: %q does not say %q", err, h)
				}
			}
			// A refused start may have left something half up.
			want := append([]string{k.start}, k.stop...)
			if got := tool.calls(t); !slices.Equal(got, want) {
				t.Errorf("the tool ran %q, want %q", got, want)
			}
			if got := ev.kinds(); !slices.Equal(got, []string{EventFailed}) {
				t.Errorf("events = %v, want only failed", got)
			}
		})
	}
}

func TestToolStopHangs(t *testing.T) {
	for _, k := range toolKinds() {
		t.Run(k.name, func(t *testing.T) {
			tool := newStandIn(t, k.name)
			cfg := k.cfg(tool.bin)
			cfg.Spec = k.spec
			cfg.Spec.StopTimeout = manifest.Duration(200 * time.Millisecond)
			s, _ := newSupervisor(t, cfg)
			if d, ok := s.run.(*docker); ok {
				d.slack = 0 // docker stop gets its -t 1 and no more
			}
			start(t, s)
			tool.set(t, "stop-hangs", "")
			took := stop(t, s)
			calls := tool.calls(t)
			if got := calls[len(calls)-1]; got != k.kill {
				t.Errorf("after a hung stop the tool ran %q, want %q", calls, k.kill)
			}
			if took < 200*time.Millisecond {
				t.Errorf("killed after %s, before StopTimeout", took)
			}
			if st := tool.state(t); st != "inactive" {
				t.Errorf("state after the kill = %q", st)
			}
		})
	}
}

func TestToolUnavailable(t *testing.T) {
	tests := []struct {
		kind manifest.BackendKind
		cfg  func(bin string) Config
		bin  string
		says []string
	}{
		{manifest.BackendSystemd, func(b string) Config { return Config{Systemctl: b} }, "gocluster-no-systemctl",
			[]string{"gocluster-no-systemctl not found on PATH", "install systemd or use kind: process"}},
		{manifest.BackendSystemd, func(b string) Config { return Config{Systemctl: b} }, "/nonexistent/systemctl",
			[]string{"/nonexistent/systemctl not found or not executable", "install systemd or use kind: process"}},
		{manifest.BackendDocker, func(b string) Config { return Config{Docker: b} }, "gocluster-no-docker",
			[]string{"gocluster-no-docker not found on PATH", "install the docker CLI or use kind: process"}},
	}
	for _, tt := range tests {
		t.Run(tt.bin, func(t *testing.T) {
			cfg := tt.cfg(tt.bin)
			cfg.Spec = manifest.Backend{Kind: tt.kind, Unit: "app.service"}
			if tt.kind == manifest.BackendDocker {
				cfg.Spec.Unit, cfg.Spec.Container = "", "cache"
			}
			s, _ := newSupervisor(t, cfg)
			err := s.Start(context.Background())
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Start = %v, want ErrUnavailable", err)
			}
			for _, m := range tt.says {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Start: %q does not say %q", err, m)
				}
			}
		})
	}
}

// A unit that takes a while to become active is waited for, and its
// health check must pass too.
func TestSystemdActivatingWithCheck(t *testing.T) {
	tool := newStandIn(t, "systemctl")
	dir := t.TempDir()
	healthy := filepath.Join(dir, "healthy")
	s, ev := newSupervisor(t, Config{
		Systemctl: tool.bin,
		Env:       map[string]string{"HEALTHY": healthy},
		Spec: manifest.Backend{
			Kind: manifest.BackendSystemd, Unit: "app.service",
			Health: &manifest.Health{Exec: []string{"/bin/sh", "-c", `test -e "$HEALTHY"`},
				Interval: manifest.Duration(20 * time.Millisecond)},
			Restarts: 1,
		},
	})
	errc := make(chan error, 1)
	go func() { errc <- s.Start(context.Background()) }()
	waitFor(t, waitLong, "the unit to be started", func() bool { return ev.count(EventStarted) > 0 })
	if err := os.WriteFile(healthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLong):
		t.Fatal("Start did not return")
	}
	if st := s.Status(); st.State != StateHealthy {
		t.Errorf("status = %+v", st)
	}
	// Unhealthy while active: restarted.
	if err := os.Remove(healthy); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitLong, "an unhealthy event", func() bool { return ev.count(EventUnhealthy) > 0 })
}
