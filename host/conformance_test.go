package host

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/internal/conformance"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
)

// The ABI conformance suite: every case of abi/testdata/conformance.txt
// runs against the Go guest and the Rust guest, each built on its SDK,
// on one real host. Both must give the outcome the table states, so the
// SDKs agree with the host and with each other.

const conformTable = "../abi/testdata/conformance.txt"

// conformGuest is one SDK's conformance guest and the prefix of the names
// of the apps it is deployed as.
type conformGuest struct {
	name, app string
	build     func(testing.TB) []byte
}

var conformGuests = []conformGuest{
	{"go", "cgo", func(t testing.TB) []byte { return testwasm.Build(t, "plugins/testdata/guests/conform") }},
	{"rust", "crs", func(t testing.TB) []byte { return testwasm.BuildRust(t, "sdk-rust", "conform") }},
}

func TestConformance(t *testing.T) {
	cases := readConformance(t)
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	for _, g := range conformGuests {
		t.Run(g.name, func(t *testing.T) {
			vars := deployConform(t, c, g.app, g.build(t))
			for _, tc := range cases {
				t.Run(tc.Name, func(t *testing.T) { runConformCase(t, c, vars, tc) })
			}
		})
	}
}

func readConformance(t *testing.T) []conformance.Case {
	t.Helper()
	f, err := os.Open(conformTable)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := conformance.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", conformTable, err)
	}
	return cases
}

// conformBigConfig is the value of the config key "big": larger than
// either SDK's first buffer, so reading it takes a second crossing.
var conformBigConfig = strings.Repeat("x", 10000)

// deployConform deploys the guest as the app under test, with every grant,
// as the same app without any and a smaller payload limit ("bare"), and
// as a ring of 4 partitions ("ring"); it returns the table's variables.
// The app may call the ring and "nobody", which never runs.
func deployConform(t *testing.T, c *client.Client, app string, wasm []byte) map[string]string {
	t.Helper()
	vars := map[string]string{"self": app, "bare": app + "-bare", "ring": app + "-ring"}
	full := "data:\n  kv: true\n  db: {durability: sync}\n  locks: true\n" +
		"  events: {publish: [ping, big], subscribe: [" + app + ".ping]}\n" +
		"calls: [nobody, " + vars["ring"] + "]\n" +
		"config:\n  greeting: " + strconv.Quote("héllo, wörld ✓") + "\n  empty: \"\"\n  big: " + conformBigConfig + "\n"
	deploy(t, c, conformManifest(t, vars["self"], full), wasm)
	deploy(t, c, conformManifest(t, vars["bare"], "limits: {payload: 64KiB}\n"), wasm)
	deploy(t, c, conformManifest(t, vars["ring"], "mode: spread\npattern: ring\npartitions: 4\ndata: {kv: true}\n"), wasm)
	return vars
}

func conformManifest(t *testing.T, name, extra string) *manifest.Manifest {
	t.Helper()
	src := "name: " + name + "\nversion: 1.0.0\nwasm: app.wasm\n" +
		"api: [run, echo, fail, slow, panic, ghost]\n" + extra
	m, err := manifest.Parse([]byte(src))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// runConformCase runs a case's calls in order, each step's outcome
// available to the steps after it.
func runConformCase(t *testing.T, c *client.Client, vars map[string]string, tc conformance.Case) {
	env := conformance.Env{Vars: vars, Outcomes: map[int]conformance.Outcome{}}
	n := 0
	for _, steps := range tc.Calls() {
		app := vars["self"]
		if target := steps[0].Target; target != "" {
			app = vars[target]
		}
		outs := runConformCall(t, c, app, steps, env)
		for _, o := range outs {
			n++
			env.Outcomes[n] = o
		}
	}
}

// runConformCall sends one call and checks its outcomes; a call with a
// step that expects an outcome eventually is repeated until it has them.
func runConformCall(t *testing.T, c *client.Client, app string, steps []conformance.Step, env conformance.Env) []conformance.Outcome {
	t.Helper()
	req, err := conformance.Request(steps, env)
	if err != nil {
		t.Fatal(err)
	}
	eventually := false
	for _, s := range steps {
		eventually = eventually || s.Expect.Eventually
	}
	var outs []conformance.Outcome
	var problems []string
	check := func() bool {
		outs, problems = conformOnce(t, c, app, req, steps, env)
		return len(problems) == 0
	}
	if eventually {
		poll(20*time.Second, 100*time.Millisecond, check)
	} else {
		check()
	}
	for _, p := range problems {
		t.Error(p)
	}
	return outs
}

func conformOnce(t *testing.T, c *client.Client, app string, req []byte, steps []conformance.Step, env conformance.Env) ([]conformance.Outcome, []string) {
	t.Helper()
	out, err := c.Call(context.Background(), app, "run", req, client.CallOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("line %d: %s.run: %v", steps[0].Line, app, err)
	}
	outs, err := conformance.DecodeReply(out)
	if err != nil || len(outs) != len(steps) {
		t.Fatalf("line %d: %s.run replied %d outcomes for %d steps (%v)", steps[0].Line, app, len(outs), len(steps), err)
	}
	var problems []string
	for i, s := range steps {
		if err := s.Expect.Match(outs[i], env); err != nil {
			problems = append(problems, "line "+strconv.Itoa(s.Line)+": "+s.Op+": got "+outs[i].String()+": "+err.Error())
		}
	}
	return outs, problems
}
