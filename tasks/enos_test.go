package tasks_test

import (
	"fmt"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

func okEnOSMessage(id string) tasks.EnOSMessage {
	return tasks.EnOSMessage{
		MessageID:   id,
		MessageType: intp(1),
		AppID:       "yourAppAccessKey",
		URL:         "http://xxx.com",
		Header:      &tasks.I18n{DefaultValue: "header", I18nValue: map[string]string{"zh_CN": "headerZh", "en_US": "headerEn"}},
		Body:        &tasks.I18n{DefaultValue: "body"},
		Tags:        []tasks.I18n{{DefaultValue: "tag1"}, {DefaultValue: "tag2"}},
		Features:    []tasks.I18n{{DefaultValue: "feature1"}},
		TargetType:  intp(1),
		Targets:     []string{"u123", "u456"},
	}
}

func TestEnOSNoticeProduce(t *testing.T) {
	enOnly := &tasks.I18n{I18nValue: map[string]string{"en_US": "Alarm"}}
	zhOnly := &tasks.I18n{I18nValue: map[string]string{"zh_CN": "告警"}}
	cases := []struct {
		name        string
		edit        func(*tasks.EnOSNoticeProduce)
		field, rule string
	}{
		{"valid", func(*tasks.EnOSNoticeProduce) {}, "", ""},
		{"only messageId: sending an existing message", func(j *tasks.EnOSNoticeProduce) {
			j.Messages = []tasks.EnOSMessage{{MessageID: "existing"}}
		}, "", ""},
		{"orgId missing", func(j *tasks.EnOSNoticeProduce) { j.OrgID = "" }, "orgId", "required"},
		{"no messages", func(j *tasks.EnOSNoticeProduce) { j.Messages = nil }, "messages", "needs at least one message"},
		{"100 messages", func(j *tasks.EnOSNoticeProduce) { j.Messages = manyEnOSMessages(100) }, "", ""},
		{"101 messages", func(j *tasks.EnOSNoticeProduce) { j.Messages = manyEnOSMessages(101) }, "messages", "101 messages, more than 100 in one call"},
		{"messageId missing", func(j *tasks.EnOSNoticeProduce) { j.Messages[1].MessageID = "" }, "messages[1].messageId", "required"},
		{"messageId duplicate", func(j *tasks.EnOSNoticeProduce) { j.Messages[2].MessageID = "m0" }, "messages[2].messageId", "duplicate of messages[0]"},
		{"messageType 2", func(j *tasks.EnOSNoticeProduce) { j.Messages[0].MessageType = intp(2) }, "messages[0].messageType", "must be 1 (to-do), is 2"},
		{"messageType 0", func(j *tasks.EnOSNoticeProduce) { j.Messages[0].MessageType = intp(0) }, "messages[0].messageType", "must be 1"},
		{"messageType unset", func(j *tasks.EnOSNoticeProduce) { j.Messages[0].MessageType = nil }, "", ""},
		{"appName for an external app", func(j *tasks.EnOSNoticeProduce) {
			j.Messages[1].AppID = ""
			j.Messages[1].AppName = &tasks.I18n{DefaultValue: "External"}
		}, "", ""},
		{"appId and appName", func(j *tasks.EnOSNoticeProduce) {
			j.Messages[1].AppName = &tasks.I18n{DefaultValue: "External"}
		}, "messages[1].appName", "excludes appId"},
		{"appName without default or en_US", func(j *tasks.EnOSNoticeProduce) {
			j.Messages[1].AppID = ""
			j.Messages[1].AppName = zhOnly
		}, "messages[1].appName", "needs defaultValue or i18nValue.en_US"},
		{"header en_US only", func(j *tasks.EnOSNoticeProduce) { j.Messages[2].Header = enOnly }, "", ""},
		{"header zh_CN only", func(j *tasks.EnOSNoticeProduce) { j.Messages[2].Header = zhOnly }, "messages[2].header", "needs defaultValue or i18nValue.en_US"},
		{"header empty", func(j *tasks.EnOSNoticeProduce) { j.Messages[2].Header = &tasks.I18n{} }, "messages[2].header", "needs defaultValue or i18nValue.en_US"},
		{"body zh_CN only", func(j *tasks.EnOSNoticeProduce) { j.Messages[0].Body = zhOnly }, "messages[0].body", "needs defaultValue or i18nValue.en_US"},
		{"tag zh_CN only", func(j *tasks.EnOSNoticeProduce) { j.Messages[0].Tags[1] = *zhOnly }, "messages[0].tags[1]", "needs defaultValue or i18nValue.en_US"},
		{"feature zh_CN only", func(j *tasks.EnOSNoticeProduce) { j.Messages[2].Features[0] = *zhOnly }, "messages[2].features[0]", "needs defaultValue or i18nValue.en_US"},
		{"targetType 0 without targets", func(j *tasks.EnOSNoticeProduce) {
			j.Messages[0].TargetType = intp(0)
			j.Messages[0].Targets = nil
		}, "", ""},
		{"targetType 1 without targets", func(j *tasks.EnOSNoticeProduce) { j.Messages[0].Targets = nil }, "messages[0].targets", "required when targetType is 1"},
		{"targetType 2", func(j *tasks.EnOSNoticeProduce) { j.Messages[1].TargetType = intp(2) }, "messages[1].targetType", "must be 0 (all users) or 1 (listed users), is 2"},
		{"empty target", func(j *tasks.EnOSNoticeProduce) { j.Messages[1].Targets = []string{"u1", ""} }, "messages[1].targets[1]", "empty user id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &tasks.EnOSNoticeProduce{
				OrgID:    "o15589474499421",
				Messages: []tasks.EnOSMessage{okEnOSMessage("m0"), okEnOSMessage("m1"), okEnOSMessage("m2")},
			}
			tc.edit(job)
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeEnOSNoticeProduce, tc.field, tc.rule)
		})
	}
}

func manyEnOSMessages(n int) []tasks.EnOSMessage {
	out := make([]tasks.EnOSMessage, n)
	for i := range out {
		out[i] = okEnOSMessage(fmt.Sprintf("m%d", i))
	}
	return out
}

func TestEnOSErrorMessage(t *testing.T) {
	job := &tasks.EnOSNoticeProduce{OrgID: "o1", Messages: manyEnOSMessages(3)}
	job.Messages[2].Header = &tasks.I18n{}
	want := "enos notice.produce: messages[2].header: needs defaultValue or i18nValue.en_US"
	if got := fmt.Sprint(job.Validate(tasks.Env{})); got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
}
