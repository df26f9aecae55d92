package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ozanturksever/go-cluster/manifest"
)

func TestConfigValidate(t *testing.T) {
	process := manifest.Backend{Kind: manifest.BackendProcess, Command: "/bin/true", Restarts: 3}
	tests := []struct {
		name   string
		change func(c *Config)
		says   string // "" = valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"no app", func(c *Config) { c.App = "" }, "App: empty"},
		{"no kind", func(c *Config) { c.Spec.Kind = "" }, `Spec.Kind: "" is not process, systemd or docker`},
		{"no command", func(c *Config) { c.Spec.Command = "" }, "Spec.Command: empty"},
		{"no unit", func(c *Config) { c.Spec = manifest.Backend{Kind: manifest.BackendSystemd} }, "Spec.Unit: empty"},
		{"no container", func(c *Config) { c.Spec = manifest.Backend{Kind: manifest.BackendDocker} }, "Spec.Container: empty"},
		{"negative restarts", func(c *Config) { c.Spec.Restarts = -1 }, "Spec.Restarts: -1 is negative"},
		{"negative stop timeout", func(c *Config) { c.Spec.StopTimeout = -1 }, "Spec.StopTimeout"},
		{"two probes", func(c *Config) {
			c.Spec.Health = &manifest.Health{HTTP: "http://127.0.0.1:1/", TCP: "127.0.0.1:1"}
		}, "exactly one of HTTP, TCP and Exec, not 2"},
		{"no probe", func(c *Config) { c.Spec.Health = &manifest.Health{} }, "not 0"},
		{"empty exec", func(c *Config) { c.Spec.Health = &manifest.Health{Exec: []string{""}} }, "Spec.Health.Exec: the command is empty"},
		{"negative grace", func(c *Config) {
			c.Spec.Health = &manifest.Health{TCP: "127.0.0.1:1", Grace: -1}
		}, "Spec.Health.Grace"},
		{"negative log lines", func(c *Config) { c.LogLines = -1 }, "LogLines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{App: "web", Spec: process}
			tt.change(&cfg)
			_, err := New(cfg)
			switch {
			case tt.says == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.says != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.says)):
				t.Errorf("New: %v, want ErrConfig saying %q", err, tt.says)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := Config{App: "web", Spec: manifest.Backend{Kind: manifest.BackendProcess, Command: "x",
		Health: &manifest.Health{TCP: "127.0.0.1:1"}}}
	cfg.SetDefaults()
	h := cfg.Spec.Health
	switch {
	case cfg.Spec.StartTimeout != manifest.DefaultBackendStartTimeout,
		cfg.Spec.StopTimeout != manifest.DefaultBackendStopTimeout,
		cfg.Spec.RestartWindow != manifest.DefaultBackendRestartWindow,
		h.Interval != manifest.DefaultHealthInterval,
		h.Timeout != manifest.DefaultHealthTimeout,
		h.Failures != manifest.DefaultHealthFailures,
		cfg.LogLines != DefaultLogLines, cfg.Poll != DefaultPoll,
		cfg.Systemctl != "systemctl", cfg.Docker != "docker", cfg.IP != "ip",
		cfg.Logger == nil:
		t.Errorf("defaults not filled: %+v, health %+v", cfg, *h)
	}
	if cfg.Spec.Restarts != 0 {
		t.Errorf("Restarts = %d; 0 means none and must stay", cfg.Spec.Restarts)
	}
}

// The supervisor keeps its own copy: changing the caller's maps and
// slices afterwards changes nothing.
func TestConfigCopied(t *testing.T) {
	dir := t.TempDir()
	spec := shellSpec(dir, `echo "$V $0"; exec sleep 1000`)
	spec.Args = append(spec.Args, "arg")
	spec.Env = map[string]string{"V": "before"}
	s, _ := newSupervisor(t, Config{Spec: spec})
	spec.Env["V"] = "after"
	spec.Args[2] = "changed"
	start(t, s)
	waitFor(t, waitLong, "the output", func() bool { return len(s.Logs()) == 1 })
	if got := s.Logs()[0].Text; got != "before arg" {
		t.Errorf("output = %q, want %q", got, "before arg")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice succeeded")
	}

	port := freePort(t)
	s, _ := newSupervisor(t, Config{Spec: serverSpec(t, port), Metrics: m})
	start(t, s)
	get(port, "/exit")
	waitFor(t, waitLong, "a restart", func() bool {
		st := s.Status()
		return st.Restarts == 1 && st.State == StateHealthy
	})
	web := "app=web"
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"gocluster_backend_starts_total", nil, 2},
		{"gocluster_backend_restarts_total", nil, 1},
		{"gocluster_backend_failures_total", nil, 0},
		{"gocluster_backend_up", nil, 1},
		{"gocluster_backend_start_duration_seconds", nil, 2},
	} {
		if got := metric(t, reg, c.name, append(c.labels, web)...); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := metric(t, reg, "gocluster_backend_health_checks_total", web, "result=ok"); got < 2 {
		t.Errorf("ok health checks = %v, want at least one per start", got)
	}

	// A second app that fails at once is given up; its gauge is down and
	// the first app's stays up.
	spec := shellSpec(t.TempDir(), "exit 1")
	spec.Restarts = 0
	failing, _ := newSupervisor(t, Config{App: "db", Spec: spec, Metrics: m})
	start(t, failing)
	select {
	case <-failing.Failed():
	case <-time.After(waitLong):
		t.Fatal("not given up")
	}
	if got := metric(t, reg, "gocluster_backend_failures_total", "app=db"); got != 1 {
		t.Errorf("failures of db = %v, want 1", got)
	}
	if got := metric(t, reg, "gocluster_backend_up", "app=db"); got != 0 {
		t.Errorf("db up = %v, want 0", got)
	}
	if got := metric(t, reg, "gocluster_backend_up", web); got != 1 {
		t.Errorf("web up = %v, want 1", got)
	}

	stop(t, s)
	if got := metric(t, reg, "gocluster_backend_up", web); got != 0 {
		t.Errorf("web up after Stop = %v, want 0", got)
	}
}

func TestMetricsFailedStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	spec := shellSpec(t.TempDir(), "exit 1")
	spec.Health = &manifest.Health{TCP: "127.0.0.1:" + freePort(t)}
	s, _ := newSupervisor(t, Config{Spec: spec, Metrics: m})
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded")
	}
	if got := metric(t, reg, "gocluster_backend_failures_total", "app=web"); got != 1 {
		t.Errorf("failures = %v, want 1", got)
	}
	if got := metric(t, reg, "gocluster_backend_start_duration_seconds", "app=web"); got != 0 {
		t.Errorf("start durations = %v, want none for a failed start", got)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.started("web")
	m.restarted("web")
	m.failed("web")
	m.checked("web", nil)
	m.setUp("web", true)
	m.healthyAfter("web", time.Second)
}
