package tasks_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// benchPayloads are payloads a worker takes from Redis, one or more of
// every provider, shaped as the Producer writes them: compact, in field
// order, with the fields a real job fills in.
var benchPayloads = []struct {
	name    string
	typ     string
	zero    func() tasks.Job
	payload string
}{
	{"feishu.execute_send", tasks.TypeFeishuExecuteSend, func() tasks.Job { return new(tasks.FeishuExecuteSend) },
		`{"notification_id":"6985032626234982420","send_at":"1624326025000"}`},
	{"easemob.push.single", tasks.TypeEasemobPushSingle, func() tasks.Job { return new(tasks.EasemobPushSingle) },
		`{"targets":["u1001","u1002","u1003","u1004","u1005","u1006","u1007","u1008","u1009","u1010"],"strategy":2,` +
			`"pushMessage":{"title":"包裹已发货","content":"您的订单 1001 已发货，预计明天送达","ext":{"orderId":"1001","kind":"shipping"},` +
			`"config":{"clickAction":{"url":"https://shop.example/orders/1001"},"badge":{"addNum":1}}}}`},
	{"easemob.push.async", tasks.TypeEasemobPushAsync, func() tasks.Job { return new(tasks.EasemobPushAsync) },
		`{"target":"u1001","strategy":0,"pushMessage":{"title":"Parcel shipped","subTitle":"Orders","content":"Your order 1001 has shipped and arrives tomorrow",` +
			`"ext":{"orderId":"1001","amount":12345678901234567890,"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"gift":false},` +
			`"config":{"clickAction":{"url":"https://shop.example/orders/1001","action":"open","activity":"OrderActivity"},"badge":{"setNum":3,"activity":"Main"}},` +
			`"apns":{"sound":"default","category":"ORDER"},"huawei":{"importance":"NORMAL"},"vivo":{"category":"IM","classification":1}}}`},
	{"easemob.push.task", tasks.TypeEasemobPushTask, func() tasks.Job { return new(tasks.EasemobPushTask) },
		`{"startDate":"2030-01-01 12:00:00","strategy":4,"pushMessage":{"title":"新年快乐","content":"祝您新年快乐，万事如意","ext":{"campaign":"ny2030"}}}`},
	{"dingtalk.send", tasks.TypeDingTalkSend, func() tasks.Job { return new(tasks.DingTalkSend) },
		`{"userid_list":"manager7675,user1001,user1002","dept_id_list":"1,42","msg":{"msgtype":"oa","oa":{` +
			`"message_url":"https://dingtalk.example/approve/1001","head":{"bgcolor":"FFFF6A00","text":"Approval"},` +
			`"body":{"title":"Expense claim 1001","form":[{"key":"Name:","value":"John"},{"key":"Amount:","value":"10.6 USD"}],"rich":{"num":"10.6","unit":"USD"}},` +
			`"status_bar":{"status_value":"In progress","status_bg":"0xFFFF6A00"}}}}`},
	{"dingtalk.progress", tasks.TypeDingTalkProgress, func() tasks.Job { return new(tasks.DingTalkProgress) },
		`{"task_id":313382528774}`},
	{"enos.notice.produce", tasks.TypeEnOSNoticeProduce, func() tasks.Job { return new(tasks.EnOSNoticeProduce) },
		`{"orgId":"o15550226247121","messages":[` +
			`{"messageId":"m-1001","messageType":1,"appId":"yourAppAccessKey","url":"http://xxx.com",` +
			`"features":[{"defaultValue":"feature1","i18nValue":{"zh_CN":"特性1","en_US":"feature1"}}],` +
			`"body":{"defaultValue":"body","i18nValue":{"zh_CN":"正文","en_US":"body"}},` +
			`"header":{"defaultValue":"header","i18nValue":{"zh_CN":"标题","en_US":"header"}},` +
			`"tags":[{"defaultValue":"tag1"},{"defaultValue":"tag2"}],"targetType":1,"targets":["u123","u456"]},` +
			`{"messageId":"m-1002","messageType":1,"linkedAppId":"abc-123-xyz","linkedMenuCode":"alarmProcessing","linkedStates":"site%abc123",` +
			`"header":{"defaultValue":"Alarm"},"targetType":0}]}`},
}

// BenchmarkParse times Parse beside plain json.Unmarshal into the same job
// type on the same payload, in one run, so the cost of strictness is read
// as a ratio on one machine at one moment.
func BenchmarkParse(b *testing.B) {
	for _, bp := range benchPayloads {
		payload := []byte(bp.payload)
		b.Run(bp.name+"/Parse", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := tasks.Parse(bp.typ, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bp.name+"/json.Unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := json.Unmarshal(payload, bp.zero()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The benchmark's payloads are ones Parse accepts and that a worker would
// go on to send: a benchmark of payloads that fail would time the errors.
func TestBenchPayloadsValid(t *testing.T) {
	env := tasks.Env{Now: time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC)} // a day before the push.task's startDate
	for _, bp := range benchPayloads {
		job, err := tasks.Parse(bp.typ, []byte(bp.payload))
		if err != nil {
			t.Errorf("%s: Parse = %v", bp.name, err)
			continue
		}
		if job.Type() != bp.typ || bp.zero().Type() != bp.typ {
			t.Errorf("%s: job types %s, %s; want %s", bp.name, job.Type(), bp.zero().Type(), bp.typ)
		}
		if err := job.Validate(env); err != nil {
			t.Errorf("%s: Validate = %v", bp.name, err)
		}
	}
}
