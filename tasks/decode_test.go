package tasks_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

// Parse is what the worker decodes with: every hostile payload here would
// be archived with the error as its reason, never sent.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload string
		field   string
		rule    string // contained in the rule
	}{
		// Decoded leniently, this was sent at once to every user.
		{"misspelled startDate", tasks.TypeEasemobPushTask,
			`{"start_date":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`, "start_date", "unknown field"},
		{"startDate in the wrong case", tasks.TypeEasemobPushTask,
			`{"StartDate":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`, "StartDate", `did you mean "startDate"`},
		{"duplicate key", tasks.TypeEasemobPushTask,
			`{"startDate":"2030-01-01 12:00:00","startDate":"","pushMessage":{"title":"t","content":"c"}}`, "startDate", "duplicate key"},
		{"duplicate key nested", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","title":"u"}}`, "pushMessage.title", "duplicate key"},
		{"duplicate key in ext", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","ext":{"a":1,"a":2}}}`, "pushMessage.ext.a", "duplicate key"},
		{"duplicate key spelled with an escape", tasks.TypeEasemobPushSync,
			`{"target":"u1","targe\u0074":"u2","pushMessage":{"title":"t","content":"c"}}`, "target", "duplicate key"},
		{"duplicate key in ext spelled with an escape", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","ext":{"a":1,"\u0061":2}}}`, "pushMessage.ext.a", "duplicate key"},
		{"escaped key in the wrong case", tasks.TypeEasemobPushSync,
			`{"T\u0061rget":"u1","pushMessage":{"title":"t","content":"c"}}`, "Target", `did you mean "target"`},
		{"duplicate key in a list", tasks.TypeEnOSNoticeProduce,
			`{"orgId":"o","messages":[{"messageId":"m1"},{"messageId":"m2","messageId":"m3"}]}`, "messages[1].messageId", "duplicate key"},
		{"invalid UTF-8 in a value", tasks.TypeEasemobPushSync,
			"{\"target\":\"u1\",\"pushMessage\":{\"title\":\"t\xff\",\"content\":\"c\"}}", "pushMessage.title", "not valid UTF-8"},
		{"invalid UTF-8 in a key", tasks.TypeEasemobPushSync,
			"{\"target\":\"u1\",\"pushMessage\":{\"title\":\"t\",\"content\":\"c\",\"ext\":{\"k\xc3\":1}}}", "pushMessage.ext.k\ufffd", "key is not valid UTF-8"},
		{"invalid UTF-8 in a list", tasks.TypeEasemobPushSingle,
			"{\"targets\":[\"u1\",\"\xed\xa0\x80\"]}", "targets[1]", "not valid UTF-8"},
		{"lone surrogate escape", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t\ud800","content":"c"}}`, "pushMessage.title", "lone UTF-16 surrogate"},
		{"unknown field in pushMessage", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","sound":"ding"}}`, "pushMessage.sound", "unknown field"},
		{"unknown field in config", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","config":{"badge":{"addnum":1}}}}`, "pushMessage.config.badge.addnum", `did you mean "addNum"`},
		{"ext not an object", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","ext":[1]}}`, "pushMessage.ext", "must be a JSON object"},
		{"typo at the top", tasks.TypeEasemobPushSingle,
			`{"targets":["u1"],"pushmesage":{"title":"t","content":"c"}}`, "pushmesage", "unknown field"},
		{"typo nested", tasks.TypeEasemobPushSingle,
			`{"targets":["u1"],"pushMessage":{"titel":"t","content":"c"}}`, "pushMessage.titel", "unknown field"},
		{"wrong case", tasks.TypeEasemobPushSingle,
			`{"targets":["u1"],"PushMessage":{"title":"t","content":"c"}}`, "PushMessage", `did you mean "pushMessage"`},
		{"snake case", tasks.TypeEasemobPushSingle,
			`{"targets":["u1"],"pushMessage":{"title":"t","sub_title":"s","content":"c"}}`, "pushMessage.sub_title", "unknown field"},
		{"in a list", tasks.TypeEnOSNoticeProduce,
			`{"orgId":"o","messages":[{"messageId":"m1"},{"messageId":"m2","body":{"defualtValue":"x"}}]}`,
			"messages[1].body.defualtValue", "unknown field"},
		{"trailing object", tasks.TypeEasemobPushSingle, `{"targets":["u1"]} {}`, "payload", "after the JSON object"},
		{"trailing garbage", tasks.TypeEasemobPushSingle, `{"targets":["u1"]} x`, "payload", "after the JSON object"},
		{"not JSON", tasks.TypeEasemobPushSingle, `{"targets":["u1"]`, "payload", "not valid JSON"},
		{"bad character", tasks.TypeEasemobPushSingle, `{"targets":[u1]}`, "payload", "not valid JSON at byte"},
		{"empty", tasks.TypeEasemobPushSingle, ``, "payload", "empty"},
		{"array", tasks.TypeEasemobPushSingle, `[]`, "payload", "must be a JSON object"},
		{"null", tasks.TypeEasemobPushSingle, `null`, "payload", "must be a JSON object"},
		{"string for a list", tasks.TypeEasemobPushSingle, `{"targets":"u1"}`, "targets", "must be an array, not string"},
		{"number for a string", tasks.TypeEasemobPushSingle,
			`{"targets":["u1"],"pushMessage":{"title":5}}`, "pushMessage.title", "must be a string, not number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, err := tasks.Parse(tt.typ, []byte(tt.payload))
			var verr *tasks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Parse() = %+v, %v; want a *ValidationError", job, err)
			}
			if verr.Job != tt.typ || verr.Field != tt.field || !strings.Contains(verr.Rule, tt.rule) {
				t.Errorf("ParseStrict() error = {Job:%q Field:%q Rule:%q}, want field %q, rule containing %q",
					verr.Job, verr.Field, verr.Rule, tt.field, tt.rule)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload string
	}{
		{"push.single", tasks.TypeEasemobPushSingle,
			`{"targets":["u1","u2"],"strategy":1,"pushMessage":{"title":"t","content":"c","config":{"badge":{"addNum":1}}}}`},
		// Vendor blocks and ext are passed through: any field goes.
		{"free-form blocks", tasks.TypeEasemobPushSingle,
			`{"targets":["u1"],"pushMessage":{"title":"t","content":"c","ext":{"k":{"deep":1}},"apns":{"anything":true}}}`},
		{"i18n map", tasks.TypeEnOSNoticeProduce,
			`{"orgId":"o","messages":[{"messageId":"m1","body":{"i18nValue":{"en_US":"hi"}}}]}`},
		{"same key in two objects", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","ext":{"title":"x"},"apns":{"title":"y"}}}`},
		{"UTF-8 and escapes", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"环信\u63a8\u9001","content":"\ud83d\ude00"}}`},
		{"replacement character", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"\ufffd�","content":"c"}}`},
		{"whitespace around", tasks.TypeEasemobPushSingle, "\n {\"targets\":[\"u1\"]}\n\n"},
		{"escaped key", tasks.TypeEasemobPushSync,
			`{"targe\u0074":"u1","pushMessage":{"title":"t","content":"c","ext":{"\u006b":1}}}`},
		{"big numbers in ext", tasks.TypeEasemobPushSync,
			`{"target":"u1","pushMessage":{"title":"t","content":"c","ext":{"n":12345678901234567890,"f":-1e400}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, err := tasks.Parse(tt.typ, []byte(tt.payload))
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			// Strictness rejects, it never decodes differently from
			// encoding/json.
			lax, _ := tasks.Parse(tt.typ, []byte(`{}`))
			if err := json.Unmarshal([]byte(tt.payload), lax); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(job, lax) {
				t.Errorf("Parse() = %+v, json.Unmarshal() = %+v", job, lax)
			}
		})
	}
}

func TestParseStrictUnknownType(t *testing.T) {
	if _, err := tasks.ParseStrict("easemob:push.everyone", []byte(`{}`)); !errors.Is(err, tasks.ErrUnknownType) {
		t.Errorf("ParseStrict() = %v, want ErrUnknownType", err)
	}
}

// Types is what the CLI offers: every entry must be a job ParseStrict and
// the Producer know.
func TestTypes(t *testing.T) {
	types := tasks.Types()
	if len(slices.Compact(slices.Sorted(slices.Values(types)))) != len(types) {
		t.Errorf("Types() has duplicates: %v", types)
	}
	for _, typ := range types {
		p, ok := tasks.ProviderOf(typ)
		if !ok {
			t.Errorf("ProviderOf(%q) found no provider", typ)
		}
		job, err := tasks.ParseStrict(typ, []byte(`{}`))
		if err != nil {
			t.Errorf("ParseStrict(%q, {}) = %v", typ, err)
			continue
		}
		if job.Type() != typ {
			t.Errorf("ParseStrict(%q) made a %s job", typ, job.Type())
		}
		if !strings.HasPrefix(typ, string(p)+":") {
			t.Errorf("%s is not in provider %s", typ, p)
		}
	}
}

func BenchmarkParseStrict(b *testing.B) {
	payload := []byte(`{"targets":["u1","u2","u3"],"strategy":1,"pushMessage":{"title":"Parcel","content":"Your parcel has shipped","ext":{"order":"1001"},"config":{"badge":{"addNum":1}}}}`)
	for _, bench := range []struct {
		name  string
		parse func(string, []byte) (tasks.Job, error)
	}{{"Parse", tasks.Parse}} {
		b.Run(bench.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bench.parse(tasks.TypeEasemobPushSingle, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
