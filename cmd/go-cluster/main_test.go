package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/internal/testwasm"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	code := run(ctx, &env{strings.NewReader(stdin), &out, &errb}, args)
	return result{code, out.String(), errb.String()}
}

var urlRe = regexp.MustCompile(`NATS (nats://[0-9.:]+)`)

// startHostCmd runs `go-cluster host` as the binary would, with extra
// flags appended, and returns its NATS URL; Cleanup sends the interrupt
// and checks the clean exit.
func startHostCmd(t *testing.T, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		args := []string{"host", "--data", t.TempDir(), "--listen", "127.0.0.1:-1", "--http", "127.0.0.1:0", "--node", "cli1", "--log-level", "warn"}
		done <- run(ctx, &env{strings.NewReader(""), &syncBuffer{}, &stderr}, append(args, extra...))
	}()
	var url string
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for url == "" {
		select {
		case code := <-done:
			t.Fatalf("host exited with %d: %s", code, stderr.String())
		case <-deadline.C:
			t.Fatalf("host did not start: %s", stderr.String())
		case <-tick.C:
			if m := urlRe.FindStringSubmatch(stderr.String()); m != nil {
				url = m[1]
			}
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("host exited with %d after interrupt: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("host did not shut down after interrupt")
		}
	})
	return url
}

// basicDir copies examples/basic's manifest next to a freshly built wasm.
func basicDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	yaml, err := os.ReadFile("../../examples/basic/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "basic.wasm"), testwasm.Build(t, "examples/basic"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCLIEndToEnd(t *testing.T) {
	url := startHostCmd(t)
	t.Setenv("GOCLUSTER_NATS", url)
	dir := basicDir(t)

	r := cli(t, "", "deploy", filepath.Join(dir, "app.yaml"))
	if r.code != 0 || !strings.Contains(r.stdout, "deployed basic 1.0.0") || !strings.Contains(r.stdout, "is serving on cli1") {
		t.Fatalf("deploy: %+v", r)
	}
	if !strings.Contains(r.stderr, "100%") {
		t.Errorf("deploy showed no upload progress: %q", r.stderr)
	}
	if r := cli(t, "", "call", "basic", "greet", "world"); r.code != 0 || !strings.Contains(r.stdout, "world") {
		t.Fatalf("call greet: %+v", r)
	}
	if r := cli(t, "from stdin", "call", "basic", "greet", "-"); r.code != 0 || !strings.Contains(r.stdout, "from stdin") {
		t.Fatalf("call greet -: %+v", r)
	}
	if r := cli(t, "", "call", "--nats", url, "basic", "incr"); r.code != 0 || r.stdout != "1" {
		t.Fatalf("call incr: %+v", r)
	}

	r = cli(t, "", "apps", "--json")
	var apps []struct {
		Name, Status string
		Instances    int
	}
	if err := json.Unmarshal([]byte(r.stdout), &apps); err != nil || len(apps) != 1 || apps[0].Name != "basic" || apps[0].Status != "running" || apps[0].Instances < 1 {
		t.Fatalf("apps --json: %+v (%v)", r, err)
	}
	if r := cli(t, "", "apps"); r.code != 0 || !strings.Contains(r.stdout, "basic") || !strings.Contains(r.stdout, "running") {
		t.Fatalf("apps: %+v", r)
	}
	if r := cli(t, "", "history", "basic"); r.code != 0 || !strings.Contains(r.stdout, "deploy") {
		t.Fatalf("history: %+v", r)
	}

	if r := cli(t, "", "call", "basic", "nope"); r.code != 1 || !strings.Contains(r.stderr, "404") || !strings.Contains(r.stderr, "greet, incr") {
		t.Fatalf("call unknown method: %+v", r)
	}
	if r := cli(t, "", "call", "ghost", "greet"); r.code != 1 || !strings.Contains(r.stderr, "unknown app") {
		t.Fatalf("call unknown app: %+v", r)
	}
	if r := cli(t, "", "rollback", "basic"); r.code != 1 || !strings.Contains(r.stderr, "go-cluster history basic") {
		t.Fatalf("rollback with no earlier version: %+v", r)
	}
	if r := cli(t, "", "undeploy", "basic"); r.code != 0 {
		t.Fatalf("undeploy: %+v", r)
	}
	if r := cli(t, "", "undeploy", "basic"); r.code != 1 || !strings.Contains(r.stderr, "go-cluster apps") {
		t.Fatalf("second undeploy: %+v", r)
	}
	if r := cli(t, "", "rollback", "basic"); r.code != 0 || !strings.Contains(r.stdout, "back at 1.0.0") {
		t.Fatalf("rollback of an undeployed app: %+v", r)
	}
	if r := cli(t, "", "call", "basic", "incr"); r.code != 0 || r.stdout != "2" {
		t.Fatalf("incr after rollback: %+v", r)
	}
}

func TestCLIErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: Bad Name\nversion: 1\nwasm: x.wasm\napi: [greet]\n"), 0o644)
	missing := filepath.Join(dir, "missing.yaml")
	os.WriteFile(missing, []byte("name: app\nversion: 1.0.0\nwasm: gone.wasm\napi: [greet]\n"), 0o644)

	tests := []struct {
		args []string
		code int
		says []string
	}{
		{nil, 2, []string{"go-cluster host"}},
		{[]string{"frobnicate"}, 2, []string{"unknown command", "go-cluster help"}},
		{[]string{"deploy"}, 2, []string{"takes 1 arguments", "go-cluster deploy -h"}},
		{[]string{"call", "onlyapp"}, 2, []string{"usage: go-cluster call"}},
		{[]string{"deploy", filepath.Join(dir, "nope.yaml")}, 1, []string{"nope.yaml"}},
		{[]string{"deploy", bad}, 1, []string{"name", "version", "fix the manifest"}},
		{[]string{"deploy", missing}, 1, []string{"gone.wasm"}},
		{[]string{"apps", "--nats", "nats://127.0.0.1:1"}, 1, []string{"cannot connect", "go-cluster host"}},
		{[]string{"host", "--labels", "novalue"}, 2, []string{"--labels"}},
		{[]string{"host", "--node", "bad.id", "--http", "off"}, 1, []string{"node", "go-cluster host -h"}},
	}
	for _, tt := range tests {
		r := cli(t, "", tt.args...)
		if r.code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, r.code, tt.code, r.stderr)
		}
		for _, s := range tt.says {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("%v: stderr %q does not say %q", tt.args, r.stderr, s)
			}
		}
	}
}
