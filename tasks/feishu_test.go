package tasks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

func TestFeishuExecuteSend(t *testing.T) {
	cases := []struct {
		name        string
		id, sendAt  string
		field, rule string
	}{
		{"valid", "6985032626234982420", "1624326025000", "", ""},
		{"past time is sent at once", "1", "1000000000000", "", ""},
		{"far future", "1", "9999999999999", "", ""},
		{"id missing", "", "1624326025000", "notification_id", "required"},
		{"id not numeric", "69850326abc", "1624326025000", "notification_id", "digits only"},
		{"id with space", "6985 0326", "1624326025000", "notification_id", "digits only"},
		{"send_at missing", "1", "", "send_at", "required"},
		{"send_at seconds", "1", "1624326025", "send_at", "milliseconds"},
		{"send_at not numeric", "1", "2021-06-22", "send_at", "milliseconds"},
		{"send_at negative", "1", "-1624326025000", "send_at", "milliseconds"},
		{"send_at 12 digits", "1", "162432602500", "send_at", "milliseconds (13 digits)"},
		{"send_at 14 digits", "1", "16243260250000", "send_at", "milliseconds (13 digits)"},
		{"send_at leading zero", "1", "0624326025000", "send_at", "milliseconds (13 digits)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &tasks.FeishuExecuteSend{NotificationID: tc.id, SendAt: tc.sendAt}
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeFeishuExecuteSend, tc.field, tc.rule)
		})
	}
}

func TestFeishuSendAt(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.UnixMilli(1624326025000), "1624326025000"},
		{time.UnixMilli(1624326025123).In(tasks.ChinaStandardTime()), "1624326025123"},
		{time.Date(2030, 1, 1, 0, 0, 0, 999_999, time.UTC), "1893456000000"},
	}
	for _, tc := range cases {
		got := tasks.FeishuSendAt(tc.t)
		if got != tc.want {
			t.Errorf("FeishuSendAt(%v) = %q, want %q", tc.t, got, tc.want)
		}
		job := &tasks.FeishuExecuteSend{NotificationID: "1", SendAt: got}
		if err := job.Validate(tasks.Env{}); err != nil {
			t.Errorf("Validate(%q) = %v", got, err)
		}
	}
}

func ExampleFeishuSendAt() {
	job := &tasks.FeishuExecuteSend{
		NotificationID: "6985032626234982420",
		SendAt:         tasks.FeishuSendAt(time.Date(2021, 6, 22, 9, 40, 25, 0, time.UTC)),
	}
	fmt.Println(job.SendAt, job.Validate(tasks.Env{}))
	// Output: 1624354825000 <nil>
}
