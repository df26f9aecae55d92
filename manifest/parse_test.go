package manifest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
	"gopkg.in/yaml.v3"
)

const minimal = "name: cache\nversion: 1.0.0\nwasm: cache.wasm\napi: [get]\n"

func TestParseDefaults(t *testing.T) {
	m, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		Name: "cache", Version: "1.0.0", Wasm: "cache.wasm", API: []string{"get"},
		Mode: ModeSingleton, Pattern: PatternActivePassive,
		Limits: Limits{Memory: 64 * MiB, Timeout: DefaultTimeout, Instances: 4, Payload: MiB},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	if m, err := Parse([]byte(minimal + "data: {db: {}}\n")); err != nil || m.Data.DB.Durability != DurabilityAsync {
		t.Errorf("db durability default: %v, %+v", err, m)
	}
	m, err = Parse([]byte(minimal + "mode: spread\npattern: ring\ndata: {events: {}}\nbackend: {kind: process, command: x, args: [], health: {tcp: 'x:1'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Partitions != 256 || m.Backend.Args != nil ||
		m.Backend.Health.Interval != DefaultHealthInterval || m.Backend.Health.Failures != 3 {
		t.Errorf("defaults not applied: %+v %+v %+v", m, m.Data.DB, m.Backend.Health)
	}
	if m, _ := Parse([]byte(minimal + "mode: replicas\nreplicas: 2\n")); m == nil || m.Pattern != PatternPool {
		t.Errorf("replicas default pattern: %+v", m)
	}
}

// TestParseErrors checks that each problem in YAML is reported with its
// line and field path, and that all of them come back together.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // each a whole line of the message
	}{
		{"unknown top key", minimal + "nmae: x\n", []string{"line 5: nmae: unknown key (did you mean name?)"}},
		{"unknown key lists known", minimal + "zzz: x\n", []string{"line 5: zzz: unknown key (known keys: name, version, wasm, mode,"}},
		{"unknown nested key", minimal + "placement:\n  lables: {a: b}\n", []string{"line 6: placement.lables: unknown key (did you mean labels?)"}},
		{"unknown deep key", minimal + "placement:\n  selectors:\n    - {key: a, op: exists, value: x}\n", []string{"line 7: placement.selectors[0].value: unknown key (did you mean values?)"}},
		{"unknown backend key", minimal + "backend:\n  kind: process\n  command: x\n  health: {tcp: 'x:1', retries: 3}\n", []string{"line 8: backend.health.retries: unknown key"}},
		{"wrong type int", minimal + "limits:\n  instances: many\n", []string{`line 6: limits.instances: want a whole number, got "many"`}},
		{"wrong type bool", minimal + "data: {kv: 1}\n", []string{`line 5: data.kv: want true or false, got "1"`}},
		{"wrong type list", minimal + "calls: convex\n", []string{`line 5: calls: want a list, got "convex"`}},
		{"wrong type map", minimal + "config: [a, b]\n", []string{"line 5: config: want a mapping, got a list"}},
		{"wrong type struct", minimal + "vip: 10.0.0.1/24\n", []string{`line 5: vip: want a mapping, got "10.0.0.1/24"`}},
		{"string wanted", "name: [a]\nversion: 1.0.0\nwasm: a.wasm\napi: [get]\n", []string{"line 1: name: want a string, got a list"}},
		{"bad size", minimal + "limits: {memory: 64 megs}\n", []string{`line 5: limits.memory: "64 megs" has an unknown unit "megs"`}},
		{"bad duration", minimal + "limits: {timeout: 5}\n", []string{`line 5: limits.timeout: "5" is not a duration`}},
		{"validation line", minimal + "limits:\n  memory: 8GiB\n", []string{"line 6: limits.memory: 8GiB is over the maximum 4GiB"}},
		{"missing field at parent", minimal + "backend:\n  kind: systemd\n", []string{"line 5: backend.unit: required with kind: systemd"}},
		{"missing top field", "version: 1.0.0\nwasm: a.wasm\napi: [get]\n", []string{"name: required"}},
		{"list item line", "name: a\nversion: 1.0.0\nwasm: a.wasm\napi:\n  - get\n  - bad name\n", []string{`line 6: api[1]: "bad name" is not a valid method name`}},
		{"config key line", minimal + "config:\n  ok: 1\n  'a b': 2\n", []string{`line 7: config["a b"]: "a b" is not a valid config key`}},
		{"many", "name: Bad\nversion: 1\nwasm: /a.wasm\napi: []\nmode: spreed\nfoo: 1\n", []string{
			"6 problems:",
			`line 1: name: "Bad" is not a valid app name`,
			`line 2: version: "1" is not a semantic version`,
			`line 3: wasm: "/a.wasm" is absolute`,
			"line 4: api: required",
			`line 5: mode: "spreed" is not one of`,
			"line 6: foo: unknown key",
		}},
		{"no double report", "name: [a]\nversion: 1.0.0\nwasm: a.wasm\napi: [get, [x]]\n", []string{"2 problems:", "line 1: name: want a string", "line 4: api[1]: want a string"}},
		{"duplicate key", minimal + "name: other\n", []string{`line 5: mapping key "name" already defined at line 1`}},
		{"two documents", minimal + "---\nname: x\n", []string{"line 5: a second YAML document"}},
		{"empty", "", []string{"the manifest is empty"}},
		{"only comment", "# nothing\n", []string{"the manifest is empty"}},
		{"null", "~\n", []string{"the manifest is empty"}},
		{"top list", "- a\n", []string{"line 1: want a mapping, got a list"}},
		{"top scalar", "cache\n", []string{`line 1: want a mapping, got "cache"`}},
		{"syntax", "name: a\n  bad: indent\n", []string{"line 2: mapping values are not allowed"}},
		{"syntax line", "name: 'a\n", []string{"line 2: found unexpected end of stream"}},
		{"self alias", minimal + "placement: &p {<<: *p}\n", []string{"line 5: placement: alias *p refers to itself"}},
		{"merge list key", minimal + "placement: {<<, {00000, [00]}}\n", []string{"line 5: placement: want a plain key, got a mapping"}},
		{"merge unknown", minimal + "data:\n  <<: {kv: true, lokcs: true}\n", []string{"line 6: data.lokcs: unknown key (did you mean locks?)"}},
		{"too big", minimal + "config: {a: '" + strings.Repeat("x", MaxManifestBytes) + "'}\n", []string{"262215 bytes; the limit is 262144"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.src))
			if err == nil {
				t.Fatalf("want an error, got %+v", m)
			}
			if m != nil {
				t.Error("a manifest came back with the error")
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, abi.ErrInvalid) {
				t.Errorf("%v is not ErrInvalid and abi.ErrInvalid", err)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tc.want {
				if !hasLinePrefix(lines, w) {
					t.Errorf("no line starting %q in:\n%v", w, err)
				}
			}
		})
	}
}

func hasLinePrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return true
		}
	}
	return false
}

func TestParseAcceptsYAMLForms(t *testing.T) {
	src := `
base: &limits {memory: 32MiB}
`
	if _, err := Parse([]byte(src)); err == nil {
		t.Error("an unknown key holding an anchor must still be refused")
	}
	src = minimal + `
limits: &l {memory: 32MiB, instances: 0x8}
config: {port: 8080, debug: true, ratio: 0.5, empty: ~}
data: {kv: yes, locks: on}
`
	m, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if m.Limits.Memory != 32*MiB || m.Limits.Instances != 8 || !m.Data.KV || !m.Data.Locks {
		t.Errorf("got %+v", m)
	}
	want := map[string]string{"port": "8080", "debug": "true", "ratio": "0.5", "empty": ""}
	if !reflect.DeepEqual(m.Config, want) {
		t.Errorf("config = %v, want %v", m.Config, want)
	}
}

// readmeExample returns the annotated example in README.md, which must
// stay a valid manifest.
func readmeExample(t testing.TB) []byte {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "## Full example")
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md has no yaml example")
	}
	return []byte(example)
}

func TestReadmeExample(t *testing.T) {
	m, err := Parse(readmeExample(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "cache" || m.Pattern != PatternRing || m.Partitions != 256 || len(m.Placement.Selectors) != 3 ||
		m.Data.DB != nil || m.Backend.Health.Grace.Std().Seconds() != 30 || m.Config["greeting"] != "hello" ||
		!m.Data.Events.Durable || len(m.Data.Events.Subscribe) != 4 {
		t.Errorf("unexpected: %+v", m)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for name, src := range map[string][]byte{"readme": readmeExample(t), "minimal": []byte(minimal)} {
		m, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSON(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(m, back) {
			t.Errorf("%s: JSON round trip changed the manifest\n%+v\n%+v", name, m, back)
		}
		// The YAML encoder gives a manifest Parse reads back the same.
		y, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := Parse(y); err != nil || !reflect.DeepEqual(m, again) {
			t.Errorf("%s: YAML round trip: %v\n%s", name, err, y)
		}
	}
}

func TestParseJSONStrict(t *testing.T) {
	const ok = `"name":"cache","version":"1.0.0","wasm":"c.wasm","api":["get"]`
	cases := []struct{ name, src, want string }{
		{"wrong case", `{` + ok + `,"Mode":"spread"}`, "Mode: unknown key (did you mean mode?)"},
		{"unknown", `{` + ok + `,"extra":1}`, "extra: unknown key"},
		{"nested unknown", `{` + ok + `,"limits":{"mem":"1MiB"}}`, "limits.mem: unknown key"},
		{"trailing", `{` + ok + `} {}`, "after top-level value"},
		{"type", `{` + ok + `,"limits":{"instances":"4"}}`, `limits.instances: want a whole number, got "4"`},
		{"size", `{` + ok + `,"limits":{"memory":"1x"}}`, `limits.memory: "1x" has an unknown unit`},
		{"duration number", `{` + ok + `,"limits":{"timeout":5}}`, "limits.timeout: want a duration like 5s, got 5"},
		{"list item", `{` + ok + `,"calls":["a",1]}`, "calls[1]: want a string, got 1"},
		{"map value", `{` + ok + `,"config":{"a":{}}}`, "config.a: want a string, got an object"},
		{"not object", `[1]`, "want a mapping, got an array"},
		{"empty", ``, "unexpected end of JSON input"},
		{"invalid", `{` + ok + `,"limits":{"memory":"64GiB"}}`, "limits.memory: 64GiB is over the maximum 4GiB"},
		{"missing", `{"version":"1.0.0","wasm":"c.wasm","api":["get"]}`, "name: required"},
	}
	for _, tc := range cases {
		m, err := ParseJSON([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %+v, %v; want an error with %q", tc.name, m, err, tc.want)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, abi.ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", tc.name, err)
		}
	}
}

func TestJSONRefusesInvalid(t *testing.T) {
	m := &Manifest{Name: "cache"}
	if b, err := m.JSON(); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("got %s, %v; want ErrInvalid", b, err)
	}
}

// TestTagsAgree keeps the YAML and JSON keys the same, which the walk
// and the documentation rely on.
func TestTagsAgree(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var visit func(reflect.Type)
	visit = func(t2 reflect.Type) {
		for t2.Kind() == reflect.Pointer || t2.Kind() == reflect.Slice || t2.Kind() == reflect.Map {
			t2 = t2.Elem()
		}
		if t2.Kind() != reflect.Struct || seen[t2] {
			return
		}
		seen[t2] = true
		for _, f := range reflect.VisibleFields(t2) {
			y, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			j, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if y == "" || y != j {
				t.Errorf("%s.%s: yaml %q, json %q", t2.Name(), f.Name, y, j)
			}
			visit(f.Type)
		}
	}
	visit(reflect.TypeFor[Manifest]())
}

func writeFiles(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	module := "\x00asm\x01\x00\x00\x00"
	dir := writeFiles(t, map[string]string{
		"app/cache.yaml":       strings.Replace(minimal, "cache.wasm", "build/cache.wasm", 1),
		"app/build/cache.wasm": module,
		"bad/cache.yaml":       minimal,
		"bad/cache.wasm":       "not wasm",
		"none/cache.yaml":      minimal,
		"invalid/cache.yaml":   "name: X\n",
	})
	m, wasm, err := Load(filepath.Join(dir, "app", "cache.yaml"))
	if err != nil || m.Name != "cache" || string(wasm) != module {
		t.Fatalf("Load: %+v %q %v", m, wasm, err)
	}

	_, _, err = Load(filepath.Join(dir, "none", "cache.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `wasm "cache.wasm"`) ||
		!strings.Contains(err.Error(), filepath.Join(dir, "none", "cache.wasm")) || !strings.Contains(err.Error(), "build the app") {
		t.Errorf("missing wasm: %v", err)
	}

	_, _, err = Load(filepath.Join(dir, "bad", "cache.yaml"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is not a WebAssembly module") {
		t.Errorf("not wasm: %v", err)
	}

	_, _, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.yaml") || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("missing manifest: %v", err)
	}

	p := filepath.Join(dir, "invalid", "cache.yaml")
	_, _, err = Load(p)
	var list Errors
	if !errors.As(err, &list) || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("invalid manifest: %v", err)
	}
}

func TestParseCapsProblems(t *testing.T) {
	src := "name: cache\nversion: 1.0.0\nwasm: c.wasm\napi: [" + strings.Repeat("a,", 1000) + "a]\n"
	_, err := Parse([]byte(src))
	var list Errors
	if !errors.As(err, &list) || len(list) != maxReported || list[maxReported-1].Reason != "and 951 more problems" {
		t.Fatalf("got %d problems, last %v", len(list), list[len(list)-1])
	}
	m := base()
	m.API = strings.Split(strings.Repeat("a,", 100)+"a", ",")
	if !errors.As(m.Validate(), &list) || len(list) != maxReported {
		t.Errorf("Validate: %d problems", len(list))
	}
}
