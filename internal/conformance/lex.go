package conformance

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ozanturksever/go-cluster/abi"
)

// maxRepeat bounds the bytes one repeated argument stands for, so a typo
// (or a fuzzer) cannot make the parser or a guest allocate without end.
const maxRepeat = 16 << 20

type tokKind int

const (
	tokName tokKind = iota // a word without quotes
	tokWord                // a word with a quoted part
	tokSep                 // |
	tokJoin                // & at the start of a line
)

type token struct {
	kind tokKind
	text string
}

// tokenize splits a line into words and separators. A word runs to a
// space or an unquoted "|"; a double-quoted part of a word may hold
// both.
func tokenize(line string) ([]token, error) {
	var out []token
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '|':
			out = append(out, token{tokSep, "|"})
			i++
		case c == '&' && len(out) == 0 && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t'):
			out = append(out, token{tokJoin, "&"})
			i++
		default:
			t, n, err := word(line[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			i += n
		}
	}
	return out, nil
}

// word reads one word from the start of s and returns it with its length.
func word(s string) (token, int, error) {
	kind := tokName
	i := 0
	for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '|' {
		if s[i] != '"' {
			i++
			continue
		}
		kind = tokWord
		n, err := quotedLen(s[i:])
		if err != nil {
			return token{}, 0, err
		}
		i += n
	}
	return token{kind, s[:i]}, i, nil
}

// quotedLen returns the length of the double-quoted string s starts with,
// quotes included.
func quotedLen(s string) (int, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string %s", s)
}

// splitColumns splits a line's tokens at its separators. A line that
// starts with "&" has the "&" as its first column.
func splitColumns(toks []token) [][]token {
	var cols [][]token
	cur := []token{}
	if len(toks) > 0 && toks[0].kind == tokJoin {
		cols = append(cols, toks[:1])
		toks = toks[1:]
	}
	for _, t := range toks {
		if t.kind == tokSep {
			cols = append(cols, cur)
			cur = []token{}
			continue
		}
		cur = append(cur, t)
	}
	return append(cols, cur)
}

// Arg is one argument of a step, or a value a matcher compares with.
type Arg struct {
	// Unit is the argument's bytes, or the bytes repeated Repeat times
	// when Repeat > 0.
	Unit   []byte
	Repeat int
	// Var names a value the runner supplies, such as "self".
	Var string
	// Ref is a field of an earlier step's outcome.
	Ref *Ref
	// Sep separates the statements of db_batch.
	Sep bool
}

// Ref is field Field (from 1) of the outcome of step Step (from 1) of the
// same case.
type Ref struct{ Step, Field int }

// Vars are the names "$name" may use; the runner gives each a value.
var Vars = []string{"self", "bare", "ring"}

// parseArg reads one argument word:
//
//	"..."[*N]   a Go-quoted string, repeated N times with *N; several
//	            joined with + are one argument: "a"+"b"*3
//	hex:HEX     bytes in hex
//	null, int:I, real:F, text:"...", blob:"..."   a SQL value (its
//	            abi encoding), text and blob with an optional *N
//	-?DIGITS    a decimal number, as text
//	@S[.F]      field F (default 1) of step S's outcome
//	$name       a value the runner supplies (Vars)
//	/           the end of a statement in db_batch
func parseArg(t token) (Arg, error) {
	s := t.text
	switch {
	case strings.HasPrefix(s, `"`):
		b, n, err := quotedConcat(s)
		return Arg{Unit: b, Repeat: n}, err
	case strings.HasPrefix(s, "hex:"):
		b, err := hex.DecodeString(s[4:])
		return Arg{Unit: b}, err
	case s == "null" || strings.HasPrefix(s, "int:") || strings.HasPrefix(s, "real:") ||
		strings.HasPrefix(s, "text:") || strings.HasPrefix(s, "blob:"):
		v, err := parseValue(s)
		if err != nil {
			return Arg{}, err
		}
		return Arg{Unit: abi.AppendValue(nil, v)}, nil
	case strings.HasPrefix(s, "@"):
		r, err := parseRef(s[1:])
		return Arg{Ref: &r}, err
	case strings.HasPrefix(s, "$"):
		if !knownVar(s[1:]) {
			return Arg{}, fmt.Errorf("unknown variable %s", s)
		}
		return Arg{Var: s[1:]}, nil
	case s == "/":
		return Arg{Sep: true}, nil
	case isDecimal(s):
		return Arg{Unit: []byte(s)}, nil
	}
	return Arg{}, fmt.Errorf("bad argument %s: quote strings", s)
}

func knownVar(name string) bool {
	for _, v := range Vars {
		if v == name {
			return true
		}
	}
	return false
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// quotedConcat reads strings joined by +, each with an optional *N. A
// lone string keeps its repeat count (0 for none); a concatenation comes
// back expanded.
func quotedConcat(s string) ([]byte, int, error) {
	unit, count, rest, err := quotedRepeat(s)
	if err != nil || rest == "" {
		return unit, count, err
	}
	out := expanded(unit, count)
	for rest != "" {
		if !strings.HasPrefix(rest, `+"`) {
			return nil, 0, fmt.Errorf("bad argument %s: join strings with +", s)
		}
		if unit, count, rest, err = quotedRepeat(rest[1:]); err != nil {
			return nil, 0, err
		}
		if len(out)+len(unit)*max(count, 1) > maxRepeat {
			return nil, 0, fmt.Errorf("bad argument %s: over %d bytes", s, maxRepeat)
		}
		out = append(out, expanded(unit, count)...)
	}
	return out, 0, nil
}

func expanded(unit []byte, count int) []byte {
	if count == 0 {
		return unit
	}
	return bytes.Repeat(unit, count)
}

// quotedRepeat reads "..." with an optional *N after it and returns what
// follows.
func quotedRepeat(s string) (unit []byte, count int, rest string, err error) {
	n, err := quotedLen(s)
	if err != nil {
		return nil, 0, "", err
	}
	str, err := strconv.Unquote(s[:n])
	if err != nil {
		return nil, 0, "", fmt.Errorf("bad string %s: %w", s[:n], err)
	}
	rest = s[n:]
	if !strings.HasPrefix(rest, "*") {
		return []byte(str), 0, rest, nil
	}
	digits := rest[1:]
	if i := strings.IndexByte(digits, '+'); i >= 0 {
		digits, rest = digits[:i], digits[i:]
	} else {
		rest = ""
	}
	count, err = strconv.Atoi(digits)
	if err != nil || !isDecimal(digits) || count < 1 || uint64(count)*uint64(max(len(str), 1)) > maxRepeat {
		return nil, 0, "", fmt.Errorf("bad repeat %s: \"...\"*N, 1 to %d bytes", s, maxRepeat)
	}
	return []byte(str), count, rest, nil
}

func parseRef(s string) (Ref, error) {
	step, field, hasField := strings.Cut(s, ".")
	r := Ref{Field: 1}
	var err error
	if r.Step, err = strconv.Atoi(step); err != nil || !isDecimal(step) {
		return Ref{}, fmt.Errorf("bad reference @%s: want @STEP or @STEP.FIELD", s)
	}
	if hasField {
		if r.Field, err = strconv.Atoi(field); err != nil || !isDecimal(field) || r.Field < 1 {
			return Ref{}, fmt.Errorf("bad reference @%s: fields count from 1", s)
		}
	}
	return r, nil
}

// parseValue reads a SQL value: null, int:I, real:F, text:"..." or
// blob:"...", the strings with an optional *N.
func parseValue(s string) (abi.Value, error) {
	if s == "null" {
		return abi.Null(), nil
	}
	typ, arg, _ := strings.Cut(s, ":")
	switch typ {
	case "int":
		n, err := strconv.ParseInt(arg, 10, 64)
		return abi.Integer(n), err
	case "real":
		f, err := strconv.ParseFloat(arg, 64)
		return abi.Real(f), err
	case "text", "blob":
		if !strings.HasPrefix(arg, `"`) {
			return abi.Value{}, fmt.Errorf("bad value %s: quote the string", s)
		}
		b, n, err := quotedConcat(arg)
		if err != nil {
			return abi.Value{}, err
		}
		b = expanded(b, n)
		if typ == "text" {
			return abi.Value{Type: abi.TypeText, Bytes: b}, nil
		}
		return abi.Blob(b), nil
	}
	return abi.Value{}, fmt.Errorf("bad value %s", s)
}

// MatchKind is how a Matcher compares a field.
type MatchKind int

// Matcher kinds.
const (
	MatchExact    MatchKind = iota // the field is Arg's bytes
	MatchAny                       // any field
	MatchContains                  // the field holds Arg's bytes
	MatchGreater                   // the field, a decimal, is larger than Arg's
)

// Matcher checks one field of an outcome.
type Matcher struct {
	Kind MatchKind
	Arg  Arg
}

// parseMatcher reads one matcher word: * (any field), ~ARG (a field that
// contains ARG), >ARG (a decimal field larger than ARG, a decimal or a
// reference) or ARG (exactly ARG).
func parseMatcher(t token) (Matcher, error) {
	s := t.text
	m := Matcher{Kind: MatchExact}
	switch {
	case s == "*":
		return Matcher{Kind: MatchAny}, nil
	case strings.HasPrefix(s, "~"):
		m.Kind, s = MatchContains, s[1:]
	case strings.HasPrefix(s, ">"):
		m.Kind, s = MatchGreater, s[1:]
	}
	a, err := parseArg(token{t.kind, s})
	switch {
	case err != nil:
		return Matcher{}, err
	case a.Sep:
		return Matcher{}, errors.New("/ is not a value")
	case m.Kind == MatchGreater && a.Ref == nil && (a.Repeat > 0 || !isDecimal(string(a.Unit))):
		return Matcher{}, errors.New("> compares with a decimal or a reference")
	}
	m.Arg = a
	return m, nil
}
