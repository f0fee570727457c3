package tasks

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
)

// Ext is Easemob's pushMessage.ext: custom pairs the app receives with the
// notification. Build it from ordinary Go values:
//
//	tasks.Ext{"orderId": "1001", "amount": json.Number("12345678901234567890")}
//
// Decoded from JSON (Parse, or encoding/json), each value is an ExtValue
// holding the exact text the producer was given, and the pairs keep their
// order, so the ext Easemob receives is the one the producer got: an
// integer beyond float64's 53 bits (9007199254740993), 1e400 or -0 arrive
// as written, not rounded. Values added from Go encode as encoding/json
// writes them, after the decoded pairs, by key.
type Ext map[string]any

// ExtValue is one ext value as it was decoded: its JSON text, untouched.
type ExtValue struct {
	// JSON is the value's text as it appeared in the payload.
	JSON json.RawMessage
	pos  int // its place among the pairs of the decoded object
}

// MarshalJSON writes the value's text.
func (v ExtValue) MarshalJSON() ([]byte, error) {
	if len(v.JSON) == 0 {
		return []byte("null"), nil
	}
	return v.JSON, nil
}

// MarshalJSON writes the decoded pairs in their original order, then any
// added from Go, by key.
func (e Ext) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	type pair struct {
		key     string
		pos     int
		decoded bool
	}
	pairs := make([]pair, 0, len(e))
	for k, v := range e {
		ev, ok := v.(ExtValue)
		pairs = append(pairs, pair{k, ev.pos, ok})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		switch {
		case a.decoded && !b.decoded:
			return -1
		case !a.decoded && b.decoded:
			return 1
		case a.decoded:
			return cmp.Compare(a.pos, b.pos)
		}
		return cmp.Compare(a.key, b.key)
	})
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(p.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e[p.key])
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
