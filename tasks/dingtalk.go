package tasks

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DingTalk's documented limits (providers.md section C, seed 002).
const (
	// dingTalkMaxUsers is the most user ids one send takes; a longer list
	// needs several calls, each its own DingTalk task.
	dingTalkMaxUsers = 100
	// dingTalkMaxDepts is the most departments one send takes.
	dingTalkMaxDepts = 20
	// dingTalkMaxMsg is the largest msg object, in bytes of JSON.
	dingTalkMaxMsg = 2048
)

// DingTalkSend sends a work notification from the account's app
// (POST /topapi/message/corpconversation/asyncsend_v2). The app's agent_id
// comes from the worker's account config, not from the payload. DingTalk
// answers with a task_id and delivers asynchronously: per-recipient quota
// violations (the same content to one user twice a day, more than 500
// messages a user a day) still return success and show only in the send
// result. Each app may make 20 calls/s.
//
// Recipients are either everyone (ToAllUser) or the listed users and
// departments. One call takes at most 100 users and 20 departments; the
// Producer splits a longer user list, in order, into calls of 100, each its
// own task (and its own DingTalk task_id, tracked apart). The departments go
// with the first call only, so nobody in them is sent the message twice;
// users listed and also in a department are deduplicated by DingTalk within
// that first call only.
type DingTalkSend struct {
	// UseridList is user ids separated by commas, "u1,u2", with no
	// spaces. Each id must be listed once.
	UseridList string `json:"userid_list,omitempty"`
	// DeptIDList is numeric department ids separated by commas, "1,42".
	DeptIDList string `json:"dept_id_list,omitempty"`
	// ToAllUser sends to every user in the organisation; the lists must
	// then be empty.
	ToAllUser bool `json:"to_all_user,omitempty"`
	// Msg is the message, at most 2048 bytes of JSON.
	Msg DingTalkMsg `json:"msg"`
}

// DingTalkMsg is a work notification's msg object: its msgtype and the
// block of that name, passed through as given. Herald checks that the block
// is a JSON object holding the fields DingTalk's message-type reference
// marks required (listed on each block); other fields are not checked. The
// required fields come from DingTalk's message-type reference, not the
// seed [U].
type DingTalkMsg struct {
	// MsgType is one of text, image, voice, file, link, oa, markdown,
	// action_card.
	MsgType string `json:"msgtype"`
	// Text needs content.
	Text json.RawMessage `json:"text,omitempty"`
	// Image needs media_id.
	Image json.RawMessage `json:"image,omitempty"`
	// Voice needs media_id and duration.
	Voice json.RawMessage `json:"voice,omitempty"`
	// File needs media_id.
	File json.RawMessage `json:"file,omitempty"`
	// Link needs messageUrl, picUrl, title and text.
	Link json.RawMessage `json:"link,omitempty"`
	// OA needs message_url, head and body.
	OA json.RawMessage `json:"oa,omitempty"`
	// Markdown needs title and text.
	Markdown json.RawMessage `json:"markdown,omitempty"`
	// ActionCard needs title and markdown.
	ActionCard json.RawMessage `json:"action_card,omitempty"`
}

// DingTalkProgress asks how far a send has got
// (POST /topapi/message/corpconversation/getsendprogress). A task can be
// queried for 24 h after the send.
type DingTalkProgress struct {
	// TaskID is the task_id the send returned.
	TaskID int64 `json:"task_id"`
}

// DingTalkResult fetches a send's per-recipient outcome: invalid, forbidden
// (with the quota code that stopped it), failed, read and unread users
// (POST /topapi/message/corpconversation/getsendresult). A task can be
// queried for 24 h after the send.
type DingTalkResult struct {
	// TaskID is the task_id the send returned.
	TaskID int64 `json:"task_id"`
}

// DingTalkStatusBar changes the status bar of an OA work notification
// already sent (POST /topapi/message/corpconversation/status_bar/update),
// e.g. to show that an approval was accepted.
type DingTalkStatusBar struct {
	// TaskID is the task_id the send returned. Give it or SendJob.
	TaskID int64 `json:"task_id,omitempty"`
	// SendJob is Herald's id of the work_notice.send job instead: the
	// worker reads the task_id its tracking recorded (see Tracking).
	SendJob string `json:"send_job,omitempty"`
	// StatusValue is the status text, e.g. "Accepted".
	StatusValue string `json:"status_value"`
	// StatusBg is the bar's colour as 0x and 8 hex digits, alpha first:
	// 0xFF78C06E (green, accepted), 0xFFF65E5E (red, declined).
	StatusBg string `json:"status_bg,omitempty"`
}

// DingTalkRecall withdraws a work notification from every recipient
// (POST /topapi/message/corpconversation/recall). It works within 24 h of
// the send.
type DingTalkRecall struct {
	// MsgTaskID is the task_id the send returned. Give it or SendJob.
	MsgTaskID int64 `json:"msg_task_id,omitempty"`
	// SendJob is Herald's id of the work_notice.send job instead.
	SendJob string `json:"send_job,omitempty"`
}

func (*DingTalkSend) Type() string      { return TypeDingTalkSend }
func (*DingTalkProgress) Type() string  { return TypeDingTalkProgress }
func (*DingTalkResult) Type() string    { return TypeDingTalkResult }
func (*DingTalkStatusBar) Type() string { return TypeDingTalkStatusBar }
func (*DingTalkRecall) Type() string    { return TypeDingTalkRecall }

// Validate checks the recipients and the message as one call: at most 100
// user ids.
func (j *DingTalkSend) Validate(Env) error {
	if err := j.validateWhole(); err != nil {
		return err
	}
	if n := len(j.userIDs()); n > dingTalkMaxUsers {
		return invalid(TypeDingTalkSend, "userid_list",
			fmt.Sprintf("%d user ids, more than %d in one call", n, dingTalkMaxUsers))
	}
	return nil
}

// validateWhole checks every rule but the 100 users a call takes, so that
// errors name the index in the caller's whole list.
func (j *DingTalkSend) validateWhole() error {
	if err := j.validateRecipients(); err != nil {
		return err
	}
	return j.Msg.validate(TypeDingTalkSend)
}

func (j *DingTalkSend) userIDs() []string {
	if j.UseridList == "" {
		return nil
	}
	return strings.Split(j.UseridList, ",")
}

func (j *DingTalkSend) validateRecipients() error {
	const job = TypeDingTalkSend
	if j.ToAllUser {
		if j.UseridList != "" || j.DeptIDList != "" {
			return invalid(job, "to_all_user", "excludes userid_list and dept_id_list")
		}
		return nil
	}
	if j.UseridList == "" && j.DeptIDList == "" {
		return invalid(job, "userid_list", "needs userid_list, dept_id_list or to_all_user")
	}
	ids := j.userIDs()
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return invalid(job, index("userid_list", i), "empty user id")
		}
		if rule := listIDRule(id); rule != "" {
			return invalid(job, index("userid_list", i), rule)
		}
		if first, dup := seen[id]; dup {
			return invalid(job, index("userid_list", i), "duplicate of "+index("userid_list", first))
		}
		seen[id] = i
	}
	if j.DeptIDList != "" {
		ids := strings.Split(j.DeptIDList, ",")
		if len(ids) > dingTalkMaxDepts {
			return invalid(job, "dept_id_list", fmt.Sprintf("%d department ids, more than %d", len(ids), dingTalkMaxDepts))
		}
		for i, id := range ids {
			if !isDigits(id) {
				return invalid(job, index("dept_id_list", i), "must be a numeric department id")
			}
		}
	}
	return nil
}

// split cuts the user list, in order, into calls of at most 100. The first
// part keeps the departments; every part shares Msg.
func (j *DingTalkSend) split() []Job {
	ids := j.userIDs()
	if len(ids) <= dingTalkMaxUsers {
		return []Job{j}
	}
	var parts []Job
	for start := 0; start < len(ids); start += dingTalkMaxUsers {
		part := *j
		part.UseridList = strings.Join(ids[start:min(start+dingTalkMaxUsers, len(ids))], ",")
		if start > 0 {
			part.DeptIDList = ""
		}
		parts = append(parts, &part)
	}
	return parts
}

func (m *DingTalkMsg) validate(job string) error {
	var (
		block    json.RawMessage
		required []string
	)
	switch m.MsgType {
	case "text":
		block, required = m.Text, []string{"content"}
	case "image":
		block, required = m.Image, []string{"media_id"}
	case "voice":
		block, required = m.Voice, []string{"media_id", "duration"}
	case "file":
		block, required = m.File, []string{"media_id"}
	case "link":
		block, required = m.Link, []string{"messageUrl", "picUrl", "title", "text"}
	case "oa":
		block, required = m.OA, []string{"message_url", "head", "body"}
	case "markdown":
		block, required = m.Markdown, []string{"title", "text"}
	case "action_card":
		block, required = m.ActionCard, []string{"title", "markdown"}
	case "":
		return invalid(job, "msg.msgtype", "required")
	default:
		return invalid(job, "msg.msgtype",
			fmt.Sprintf("%q is not one of text, image, voice, file, link, oa, markdown, action_card", m.MsgType))
	}
	field := "msg." + m.MsgType
	if len(block) == 0 {
		return invalid(job, field, "required by msgtype "+m.MsgType)
	}
	var fields map[string]json.RawMessage
	if !isJSONObject(block) || json.Unmarshal(block, &fields) != nil {
		return invalid(job, field, "must be a JSON object")
	}
	for _, name := range required {
		if v := string(fields[name]); v == "" || v == "null" || v == `""` {
			return invalid(job, field+"."+name, "required")
		}
	}
	if b, err := json.Marshal(m); err != nil {
		return invalid(job, "msg", "does not encode as JSON: "+err.Error())
	} else if len(b) > dingTalkMaxMsg {
		return invalid(job, "msg", fmt.Sprintf("is %d bytes of JSON, more than %d", len(b), dingTalkMaxMsg))
	}
	return nil
}

// Validate checks the task id.
func (j *DingTalkProgress) Validate(Env) error {
	return validateTaskID(TypeDingTalkProgress, "task_id", j.TaskID)
}

// Validate checks the task id.
func (j *DingTalkResult) Validate(Env) error {
	return validateTaskID(TypeDingTalkResult, "task_id", j.TaskID)
}

// Validate checks the task id, that there is a status and that the colour,
// if set, is 0x and 8 hex digits.
func (j *DingTalkStatusBar) Validate(Env) error {
	const job = TypeDingTalkStatusBar
	if err := validateTaskRef(job, "task_id", j.TaskID, j.SendJob); err != nil {
		return err
	}
	if j.StatusValue == "" {
		return invalid(job, "status_value", "required")
	}
	if j.StatusBg != "" && !isARGB(j.StatusBg) {
		return invalid(job, "status_bg", "must be 0x and 8 hex digits (ARGB), e.g. 0xFF78C06E")
	}
	return nil
}

// Validate checks that the job names its send: a task id or a send job.
func (j *DingTalkRecall) Validate(Env) error {
	return validateTaskRef(TypeDingTalkRecall, "msg_task_id", j.MsgTaskID, j.SendJob)
}

func validateTaskID(job, field string, id int64) error {
	if id <= 0 {
		return invalid(job, field, "must be a positive task id")
	}
	return nil
}

// isARGB reports whether s is "0x" followed by exactly 8 hex digits.
func isARGB(s string) bool {
	if len(s) != 10 || s[:2] != "0x" {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
