package easemob

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// Request bodies as documented. They are built field by field rather than
// by marshalling the job: sync and async carry their target in the path,
// not the body, and a field added to a job struct must not leak into what
// Easemob receives.
type (
	oneBody struct { // push/sync/{target}, push/async/{target}
		Strategy    *int              `json:"strategy,omitempty"`
		PushMessage tasks.PushMessage `json:"pushMessage"`
	}
	listBody struct { // push/single, push/list/label
		Targets     []string          `json:"targets"`
		StartDate   string            `json:"startDate,omitempty"`
		Strategy    *int              `json:"strategy,omitempty"`
		PushMessage tasks.PushMessage `json:"pushMessage"`
	}
	taskBody struct { // push/task
		StartDate   string            `json:"startDate,omitempty"`
		Strategy    *int              `json:"strategy,omitempty"`
		PushMessage tasks.PushMessage `json:"pushMessage"`
	}
)

// envelope is every push reply: {timestamp (ms), data, duration (ms)}.
type envelope[T any] struct {
	Timestamp int64 `json:"timestamp"`
	Data      T     `json:"data"`
	Duration  int64 `json:"duration"`
}

// PushOutcome is one entry of push/sync's or push/async's data list, as
// Easemob sent it.
type PushOutcome struct {
	// PushStatus is SUCCESS, FAIL or ERROR for push/sync, ASYNC_SUCCESS
	// for push/async.
	PushStatus string `json:"pushStatus"`
	Desc       string `json:"desc,omitempty"`
	// Data is the vendor's own answer (push/sync), kept as raw JSON.
	Data json.RawMessage `json:"data,omitempty"`
}

// SyncResult is push/sync's verdict for its one target. A vendor's refusal
// ("no push binding", "appUser not exists") is a result with Delivered
// false, not an error: the call worked, and retrying will not change it.
type SyncResult struct {
	Target string `json:"target"`
	// Delivered is true if any entry says SUCCESS.
	Delivered bool `json:"delivered"`
	// PushStatus and Desc summarise: the first SUCCESS, else the first
	// entry.
	PushStatus string        `json:"pushStatus"`
	Desc       string        `json:"desc,omitempty"`
	Outcomes   []PushOutcome `json:"outcomes"`
	// Timestamp is Easemob's, in Unix milliseconds.
	Timestamp int64 `json:"timestamp"`
}

// AsyncResult is push/async's acknowledgement.
type AsyncResult struct {
	Target string `json:"target"`
	// Accepted is true when Easemob answered ASYNC_SUCCESS.
	Accepted   bool   `json:"accepted"`
	PushStatus string `json:"pushStatus"`
	Desc       string `json:"desc,omitempty"`
	Timestamp  int64  `json:"timestamp"`
}

// SingleResult is push/single's per-target acknowledgement.
type SingleResult struct {
	Targets   []TargetStatus `json:"targets"`
	Timestamp int64          `json:"timestamp"`
}

// TargetStatus is one user's entry in a push/single reply.
type TargetStatus struct {
	ID         string `json:"id"`
	PushStatus string `json:"pushStatus"`
	Desc       string `json:"desc,omitempty"`
}

// TaskResult is the push task a label or all-users push created.
type TaskResult struct {
	// TaskID is Easemob's task id, a Java Long. It is kept as a decimal
	// string: ids exceed 2^53, beyond what a float64 (and so JavaScript,
	// and asynqmon's result view) holds exactly.
	TaskID    string `json:"taskId"`
	Timestamp int64  `json:"timestamp"`
}

// PushSync pushes to one user and waits for the vendor's verdict. An ERROR
// status with no SUCCESS (Easemob failed on its side, e.g. a timeout to the
// vendor) is returned as a Transient error so the push is retried.
func (c *Client) PushSync(ctx context.Context, job *tasks.EasemobPushSync) (*SyncResult, error) {
	const op = "push.sync"
	if err := needTarget(op, job.Target); err != nil {
		return nil, err
	}
	var reply envelope[outcomes]
	body := oneBody{Strategy: job.Strategy, PushMessage: job.PushMessage}
	if err := c.post(ctx, op, "/push/sync/"+url.PathEscape(job.Target), body, &reply); err != nil {
		return nil, err
	}
	res := &SyncResult{Target: job.Target, Outcomes: reply.Data, Timestamp: reply.Timestamp}
	if len(res.Outcomes) == 0 {
		return nil, badReply(op, "data has no push status")
	}
	summary := res.Outcomes[0]
	errored := false
	for _, o := range res.Outcomes {
		switch o.PushStatus {
		case "SUCCESS":
			if !res.Delivered {
				summary = o
			}
			res.Delivered = true
		case "ERROR":
			errored = true
		}
	}
	res.PushStatus, res.Desc = summary.PushStatus, summary.Desc
	if errored && !res.Delivered {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Status: 200, Code: "ERROR", Message: summary.Desc}
	}
	return res, nil
}

// PushAsync pushes to one user without waiting for the vendor.
func (c *Client) PushAsync(ctx context.Context, job *tasks.EasemobPushAsync) (*AsyncResult, error) {
	const op = "push.async"
	if err := needTarget(op, job.Target); err != nil {
		return nil, err
	}
	var reply envelope[outcomes]
	body := oneBody{Strategy: job.Strategy, PushMessage: job.PushMessage}
	if err := c.post(ctx, op, "/push/async/"+url.PathEscape(job.Target), body, &reply); err != nil {
		return nil, err
	}
	if len(reply.Data) == 0 {
		return nil, badReply(op, "data has no push status")
	}
	o := reply.Data[0]
	return &AsyncResult{
		Target: job.Target, Accepted: o.PushStatus == "ASYNC_SUCCESS",
		PushStatus: o.PushStatus, Desc: o.Desc, Timestamp: reply.Timestamp,
	}, nil
}

// PushSingle pushes to up to 100 users.
func (c *Client) PushSingle(ctx context.Context, job *tasks.EasemobPushSingle) (*SingleResult, error) {
	const op = "push.single"
	var reply envelope[[]TargetStatus]
	body := listBody{Targets: job.Targets, Strategy: job.Strategy, PushMessage: job.PushMessage}
	if err := c.post(ctx, op, "/push/single", body, &reply); err != nil {
		return nil, err
	}
	return &SingleResult{Targets: reply.Data, Timestamp: reply.Timestamp}, nil
}

// PushLabel pushes to every user under one label, creating a push task.
func (c *Client) PushLabel(ctx context.Context, job *tasks.EasemobPushLabel) (*TaskResult, error) {
	const op = "push.label"
	var reply envelope[struct {
		TaskID json.Number `json:"taskId"`
	}]
	body := listBody{Targets: job.Targets, StartDate: job.StartDate, Strategy: job.Strategy, PushMessage: job.PushMessage}
	if err := c.post(ctx, op, "/push/list/label", body, &reply); err != nil {
		return nil, err
	}
	return taskResult(op, reply.Data.TaskID, reply.Timestamp)
}

// PushTask pushes to every user of the app, creating a push task.
func (c *Client) PushTask(ctx context.Context, job *tasks.EasemobPushTask) (*TaskResult, error) {
	const op = "push.task"
	var reply envelope[json.Number]
	body := taskBody{StartDate: job.StartDate, Strategy: job.Strategy, PushMessage: job.PushMessage}
	if err := c.post(ctx, op, "/push/task", body, &reply); err != nil {
		return nil, err
	}
	return taskResult(op, reply.Data, reply.Timestamp)
}

// Send runs job, whichever Easemob job it is: the worker's entry point. The
// result is one of the *Result types, ready to be stored as JSON.
func (c *Client) Send(ctx context.Context, job tasks.Job) (any, error) {
	// Each case returns through an interface only when there is a
	// result, so a failed call never yields a non-nil any holding a nil
	// pointer.
	var (
		res any
		err error
	)
	switch j := job.(type) {
	case *tasks.EasemobPushSync:
		var r *SyncResult
		if r, err = c.PushSync(ctx, j); err == nil {
			res = r
		}
	case *tasks.EasemobPushAsync:
		var r *AsyncResult
		if r, err = c.PushAsync(ctx, j); err == nil {
			res = r
		}
	case *tasks.EasemobPushSingle:
		var r *SingleResult
		if r, err = c.PushSingle(ctx, j); err == nil {
			res = r
		}
	case *tasks.EasemobPushLabel:
		var r *TaskResult
		if r, err = c.PushLabel(ctx, j); err == nil {
			res = r
		}
	case *tasks.EasemobPushTask:
		var r *TaskResult
		if r, err = c.PushTask(ctx, j); err == nil {
			res = r
		}
	default:
		typ := "<nil>"
		if job != nil {
			typ = job.Type()
		}
		return nil, &providers.Error{Provider: Provider, Op: "send", Class: providers.Permanent, Code: "unsupported_job", Message: "not an Easemob job: " + typ}
	}
	return res, err
}

// outcomes decodes push/sync's and push/async's data. The docs show a list
// in every example but describe data as an Object; a lone object is read
// as a list of one.
type outcomes []PushOutcome

func (o *outcomes) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one PushOutcome
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*o = outcomes{one}
		return nil
	}
	return json.Unmarshal(b, (*[]PushOutcome)(o))
}

func taskResult(op string, id json.Number, ts int64) (*TaskResult, error) {
	if _, err := id.Int64(); err != nil {
		return nil, badReply(op, "task id is not a Long")
	}
	return &TaskResult{TaskID: id.String(), Timestamp: ts}, nil
}

func needTarget(op, target string) error {
	if target == "" {
		return &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "invalid_job", Message: "target is empty"}
	}
	return nil
}

func badReply(op, why string) error {
	return &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Status: 200, Code: "bad_reply", Message: why}
}
