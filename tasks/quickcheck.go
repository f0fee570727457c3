package tasks

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// quickDecode is Parse's fast path for the payloads it sees most: ones a
// Producer wrote, which pass every check. It decodes payload into job once
// with json.Unmarshal after a single byte scan, beside the job's shape
// table, that builds nothing and proves what json.Unmarshal does not
// check: the document is one JSON object with nothing after it, no key
// appears twice in one object, every key of a struct matches a field
// exactly (encoding/json matches case-insensitively and skips unknown
// keys), and the text is valid UTF-8 without a UTF-16 surrogate escape.
// It reports false when it cannot prove all of that or the decode fails;
// decodeStrict then decides, on a fresh job, and says what is wrong. So the
// fast path never accepts what decodeStrict would refuse, and never words
// an error itself.
func quickDecode(payload []byte, job Job) bool {
	root, ok := jobShape(job)
	if !ok || !utf8.Valid(payload) {
		return false
	}
	s := quickScanner{b: payload}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' || !s.value(root, 0) {
		return false
	}
	if s.space(); s.i != len(s.b) {
		return false
	}
	return json.Unmarshal(payload, job) == nil
}

// quickMaxDepth bounds the nesting the fast path follows, and with it the
// stack its recursion takes; deeper documents go to decodeStrict.
const quickMaxDepth = 64

// quickMaxKeys is the most keys the fast path compares for repeats in one
// object that is not a struct (ext, a vendor block, a map); an object with
// more goes to decodeStrict, so a hostile payload cannot make the fast
// path quadratic.
const quickMaxKeys = 32

// quickScanner walks a JSON document beside the shape it decodes into. It
// only has to be right about documents encoding/json accepts: anything
// else fails the decode that follows.
type quickScanner struct {
	b []byte
	i int
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

// value scans one value of shape id at nesting depth.
func (s *quickScanner) value(id shapeID, depth int) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		if depth >= quickMaxDepth {
			return false
		}
		if sh := &shapes[id]; sh.kind == kindStruct {
			return s.structObject(sh, depth+1)
		}
		return s.freeObject(id, depth+1)
	case '[':
		if depth >= quickMaxDepth {
			return false
		}
		return s.array(id, depth+1)
	case '"':
		_, ok := s.str()
		return ok
	}
	for s.i < len(s.b) { // a number or literal: the decode checks it
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n', ',', ']', '}':
			return true
		}
		s.i++
	}
	return true
}

// array scans an array whose elements are of shape id's elements.
func (s *quickScanner) array(id shapeID, depth int) bool {
	elem := shapeFree
	if sh := &shapes[id]; sh.kind == kindList {
		elem = sh.elem
	}
	s.i++
	if s.space(); s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(elem, depth) || !s.next(']') {
			return false
		}
		if s.b[s.i-1] == ']' {
			return true
		}
	}
}

// next consumes the ',' or the closing byte after a member or element;
// false when neither follows.
func (s *quickScanner) next(closing byte) bool {
	s.space()
	if s.i < len(s.b) && (s.b[s.i] == ',' || s.b[s.i] == closing) {
		s.i++
		return true
	}
	return false
}

// structObject scans an object that decodes into a struct of shape sh:
// each key must be one of its fields, once.
func (s *quickScanner) structObject(sh *shape, depth int) bool {
	s.i++
	if s.space(); s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	var seen uint64 // the fields met so far, by index
	for {
		key, ok := s.key()
		if !ok {
			return false
		}
		f, ok := sh.field(key)
		if !ok || seen&(1<<f) != 0 {
			return false
		}
		seen |= 1 << f
		if !s.value(sh.fields[f].shape, depth) || !s.next('}') {
			return false
		}
		if s.b[s.i-1] == '}' {
			return true
		}
	}
}

// freeObject scans an object that is opaque or decodes into a map of
// shape id's elements (or into a scalar, which the decode refuses): any
// keys, each once.
func (s *quickScanner) freeObject(id shapeID, depth int) bool {
	elem := shapeFree
	if sh := &shapes[id]; sh.kind == kindMap {
		elem = sh.elem
	}
	s.i++
	if s.space(); s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	var buf [quickMaxKeys][]byte
	keys := buf[:0]
	for {
		key, ok := s.key()
		if !ok || len(keys) == quickMaxKeys {
			return false
		}
		for _, k := range keys {
			if string(k) == string(key) {
				return false
			}
		}
		keys = append(keys, key)
		if !s.value(elem, depth) || !s.next('}') {
			return false
		}
		if s.b[s.i-1] == '}' {
			return true
		}
	}
}

// key scans an object key and the colon after it and returns the key's
// raw bytes. A key with an escape is refused: the slow path compares it
// decoded. Valid UTF-8 without escapes, the bytes are the key.
func (s *quickScanner) key() ([]byte, bool) {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	key, ok := s.str()
	if !ok || bytes.IndexByte(key, '\\') >= 0 {
		return nil, false
	}
	if s.space(); s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, false
	}
	s.i++
	return key, true
}

// str scans a string and returns its raw contents, escapes as written. It
// refuses a \uD800–\uDFFF escape, which decodeStrict checks for lone
// halves (encoding/json turns one into U+FFFD silently).
func (s *quickScanner) str() ([]byte, bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			if j+3 < len(s.b) && s.b[j+1] == 'u' {
				if c, d := s.b[j+2]|0x20, s.b[j+3]|0x20; c == 'd' && (d >= '8' && d <= '9' || d >= 'a' && d <= 'f') {
					return nil, false
				}
			}
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], true
		}
	}
	return nil, false
}
