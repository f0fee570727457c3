package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Tracking is how far Herald has followed a send the provider finishes on
// its own time. Today that is a DingTalk work notice: asyncsend_v2 answers
// with a task_id at once and delivers afterwards, so the worker asks
// getsendprogress (with backoff, without holding a worker slot) until
// DingTalk says done, then getsendresult, and keeps what it learnt here.
// Producer.Status shows it on the send job as Status.Tracking.
//
// Reading the lists: a user the send named is in exactly one of
// InvalidUserIDList (no such user), ForbiddenUserIDList (a quota stopped
// it; ForbiddenList says which, 143105 per-user daily cap, 143106 the same
// content already sent to that user today), FailedUserIDList, or, when it
// was delivered, ReadUserIDList or UnreadUserIDList as of the moment the
// result was fetched.
type Tracking struct {
	// TaskID is DingTalk's task_id for the send.
	TaskID int64 `json:"task_id"`
	// State is "tracking" while Herald is still asking, "done" when the
	// result is in, and "gave_up" when it stopped without one (Reason
	// says why: DingTalk's 24 h window passed, or a permanent error).
	State string `json:"state"`
	// Progress is DingTalk's progress_in_percent, 0 to 100.
	Progress int `json:"progress"`
	// ProgressStatus is DingTalk's status: 0 not started, 1 processing,
	// 2 done.
	ProgressStatus int `json:"progress_status"`
	// Checks counts the progress calls made.
	Checks int `json:"checks"`
	// Result is getsendresult's send_result, once State is done.
	Result *DingTalkSendResult `json:"result,omitempty"`
	// Reason says why tracking gave up, or what the last failed check
	// said while it goes on.
	Reason    string    `json:"reason,omitempty"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Tracking states.
const (
	TrackingActive = "tracking"
	TrackingDone   = "done"
	TrackingGaveUp = "gave_up"
)

// DingTalkSendResult is getsendresult's send_result, with DingTalk's names.
type DingTalkSendResult struct {
	InvalidUserIDList   []string            `json:"invalid_user_id_list"`
	ForbiddenUserIDList []string            `json:"forbidden_user_id_list"`
	FailedUserIDList    []string            `json:"failed_user_id_list"`
	ReadUserIDList      []string            `json:"read_user_id_list"`
	UnreadUserIDList    []string            `json:"unread_user_id_list"`
	InvalidDeptIDList   []int64             `json:"invalid_dept_id_list"`
	ForbiddenList       []DingTalkForbidden `json:"forbidden_list"`
}

// DingTalkForbidden is why one user was not sent a message.
type DingTalkForbidden struct {
	// Code is the quota: "143105" daily cap per user, "143106" the same
	// content to the same user on one day.
	Code string `json:"code"`
	// Count is the quota's threshold.
	Count  int64  `json:"count"`
	UserID string `json:"userid"`
}

// TrackingKey is the Redis hash where the worker keeps the tracking of the
// send task with this id. The hash tag keeps it beside the task's
// delivered-marker in Redis Cluster.
func TrackingKey(taskID string) string { return "herald:track:{" + taskID + "}" }

// Tracking hash fields. The worker writes them; Status reads them.
const (
	TrackFieldEnqueueID = "enqueue_id" // the send's HeaderEnqueueID
	TrackFieldState     = "state"
	TrackFieldTaskID    = "task_id"
	TrackFieldProgress  = "progress"
	TrackFieldStatus    = "progress_status"
	TrackFieldChecks    = "checks"
	TrackFieldResult    = "result"
	TrackFieldReason    = "reason"
	TrackFieldSentAt    = "sent_at"    // Unix ms
	TrackFieldUpdatedAt = "updated_at" // Unix ms
	TrackFieldPoll      = "poll"       // the number of the next scheduled check
)

// trackingOf reads the tracking of the task in info, nil if it has none.
// A hash left by an earlier enqueue of the same id (an idempotency key
// reused after retention) is not this task's and is ignored.
func trackingOf(ctx context.Context, rdb redis.UniversalClient, info *asynq.TaskInfo) (*Tracking, error) {
	if info.Type != TypeDingTalkSend {
		return nil, nil
	}
	h, err := rdb.HGetAll(ctx, TrackingKey(info.ID)).Result()
	if errors.Is(err, redis.Nil) || len(h) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if eid := info.Headers[HeaderEnqueueID]; eid != "" && h[TrackFieldEnqueueID] != eid {
		return nil, nil
	}
	return ParseTracking(h), nil
}

// ParseTracking reads a tracking hash's fields.
func ParseTracking(h map[string]string) *Tracking {
	num := func(k string) int64 { n, _ := strconv.ParseInt(h[k], 10, 64); return n }
	ms := func(k string) time.Time {
		if n := num(k); n > 0 {
			return time.UnixMilli(n)
		}
		return time.Time{}
	}
	tr := &Tracking{
		TaskID: num(TrackFieldTaskID), State: h[TrackFieldState],
		Progress: int(num(TrackFieldProgress)), ProgressStatus: int(num(TrackFieldStatus)),
		Checks: int(num(TrackFieldChecks)), Reason: h[TrackFieldReason],
		SentAt: ms(TrackFieldSentAt), UpdatedAt: ms(TrackFieldUpdatedAt),
	}
	if r := h[TrackFieldResult]; r != "" {
		var res DingTalkSendResult
		if json.Unmarshal([]byte(r), &res) == nil {
			tr.Result = &res
		}
	}
	return tr
}

// validateTaskRef checks that a status bar or recall job names its send
// one way: DingTalk's task id (field) or Herald's send job id.
func validateTaskRef(job, field string, id int64, sendJob string) error {
	switch {
	case id == 0 && sendJob == "":
		return invalid(job, field, "must be a positive task id (DingTalk's), or give send_job (Herald's send job id) instead")
	case id != 0 && sendJob != "":
		return invalid(job, field, "give "+field+" or send_job, not both")
	case sendJob != "":
		if len(sendJob) > 256 {
			return invalid(job, "send_job", "longer than 256 bytes")
		}
		return nil
	}
	return validateTaskID(job, field, id)
}
