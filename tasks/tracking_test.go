package tasks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

// Status bar and recall jobs name their send by DingTalk's task id or by
// Herald's send job id: exactly one of the two.
func TestDingTalkTaskRefs(t *testing.T) {
	tests := []struct {
		name       string
		job        tasks.Job
		field, has string // want a *ValidationError on field whose rule has this; "" = valid
	}{
		{"bar by task id", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "v"}, "", ""},
		{"bar by send job", &tasks.DingTalkStatusBar{SendJob: "order-1", StatusValue: "v"}, "", ""},
		{"bar naming neither", &tasks.DingTalkStatusBar{StatusValue: "v"}, "task_id", "or give send_job"},
		{"bar naming both", &tasks.DingTalkStatusBar{TaskID: 1, SendJob: "x", StatusValue: "v"}, "task_id", "not both"},
		{"bar negative id", &tasks.DingTalkStatusBar{TaskID: -4, StatusValue: "v"}, "task_id", "positive"},
		{"recall by send job", &tasks.DingTalkRecall{SendJob: "order-1"}, "", ""},
		{"recall naming neither", &tasks.DingTalkRecall{}, "msg_task_id", "or give send_job"},
		{"recall naming both", &tasks.DingTalkRecall{MsgTaskID: 3, SendJob: "x"}, "msg_task_id", "not both"},
		{"recall send job too long", &tasks.DingTalkRecall{SendJob: strings.Repeat("x", 257)}, "send_job", "256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.job.Validate(tasks.Env{})
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *tasks.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !strings.Contains(ve.Rule, tt.has) {
				t.Fatalf("Validate() = %v, want field %s with %q", err, tt.field, tt.has)
			}
		})
	}
}

// ParseTracking reads the hash the worker writes.
func TestParseTracking(t *testing.T) {
	tr := tasks.ParseTracking(map[string]string{
		tasks.TrackFieldTaskID: "200000000001", tasks.TrackFieldState: tasks.TrackingDone,
		tasks.TrackFieldProgress: "100", tasks.TrackFieldStatus: "2", tasks.TrackFieldChecks: "3",
		tasks.TrackFieldSentAt: "1796106953806",
		tasks.TrackFieldResult: `{"invalid_user_id_list":["ghost"],"forbidden_list":[{"code":"143105","count":500,"userid":"u"}]}`,
	})
	if tr.TaskID != 200000000001 || tr.State != "done" || tr.Progress != 100 || tr.ProgressStatus != 2 || tr.Checks != 3 ||
		tr.SentAt.UnixMilli() != 1796106953806 || tr.Result == nil || tr.Result.InvalidUserIDList[0] != "ghost" ||
		tr.Result.ForbiddenList[0] != (tasks.DingTalkForbidden{Code: "143105", Count: 500, UserID: "u"}) {
		t.Fatalf("%+v %+v", tr, tr.Result)
	}
}
