package manifest

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML decoder reports unknown keys and wrong types by line and Go type
// name only. Walking the parsed node tree beside the Manifest type first
// names the full field path instead, finds every problem in one pass, and
// records where each field is so validation errors can cite lines too.

// maxWalkSteps bounds the walk: aliases and merge keys can make a small
// document expand to a huge tree.
const maxWalkSteps = 100_000

type walker struct {
	errs     Errors
	lines    map[string]int
	steps    int
	expanded map[*yaml.Node]bool // anchors being walked through an alias
}

func newWalker() *walker {
	return &walker{lines: map[string]int{"": 1}, expanded: map[*yaml.Node]bool{}}
}

func (w *walker) fail(line int, field, format string, args ...any) {
	w.errs = append(w.errs, &FieldError{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (w *walker) tooBig() bool { return w.steps > maxWalkSteps }

var yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

func (w *walker) walk(n *yaml.Node, t reflect.Type, field string) {
	if w.steps++; w.tooBig() {
		if w.steps == maxWalkSteps+1 {
			w.fail(n.Line, "", "the document expands to more than %d nodes (aliases?)", maxWalkSteps)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		w.alias(n, t, field)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null leaves the zero value, as the decoder does
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(yamlUnmarshaler) || t.Kind() <= reflect.Complex128 || t.Kind() == reflect.String:
		w.scalar(n, t, field)
	case t.Kind() == reflect.Struct:
		w.structure(n, t, field)
	case t.Kind() == reflect.Map:
		w.mapping(n, t, field)
	case t.Kind() == reflect.Slice:
		w.sequence(n, t, field)
	default:
		panic("manifest: no walk for " + t.String())
	}
}

func (w *walker) alias(n *yaml.Node, t reflect.Type, field string) {
	if n.Alias == nil || w.expanded[n.Alias] {
		w.fail(n.Line, field, "alias *%s refers to itself", n.Value)
		return
	}
	w.expanded[n.Alias] = true
	w.walk(n.Alias, t, field)
	delete(w.expanded, n.Alias)
}

func (w *walker) scalar(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(n.Line, field, "want %s, got %s", describe(t), nodeWord(n))
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		if reflect.PointerTo(t).Implements(yamlUnmarshaler) {
			w.fail(n.Line, field, "%v", err) // our own types explain themselves
		} else {
			w.fail(n.Line, field, "want %s, got %s", describe(t), nodeWord(n))
		}
	}
}

func (w *walker) structure(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n.Line, field, "want %s, got %s", describe(t), nodeWord(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			w.merge(v, t, field)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(k.Line, field, "want a plain key, got %s", nodeWord(k))
			continue
		}
		path := dot(field, k.Value)
		f, ok := fieldByTag(t, "yaml", k.Value)
		if !ok {
			w.fail(k.Line, path, "%s", unknownKey(t, "yaml", k.Value))
			continue
		}
		w.lines[path] = k.Line
		w.walk(v, f.Type, path)
	}
}

// merge walks the value of a "<<" key: a mapping, or a list of them,
// whose keys join the enclosing mapping.
func (w *walker) merge(v *yaml.Node, t reflect.Type, field string) {
	if v.Kind == yaml.SequenceNode {
		for _, item := range v.Content {
			w.walk(item, t, field)
		}
		return
	}
	w.walk(v, t, field)
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n.Line, field, "want %s, got %s", describe(t), nodeWord(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var key string
		if k.Kind != yaml.ScalarNode || k.Decode(&key) != nil {
			w.fail(k.Line, field, "want a plain key, got %s", nodeWord(k))
			continue
		}
		path := mapKey(field, key)
		w.lines[path] = k.Line
		w.walk(v, t.Elem(), path)
	}
}

func (w *walker) sequence(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind != yaml.SequenceNode {
		w.fail(n.Line, field, "want %s, got %s", describe(t), nodeWord(n))
		return
	}
	for i, item := range n.Content {
		path := index(field, i)
		w.lines[path] = item.Line
		w.walk(item, t.Elem(), path)
	}
}

// covers reports whether a problem was already found at field, above it
// or below it, so validation does not add a second, vaguer one (a wrongly
// typed name would otherwise also be "required").
func (w *walker) covers(field string) bool {
	for _, e := range w.errs {
		if within(field, e.Field) || field != "" && within(e.Field, field) {
			return true
		}
	}
	return false
}

// within reports whether path is at or below parent.
func within(path, parent string) bool {
	return path == parent || parent == "" ||
		strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"[")
}

// lineOf returns the line of field, or of its nearest ancestor that is
// written in the document (a missing field is reported at its parent).
func (w *walker) lineOf(field string) int {
	for {
		if l, ok := w.lines[field]; ok {
			return l
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			return 0
		}
		field = field[:i]
	}
}

// fieldByTag finds the struct field whose tag (yaml or json; they agree)
// names key, exactly: YAML is case-sensitive and the JSON form is kept so.
func fieldByTag(t reflect.Type, tag, key string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get(tag), ","); name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func unknownKey(t reflect.Type, tag, key string) string {
	var known []string
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if near(strings.ToLower(key), strings.ToLower(name)) {
			return fmt.Sprintf("unknown key (did you mean %s?)", name)
		}
		known = append(known, name)
	}
	return "unknown key (known keys: " + strings.Join(known, ", ") + ")"
}

// near reports whether b is a likely typo of a: one edit apart (an
// insertion, deletion, change or swap of neighbouring bytes), or two for
// words of five bytes or more, where two edits still leave most of it.
func near(a, b string) bool {
	if len(a) > 64 || len(b) > 64 {
		return false
	}
	// d[i][j] is the optimal string alignment distance of a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	limit := 1
	if len(a) >= 5 {
		limit = 2
	}
	return d[len(a)][len(b)] <= limit
}

// describe names what a field of type t is written as.
func describe(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Size]():
		return "a size like 64MiB"
	case reflect.TypeFor[Duration]():
		return "a duration like 5s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	}
	if t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 {
		return "a whole number"
	}
	return t.String()
}

func nodeWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}
