package conformance

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/ozanturksever/go-cluster/abi"
)

// The protocol of the guests' run method. Both directions use the ABI's
// List encoding (abi.AppendList), nested:
//
//	request  List of steps; a step is the List [op, arg...]
//	reply    List of outcomes; an outcome is the List [status, field...]
//
// An argument is a tag byte then its body: '=' and the bytes; '*' and a
// little-endian u32 count, then bytes the guest repeats count times (so a
// megabyte argument costs a few bytes on the wire); '/' and nothing, the
// end of a statement of db_batch. A status is its name ("ok",
// "not_found", ...). An error outcome has one field, the error's text.
const (
	TagBytes  = '='
	TagRepeat = '*'
	TagSep    = '/'
)

// Env is what arguments and matchers refer to: the runner's variables and
// the outcomes of the case's steps so far, by step number from 1.
type Env struct {
	Vars     map[string]string
	Outcomes map[int]Outcome
}

// Bytes returns what a resolves to, repeats expanded.
func (a Arg) Bytes(env Env) ([]byte, error) {
	switch {
	case a.Var != "":
		v, ok := env.Vars[a.Var]
		if !ok {
			return nil, fmt.Errorf("no value for $%s", a.Var)
		}
		return []byte(v), nil
	case a.Ref != nil:
		o, ok := env.Outcomes[a.Ref.Step]
		if !ok || a.Ref.Field > len(o.Fields) {
			return nil, fmt.Errorf("@%d.%d: no such field", a.Ref.Step, a.Ref.Field)
		}
		return o.Fields[a.Ref.Field-1], nil
	case a.Repeat > 0:
		return bytes.Repeat(a.Unit, a.Repeat), nil
	}
	return a.Unit, nil
}

// wire returns the argument as the run method takes it.
func (a Arg) wire(env Env) ([]byte, error) {
	switch {
	case a.Sep:
		return []byte{TagSep}, nil
	case a.Repeat > 0 && a.Var == "" && a.Ref == nil:
		b := binary.LittleEndian.AppendUint32([]byte{TagRepeat}, uint32(a.Repeat))
		return append(b, a.Unit...), nil
	}
	b, err := a.Bytes(env)
	if err != nil {
		return nil, err
	}
	return append([]byte{TagBytes}, b...), nil
}

// Request encodes one call of the run method: steps, which must not refer
// to each other's outcomes.
func Request(steps []Step, env Env) ([]byte, error) {
	var out []byte
	for _, s := range steps {
		items := [][]byte{[]byte(s.Op)}
		for _, a := range s.Args {
			w, err := a.wire(env)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", s.Line, err)
			}
			items = append(items, w)
		}
		out = abi.AppendList(out, abi.AppendList(nil, items...))
	}
	return out, nil
}

// ErrBadReply is a run reply that is not a List of outcomes.
var ErrBadReply = errors.New("malformed reply")

// DecodeReply decodes the reply of the run method.
func DecodeReply(b []byte) ([]Outcome, error) {
	items, err := abi.DecodeList(b)
	if err != nil {
		return nil, ErrBadReply
	}
	out := make([]Outcome, 0, len(items))
	for _, it := range items {
		fields, err := abi.DecodeList(it)
		if err != nil || len(fields) == 0 {
			return nil, ErrBadReply
		}
		st, ok := abi.StatusByName(string(fields[0]))
		if !ok || st != abi.StatusOK && len(fields) != 2 {
			return nil, fmt.Errorf("%w: outcome %q", ErrBadReply, fields[0])
		}
		out = append(out, Outcome{Status: st, Fields: fields[1:]})
	}
	return out, nil
}

// EncodeReply is what a guest replies; tests use it as the reference.
func EncodeReply(outcomes []Outcome) []byte {
	var out []byte
	for _, o := range outcomes {
		items := append([][]byte{[]byte(o.Status.String())}, o.Fields...)
		out = abi.AppendList(out, abi.AppendList(nil, items...))
	}
	return out
}

// Match reports how o differs from what e expects, nil when it does not.
func (e Expect) Match(o Outcome, env Env) error {
	if o.Status != e.Status {
		return fmt.Errorf("status %s, want %s", o.Status, e.Status)
	}
	if e.Status != abi.StatusOK && len(e.Fields) == 0 {
		return nil // the message is not checked
	}
	if len(o.Fields) != len(e.Fields) {
		return fmt.Errorf("%d fields, want %d", len(o.Fields), len(e.Fields))
	}
	for i, m := range e.Fields {
		if err := m.match(o.Fields[i], env); err != nil {
			return fmt.Errorf("field %d: %w", i+1, err)
		}
	}
	return nil
}

func (m Matcher) match(got []byte, env Env) error {
	if m.Kind == MatchAny {
		return nil
	}
	want, err := m.Arg.Bytes(env)
	if err != nil {
		return err
	}
	switch m.Kind {
	case MatchExact:
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s, want %s", Show(got), Show(want))
		}
	case MatchContains:
		if !bytes.Contains(got, want) {
			return fmt.Errorf("%s does not contain %s", Show(got), Show(want))
		}
	case MatchGreater:
		g, err1 := strconv.ParseUint(string(got), 10, 64)
		w, err2 := strconv.ParseUint(string(want), 10, 64)
		if err1 != nil || err2 != nil || g <= w {
			return fmt.Errorf("%s, want a number larger than %s", Show(got), Show(want))
		}
	}
	return nil
}

// Show quotes b for messages, cutting long values short.
func Show(b []byte) string {
	const max = 200
	if len(b) > max {
		return fmt.Sprintf("%q... (%d bytes)", b[:max], len(b))
	}
	return strconv.Quote(string(b))
}

// String renders o for messages.
func (o Outcome) String() string {
	s := o.Status.String()
	for _, f := range o.Fields {
		s += " " + Show(f)
	}
	return s
}
