package tasks

import (
	"bytes"
	"reflect"
	"unicode/utf8"
)

// quickDecode is Parse's fast path for the payloads it sees most: ones a
// Producer wrote, which pass every check. It decodes payload into job once
// with encoding/json (DisallowUnknownFields) after a single byte scan that
// builds nothing and proves what encoding/json does not check: the document
// is one JSON object with nothing after it, no key appears twice in one
// object, every key of a struct matches a field exactly (encoding/json
// matches case-insensitively), and the text is valid UTF-8 without a
// UTF-16 surrogate escape. It reports false when it cannot prove all of
// that or the decode fails; decodeStrict then decides, on a fresh job, and
// says what is wrong. So the fast path never accepts what decodeStrict
// would refuse, and never words an error itself.
func quickDecode(payload []byte, job Job) bool {
	if !utf8.Valid(payload) || hasSurrogateEscape(payload) {
		return false
	}
	s := quickScanner{b: payload}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' || !s.value(reflect.TypeOf(job)) {
		return false
	}
	if s.space(); s.i != len(s.b) {
		return false
	}
	return decodeInto(payload, job) == nil
}

// hasSurrogateEscape reports whether payload may hold a \uD800–\uDFFF
// escape, which decodeStrict checks for lone halves. An escaped backslash
// before "ud8.." is a false alarm, which only costs the slow path.
func hasSurrogateEscape(b []byte) bool {
	for {
		i := bytes.Index(b, []byte(`\u`))
		if i < 0 || i+3 >= len(b) {
			return i >= 0 // a truncated escape: let the slow path word it
		}
		if c, d := b[i+2]|0x20, b[i+3]|0x20; c == 'd' && (d >= '8' && d <= '9' || d >= 'a' && d <= 'f') {
			return true
		}
		b = b[i+2:]
	}
}

// quickScanner walks a JSON document beside the Go type it decodes into.
// It only has to be right about documents encoding/json accepts: anything
// else fails the decode that follows.
type quickScanner struct {
	b      []byte
	i      int
	fields map[reflect.Type]map[string]reflect.Type // jsonFields, per struct type met
}

func (s *quickScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value that decodes into t; a nil t is free-form (any, a
// json.Unmarshaler), whose keys are only checked for repeats.
func (s *quickScanner) value(t reflect.Type) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	t = freeForm(t)
	switch s.b[s.i] {
	case '{':
		return s.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		s.i++
		if s.space(); s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value(elem) {
				return false
			}
			if !s.next(']') {
				return false
			}
			if s.b[s.i-1] == ']' {
				return true
			}
		}
	case '"':
		_, ok := s.str()
		return ok
	}
	for s.i < len(s.b) && !bytes.ContainsRune([]byte(" \t\r\n,]}"), rune(s.b[s.i])) {
		s.i++
	}
	return true
}

// next consumes the ',' or the closing byte after a member; false when
// neither follows.
func (s *quickScanner) next(closing byte) bool {
	s.space()
	if s.i < len(s.b) && (s.b[s.i] == ',' || s.b[s.i] == closing) {
		s.i++
		return true
	}
	return false
}

// object scans an object whose values decode into t's fields (a struct),
// into t's elements (a map), or are free-form (nil).
func (s *quickScanner) object(t reflect.Type) bool {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			if fields = s.fields[t]; fields == nil {
				if s.fields == nil {
					s.fields = make(map[reflect.Type]map[string]reflect.Type)
				}
				fields = jsonFields(t)
				s.fields[t] = fields
			}
		case reflect.Map:
			elem = t.Elem()
		}
	}
	s.i++
	if s.space(); s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	var keys [][]byte
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		key, ok := s.str()
		if !ok || bytes.IndexByte(key, '\\') >= 0 {
			return false // an escaped key: let the slow path compare it decoded
		}
		for _, k := range keys {
			if bytes.Equal(k, key) {
				return false
			}
		}
		keys = append(keys, key)
		vt := elem
		if fields != nil {
			if vt, ok = fields[string(key)]; !ok {
				return false
			}
		}
		if s.space(); s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !s.value(vt) || !s.next('}') {
			return false
		}
		if s.b[s.i-1] == '}' {
			return true
		}
	}
}

// str scans a string and returns its raw contents, escapes as written.
func (s *quickScanner) str() ([]byte, bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], true
		}
	}
	return nil, false
}

// freeForm returns the type whose fields a value's keys must match: t
// without pointers, or nil when the value is free-form to unknownField
// (an interface, a type that decodes itself).
func freeForm(t reflect.Type) reflect.Type {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if pt := reflect.PointerTo(t); pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) || t.Kind() == reflect.Interface {
		return nil
	}
	return t
}
