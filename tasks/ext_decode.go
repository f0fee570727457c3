package tasks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// extField is the JSON path of Ext, the only place it is used.
const extField = "pushMessage.ext"

// UnmarshalJSON keeps every value's text as an ExtValue. A key that appears
// twice is an error, as in Parse.
//
// Parse decodes an ext with every Easemob job, so this walks the bytes
// once json.Valid has vouched for them rather than reading tokens through
// a json.Decoder. The values share one copy of b (each capped at its own
// end, so an append cannot run into the next) and the plain keys one
// string: a decode costs a few allocations whatever its size, and one per
// pair for its place in the map.
func (e *Ext) UnmarshalJSON(b []byte) error {
	if !json.Valid(b) {
		var raw json.RawMessage // only to word the syntax error
		return fmt.Errorf("tasks: ext: %w", json.Unmarshal(b, &raw))
	}
	i := skipSpace(b, 0)
	switch b[i] {
	case 'n':
		*e = nil
		return nil
	case '{':
	default:
		return &ValidationError{Field: extField, Rule: "must be a JSON object"}
	}
	type pair struct{ key, value [2]int } // spans of b; the key's with its quotes
	var buf [16]pair
	pairs := buf[:0]
	for i = skipSpace(b, i+1); b[i] != '}'; {
		k := i
		i = skipString(b, i)
		key := [2]int{k, i}
		v := skipSpace(b, skipSpace(b, i)+1) // past the colon
		i = skipValue(b, v)
		pairs = append(pairs, pair{key, [2]int{v, i}})
		if i = skipSpace(b, i); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}

	text := bytes.Clone(b)
	var plain string // b as a string, for the keys it holds as they read
	m := make(Ext, len(pairs))
	for n, p := range pairs {
		var key string
		if k0, k1 := p.key[0]+1, p.key[1]-1; bytes.IndexByte(b[k0:k1], '\\') < 0 && utf8.Valid(b[k0:k1]) {
			if plain == "" {
				plain = string(b)
			}
			key = plain[k0:k1]
		} else if err := json.Unmarshal(b[p.key[0]:p.key[1]], &key); err != nil {
			return fmt.Errorf("tasks: ext key %s: %w", b[p.key[0]:p.key[1]], err)
		}
		if _, dup := m[key]; dup {
			return &ValidationError{Field: joinPath(extField, key), Rule: "duplicate key: an object may name a field only once"}
		}
		v0, v1 := p.value[0], p.value[1]
		m[key] = ExtValue{JSON: text[v0:v1:v1], pos: n}
	}
	*e = m
	return nil
}
