package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads a manifest from YAML, fills in defaults and validates it.
// Unknown keys, wrong types and invalid values are all reported together
// as Errors, each with its line and field path.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, Errors{{Reason: fmt.Sprintf("%d bytes; the limit is %d", len(data), MaxManifestBytes)}}
	}
	root, err := parseNode(data)
	if err != nil {
		return nil, err
	}
	w := newWalker()
	w.walk(root, reflect.TypeFor[Manifest](), "")
	if w.tooBig() || w.covers("") {
		return nil, w.sorted()
	}
	m := new(Manifest)
	panicked, err := decodeYAML(data, m)
	if panicked && len(w.errs) > 0 {
		// What the decoder filled in before it gave up is no basis for
		// validation; the walk's problems are the report.
		return nil, w.sorted()
	}
	// With problems found by the walk, the decoder's own report of them
	// adds nothing; it still fills in what it could, which is validated.
	if err != nil && len(w.errs) == 0 {
		return nil, Errors{yamlError(err)}
	}
	return finish(m, w)
}

// decodeYAML decodes data into m strictly. yaml.v3 panics (with a runtime
// error it does not recover) on some documents the walk already refuses,
// such as a merged mapping whose key is a list; that comes back as an
// error with panicked set.
func decodeYAML(data []byte, m *Manifest) (panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked, err = true, fmt.Errorf("cannot decode the document: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return false, dec.Decode(m)
}

// parseNode parses exactly one YAML document and returns its root.
func parseNode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || err == nil && (len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null") {
		return nil, Errors{{Reason: "the manifest is empty; it needs at least name, version, wasm and api"}}
	}
	if err != nil {
		return nil, Errors{yamlError(err)}
	}
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, Errors{{Line: next.Line, Reason: "a second YAML document; a manifest is one document"}}
	case !errors.Is(err, io.EOF):
		return nil, Errors{yamlError(err)}
	}
	return doc.Content[0], nil
}

// yamlError turns a yaml.v3 error into a FieldError, lifting out the line
// number it embeds in the text.
func yamlError(err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	fe := &FieldError{Reason: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, reason, _ := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); err == nil {
			fe.Line, fe.Reason = n, reason
		}
	}
	return fe
}

// finish applies defaults and validation after a decode, merging in the
// problems the walk found and citing lines where they are known.
func finish(m *Manifest, w *walker) (*Manifest, error) {
	m.SetDefaults()
	for _, fe := range m.validate() {
		if !w.covers(fe.Field) {
			fe.Line = w.lineOf(fe.Field)
			w.errs = append(w.errs, fe)
		}
	}
	if len(w.errs) > 0 {
		return nil, w.sorted()
	}
	return m, nil
}

// sorted returns the problems found in line order, capped.
func (w *walker) sorted() Errors {
	slices.SortStableFunc(w.errs, func(a, b *FieldError) int { return a.Line - b.Line })
	return w.errs.capped()
}

// ParseJSON reads a manifest in its stored form, as JSON wrote it. It is
// as strict as Parse: keys must match exactly (encoding/json alone would
// accept any case), unknown keys and trailing data are errors, and the
// result is given defaults and validated.
func ParseJSON(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, Errors{{Reason: fmt.Sprintf("%d bytes; the limit is %d", len(data), MaxManifestBytes)}}
	}
	w := newWalker()
	w.walkJSON(data, reflect.TypeFor[Manifest](), "")
	if w.covers("") {
		return nil, w.sorted()
	}
	m := new(Manifest)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(m)
	if _, terr := dec.Token(); err == nil && !errors.Is(terr, io.EOF) {
		err = errors.New("trailing data after the manifest")
	}
	if err != nil && len(w.errs) == 0 {
		return nil, Errors{{Reason: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	return finish(m, w)
}

// walkJSON is the JSON form of walk: it checks keys exactly and decodes
// each leaf alone, so a problem is reported with its field path.
func (w *walker) walkJSON(raw json.RawMessage, t reflect.Type, field string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if string(raw) == "null" {
		return
	}
	var err error
	switch {
	case t.Kind() == reflect.Struct:
		var obj map[string]json.RawMessage
		if err = json.Unmarshal(raw, &obj); err == nil {
			for _, k := range sortedKeys(obj) {
				f, ok := fieldByTag(t, "json", k)
				if !ok {
					w.fail(0, dot(field, k), "%s", unknownKey(t, "json", k))
					continue
				}
				w.walkJSON(obj[k], f.Type, dot(field, k))
			}
		}
	case t.Kind() == reflect.Map:
		var obj map[string]json.RawMessage
		if err = json.Unmarshal(raw, &obj); err == nil {
			for _, k := range sortedKeys(obj) {
				w.walkJSON(obj[k], t.Elem(), mapKey(field, k))
			}
		}
	case t.Kind() == reflect.Slice:
		var list []json.RawMessage
		if err = json.Unmarshal(raw, &list); err == nil {
			for i, item := range list {
				w.walkJSON(item, t.Elem(), index(field, i))
			}
		}
	default:
		err = json.Unmarshal(raw, reflect.New(t).Interface())
	}
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		w.fail(0, field, "want %s, got %s", describe(t), jsonWord(raw))
	case err != nil: // bad syntax, or one of our types explaining itself
		w.fail(0, field, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func jsonWord(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}

// JSON returns the stored form of m. It validates m first, so nothing
// invalid is ever stored; ParseJSON reads the result back to an equal
// manifest.
func (m *Manifest) JSON() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

var wasmMagic = []byte("\x00asm")

// Load reads the manifest at path and the wasm module it names, relative
// to the manifest's directory. A problem in the manifest is reported as
// Parse reports it, prefixed with path.
func Load(path string) (*Manifest, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read manifest: %w (give the path of the app's YAML manifest)", err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	wasmPath := filepath.Join(filepath.Dir(path), filepath.FromSlash(m.Wasm))
	wasm, err := os.ReadFile(wasmPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("%s: wasm %q: %w (build the app first, or fix wasm: to name the module relative to the manifest)", path, m.Wasm, err)
	case err != nil:
		return nil, nil, fmt.Errorf("%s: wasm %q: %w", path, m.Wasm, err)
	case !bytes.HasPrefix(wasm, wasmMagic):
		return nil, nil, fmt.Errorf("%s: %w", path, &FieldError{Field: "wasm", Reason: fmt.Sprintf("%s is not a WebAssembly module (it does not start with \\0asm)", wasmPath)})
	}
	return m, wasm, nil
}
