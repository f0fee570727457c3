package tasks

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzQuickDecode holds Parse's fast path to the strict decoder: whatever
// quickDecode accepts, decodeStrict accepts too, into the same job. (What
// the fast path refuses goes to decodeStrict, so only acceptance matters.)
func FuzzQuickDecode(f *testing.F) {
	for _, s := range []string{
		`{"targets":["u1","u2"],"strategy":1,"pushMessage":{"title":"t","content":"c","ext":{"a":1,"a":2}}}`,
		`{"targets":["u1"],"pushMessage":{"Title":"t","content":"c"}}`,
		`{"targets":["u1"],"pushMessage":{"title":"t","content":"c"}} x`,
		`{"targets":["u\ud800"],"pushMessage":{"title":"t","content":"c"}}`,
		`{"targe\u0074s":["u1"],"targets":["u2"]}`,
		"{\"targets\":[\"\xff\"]}",
		`{"userid_list":"a","msg":{"msgtype":"text","text":{"content":"x","content":"y"}}}`,
		`{"start_date":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`,
	} {
		for i := range Types() {
			f.Add(uint8(i), []byte(s))
		}
	}
	types := Types()
	f.Fuzz(func(t *testing.T, ti uint8, payload []byte) {
		typ := types[int(ti)%len(types)]
		fast, _ := newJob(typ)
		if !quickDecode(payload, fast) {
			return
		}
		strict, _ := newJob(typ)
		if err := decodeStrict(typ, payload, strict); err != nil {
			t.Fatalf("fast path accepted %q, the strict decoder says %v", payload, err)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("fast path decoded %q as %+v, the strict decoder as %+v", payload, fast, strict)
		}
	})
}

// TestQuickDecode holds Parse's fast path to the strict decoder over
// inputs chosen to trip it: both must accept and reject the same payloads
// and decode the same job, and the fast path must take the payloads a
// Producer writes (fast) or it saves nothing.
func TestQuickDecode(t *testing.T) {
	const (
		sync   = TypeEasemobPushSync
		single = TypeEasemobPushSingle
		send   = TypeDingTalkSend
		enos   = TypeEnOSNoticeProduce
	)
	msg := func(fields string) string {
		return `{"target":"u1","pushMessage":{"title":"t","content":"c"` + fields + `}}`
	}
	manyKeys := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `,"k%d":%d`, i, i)
		}
		return `{"x":0` + b.String() + `}`
	}
	tests := []struct {
		name, typ, payload string
		fast, ok           bool // the fast path takes it; the strict decoder accepts it
	}{
		{"plain", sync, msg(``), true, true},
		{"every part", sync, msg(`,"subTitle":"s","ext":{"a":"1","b":[1,{"c":null}]},"config":{"clickAction":{"url":"u"},"badge":{"addNum":1}},"apns":{"x":1}`), true, true},
		{"whitespace everywhere", sync, " \n{ \"target\" : \"u1\" ,\t\"pushMessage\" : { \"title\" : \"t\" , \"ext\" : { \"a\" : [ 1 , 2 ] } } }\r\n", true, true},
		{"nulls", sync, `{"target":null,"strategy":null,"pushMessage":{"ext":null,"config":null,"apns":null}}`, true, true},
		{"empty object", single, `{}`, true, true},
		{"big numbers in ext", sync, msg(`,"ext":{"n":12345678901234567890,"f":1e400,"z":-0,"d":{"b":9007199254740993}}`), true, true},
		{"big number for an int", sync, `{"target":"u1","strategy":99999999999999999999}`, false, false},
		{"i18n map", enos, `{"orgId":"o","messages":[{"messageId":"m","body":{"i18nValue":{"en_US":"a","zh_CN":"b"}}}]}`, true, true},
		{"dingtalk block", send, `{"userid_list":"u","msg":{"msgtype":"text","text":{"content":"x"}}}`, true, true},

		{"duplicate key", sync, `{"target":"u1","target":"u2"}`, false, false},
		{"duplicate key in a nested object", sync, msg(`,"title":"u"`), false, false},
		{"duplicate key deeper", sync, msg(`,"config":{"badge":{"addNum":1,"addNum":2}}`), false, false},
		{"duplicate key in ext", sync, msg(`,"ext":{"a":1,"a":2}`), false, false},
		{"duplicate key deep in a vendor block", sync, msg(`,"apns":{"a":{"b":1,"b":2}}`), false, false},
		{"duplicate key in a map", enos, `{"orgId":"o","messages":[{"messageId":"m","body":{"i18nValue":{"en_US":"a","en_US":"b"}}}]}`, false, false},
		{"duplicate key in a list element", enos, `{"orgId":"o","messages":[{"messageId":"m1"},{"messageId":"m2","messageId":"m3"}]}`, false, false},
		{"duplicate key in a msg block", send, `{"msg":{"msgtype":"text","text":{"content":"x","content":"y"}}}`, false, false},
		{"same key in sibling objects", sync, msg(`,"ext":{"title":"x"},"apns":{"title":"y"}`), true, true},

		{"unknown field", sync, `{"target":"u1","sound":"ding"}`, false, false},
		{"unknown field in a nested object", sync, msg(`,"sound":"ding"`), false, false},
		{"unknown field deeper", sync, msg(`,"config":{"badge":{"addnum":1}}`), false, false},
		{"unknown field in a list element", enos, `{"orgId":"o","messages":[{"messageId":"m","body":{"defualtValue":"x"}}]}`, false, false},
		{"case-mismatched key", sync, `{"Target":"u1"}`, false, false},
		{"case-mismatched nested key", sync, msg(`,"Title":"u"`), false, false},

		{"escaped key naming a field", sync, `{"targe\u0074":"u1"}`, false, true},
		{"escaped key repeating a field", sync, `{"target":"u1","targe\u0074":"u2"}`, false, false},
		{"escaped key repeating an ext key", sync, msg(`,"ext":{"a":1,"\u0061":2}`), false, false},
		{"escaped key naming no field", sync, `{"targe\u0074s":["u1"]}`, false, false},
		{"escaped backslash before u", sync, msg(`,"subTitle":"\\ud800"`), true, true},

		{"invalid UTF-8 in a value", sync, msg(",\"subTitle\":\"\xff\""), false, false},
		{"invalid UTF-8 in a key", sync, msg(",\"ext\":{\"k\xc3\":1}"), false, false},
		{"invalid UTF-8 in ext", sync, msg(",\"ext\":{\"k\":\"\xed\xa0\x80\"}"), false, false},
		{"lone surrogate escape", sync, msg(`,"subTitle":"\ud800"`), false, false},
		{"lone surrogate escape in ext", sync, msg(`,"ext":{"k":"\uDC00"}`), false, false},
		{"surrogate pair", sync, msg(`,"subTitle":"\ud83d\ude00"`), false, true},
		{"control character", sync, msg(",\"subTitle\":\"a\tb\""), false, false},

		{"trailing garbage", single, `{"targets":["u1"]} x`, false, false},
		{"trailing object", single, `{"targets":["u1"]} {}`, false, false},
		{"trailing comma", single, `{"targets":["u1"],}`, false, false},
		{"truncated", single, `{"targets":["u1"]`, false, false},
		{"bad number", sync, `{"target":"u1","strategy":01}`, false, false},
		{"empty", single, ``, false, false},
		{"array", single, `[]`, false, false},
		{"null", single, `null`, false, false},

		{"string for a list", single, `{"targets":"u1"}`, false, false},
		{"object for a string", sync, msg(`,"subTitle":{"a":1}`), false, false},
		{"list for a struct", sync, `{"pushMessage":[{"title":"t"}]}`, false, false},
		{"object for a list", enos, `{"messages":{"messageId":"m"}}`, false, false},
		{"list for ext", sync, msg(`,"ext":[1]`), false, false},

		{"many ext keys", sync, msg(`,"ext":` + manyKeys(quickMaxKeys)), false, true},
		{"deep vendor block", sync, msg(`,"apns":` + strings.Repeat(`[`, quickMaxDepth) + strings.Repeat(`]`, quickMaxDepth)), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, _ := newJob(tt.typ)
			strict, _ := newJob(tt.typ)
			gotFast := quickDecode([]byte(tt.payload), fast)
			err := decodeStrict(tt.typ, []byte(tt.payload), strict)
			if gotFast != tt.fast || (err == nil) != tt.ok {
				t.Fatalf("fast path %v, strict decoder %v; want %v and accepted %v", gotFast, err, tt.fast, tt.ok)
			}
			if gotFast && !reflect.DeepEqual(fast, strict) {
				t.Errorf("fast path decoded %+v, the strict decoder %+v", fast, strict)
			}
			job, perr := Parse(tt.typ, []byte(tt.payload))
			if (perr == nil) != tt.ok || perr == nil && !reflect.DeepEqual(job, strict) {
				t.Errorf("Parse() = %+v, %v; the strict decoder %+v, %v", job, perr, strict, err)
			}
		})
	}
}
