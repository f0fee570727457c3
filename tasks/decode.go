package tasks

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// decodeStrict decodes payload into job (a pointer to a zero job of
// taskType) with every check Parse documents. It reads the document twice:
// once token by token, to find duplicate keys, invalid UTF-8 and trailing
// data with the path where they occur, and to build a generic tree (numbers
// as json.Number) that is compared with the job's type for unknown fields;
// then with encoding/json into the job itself.
func decodeStrict(taskType string, payload []byte, job Job) error {
	invalid := func(field, rule string) error {
		return &ValidationError{Job: taskType, Field: field, Rule: rule}
	}
	doc, field, rule := scanDocument(payload)
	if rule != "" {
		return invalid(field, rule)
	}
	if _, ok := doc.(map[string]any); !ok {
		return invalid(wholePayload, "must be a JSON object")
	}

	// Unknown fields, reported with their path. encoding/json's own
	// DisallowUnknownFields names only the key, and accepts keys that
	// differ in case.
	if path, rule := unknownField(reflect.TypeOf(job), doc, ""); path != "" {
		return invalid(path, rule)
	}

	if err := decodeInto(payload, job); err != nil {
		var verr *ValidationError
		var terr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &verr):
			if verr.Job == "" {
				verr.Job = taskType
			}
			return verr
		case errors.As(err, &terr) && terr.Field != "":
			return invalid(terr.Field, "must be "+jsonKind(terr.Type)+", not "+terr.Value)
		}
		return invalid(wholePayload, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// decodeInto decodes payload into job with encoding/json, refusing fields
// job does not have.
func decodeInto(payload []byte, job Job) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	return dec.Decode(job)
}

// textRule returns the rule a token breaks, or "": span, the raw bytes
// that held the token, must be valid UTF-8, and s, a string token as
// decoded, must not hold a U+FFFD that encoding/json put in for a lone
// UTF-16 surrogate escape ("\ud800"), which is as corrupt as a bad byte.
func textRule(span []byte, s string) string {
	if !utf8.Valid(span) {
		return "not valid UTF-8"
	}
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.ContainsRune(span, utf8.RuneError) &&
		!bytes.Contains(bytes.ToLower(span), []byte(`\ufffd`)) {
		return "not valid UTF-8: a lone UTF-16 surrogate escape"
	}
	return ""
}

// A scanFrame is an object or array being read by scanDocument.
type scanFrame struct {
	path    string
	obj     map[string]any // nil for an array
	arr     []any
	key     string // the key whose value comes next (objects)
	wantKey bool   // the next string is a key (objects)
}

// scanDocument reads payload as exactly one JSON value and returns it as
// encoding/json would decode it into an any with UseNumber. When the
// document is not acceptable it returns the path of the problem and the
// rule it breaks instead: a syntax error, a key repeated in one object
// (encoding/json keeps the last one, other parsers the first, so the job
// would mean different things to different readers), a string that is not
// valid UTF-8 (encoding/json replaces the bad bytes with U+FFFD), or data
// after the value.
func scanDocument(payload []byte) (doc any, path, rule string) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var (
		stack []*scanFrame
		done  bool  // the top-level value is complete
		prev  int64 // where the last token ended
	)
	here := func() string {
		if len(stack) == 0 {
			return wholePayload
		}
		top := stack[len(stack)-1]
		if top.obj == nil {
			return index(top.path, len(top.arr))
		}
		return joinPath(top.path, top.key)
	}
	// put stores a complete value in its parent, or as the document.
	put := func(v any) {
		if len(stack) == 0 {
			doc, done = v, true
			return
		}
		top := stack[len(stack)-1]
		if top.obj == nil {
			top.arr = append(top.arr, v)
			return
		}
		top.obj[top.key] = v
		top.wantKey = true
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF && done {
			return doc, "", ""
		}
		if done {
			return nil, wholePayload, "unexpected data after the JSON object"
		}
		if err == io.EOF && (len(stack) > 0 || strings.TrimSpace(string(payload)) != "") {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, wholePayload, syntaxRule(err)
		}
		// The bytes since the last token hold this token and the
		// delimiters before it, which are ASCII: invalid UTF-8 there is
		// in this token.
		end := dec.InputOffset()
		span := payload[prev:end]
		prev = end

		if s, ok := tok.(string); ok && len(stack) > 0 && stack[len(stack)-1].wantKey {
			top := stack[len(stack)-1]
			top.key, top.wantKey = s, false
			if r := textRule(span, s); r != "" {
				return nil, here(), "key is " + r
			}
			if _, dup := top.obj[s]; dup {
				return nil, here(), "duplicate key: an object may name a field only once"
			}
			continue
		}
		str, _ := tok.(string)
		if r := textRule(span, str); r != "" {
			return nil, here(), r
		}
		at := "" // the path of a new container: "" for the document
		if len(stack) > 0 {
			at = here()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &scanFrame{path: at, obj: map[string]any{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &scanFrame{path: at, arr: []any{}})
		case json.Delim('}'):
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			put(top.obj)
		case json.Delim(']'):
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			put(top.arr)
		default:
			put(tok)
		}
	}
}

// wholePayload is the Field of a ValidationError about the payload as a
// whole rather than one field in it.
const wholePayload = "payload"

func syntaxRule(err error) string {
	var serr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "does not decode: not valid JSON: unexpected end"
	case errors.As(err, &serr):
		return fmt.Sprintf("does not decode: not valid JSON at byte %d: %s", serr.Offset, serr.Error())
	}
	return "does not decode: not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownField walks doc (decoded with UseNumber) beside the Go type t and
// returns the path of the first key, in sorted order, that t has no field
// for, and the rule to report. It returns "" when every key is known.
// Types that decode themselves (json.Unmarshaler, json.RawMessage) and
// free-form values (any, maps of any) accept whatever they are given.
func unknownField(t reflect.Type, doc any, path string) (string, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		return "", ""
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return "", "" // a type mismatch; decoding reports it
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				return joinPath(path, k), unknownRule(fields, k)
			}
			if p, rule := unknownField(ft, obj[k], joinPath(path, k)); p != "" {
				return p, rule
			}
		}
	case reflect.Map:
		obj, ok := doc.(map[string]any)
		if !ok {
			return "", ""
		}
		for _, k := range sortedKeys(obj) {
			if p, rule := unknownField(t.Elem(), obj[k], joinPath(path, k)); p != "" {
				return p, rule
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := doc.([]any)
		if !ok {
			return "", ""
		}
		for i, e := range arr {
			if p, rule := unknownField(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p, rule
			}
		}
	}
	return "", ""
}

func unknownRule(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Sprintf("unknown field (did you mean %q?)", name)
		}
	}
	return "unknown field"
}

// jsonFields maps the JSON names of t's fields to their types, following
// encoding/json: tags rename, "-" hides, embedded structs without a tag
// lend their fields.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, shadowed := fields[n]; !shadowed {
						fields[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// joinPath appends an object key to a JSON path. The empty key, which JSON
// allows, is written "" so that the path still names something.
func joinPath(path, key string) string {
	if key == "" {
		key = `""`
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}
