package conformance

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

const table = "../../abi/testdata/conformance.txt"

func readTable(t testing.TB) []Case {
	t.Helper()
	f, err := os.Open(table)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return cases
}

// TestTableCoversTheABI: the table reaches every host function and
// expects every status at least once, so a function or status added to
// the ABI without a case fails here.
func TestTableCoversTheABI(t *testing.T) {
	funcs := map[string]bool{abi.FuncReply: true} // every run call replies
	statuses := map[abi.Status]bool{}
	for _, c := range readTable(t) {
		for _, s := range c.Steps {
			for _, f := range Ops[s.Op].Funcs {
				funcs[f] = true
			}
			statuses[s.Expect.Status] = true
		}
	}
	for _, f := range abi.HostFuncs {
		if !funcs[f] {
			t.Errorf("no case calls host function %s", f)
		}
	}
	for _, s := range abi.Statuses() {
		if !statuses[s] {
			t.Errorf("no case expects status %s", s)
		}
	}
}

func TestParse(t *testing.T) {
	src := `# a comment
first | kv_put "k\x00\xff" "v"*3 | ok *
      | kv_get "k\x00\xff"       | ok "vvv" @1
      & last_error               | not_found
      | call $self "fail" "conflict:"+"m"*3+"!" | conflict "m"*3
second | bare:db_batch "INSERT ?" int:-1 / "SELECT 1" real:+Inf text:"é|x" blob:"\x00"*2 null | eventually ok ~"a b" >12 >7 hex:00ff $self
`
	cases, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || len(cases[0].Steps) != 4 || len(cases[1].Steps) != 1 {
		t.Fatalf("parsed %+v", cases)
	}
	put := cases[0].Steps[0]
	if put.Op != "kv_put" || string(put.Args[0].Unit) != "k\x00\xff" || string(put.Args[1].Unit) != "v" || put.Args[1].Repeat != 3 {
		t.Errorf("kv_put step: %+v", put)
	}
	get := cases[0].Steps[1]
	if get.Joined || get.Expect.Fields[1].Arg.Ref == nil || *get.Expect.Fields[1].Arg.Ref != (Ref{1, 1}) {
		t.Errorf("kv_get step: %+v", get)
	}
	if calls := cases[0].Calls(); len(calls) != 3 || len(calls[1]) != 2 {
		t.Errorf("calls: %v", calls)
	}
	if fail := cases[0].Steps[3]; string(fail.Args[2].Unit) != "conflict:mmm!" || fail.Args[2].Repeat != 0 ||
		string(fail.Expect.Fields[0].Arg.Unit) != "m" || fail.Expect.Fields[0].Arg.Repeat != 3 {
		t.Errorf("concatenation: %+v", fail)
	}
	b := cases[1].Steps[0]
	if b.Target != "bare" || b.Op != "db_batch" || !b.Args[2].Sep || !b.Expect.Eventually || len(b.Expect.Fields) != 5 {
		t.Errorf("db_batch step: %+v", b)
	}
	if got := b.Args[5].Unit; !bytes.Equal(got, abi.AppendValue(nil, abi.Text("é|x"))) {
		t.Errorf("text value %x", got)
	}
	if got := b.Args[6].Unit; !bytes.Equal(got, abi.AppendValue(nil, abi.Blob([]byte{0, 0}))) {
		t.Errorf("repeated blob value %x", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{
		`| kv_get "k" | ok`,                  // a step before any case
		`c | kv_get "k"`,                     // no expectation
		`c | kv_get k | ok`,                  // unquoted string
		`c | kv_get "k | ok`,                 // unterminated string
		`c | kv_get "k" | maybe`,             // unknown status
		`c | kv_fetch "k" | ok`,              // unknown operation
		`c | kv_get "k" "x" | ok`,            // too many arguments
		`c | other:kv_get "k" | ok`,          // unknown target
		`c | kv_get @1 | ok`,                 // a reference to the future
		`c | kv_get "k" | not_found "a" "b"`, // two fields for an error
		`c | kv_get "k"*0 | ok`,              // empty repeat
		`c | kv_get "k"+x | ok`,              // + without a string
		`c | kv_get "k"+ | ok`,               // + at the end
		`c | kv_get "k"*2x | ok`,             // junk after a repeat
		`c | kv_get "k"*99999999999 | ok`,    // repeat too large
		`c | kv_get $nobody | ok`,            // unknown variable
		`c | db_exec "x" / int:1 | ok`,       // / outside db_batch
		`c | db_batch "x" / | ok`,            // / at the end
		`c | kv_get "k" | ok >"x"`,           // > with a string
		`Bad | kv_get "k" | ok`,              // uppercase name
	} {
		if _, err := Parse(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("Parse(%q) succeeded", line)
		}
	}
	dup := "c | abi_version | ok\nc | abi_version | ok\n"
	if _, err := Parse(strings.NewReader(dup)); err == nil {
		t.Error("a duplicate case name parsed")
	}
	joined := "c | abi_version | ok \"1\"\n  & kv_get @1 | ok\n"
	if _, err := Parse(strings.NewReader(joined)); err == nil {
		t.Error("a joined step refers to the step of its own call")
	}
}

// TestWireRoundTrip encodes a request and decodes it as a guest would,
// and decodes a reply a guest would send.
func TestWireRoundTrip(t *testing.T) {
	cases, err := Parse(strings.NewReader(`c | call $self "echo" "ab"*2 @0 | ok` + "\n"))
	if err == nil {
		t.Fatalf("a reference to step 0 parsed: %+v", cases)
	}
	cases, err = Parse(strings.NewReader("c | kv_put \"k\" \"ab\"*2 | ok *\n | call $self \"echo\" @1 | ok @1\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Vars: map[string]string{"self": "app"}, Outcomes: map[int]Outcome{1: {Fields: [][]byte{[]byte("42")}}}}
	req, err := Request(cases[0].Steps[1:], env)
	if err != nil {
		t.Fatal(err)
	}
	steps, _ := abi.DecodeList(req)
	items, _ := abi.DecodeList(steps[0])
	want := [][]byte{[]byte("call"), []byte("=app"), []byte("=echo"), []byte("=42")}
	if !slices.EqualFunc(items, want, bytes.Equal) {
		t.Errorf("request items %q, want %q", items, want)
	}
	req, _ = Request(cases[0].Steps[:1], env)
	steps, _ = abi.DecodeList(req)
	items, _ = abi.DecodeList(steps[0])
	if rep := items[2]; !bytes.Equal(rep, []byte("*\x02\x00\x00\x00ab")) {
		t.Errorf("repeat argument %q", rep)
	}

	reply := EncodeReply([]Outcome{{Status: abi.StatusOK, Fields: [][]byte{[]byte("42")}}, {Status: abi.StatusConflict, Fields: [][]byte{[]byte("held")}}})
	outs, err := DecodeReply(reply)
	if err != nil || len(outs) != 2 || outs[1].Status != abi.StatusConflict {
		t.Fatalf("DecodeReply = %v, %v", outs, err)
	}
	if err := cases[0].Steps[1].Expect.Match(outs[0], env); err != nil {
		t.Errorf("match: %v", err)
	}
	for _, bad := range [][]byte{{1}, abi.AppendList(nil, nil), abi.AppendList(nil, abi.AppendList(nil, []byte("nope"))),
		abi.AppendList(nil, abi.AppendList(nil, []byte("conflict")))} {
		if _, err := DecodeReply(bad); err == nil {
			t.Errorf("DecodeReply(%q) succeeded", bad)
		}
	}
}

func TestMatch(t *testing.T) {
	env := Env{Outcomes: map[int]Outcome{1: {Fields: [][]byte{[]byte("10")}}}}
	ok := func(fields ...string) Outcome {
		o := Outcome{Status: abi.StatusOK}
		for _, f := range fields {
			o.Fields = append(o.Fields, []byte(f))
		}
		return o
	}
	for _, tt := range []struct {
		expect string
		got    Outcome
		match  bool
	}{
		{`ok "a" *`, ok("a", "anything"), true},
		{`ok "a"`, ok("a", "extra"), false},
		{`ok ~"ell"`, ok("hello"), true},
		{`ok ~"x"`, ok("hello"), false},
		{`ok >@1`, ok("11"), true},
		{`ok >@1`, ok("10"), false},
		{`ok >@1`, ok("ten"), false},
		{`conflict`, Outcome{Status: abi.StatusConflict, Fields: [][]byte{[]byte("any message")}}, true},
		{`conflict "held"`, Outcome{Status: abi.StatusConflict, Fields: [][]byte{[]byte("free")}}, false},
		{`ok`, Outcome{Status: abi.StatusConflict, Fields: [][]byte{nil}}, false},
	} {
		cases, err := Parse(strings.NewReader("c | abi_version | ok\n | abi_version | " + tt.expect + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", tt.expect, err)
		}
		err = cases[0].Steps[1].Expect.Match(tt.got, env)
		if (err == nil) != tt.match {
			t.Errorf("%s against %v: %v", tt.expect, tt.got, err)
		}
	}
}

// FuzzParse: the parser returns cases or an error for any input, and the
// cases it returns encode without trouble.
func FuzzParse(f *testing.F) {
	src, err := os.ReadFile(table)
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(src), "\n") {
		f.Add(line)
	}
	f.Add("c | kv_put \"k\"*3 \"\\xff\" | ok >@1.2\n  & last_error | eventually not_found ~\"x\"")
	f.Fuzz(func(t *testing.T, s string) {
		cases, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		env := Env{Vars: map[string]string{}, Outcomes: map[int]Outcome{}}
		for _, v := range Vars {
			env.Vars[v] = v + "-app"
		}
		for _, c := range cases {
			for _, call := range c.Calls() {
				if _, err := Request(call, env); err != nil && !strings.Contains(err.Error(), "no such field") {
					t.Fatalf("Request(%+v): %v", call, err)
				}
			}
		}
	})
}

// FuzzDecodeReply: any bytes decode to outcomes or an error, and outcomes
// encode back to the same bytes.
func FuzzDecodeReply(f *testing.F) {
	f.Add(EncodeReply([]Outcome{{Status: abi.StatusOK, Fields: [][]byte{[]byte("1")}}}))
	f.Add(EncodeReply([]Outcome{{Status: abi.StatusInvalid, Fields: [][]byte{[]byte("bad")}}}))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		outs, err := DecodeReply(b)
		if err != nil {
			return
		}
		if got := EncodeReply(outs); !bytes.Equal(got, b) {
			t.Fatalf("DecodeReply(%x) = %v, which encodes to %x", b, outs, got)
		}
	})
}
