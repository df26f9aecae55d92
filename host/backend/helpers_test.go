package backend

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ozanturksever/go-cluster/internal/testwait"
	"github.com/ozanturksever/go-cluster/manifest"
)

// helperEnv makes the test binary, run as a backend, act as a test server
// instead of running the tests.
const helperEnv = "BACKEND_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperServer())
	}
	os.Exit(m.Run())
}

// helperServer listens on 127.0.0.1:$PORT and answers /healthz with 200
// until told otherwise: GET /sick turns it unhealthy, GET /exit ends the
// process with status 3. With SICK_AFTER_FIRST set it is healthy exactly
// once. With READY set it writes that file once listening.
func helperServer() int {
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	if ready := os.Getenv("READY"); ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "ready:", err)
			return 1
		}
	}
	var mu sync.Mutex
	sick, answered := false, 0
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		answered++
		if sick || (os.Getenv("SICK_AFTER_FIRST") != "" && answered > 1) {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/sick", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sick = true
		mu.Unlock()
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("exiting on request")
		os.Exit(3)
	})
	fmt.Println("listening on", l.Addr())
	if err := http.Serve(l, mux); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
	}
	return 1
}

// waitFor checks cond every 10ms until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, 10*time.Millisecond, what, cond)
}

const waitLong = 15 * time.Second

// freePort returns a port nothing listens on just now.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// serverSpec is a process backend running helperServer on port, checked
// over HTTP.
func serverSpec(t testing.TB, port string) manifest.Backend {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return manifest.Backend{
		Kind:    manifest.BackendProcess,
		Command: exe,
		Env:     map[string]string{helperEnv: "server", "PORT": port},
		Health: &manifest.Health{
			HTTP:     "http://127.0.0.1:" + port + "/healthz",
			Interval: manifest.Duration(50 * time.Millisecond),
			Timeout:  manifest.Duration(time.Second),
			Failures: 2,
		},
		StartTimeout:  manifest.Duration(10 * time.Second),
		StopTimeout:   manifest.Duration(5 * time.Second),
		Restarts:      3,
		RestartWindow: manifest.Duration(time.Minute),
	}
}

// shellSpec is a process backend running script with /bin/sh in dir.
func shellSpec(dir, script string) manifest.Backend {
	return manifest.Backend{
		Kind:          manifest.BackendProcess,
		Command:       "/bin/sh",
		Args:          []string{"-c", script},
		Dir:           dir,
		StartTimeout:  manifest.Duration(10 * time.Second),
		StopTimeout:   manifest.Duration(5 * time.Second),
		Restarts:      3,
		RestartWindow: manifest.Duration(time.Minute),
	}
}

// get asks the helper server for path, ignoring the answer: /exit has
// none.
func get(port, path string) {
	resp, err := http.Get("http://127.0.0.1:" + port + path)
	if err == nil {
		resp.Body.Close()
	}
}

// events records a supervisor's events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.all...)
}

func (e *events) kinds() []string {
	var ks []string
	for _, ev := range e.list() {
		ks = append(ks, ev.Kind)
	}
	return ks
}

func (e *events) count(kind string) int {
	n := 0
	for _, ev := range e.list() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// first returns the first event of kind; ok false when there is none.
func (e *events) first(kind string) (Event, bool) {
	for _, ev := range e.list() {
		if ev.Kind == kind {
			return ev, true
		}
	}
	return Event{}, false
}

// newSupervisor makes a supervisor whose events are recorded and which is
// stopped at cleanup.
func newSupervisor(t testing.TB, cfg Config) (*Supervisor, *events) {
	t.Helper()
	ev := &events{}
	if cfg.App == "" {
		cfg.App = "web"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	cfg.OnEvent = ev.add
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop at cleanup: %v", err)
		}
	})
	return s, ev
}

func start(t testing.TB, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

func stop(t testing.TB, s *Supervisor) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	began := time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return time.Since(began)
}

func testLogger() *slog.Logger {
	if os.Getenv("GOCLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// records is a slog handler that keeps every record.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
	with []slog.Attr
	root *records
}

func newRecords() *records {
	r := &records{}
	r.root = r
	return r
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(r.with...)
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	r.root.recs = append(r.root.recs, rec)
	return nil
}

func (r *records) WithAttrs(as []slog.Attr) slog.Handler {
	return &records{with: append(append([]slog.Attr(nil), r.with...), as...), root: r.root}
}

func (r *records) WithGroup(string) slog.Handler { return r }

// attrs returns the attributes of every record with message msg.
func (r *records) attrs(msg string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		m := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

// metric returns the value of the metric name whose labels include
// labels ("k=v"): a counter's or gauge's value, a histogram's count. A
// missing metric is 0.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				}
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want []string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if have[k] != v {
			return false
		}
	}
	return true
}

// writeScript writes an executable shell script into dir.
func writeScript(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
