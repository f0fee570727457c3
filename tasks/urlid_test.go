package tasks_test

import (
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

// Ids that a provider client puts into a URL path or query may not change
// the URL: every job whose id goes there refuses each hostile value with a
// ValidationError naming the field and the rule.
func TestURLIDs(t *testing.T) {
	msg := tasks.PushMessage{Title: "t", Content: "c"}
	text := tasks.DingTalkMsg{MsgType: "text", Text: []byte(`{"content":"hi"}`)}
	fields := []struct {
		name  string
		field string
		job   func(id string) tasks.Job
	}{
		{"easemob push.sync target", "target", func(id string) tasks.Job { return &tasks.EasemobPushSync{Target: id, PushMessage: msg} }},
		{"easemob push.async target", "target", func(id string) tasks.Job { return &tasks.EasemobPushAsync{Target: id, PushMessage: msg} }},
		{"enos orgId", "orgId", func(id string) tasks.Job {
			return &tasks.EnOSNoticeProduce{OrgID: id, Messages: []tasks.EnOSMessage{{MessageID: "m1"}}}
		}},
		{"feishu notification_id", "notification_id", func(id string) tasks.Job {
			return &tasks.FeishuExecuteSend{NotificationID: id, SendAt: "1624326025000"}
		}},
	}
	tests := []struct {
		name string
		id   string
		rule string // contained in the rule; "" = accepted (except by Feishu, digits only)
	}{
		{"dot", ".", `must not be "." or ".."`},
		{"dot dot", "..", `must not be "." or ".."`},
		{"NUL", "u\x001", "control characters (U+0000)"},
		{"newline", "u1\nHost: evil", "control characters (U+000A)"},
		{"carriage return", "u1\r", "control characters (U+000D)"},
		{"DEL", "u\x7f", "control characters (U+007F)"},
		{"C1 control", "u\u0085", "control characters (U+0085)"},
		{"slash", "a/../b", `must not contain '/'`},
		{"backslash", `a\b`, `must not contain '\\'`},
		{"query", "a?admin=1", `must not contain '?'`},
		{"fragment", "a#b", `must not contain '#'`},
		{"escape", "a%2Fb", `must not contain '%'`},
		{"ampersand", "a&b", `must not contain '&'`},
		{"equals", "a=b", `must not contain '='`},
		{"plus", "a+b", `must not contain '+'`},
		{"semicolon", "a;jsessionid=1", `must not contain ';'`},
		{"space", "a b", "must not contain spaces"},
		{"line separator", "a\u2028b", "must not contain spaces"},
		{"invalid UTF-8", "a\xffb", "valid UTF-8"},
		{"plain", "user_1", ""},
		{"dots inside", "a.b..c", ""},
		{"CJK", "张三", ""},
		{"digits", "6985032626234982420", ""},
	}
	for _, f := range fields {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				job := f.job(tt.id)
				err := job.Validate(tasks.Env{})
				switch {
				case f.field == "notification_id" && tt.id != "6985032626234982420":
					// Feishu's ids are numeric: anything else is refused.
					checkInvalid(t, err, job.Type(), f.field, "digits only")
				default:
					field := f.field
					if tt.rule == "" {
						field = ""
					}
					checkInvalid(t, err, job.Type(), field, tt.rule)
				}
			})
		}
	}
	// DingTalk's user ids go in a comma list: no spaces or controls.
	for _, tt := range tests {
		if tt.rule == "" || !(tt.name == "NUL" || tt.name == "newline" || tt.name == "space") {
			continue
		}
		job := &tasks.DingTalkSend{UseridList: "ok," + tt.id, Msg: text}
		t.Run("dingtalk userid_list/"+tt.name, func(t *testing.T) {
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeDingTalkSend, "userid_list[1]", "must not contain")
		})
	}
}
