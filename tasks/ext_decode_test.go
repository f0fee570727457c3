package tasks

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzExtUnmarshal holds Ext.UnmarshalJSON's byte walk to the decoder it
// replaced (extUnmarshalTokens, which read tokens through a json.Decoder):
// on valid JSON both accept the same input into the same pairs, text and
// order, or refuse it with the same ValidationError; anything else is an
// error. Its seed corpus, testdata/fuzz/FuzzExtUnmarshal (escaped and
// repeated keys, invalid UTF-8, brackets inside strings, big numbers, more
// pairs than the walk keeps on the stack, values that are not objects,
// broken syntax), is replayed by every go test.
func FuzzExtUnmarshal(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Ext
		err := got.UnmarshalJSON(b)
		if !json.Valid(b) {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q as %v", b, got)
			}
			return
		}
		var want Ext
		wantErr := extUnmarshalTokens(&want, b)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("UnmarshalJSON(%q) = %v, the token decoder %v", b, err, wantErr)
		}
		var verr, wantVerr *ValidationError
		if errors.As(wantErr, &wantVerr) && (!errors.As(err, &verr) || *verr != *wantVerr) {
			t.Fatalf("UnmarshalJSON(%q) = %v, the token decoder %v", b, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("UnmarshalJSON(%q) = %#v, the token decoder %#v", b, got, want)
		}
		if err == nil && got != nil {
			out, err := json.Marshal(got)
			if err != nil || !json.Valid(out) {
				t.Fatalf("Marshal(%#v) = %s, %v", got, out, err)
			}
		}
	})
}

// extUnmarshalTokens is Ext.UnmarshalJSON as it was, reading tokens
// through a json.Decoder: slow, and plainly right.
func extUnmarshalTokens(e *Ext, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*e = nil
		return nil
	}
	if tok != json.Delim('{') {
		return &ValidationError{Field: extField, Rule: "must be a JSON object"}
	}
	m := Ext{}
	for i := 0; dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if _, dup := m[key]; dup {
			return &ValidationError{Field: joinPath(extField, key), Rule: "duplicate key: an object may name a field only once"}
		}
		m[key] = ExtValue{JSON: raw, pos: i}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("tasks: unexpected data after ext")
	}
	*e = m
	return nil
}
