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
)

// Types lists every job type, grouped by provider in the order of
// Providers(). Tools use it to tell users what they can enqueue.
func Types() []string {
	return []string{
		TypeFeishuExecuteSend,
		TypeEasemobPushSync,
		TypeEasemobPushAsync,
		TypeEasemobPushSingle,
		TypeEasemobPushLabel,
		TypeEasemobPushTask,
		TypeDingTalkSend,
		TypeDingTalkProgress,
		TypeDingTalkResult,
		TypeDingTalkStatusBar,
		TypeDingTalkRecall,
		TypeEnOSNoticeProduce,
	}
}

// ParseStrict decodes a payload written by a person (a file, a command
// line, an HTTP request) into the job its type names. Unlike Parse, which
// reads what a producer wrote, it rejects anything encoding/json would
// quietly skip: fields the job does not have (a typo such as "pushmesage",
// or "Title" for "title"), and data after the JSON object.
//
// An unknown type is ErrUnknownType; any other problem is a
// *ValidationError whose Field is the JSON path of the offending field
// ("pushMessage.titel"), or "payload" when the document as a whole is
// wrong. ParseStrict does not check the provider's rules: Validate (or
// Producer.Enqueue) does.
func ParseStrict(taskType string, payload []byte) (Job, error) {
	job, err := newJob(taskType)
	if err != nil {
		return nil, err
	}
	invalid := func(field, rule string) error {
		return &ValidationError{Job: taskType, Field: field, Rule: rule}
	}

	// One JSON object and nothing after it.
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, invalid(wholePayload, syntaxRule(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid(wholePayload, "unexpected data after the JSON object")
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, invalid(wholePayload, "must be a JSON object")
	}

	// Unknown fields, reported with their path. encoding/json's own
	// DisallowUnknownFields names only the key, and accepts keys that
	// differ in case.
	if path, rule := unknownField(reflect.TypeOf(job), doc, ""); path != "" {
		return nil, invalid(path, rule)
	}

	dec = json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(job); err != nil {
		var verr *ValidationError
		var terr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &verr):
			return nil, verr
		case errors.As(err, &terr) && terr.Field != "":
			return nil, invalid(terr.Field, "must be "+jsonKind(terr.Type)+", not "+terr.Value)
		}
		return nil, invalid(wholePayload, strings.TrimPrefix(err.Error(), "json: "))
	}
	return job, nil
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
		return "not valid JSON: unexpected end"
	case errors.As(err, &serr):
		return fmt.Sprintf("not valid JSON at byte %d: %s", serr.Offset, serr.Error())
	}
	return "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
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

func joinPath(path, key string) string {
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
