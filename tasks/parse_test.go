package tasks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

// allJobs is one fully populated job of every type.
func allJobs() []tasks.Job {
	msg := tasks.PushMessage{
		Title: "环信推送", SubTitle: "环信", Content: "你好",
		Ext:    map[string]any{"orderId": "42", "n": 1.5},
		Config: &tasks.PushConfig{ClickAction: &tasks.ClickAction{URL: "https://x"}, Badge: &tasks.Badge{AddNum: intp(1)}},
		Vivo:   json.RawMessage(`{"category":"IM"}`),
	}
	return []tasks.Job{
		&tasks.FeishuExecuteSend{NotificationID: "6985032626234982420", SendAt: "1624326025000"},
		&tasks.EasemobPushSync{Target: "u1", Strategy: intp(3), PushMessage: msg},
		&tasks.EasemobPushAsync{Target: "u1", Strategy: intp(0), PushMessage: msg},
		&tasks.EasemobPushSingle{Targets: []string{"u1", "u2"}, Strategy: intp(2), PushMessage: msg},
		&tasks.EasemobPushLabel{Targets: []string{"post-90s"}, StartDate: "2030-01-01 12:00:00", PushMessage: msg},
		&tasks.EasemobPushTask{StartDate: "2030-01-01 12:00:00", Strategy: intp(4), PushMessage: msg},
		&tasks.DingTalkSend{UseridList: "u1,u2", DeptIDList: "42", Msg: tasks.DingTalkMsg{
			MsgType: "markdown", Markdown: json.RawMessage(`{"title":"t","text":"# hi"}`)}},
		&tasks.DingTalkProgress{TaskID: 456},
		&tasks.DingTalkResult{TaskID: 456},
		&tasks.DingTalkStatusBar{TaskID: 313382528774, StatusValue: "Accepted", StatusBg: "0xFF78C06E"},
		&tasks.DingTalkRecall{MsgTaskID: 2000},
		&tasks.EnOSNoticeProduce{OrgID: "o1", Messages: []tasks.EnOSMessage{okEnOSMessage("m0"), {MessageID: "m1"}}},
	}
}

func TestParseRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, job := range allJobs() {
		t.Run(job.Type(), func(t *testing.T) {
			seen[job.Type()] = true
			payload, err := json.Marshal(job)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tasks.Parse(job.Type(), payload)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", payload, err)
			}
			if got.Type() != job.Type() {
				t.Fatalf("Parse returned a %s", got.Type())
			}
			// Ext values come back as ExtValue, so compare what goes on
			// the wire: it must be the same bytes.
			again, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, payload) {
				t.Fatalf("Marshal(Parse(Marshal(job))) =\n%s\nwant\n%s", again, payload)
			}
		})
	}
	types := []string{
		tasks.TypeFeishuExecuteSend,
		tasks.TypeEasemobPushSync, tasks.TypeEasemobPushAsync, tasks.TypeEasemobPushSingle,
		tasks.TypeEasemobPushLabel, tasks.TypeEasemobPushTask,
		tasks.TypeDingTalkSend, tasks.TypeDingTalkProgress, tasks.TypeDingTalkResult,
		tasks.TypeDingTalkStatusBar, tasks.TypeDingTalkRecall,
		tasks.TypeEnOSNoticeProduce,
	}
	for _, typ := range types {
		if !seen[typ] {
			t.Errorf("no round trip for %s", typ)
		}
		if _, ok := tasks.ProviderOf(typ); !ok {
			t.Errorf("ProviderOf(%q) found no provider", typ)
		}
	}
}

// The payloads keep the providers' own field names: a body from the
// provider's docs decodes into the job and encodes back to the same JSON.
func TestParseProviderExamples(t *testing.T) {
	cases := []struct{ typ, body string }{
		{tasks.TypeFeishuExecuteSend, `{"notification_id":"6985032626234982420","send_at":"1624326025000"}`},
		{tasks.TypeEasemobPushSingle, `{"targets":["test2"],"pushMessage":{"title":"Hello","subTitle":"Hello","content":"Hello","vivo":{}}}`},
		{tasks.TypeEasemobPushLabel, `{"targets":["post-90s"],"startDate":"2024-01-01 12:00:00","strategy":2,
			"pushMessage":{"title":"Easemob PUSH","content":"Welcome to Easemob Push Service",
			"config":{"clickAction":{"url":"https://x"},"badge":{"addNum":1,"activity":"a"}},
			"ext":{"k":"v"},"apns":{},"fcm":{},"fcmV1":{},"huawei":{},"honor":{},"meizu":{},"oppo":{},"xiaomi":{},"easemob":{}}}`},
		{tasks.TypeEasemobPushSync, `{"target":"test1","strategy":3,"pushMessage":{"title":"环信推送","content":"你好，欢迎使用环信推送服务"}}`},
		{tasks.TypeDingTalkSend, `{"userid_list":"manager7675","to_all_user":true,"dept_id_list":"1","msg":{"msgtype":"oa","oa":{
			"message_url":"https://dingtalk.io","head":{"bgcolor":"FFFF6A00","text":"Test"},
			"body":{"title":"Body title 5","form":[{"key":"Name:","value":"John"}],"rich":{"num":"10.6","unit":"USD"}},
			"status_bar":{"status_value":"In progress","status_bg":"0xFFFF6A00"}}}}`},
		{tasks.TypeDingTalkStatusBar, `{"task_id":313382528774,"status_value":"Accepted","status_bg":"0xFF78C06E"}`},
		{tasks.TypeDingTalkProgress, `{"task_id":456}`},
		{tasks.TypeDingTalkRecall, `{"msg_task_id":2000}`},
		{tasks.TypeEnOSNoticeProduce, `{"orgId":"your_org_id","messages":[{
			"messageId":"yourMessageId","messageType":1,"url":"http://xxx.com","targetType":1,"targets":["u123","u456"],
			"appId":"yourAppAccessKey","appName":{"defaultValue":"appName","i18nValue":{"zh_CN":"appNameZh","en_US":"appNameEn"}},
			"linkedAppId":"abc-123-xyz","linkedMenuCode":"alarmProcessing","linkedStates":"site%abc123",
			"header":{"defaultValue":"header","i18nValue":{"zh_CN":"headerZh","en_US":"headerEn"}},
			"body":{"defaultValue":"body","i18nValue":{"zh_CN":"bodyZh","en_US":"bodyEn"}},
			"tags":[{"defaultValue":"tag1","i18nValue":{"zh_CN":"tag1Zh","en_US":"tag1En"}}],
			"features":[{"defaultValue":"feature1","i18nValue":{"zh_CN":"feature1Zh","en_US":"feature1En"}}]}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			job, err := tasks.Parse(tc.typ, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(job)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal([]byte(tc.body), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("re-encoded\n%s\nwant\n%s", out, tc.body)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	_, err := tasks.Parse("easemob:push.broadcast", []byte(`{}`))
	if !errors.Is(err, tasks.ErrUnknownType) {
		t.Errorf("unknown type: error = %v, want ErrUnknownType", err)
	}
	tests := []struct {
		name, typ, payload, field, rule string
	}{
		{"truncated", tasks.TypeEnOSNoticeProduce, `{"orgId":`, "payload", "not valid JSON: unexpected end"},
		{"string for a list", tasks.TypeEasemobPushSingle, `{"targets":"u1"}`, "targets", "must be an array, not string"},
		{"task_id as string", tasks.TypeDingTalkProgress, `{"task_id":"456"}`, "task_id", "must be an integer, not string"},
		{"task_id overflows", tasks.TypeDingTalkProgress, `{"task_id":99999999999999999999}`, "task_id", "must be an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tasks.Parse(tt.typ, []byte(tt.payload))
			var verr *tasks.ValidationError
			if !errors.As(err, &verr) || verr.Job != tt.typ || verr.Field != tt.field || !strings.Contains(verr.Rule, tt.rule) {
				t.Errorf("Parse() = %v; want field %q, rule containing %q", err, tt.field, tt.rule)
			}
		})
	}
}
