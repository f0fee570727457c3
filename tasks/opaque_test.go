package tasks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

// edgeNumbers are JSON numbers that a float64 round trip would change:
// beyond 53 bits, beyond float64's range, negative zero, and forms
// (exponents, trailing zeros) that a re-encoding would normalise.
var edgeNumbers = []string{
	"9007199254740993", "12345678901234567890", "-12345678901234567890123", "1e400", "-1e400",
	"-0", "1E-7", "1.0", "0.1e+5", "0.30000000000000004", "1e-400", "123456789012345678901234567890.5",
}

// Payloads whose opaque parts hold edgeNumbers. Each is compact and in the
// job's field order, so the whole payload must come back byte for byte.
var opaquePayloads = []struct{ typ, payload string }{
	{tasks.TypeEasemobPushSync, `{"target":"u1","pushMessage":{"title":"t","content":"c",` +
		`"ext":{"n":12345678901234567890,"f":1e400,"z":-0,"e":1E-7,"o":1.0,"x":0.1e+5,"deep":{"b":9007199254740993,"a":[1.0,-0]}},` +
		`"apns":{"n":12345678901234567890,"f":1e400},"xiaomi":{"z":-0,"x":0.1e+5}}}`},
	{tasks.TypeEasemobPushSingle, `{"targets":["u1","u2"],"pushMessage":{"title":"t","content":"c","ext":{"orderId":9007199254740993}}}`},
	{tasks.TypeDingTalkSend, `{"userid_list":"u1","msg":{"msgtype":"text","text":{"content":"c","n":12345678901234567890,"f":1e400,"z":-0}}}`},
	{tasks.TypeDingTalkSend, `{"userid_list":"u1","msg":{"msgtype":"oa","oa":{"message_url":"https://x","head":{"text":"h"},` +
		`"body":{"rich":{"num":1E-7,"unit":"USD"},"form":[{"key":"k","value":0.1e+5}]}}}}`},
}

// An opaque value reaches Redis and comes back out of Parse byte for byte:
// Enqueue -> real Redis -> the task as asynq stores it -> Parse ->
// json.Marshal, which is what a provider client sends.
func TestOpaqueJSONThroughRedis(t *testing.T) {
	for _, tc := range opaquePayloads {
		t.Run(tc.typ, func(t *testing.T) {
			f := newProducerFixture(t)
			job, err := tasks.Parse(tc.typ, []byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			receipt, err := f.p.Enqueue(t.Context(), job, tasks.IdempotencyKey("opaque"))
			if err != nil {
				t.Fatal(err)
			}
			ref := receipt.Tasks[0]
			info := f.task(t, ref.Queue, ref.ID)
			if string(info.Payload) != tc.payload {
				t.Errorf("in Redis:\n%s\nwant\n%s", info.Payload, tc.payload)
			}
			back, err := tasks.Parse(info.Type, info.Payload)
			if err != nil {
				t.Fatal(err)
			}
			body, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.payload {
				t.Errorf("sent:\n%s\nwant\n%s", body, tc.payload)
			}
		})
	}
}

// The example, built in Go rather than decoded: a json.Number in
// Ext is written as given.
func TestExtFromGo(t *testing.T) {
	msg := tasks.PushMessage{Title: "t", Content: "c", Ext: map[string]any{
		"orderId": json.Number("9007199254740993"), "name": "x", "raw": json.RawMessage(`1e400`),
	}}
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"title":"t","content":"c","ext":{"name":"x","orderId":9007199254740993,"raw":1e400}}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	// Decoded pairs keep their order; pairs added afterwards follow, by key.
	var m tasks.PushMessage
	if err := json.Unmarshal([]byte(`{"ext":{"z":1,"a":2}}`), &m); err != nil {
		t.Fatal(err)
	}
	m.Ext["m"] = 3
	m.Ext["b"] = true
	if b, _ := json.Marshal(m.Ext); string(b) != `{"z":1,"a":2,"b":true,"m":3}` {
		t.Errorf("Marshal = %s", b)
	}
	if v, ok := m.Ext["z"].(tasks.ExtValue); !ok || string(v.JSON) != "1" {
		t.Errorf(`Ext["z"] = %#v, want ExtValue{JSON: 1}`, m.Ext["z"])
	}
}

// FuzzOpaqueJSON puts any JSON value (a number most interestingly) into
// every kind of opaque field and checks that what the worker sends is
// exactly what encoding/json makes of the producer's text, and for a
// number, the text itself.
func FuzzOpaqueJSON(f *testing.F) {
	for _, n := range edgeNumbers {
		f.Add(n)
	}
	f.Add(`{"b":1,"a":[true,null,"x"]}`)
	f.Add(`"<tag> & \u00e9"`)
	f.Fuzz(func(t *testing.T, value string) {
		if !json.Valid([]byte(value)) {
			return
		}
		want, err := json.Marshal(json.RawMessage(value)) // compacted, as any encoder sends it
		if err != nil {
			t.Fatal(err)
		}
		if isNumber(value) && !bytes.Equal(want, []byte(value)) {
			t.Fatalf("number %s compacts to %s", value, want)
		}
		payloads := []struct{ typ, payload, field string }{
			{tasks.TypeEasemobPushSync, `{"target":"u","pushMessage":{"title":"t","content":"c","ext":{"v":` + value + `}}}`, `"ext":{"v":`},
			{tasks.TypeEasemobPushSync, `{"target":"u","pushMessage":{"title":"t","content":"c","fcm":{"v":` + value + `}}}`, `"fcm":{"v":`},
			{tasks.TypeDingTalkSend, `{"userid_list":"u","msg":{"msgtype":"text","text":{"v":` + value + `}}}`, `"text":{"v":`},
		}
		for _, p := range payloads {
			job, err := tasks.Parse(p.typ, []byte(p.payload))
			if err != nil {
				// Duplicate keys or bad UTF-8 inside the value.
				var verr *tasks.ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("Parse(%s) = %v, want a *ValidationError", p.payload, err)
				}
				continue
			}
			stored, err := json.Marshal(job) // what Enqueue writes to Redis
			if err != nil {
				t.Fatal(err)
			}
			back, err := tasks.Parse(p.typ, stored) // what the worker reads
			if err != nil {
				t.Fatalf("Parse of the stored payload %s: %v", stored, err)
			}
			sent, err := json.Marshal(back) // the provider's body
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sent, stored) {
				t.Fatalf("sent %s, stored %s", sent, stored)
			}
			if !bytes.Contains(sent, append([]byte(p.field), append(want, '}')...)) {
				t.Fatalf("sent %s, want %s%s}", sent, p.field, want)
			}
		}
	})
}

func isNumber(s string) bool {
	var n json.Number
	return s != "" && strings.TrimSpace(s) == s && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') &&
		json.Unmarshal([]byte(s), &n) == nil
}
