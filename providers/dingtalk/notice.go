package dingtalk

import (
	"context"
	"encoding/json"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// The corpconversation paths.
const (
	PathSend      = "/topapi/message/corpconversation/asyncsend_v2"
	PathProgress  = "/topapi/message/corpconversation/getsendprogress"
	PathResult    = "/topapi/message/corpconversation/getsendresult"
	PathStatusBar = "/topapi/message/corpconversation/status_bar/update"
	PathRecall    = "/topapi/message/corpconversation/recall"
)

// Request bodies as documented, built field by field: Herald's own fields
// (a status bar job's send_job) must not reach DingTalk.
type (
	sendBody struct {
		AgentID    int64             `json:"agent_id"`
		UseridList string            `json:"userid_list,omitempty"`
		DeptIDList string            `json:"dept_id_list,omitempty"`
		ToAllUser  bool              `json:"to_all_user"`
		Msg        tasks.DingTalkMsg `json:"msg"`
	}
	taskBody struct { // getsendprogress, getsendresult
		AgentID int64 `json:"agent_id"`
		TaskID  int64 `json:"task_id"`
	}
	statusBarBody struct {
		AgentID     int64  `json:"agent_id"`
		TaskID      int64  `json:"task_id"`
		StatusValue string `json:"status_value"`
		StatusBg    string `json:"status_bg,omitempty"`
	}
	recallBody struct {
		AgentID   int64 `json:"agent_id"`
		MsgTaskID int64 `json:"msg_task_id"`
	}
)

// SendResult is asyncsend_v2's answer: the task DingTalk created. The
// notice goes out afterwards; follow it with Progress and Result.
type SendResult struct {
	TaskID    int64  `json:"task_id"`
	RequestID string `json:"request_id,omitempty"`
}

// Progress is getsendprogress's answer.
type Progress struct {
	TaskID int64 `json:"task_id"`
	// Percent is progress_in_percent, 0 to 100.
	Percent int `json:"progress_in_percent"`
	// Status is 0 not started, 1 processing, 2 done.
	Status    int    `json:"status"`
	RequestID string `json:"request_id,omitempty"`
}

// Done reports whether DingTalk has finished sending.
func (p *Progress) Done() bool { return p.Status == 2 }

// Result is getsendresult's answer: who got the notice and who did not.
type Result struct {
	TaskID     int64                    `json:"task_id"`
	SendResult tasks.DingTalkSendResult `json:"send_result"`
	RequestID  string                   `json:"request_id,omitempty"`
}

// Ack is the answer of status_bar/update and recall, which return nothing
// but success.
type Ack struct {
	TaskID    int64  `json:"task_id"`
	RequestID string `json:"request_id,omitempty"`
}

// SendNotice sends a work notice (asyncsend_v2).
func (c *Client) SendNotice(ctx context.Context, job *tasks.DingTalkSend) (*SendResult, error) {
	const op = "work_notice.send"
	var reply struct {
		envelope
		TaskID json.Number `json:"task_id"`
	}
	body := sendBody{AgentID: c.cfg.AgentID, UseridList: job.UseridList, DeptIDList: job.DeptIDList, ToAllUser: job.ToAllUser, Msg: job.Msg}
	if err := c.post(ctx, op, PathSend, body, &reply); err != nil {
		return nil, err
	}
	id, err := reply.TaskID.Int64()
	if err != nil || id <= 0 {
		// Sent, but without a task id Herald cannot follow it. Permanent:
		// sending again would notify everyone twice.
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Status: 200, Code: "bad_reply", Message: "reply has no task_id", RequestID: reply.RequestID}
	}
	return &SendResult{TaskID: id, RequestID: reply.RequestID}, nil
}

// GetProgress asks how far a send has got (getsendprogress).
func (c *Client) GetProgress(ctx context.Context, taskID int64) (*Progress, error) {
	const op = "work_notice.progress"
	var reply struct {
		envelope
		Progress struct {
			Percent int `json:"progress_in_percent"`
			Status  int `json:"status"`
		} `json:"progress"`
	}
	if err := c.post(ctx, op, PathProgress, taskBody{AgentID: c.cfg.AgentID, TaskID: taskID}, &reply); err != nil {
		return nil, err
	}
	return &Progress{TaskID: taskID, Percent: reply.Progress.Percent, Status: reply.Progress.Status, RequestID: reply.RequestID}, nil
}

// GetResult fetches a send's per-user outcome (getsendresult).
func (c *Client) GetResult(ctx context.Context, taskID int64) (*Result, error) {
	const op = "work_notice.result"
	var reply struct {
		envelope
		SendResult tasks.DingTalkSendResult `json:"send_result"`
	}
	if err := c.post(ctx, op, PathResult, taskBody{AgentID: c.cfg.AgentID, TaskID: taskID}, &reply); err != nil {
		return nil, err
	}
	return &Result{TaskID: taskID, SendResult: reply.SendResult, RequestID: reply.RequestID}, nil
}

// UpdateStatusBar changes an OA notice's status bar (status_bar/update).
// The job must carry DingTalk's task id: the worker resolves a send job id
// before it gets here.
func (c *Client) UpdateStatusBar(ctx context.Context, job *tasks.DingTalkStatusBar) (*Ack, error) {
	const op = "work_notice.status_bar"
	if job.TaskID <= 0 {
		return nil, noTaskID(op)
	}
	var reply envelope
	body := statusBarBody{AgentID: c.cfg.AgentID, TaskID: job.TaskID, StatusValue: job.StatusValue, StatusBg: job.StatusBg}
	if err := c.post(ctx, op, PathStatusBar, body, &reply); err != nil {
		return nil, err
	}
	return &Ack{TaskID: job.TaskID, RequestID: reply.RequestID}, nil
}

// Recall withdraws a notice from every recipient, within 24 h (recall).
func (c *Client) Recall(ctx context.Context, job *tasks.DingTalkRecall) (*Ack, error) {
	const op = "work_notice.recall"
	if job.MsgTaskID <= 0 {
		return nil, noTaskID(op)
	}
	var reply envelope
	if err := c.post(ctx, op, PathRecall, recallBody{AgentID: c.cfg.AgentID, MsgTaskID: job.MsgTaskID}, &reply); err != nil {
		return nil, err
	}
	return &Ack{TaskID: job.MsgTaskID, RequestID: reply.RequestID}, nil
}

// Send runs job, whichever DingTalk job it is: the worker's entry point.
// It makes exactly one HTTP call (plus gettoken when no token is cached).
func (c *Client) Send(ctx context.Context, job tasks.Job) (any, error) {
	var (
		res any
		err error
	)
	switch j := job.(type) {
	case *tasks.DingTalkSend:
		var r *SendResult
		if r, err = c.SendNotice(ctx, j); err == nil {
			res = r
		}
	case *tasks.DingTalkProgress:
		var r *Progress
		if r, err = c.GetProgress(ctx, j.TaskID); err == nil {
			res = r
		}
	case *tasks.DingTalkResult:
		var r *Result
		if r, err = c.GetResult(ctx, j.TaskID); err == nil {
			res = r
		}
	case *tasks.DingTalkStatusBar:
		var r *Ack
		if r, err = c.UpdateStatusBar(ctx, j); err == nil {
			res = r
		}
	case *tasks.DingTalkRecall:
		var r *Ack
		if r, err = c.Recall(ctx, j); err == nil {
			res = r
		}
	default:
		typ := "<nil>"
		if job != nil {
			typ = job.Type()
		}
		return nil, &providers.Error{Provider: Provider, Op: "send", Class: providers.Permanent, Code: "unsupported_job", Message: "not a DingTalk job: " + typ}
	}
	return res, err
}

func noTaskID(op string) error {
	return &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "invalid_job", Message: "no DingTalk task id"}
}
