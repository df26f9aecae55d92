// Package conformance reads the ABI conformance table,
// abi/testdata/conformance.txt, and speaks the small protocol between the
// table's runner and the conformance guests (one per SDK). The table is
// the single source of the cases; the file's header documents its syntax.
//
// A case is a list of steps. The runner sends steps to a guest's "run"
// method in calls: each step is its own call unless it is joined to the
// one before (a line starting with "&"), so that a step can look at what
// the previous host function left behind (last_error). Each step is one
// SDK operation; its outcome is a status and a list of byte fields, and
// the table states the outcome it expects.
package conformance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ozanturksever/go-cluster/abi"
)

// Case is one named case of the table.
type Case struct {
	Name  string
	Line  int
	Steps []Step
}

// Step is one operation of a case and the outcome it must have.
type Step struct {
	Line int
	// Target names the app the step runs on: "" for the app under test,
	// else one of Targets.
	Target string
	Op     string
	Args   []Arg
	// Joined runs the step in the same call as the step before it.
	Joined bool
	Expect Expect
}

// Targets are the apps besides the one under test that a step may run on.
var Targets = []string{"bare", "ring"}

// Expect is the outcome a step must have.
type Expect struct {
	// Eventually makes the runner repeat the step's call until it has
	// this outcome or a deadline passes: for effects that arrive later,
	// such as an event's delivery.
	Eventually bool
	Status     abi.Status
	// Fields match the outcome's fields one by one. An error outcome has
	// one field, its message; with no matchers its message is not checked.
	Fields []Matcher
}

// Outcome is what a guest reports for one step.
type Outcome struct {
	Status abi.Status
	Fields [][]byte
}

// Parse reads a table. Errors name the line.
func Parse(r io.Reader) ([]Case, error) {
	var cases []Case
	names := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, err := parseLine(line, n, cases)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if c != nil {
			if prev, dup := names[c.Name]; dup {
				return nil, fmt.Errorf("line %d: case %q already on line %d", n, c.Name, prev)
			}
			names[c.Name] = n
			cases = append(cases, *c)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return cases, nil
}

// parseLine reads one line: a new case (returned) or another step of the
// last case (appended to cases in place).
func parseLine(line string, n int, cases []Case) (*Case, error) {
	toks, err := tokenize(line)
	if err != nil {
		return nil, err
	}
	cols := splitColumns(toks)
	if len(cols) != 3 {
		return nil, errors.New("want NAME | STEP | EXPECT, or | STEP | EXPECT, or & STEP | EXPECT")
	}
	step, err := parseStep(cols[1], cols[2], n)
	if err != nil {
		return nil, err
	}
	switch head := cols[0]; {
	case len(head) == 1 && head[0].kind == tokName:
		if !validName(head[0].text) {
			return nil, fmt.Errorf("bad case name %q", head[0].text)
		}
		if err := checkRefs(step, 1); err != nil {
			return nil, err
		}
		return &Case{Name: head[0].text, Line: n, Steps: []Step{step}}, nil
	case len(head) == 0 || len(head) == 1 && head[0].kind == tokJoin:
		if len(cases) == 0 {
			return nil, errors.New("a step before any case")
		}
		last := &cases[len(cases)-1]
		step.Joined = len(head) == 1
		if err := checkRefs(step, last.callStart(step.Joined)); err != nil {
			return nil, err
		}
		if step.Joined && step.Target != last.Steps[len(last.Steps)-1].Target {
			return nil, errors.New("a joined step runs on the app of the step before it")
		}
		last.Steps = append(last.Steps, step)
		return nil, nil
	}
	return nil, errors.New("the first column is a case name, empty, or &")
}

// callStart returns the number (counting from 1) of the first step of the
// call a step added now would run in.
func (c *Case) callStart(joined bool) int {
	if !joined {
		return len(c.Steps) + 1
	}
	i := len(c.Steps) - 1
	for i > 0 && c.Steps[i].Joined {
		i--
	}
	return i + 1
}

// checkRefs refuses references to steps that have not run when this one
// is sent: the runner resolves them from earlier calls' outcomes.
func checkRefs(s Step, callStart int) error {
	for _, r := range s.refs() {
		if r.Step >= callStart {
			return fmt.Errorf("@%d refers to a step whose outcome is not known when this one is sent", r.Step)
		}
	}
	return nil
}

func (s Step) refs() []Ref {
	var out []Ref
	for _, a := range s.Args {
		if a.Ref != nil {
			out = append(out, *a.Ref)
		}
	}
	for _, m := range s.Expect.Fields {
		if m.Arg.Ref != nil {
			out = append(out, *m.Arg.Ref)
		}
	}
	return out
}

func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

func parseStep(stepToks, expectToks []token, line int) (Step, error) {
	if len(stepToks) == 0 || stepToks[0].kind != tokName {
		return Step{}, errors.New("a step starts with its operation")
	}
	s := Step{Line: line, Op: stepToks[0].text}
	if target, op, ok := strings.Cut(s.Op, ":"); ok {
		s.Target, s.Op = target, op
		if !knownTarget(target) {
			return Step{}, fmt.Errorf("unknown target %q", target)
		}
	}
	for _, t := range stepToks[1:] {
		a, err := parseArg(t)
		if err != nil {
			return Step{}, err
		}
		s.Args = append(s.Args, a)
	}
	if err := checkOp(s.Op, s.Args); err != nil {
		return Step{}, err
	}
	e, err := parseExpect(expectToks)
	if err != nil {
		return Step{}, err
	}
	s.Expect = e
	for _, r := range s.refs() {
		if r.Step < 1 {
			return Step{}, fmt.Errorf("@%d: steps count from 1", r.Step)
		}
	}
	return s, nil
}

func knownTarget(t string) bool {
	for _, k := range Targets {
		if t == k {
			return true
		}
	}
	return false
}

func parseExpect(toks []token) (Expect, error) {
	var e Expect
	if len(toks) > 0 && toks[0].kind == tokName && toks[0].text == "eventually" {
		e.Eventually = true
		toks = toks[1:]
	}
	if len(toks) == 0 || toks[0].kind != tokName {
		return Expect{}, errors.New("an expectation starts with a status")
	}
	st, ok := abi.StatusByName(toks[0].text)
	if !ok {
		return Expect{}, fmt.Errorf("unknown status %q", toks[0].text)
	}
	e.Status = st
	for _, t := range toks[1:] {
		m, err := parseMatcher(t)
		if err != nil {
			return Expect{}, err
		}
		e.Fields = append(e.Fields, m)
	}
	if st != abi.StatusOK && len(e.Fields) > 1 {
		return Expect{}, errors.New("an error outcome has one field, its message")
	}
	return e, nil
}

// Calls splits a case's steps into the calls that run them: a step
// starts a new call unless it is joined to the one before.
func (c Case) Calls() [][]Step {
	var out [][]Step
	for _, s := range c.Steps {
		if s.Joined && len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], s)
			continue
		}
		out = append(out, []Step{s})
	}
	return out
}
