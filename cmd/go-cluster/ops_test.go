package main

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/ozanturksever/go-cluster/internal/testwait"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/host"
	"github.com/ozanturksever/go-cluster/layout"
)

// opsBucket binds the ops bucket the scheduler reads, to check what the
// commands wrote there.
func opsBucket(t *testing.T, url string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := layout.New(layout.DefaultPlatform)
	kv, err := js.KeyValue(context.Background(), l.OpsBucket())
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func hasKey(t *testing.T, kv jetstream.KeyValue, key string) bool {
	t.Helper()
	_, err := kv.Get(context.Background(), key)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// eventually runs the command until ok accepts its result, failing the
// test at the deadline with the last result.
func eventually(t *testing.T, what string, ok func(result) bool, args ...string) result {
	t.Helper()
	var r result
	if !testwait.Poll(30*time.Second, 50*time.Millisecond, func() bool {
		r = cli(t, "", args...)
		return ok(r)
	}) {
		t.Fatalf("%s: never happened; last %v: %+v", what, args, r)
	}
	return r
}

func statusJSON(t *testing.T, r result) client.Status {
	t.Helper()
	var st client.Status
	if r.code != 0 {
		return st
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v: %s", err, r.stdout)
	}
	return st
}

// activeOn is the token of app's active instance on node per status --json.
func activeOn(t *testing.T, r result, app, node string) uint64 {
	for _, a := range statusJSON(t, r).Apps {
		if a.App != app {
			continue
		}
		for _, in := range a.Instances {
			if in.Node == node && in.Role == "active" && a.Epoch == in.Token {
				return in.Token
			}
		}
	}
	return 0
}

func TestCLINodesAndStatus(t *testing.T) {
	url := startHostCmd(t, "--labels", "zone=a,disk=ssd")
	t.Setenv("GOCLUSTER_NATS", url)

	r := cli(t, "", "nodes")
	for _, want := range []string{"cli1", "ready", "disk=ssd,zone=a", url, host.Version, "ago"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("nodes does not show %q: %+v", want, r)
		}
	}
	r = cli(t, "", "nodes", "--json")
	var nodes []client.Member
	if err := json.Unmarshal([]byte(r.stdout), &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("nodes --json: %+v (%v)", r, err)
	}
	if n := nodes[0]; n.ID != "cli1" || n.Labels["zone"] != "a" || n.Address != url || n.Version != host.Version || n.StartedAt.IsZero() || n.Cordoned || n.Draining {
		t.Fatalf("nodes --json: %+v", n)
	}

	if r := cli(t, "", "deploy", filepath.Join(basicDir(t), "app.yaml")); r.code != 0 {
		t.Fatalf("deploy: %+v", r)
	}
	r = eventually(t, "basic active on cli1", func(r result) bool { return activeOn(t, r, "basic", "cli1") > 0 }, "status", "--json")
	st := statusJSON(t, r)
	if a := st.Apps[0]; a.Active != "cli1" || len(a.Placed) != 1 || a.Placed[0] != "cli1" || a.Reason != "" {
		t.Fatalf("status --json: %+v", a)
	}
	token := activeOn(t, r, "basic", "cli1")
	r = cli(t, "", "status")
	if r.code != 0 || !regexp.MustCompile(`basic\s+\d+\s+`+strconv.FormatUint(token, 10)+`\s+active\s`).MatchString(r.stdout) {
		t.Fatalf("status does not show basic active on cli1 with epoch %d: %+v", token, r)
	}
	if r := cli(t, "", "call", "basic", "greet", "keyed", "--key", "k1"); r.code != 0 || !strings.Contains(r.stdout, "keyed") {
		t.Fatalf("call --key: %+v", r)
	}
	checkKeyHeader(t, url)
}

// checkKeyHeader calls a stand-in responder and checks the key travels in
// layout.KeyHeader beside the caller's own headers, which stay untouched.
func checkKeyHeader(t *testing.T, url string) {
	ctx := context.Background()
	c, err := client.Connect(ctx, client.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, _ := layout.New(layout.DefaultPlatform)
	sub, err := c.Conn().Subscribe(l.APISubject("keyecho", "get"), func(m *nats.Msg) {
		_ = m.Respond([]byte(m.Header.Get(layout.KeyHeader) + "|" + m.Header.Get("X-Mine")))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	mine := nats.Header{"X-Mine": []string{"v"}}
	out, err := c.Call(ctx, "keyecho", "get", nil, client.CallOptions{Key: "user/42", Headers: mine})
	if err != nil || string(out) != "user/42|v" {
		t.Fatalf("call with Key: %q, %v", out, err)
	}
	if mine.Get(layout.KeyHeader) != "" {
		t.Fatal("Call wrote the key into the caller's headers")
	}
}

func TestCLIStepdownSingleNode(t *testing.T) {
	url := startHostCmd(t)
	t.Setenv("GOCLUSTER_NATS", url)
	if r := cli(t, "", "stepdown", "basic"); r.code != 1 || !strings.Contains(r.stderr, "not deployed") || !strings.Contains(r.stderr, "go-cluster apps") {
		t.Fatalf("stepdown of an unknown app: %+v", r)
	}
	if r := cli(t, "", "deploy", filepath.Join(basicDir(t), "app.yaml")); r.code != 0 {
		t.Fatalf("deploy: %+v", r)
	}
	r := eventually(t, "basic active", func(r result) bool { return activeOn(t, r, "basic", "cli1") > 0 }, "status", "--json")
	before := activeOn(t, r, "basic", "cli1")

	// The only candidate steps down, sits out its cool-down and takes the
	// role again: a new term, so a higher token.
	r = cli(t, "", "stepdown", "basic", "--timeout", "60s")
	m := regexp.MustCompile(`cli1 took over basic with token (\d+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || !strings.Contains(r.stdout, "cli1 is stepping down") || m == nil {
		t.Fatalf("stepdown: %+v", r)
	}
	after, _ := strconv.ParseUint(m[1], 10, 64)
	if after <= before {
		t.Fatalf("stepdown: token %d after, %d before", after, before)
	}
	eventually(t, "status shows the new term", func(r result) bool { return activeOn(t, r, "basic", "cli1") == after }, "status", "--json")
	if r := cli(t, "", "call", "basic", "greet", "again"); r.code != 0 || !strings.Contains(r.stdout, "again") {
		t.Fatalf("call after stepdown: %+v", r)
	}
}

func TestCLICordonDrainMove(t *testing.T) {
	url := startHostCmd(t)
	t.Setenv("GOCLUSTER_NATS", url)
	ops := opsBucket(t, url)
	if r := cli(t, "", "deploy", filepath.Join(basicDir(t), "app.yaml")); r.code != 0 {
		t.Fatalf("deploy: %+v", r)
	}
	eventually(t, "basic active", func(r result) bool { return activeOn(t, r, "basic", "cli1") > 0 }, "status", "--json")

	// Moves are checked before they are recorded.
	for _, tt := range []struct {
		args []string
		code int
		says []string
	}{
		{[]string{"move", "basic", "--to", "ghost"}, 1, []string{`no live node "ghost"`, "cli1", "go-cluster nodes"}},
		{[]string{"move", "nope", "--to", "cli1"}, 1, []string{"not deployed", "go-cluster apps"}},
		{[]string{"move", "basic"}, 2, []string{"--to NODE", "--clear"}},
		{[]string{"cordon", "ghost"}, 1, []string{`no live node "ghost"`, "go-cluster nodes"}},
		{[]string{"uncordon", "ghost"}, 1, []string{`no live node "ghost"`, "go-cluster nodes"}},
	} {
		r := cli(t, "", tt.args...)
		if r.code != tt.code {
			t.Errorf("%v: exit %d, want %d: %+v", tt.args, r.code, tt.code, r)
		}
		for _, s := range tt.says {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("%v: stderr %q does not say %q", tt.args, r.stderr, s)
			}
		}
	}
	if hasKey(t, ops, layout.MoveKey("basic")) {
		t.Fatal("a refused move was recorded")
	}

	r := cli(t, "", "move", "basic", "--to", "cli1")
	if r.code != 0 || !hasKey(t, ops, layout.MoveKey("basic")) || !strings.Contains(r.stdout, "basic is active on cli1") {
		t.Fatalf("move --to cli1: %+v", r)
	}
	if r := cli(t, "", "status"); !strings.Contains(r.stdout, "move to cli1 requested") {
		t.Fatalf("status does not show the move request: %+v", r)
	}
	if r := cli(t, "", "move", "basic", "--clear"); r.code != 0 || hasKey(t, ops, layout.MoveKey("basic")) {
		t.Fatalf("move --clear: %+v", r)
	}

	r = cli(t, "", "cordon", "cli1")
	if r.code != 0 || !hasKey(t, ops, layout.CordonKey("cli1")) || !strings.Contains(r.stdout, "go-cluster uncordon cli1") {
		t.Fatalf("cordon: %+v", r)
	}
	if r := cli(t, "", "nodes"); !regexp.MustCompile(`cli1\s+cordoned`).MatchString(r.stdout) {
		t.Fatalf("nodes after cordon: %+v", r)
	}
	if r := cli(t, "", "move", "basic", "--to", "cli1"); r.code != 1 || !strings.Contains(r.stderr, "go-cluster uncordon cli1") {
		t.Fatalf("move to a cordoned node: %+v", r)
	}

	r = cli(t, "", "drain", "cli1")
	if r.code != 0 || !hasKey(t, ops, layout.DrainKey("cli1")) {
		t.Fatalf("drain: %+v", r)
	}
	if r := cli(t, "", "nodes", "--json"); !strings.Contains(r.stdout, `"draining": true`) {
		t.Fatalf("nodes --json after drain: %+v", r)
	}
	// The only node drains: basic cannot be placed, and apps and status say why.
	eventually(t, "apps says why basic is not placed", func(r result) bool {
		return strings.Contains(r.stdout, "basic") && strings.Contains(r.stdout, "draining")
	}, "apps")
	if r := cli(t, "", "status"); !regexp.MustCompile(`basic\s.*draining`).MatchString(r.stdout) {
		t.Fatalf("status does not say why basic is not placed: %+v", r)
	}

	r = cli(t, "", "uncordon", "cli1")
	if r.code != 0 || hasKey(t, ops, layout.CordonKey("cli1")) || hasKey(t, ops, layout.DrainKey("cli1")) {
		t.Fatalf("uncordon: %+v", r)
	}
	if r := cli(t, "", "nodes"); !regexp.MustCompile(`cli1\s+ready`).MatchString(r.stdout) {
		t.Fatalf("nodes after uncordon: %+v", r)
	}
	eventually(t, "basic back on cli1", func(r result) bool { return activeOn(t, r, "basic", "cli1") > 0 }, "status", "--json")
}

func TestCLISecondHostWithLiveIDIsRefused(t *testing.T) {
	url := startHostCmd(t)
	r := cli(t, "", "host", "--nats", url, "--node", "cli1", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--log-level", "error")
	if r.code != 1 {
		t.Fatalf("second host with a live id: exit %d: %+v", r.code, r)
	}
	for _, want := range []string{`"cli1"`, "already alive", "pick another --node"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("second host's error does not say %q: %s", want, r.stderr)
		}
	}
	if r := cli(t, "", "nodes", "--nats", url); r.code != 0 || strings.Count(r.stdout, "cli1") != 1 {
		t.Fatalf("nodes after the refused host: %+v", r)
	}
}
