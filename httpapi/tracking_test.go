package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/tasks"
)

// A DingTalk send's status carries its tracking, and the OpenAPI document
// describes it (the test client validates every answer against it). The
// tracking hash is written here as the worker writes it.
func TestAPIStatusShowsTracking(t *testing.T) {
	s := newStack(t, nil)
	res := s.do(t, "POST", "/v1/jobs", `{"type":"dingtalk:work_notice.send","payload":{"userid_list":"u1,ghost","msg":{"msgtype":"text","text":{"content":"hi"}}}}`)
	if res.status != 201 {
		t.Fatalf("POST: %d %s", res.status, res.body)
	}
	id := res.receipt(t).Tasks[0].ID
	info, err := asynq.NewInspectorFromRedisClient(s.rdb).GetTaskInfo("dingtalk", id)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if err := s.rdb.HSet(context.Background(), tasks.TrackingKey(id),
		tasks.TrackFieldEnqueueID, info.Headers[tasks.HeaderEnqueueID], tasks.TrackFieldTaskID, "200000000001",
		tasks.TrackFieldState, tasks.TrackingDone, tasks.TrackFieldProgress, 100, tasks.TrackFieldStatus, 2,
		tasks.TrackFieldChecks, 2, tasks.TrackFieldSentAt, now, tasks.TrackFieldUpdatedAt, now,
		tasks.TrackFieldResult, `{"invalid_user_id_list":["ghost"],"unread_user_id_list":["u1"],"forbidden_list":[]}`,
	).Err(); err != nil {
		t.Fatal(err)
	}
	got := s.do(t, "GET", "/v1/jobs/"+id, "")
	if got.status != 200 || !strings.Contains(string(got.body), `"tracking":{"task_id":200000000001,"state":"done","progress":100`) ||
		!strings.Contains(string(got.body), `"invalid_user_id_list":["ghost"]`) {
		t.Fatalf("GET: %d %s", got.status, got.body)
	}
}
