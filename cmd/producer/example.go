package main

import (
	"context"
	"io"
	"strings"

	"github.com/herald-dispatch/herald/tasks"
)

// samples holds a valid payload for every job type, in the provider's own
// field names, for `producer example <type>`. The tests enqueue each one
// (as a dry run), so a sample that stops validating fails the build.
var samples = map[string]string{
	tasks.TypeFeishuExecuteSend: `{
  "notification_id": "6985032626234982420",
  "send_at": "1924999200000"
}`,
	tasks.TypeEasemobPushSync: `{
  "target": "alice",
  "pushMessage": {"title": "Parcel shipped", "content": "Your order 1001 is on its way"}
}`,
	tasks.TypeEasemobPushAsync: `{
  "target": "alice",
  "pushMessage": {"title": "Parcel shipped", "content": "Your order 1001 is on its way"}
}`,
	tasks.TypeEasemobPushSingle: `{
  "targets": ["alice", "bob"],
  "pushMessage": {"title": "Parcel shipped", "content": "Your order 1001 is on its way", "ext": {"orderId": 1001}}
}`,
	tasks.TypeEasemobPushLabel: `{
  "targets": ["vip"],
  "pushMessage": {"title": "Sale", "content": "Members get 20% off today"}
}`,
	tasks.TypeEasemobPushTask: `{
  "pushMessage": {"title": "Maintenance", "content": "The service is down 02:00-03:00 tonight"}
}`,
	tasks.TypeDingTalkSend: `{
  "userid_list": "user123,user456",
  "msg": {"msgtype": "text", "text": {"content": "Your leave request was approved"}}
}`,
	tasks.TypeDingTalkProgress: `{
  "task_id": 256271667526
}`,
	tasks.TypeDingTalkResult: `{
  "task_id": 256271667526
}`,
	tasks.TypeDingTalkStatusBar: `{
  "send_job": "leave-approved-42",
  "status_value": "Approved",
  "status_bg": "0xFF78C06E"
}`,
	tasks.TypeDingTalkRecall: `{
  "send_job": "leave-approved-42"
}`,
	tasks.TypeEnOSNoticeProduce: `{
  "orgId": "o15589474499421",
  "messages": [{
    "messageId": "order-1001-shipped",
    "messageType": 1,
    "appId": "yourAppAccessKey",
    "header": {"defaultValue": "Parcel shipped", "i18nValue": {"zh_CN": "包裹已发货", "en_US": "Parcel shipped"}},
    "body": {"defaultValue": "Your order 1001 is on its way"},
    "targetType": 1,
    "targets": ["u123"]
  }]
}`,
}

// example prints a valid sample payload for a job type, to edit and pipe
// into enqueue:
//
//	producer example easemob:push.single > job.json
//	producer enqueue easemob:push.single -f job.json
func example(_ context.Context, env *commandEnv, args []string) error {
	fs := newFlagSet("example")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return inputErrorf("example takes one job type: %s", strings.Join(tasks.Types(), ", "))
	}
	s, ok := samples[pos[0]]
	if !ok {
		return inputErrorf("unknown job type %q (see producer --help)", pos[0])
	}
	_, err = io.WriteString(env.stdout, s+"\n")
	return err
}
