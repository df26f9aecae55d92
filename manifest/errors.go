package manifest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ozanturksever/go-cluster/abi"
)

// ErrInvalid is wrapped by every problem this package reports about a
// manifest. It wraps abi.ErrInvalid, so a deploy refused for a bad manifest
// maps to the same status as any other invalid request.
var ErrInvalid = fmt.Errorf("invalid manifest: %w", abi.ErrInvalid)

// FieldError is one problem with one field. Field is the path of the field
// as written in the manifest ("limits.memory", "api[2]",
// "placement.selectors[0].op", `config["a.b"]`); it is empty for problems
// with the document as a whole. Line is the 1-based line in the YAML source
// when known, else 0.
type FieldError struct {
	Line   int
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns ErrInvalid, so errors.Is matches both ErrInvalid and
// abi.ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Errors is every problem found in one manifest. Validation collects them
// all rather than stopping at the first, so one edit fixes a manifest.
type Errors []*FieldError

func (e Errors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e))
	for _, fe := range e {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns each problem, so errors.As finds a *FieldError and
// errors.Is finds ErrInvalid.
func (e Errors) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// maxReported caps the problems reported at once: past a few dozen, more
// help no one, and a hostile manifest could otherwise make megabytes of
// them.
const maxReported = 50

// capped returns e cut to maxReported problems, the last saying how many
// more there were.
func (e Errors) capped() Errors {
	if len(e) <= maxReported {
		return e
	}
	more := &FieldError{Reason: fmt.Sprintf("and %d more problems", len(e)-maxReported+1)}
	return append(e[:maxReported-1:maxReported-1], more)
}

// errs accumulates problems while checking a manifest.
type errs struct{ list Errors }

func (c *errs) add(field, format string, args ...any) {
	c.list = append(c.list, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Field paths. Map keys that are plain words join with a dot; anything else
// is quoted, so a path is never ambiguous.

func dot(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func mapKey(parent, key string) string {
	if key != "" && plainKey(key) {
		return dot(parent, key)
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

func plainKey(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
