package dingtalksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Documented limits of one asyncsend_v2 call.
const (
	maxUsers  = 100
	maxDepts  = 20
	maxMsg    = 2048
	queryable = 24 * time.Hour // progress, result and recall
)

// required lists each msgtype's required fields [U: DingTalk's message-type
// reference, not the seed].
var required = map[string][]string{
	"text":        {"content"},
	"image":       {"media_id"},
	"voice":       {"media_id", "duration"},
	"file":        {"media_id"},
	"link":        {"messageUrl", "picUrl", "title", "text"},
	"oa":          {"message_url", "head", "body"},
	"markdown":    {"title", "text"},
	"action_card": {"title", "markdown"},
}

// task is a send DingTalk accepted.
type task struct {
	id       int64
	created  time.Time
	result   sendResult
	recalled bool
}

// sendResult is getsendresult's send_result, in the simulator's own type.
type sendResult struct {
	Invalid      []string    `json:"invalid_user_id_list"`
	Forbidden    []string    `json:"forbidden_user_id_list"`
	Failed       []string    `json:"failed_user_id_list"`
	Read         []string    `json:"read_user_id_list"`
	Unread       []string    `json:"unread_user_id_list"`
	InvalidDepts []int64     `json:"invalid_dept_id_list"`
	Reasons      []forbidden `json:"forbidden_list"`
}

type forbidden struct {
	Code   string `json:"code"`
	Count  int64  `json:"count"`
	UserID string `json:"userid"`
}

// sendRequest is asyncsend_v2's body as DingTalk documents it: the lists
// are comma-separated strings, msg an object.
type sendRequest struct {
	AgentID    json.Number     `json:"agent_id"`
	UseridList *string         `json:"userid_list"`
	DeptIDList *string         `json:"dept_id_list"`
	ToAllUser  *bool           `json:"to_all_user"`
	Msg        json.RawMessage `json:"msg"`
}

type taskRequest struct {
	AgentID json.Number `json:"agent_id"`
	TaskID  json.Number `json:"task_id"`
}

type statusBarRequest struct {
	AgentID     json.Number `json:"agent_id"`
	TaskID      json.Number `json:"task_id"`
	StatusValue *string     `json:"status_value"`
	StatusBg    *string     `json:"status_bg"`
}

type recallRequest struct {
	AgentID   json.Number `json:"agent_id"`
	MsgTaskID json.Number `json:"msg_task_id"`
}

// agent checks agent_id: missing is 40035, another app's 40056.
func (s *Server) agent(w http.ResponseWriter, r *http.Request, n json.Number) (int64, bool) {
	if n == "" {
		fail(w, r, errInvalidParam("agent_id is required"))
		return 0, false
	}
	id, err := n.Int64()
	if err != nil || id != s.opts.AgentID {
		fail(w, r, errBadAgent())
		return 0, false
	}
	return id, true
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, body []byte) {
	var req sendRequest
	if err := decode(body, &req); err != nil {
		fail(w, r, errInvalidParam("body is not the documented JSON object: "+err.Error()))
		return
	}
	agent, okAgent := s.agent(w, r, req.AgentID)
	if !okAgent {
		return
	}
	var users []string
	if req.UseridList != nil && *req.UseridList != "" {
		users = strings.Split(*req.UseridList, ",")
		if len(users) > maxUsers {
			fail(w, r, errInvalidParam(fmt.Sprintf("userid_list has %d ids, at most %d", len(users), maxUsers)))
			return
		}
		for _, u := range users {
			if u == "" || strings.TrimSpace(u) != u {
				fail(w, r, errInvalidParam("userid_list has an empty or padded id"))
				return
			}
		}
	}
	var depts []int64
	if req.DeptIDList != nil && *req.DeptIDList != "" {
		parts := strings.Split(*req.DeptIDList, ",")
		if len(parts) > maxDepts {
			fail(w, r, errInvalidParam(fmt.Sprintf("dept_id_list has %d ids, at most %d", len(parts), maxDepts)))
			return
		}
		for _, p := range parts {
			id, err := strconv.ParseInt(p, 10, 64)
			if err != nil {
				fail(w, r, errInvalidParam("dept_id_list: "+strconv.Quote(p)+" is not a department id"))
				return
			}
			depts = append(depts, id)
		}
	}
	toAll := req.ToAllUser != nil && *req.ToAllUser
	if !toAll && len(users) == 0 && len(depts) == 0 {
		fail(w, r, apiError{Code: 1430000, Msg: "接收人为空 (no recipients)"})
		return
	}
	msgType, e := checkMsg(req.Msg)
	if e.Code != 0 {
		fail(w, r, e)
		return
	}
	for _, word := range s.opts.Prohibited {
		if word != "" && bytes.Contains(req.Msg, []byte(word)) {
			fail(w, r, apiError{Code: 1430002, Msg: "消息内容包含违禁内容 (prohibited content)"})
			return
		}
	}

	now := s.Now()
	s.mu.Lock()
	s.lastID++
	t := &task{id: 200000000000 + s.lastID, created: now}
	t.result = s.deliver(now, users, depts, toAll, req.Msg)
	s.tasks[t.id] = t
	s.mu.Unlock()

	s.Record(Record{Endpoint: Send, TaskID: t.id, AgentID: agent, UserIDs: users, DeptIDs: depts,
		ToAllUser: toAll, Msg: req.Msg, MsgType: msgType, Body: body, At: now})
	ok(w, r, map[string]any{"task_id": t.id})
}

// checkMsg checks msg: an object of at most 2048 bytes with a known msgtype
// and that type's block holding its required fields. Every failure is
// 40035 [U: DingTalk's exact code for each is not documented].
func checkMsg(raw json.RawMessage) (string, apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errInvalidParam("msg is required")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return "", errInvalidParam("msg is not JSON")
	}
	if compact.Len() > maxMsg {
		return "", errInvalidParam(fmt.Sprintf("msg is %d bytes, at most %d", compact.Len(), maxMsg))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", errInvalidParam("msg must be an object")
	}
	var typ string
	_ = json.Unmarshal(m["msgtype"], &typ)
	fields, known := required[typ]
	if !known {
		return "", errInvalidParam("msg.msgtype " + strconv.Quote(typ) + " is not a work-notice type")
	}
	var block map[string]json.RawMessage
	if err := json.Unmarshal(m[typ], &block); err != nil || block == nil {
		return "", errInvalidParam("msg." + typ + " is required for msgtype " + typ)
	}
	for _, f := range fields {
		if v := string(block[f]); v == "" || v == "null" || v == `""` {
			return "", errInvalidParam("msg." + typ + "." + f + " is required")
		}
	}
	return typ, apiError{}
}

// deliver works out, at send time, what getsendresult will say: unknown
// users are invalid; a user who already got this content today, or has had
// DailyCap messages today, is forbidden (143106, 143105); the rest are sent
// and counted. Call with s.mu held.
func (s *Server) deliver(now time.Time, users []string, depts []int64, toAll bool, msg json.RawMessage) sendResult {
	res := sendResult{}
	var recipients []string
	if toAll {
		recipients = append(recipients, s.opts.Users...)
	}
	for _, u := range users {
		if !s.exists(u) {
			res.Invalid = append(res.Invalid, u)
			continue
		}
		recipients = append(recipients, u)
	}
	for _, d := range depts {
		members, ok := s.opts.Depts[d]
		if s.opts.Depts != nil && !ok {
			res.InvalidDepts = append(res.InvalidDepts, d)
			continue
		}
		recipients = append(recipients, members...)
	}
	day := now.In(s.opts.Zone).Format("2006-01-02")
	var content bytes.Buffer
	_ = json.Compact(&content, msg)
	seen := map[string]bool{}
	for _, u := range recipients {
		if seen[u] {
			continue // DingTalk sends once per user per call
		}
		seen[u] = true
		dayKey, contentKey := u+"|"+day, u+"|"+day+"|"+content.String()
		switch {
		case s.content[contentKey]:
			res.Forbidden = append(res.Forbidden, u)
			res.Reasons = append(res.Reasons, forbidden{Code: "143106", Count: 1, UserID: u})
		case s.perDay[dayKey] >= s.opts.DailyCap:
			res.Forbidden = append(res.Forbidden, u)
			res.Reasons = append(res.Reasons, forbidden{Code: "143105", Count: int64(s.opts.DailyCap), UserID: u})
		case slices.Contains(s.opts.FailedUsers, u):
			res.Failed = append(res.Failed, u)
		default:
			s.perDay[dayKey]++
			s.content[contentKey] = true
			if slices.Contains(s.opts.ReadUsers, u) {
				res.Read = append(res.Read, u)
			} else {
				res.Unread = append(res.Unread, u)
			}
		}
	}
	return res
}

func (s *Server) exists(u string) bool {
	if slices.Contains(s.opts.UnknownUsers, u) {
		return false
	}
	return s.opts.Users == nil || slices.Contains(s.opts.Users, u)
}

// lookup finds a task the app created that can still be queried: 40035
// for an unknown id or one older than 24 h [U: DingTalk's code for these
// is not documented].
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, field string, n json.Number) (*task, bool) {
	id, err := n.Int64()
	if n == "" || err != nil || id <= 0 {
		fail(w, r, errInvalidParam(field+" is required"))
		return nil, false
	}
	s.mu.Lock()
	t, ok := s.tasks[id]
	s.mu.Unlock()
	if !ok {
		fail(w, r, errInvalidParam(field+" "+n.String()+" is not a task of this app"))
		return nil, false
	}
	if s.Now().Sub(t.created) >= queryable {
		fail(w, r, errInvalidParam(field+" "+n.String()+" is older than 24 h"))
		return nil, false
	}
	return t, true
}

// percent is how far t has got: linear over TaskDuration.
func (s *Server) percent(t *task) int {
	el := s.Now().Sub(t.created)
	if el >= s.opts.TaskDuration {
		return 100
	}
	return max(0, int(el*100/s.opts.TaskDuration))
}

// taskCall reads the {agent_id, task_id} body that getsendprogress and
// getsendresult share, answering the documented error itself when the body,
// the agent or the task is wrong.
func (s *Server) taskCall(w http.ResponseWriter, r *http.Request, body []byte) (*task, int64, bool) {
	var req taskRequest
	if err := decode(body, &req); err != nil {
		fail(w, r, errInvalidParam("body is not the documented JSON object"))
		return nil, 0, false
	}
	agent, valid := s.agent(w, r, req.AgentID)
	if !valid {
		return nil, 0, false
	}
	t, found := s.lookup(w, r, "task_id", req.TaskID)
	return t, agent, found
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request, body []byte) {
	t, agent, found := s.taskCall(w, r, body)
	if !found {
		return
	}
	p := s.percent(t)
	status := 1
	switch {
	case p >= 100:
		status = 2
	case p == 0:
		status = 0
	}
	s.Record(Record{Endpoint: Progress, TaskID: t.id, AgentID: agent, Body: body, At: s.Now()})
	ok(w, r, map[string]any{"progress": map[string]int{"progress_in_percent": p, "status": status}})
}

func (s *Server) result(w http.ResponseWriter, r *http.Request, body []byte) {
	t, agent, found := s.taskCall(w, r, body)
	if !found {
		return
	}
	s.Record(Record{Endpoint: Result, TaskID: t.id, AgentID: agent, Body: body, At: s.Now()})
	ok(w, r, map[string]any{"send_result": t.result})
}

func (s *Server) statusBar(w http.ResponseWriter, r *http.Request, body []byte) {
	var req statusBarRequest
	if err := decode(body, &req); err != nil {
		fail(w, r, errInvalidParam("body is not the documented JSON object"))
		return
	}
	agent, okAgent := s.agent(w, r, req.AgentID)
	if !okAgent {
		return
	}
	if req.StatusValue == nil || *req.StatusValue == "" {
		fail(w, r, errInvalidParam("status_value is required"))
		return
	}
	t, found := s.lookup(w, r, "task_id", req.TaskID)
	if !found {
		return
	}
	rec := Record{Endpoint: StatusBar, TaskID: t.id, AgentID: agent, StatusValue: *req.StatusValue, Body: body, At: s.Now()}
	if req.StatusBg != nil {
		rec.StatusBg = *req.StatusBg
	}
	s.Record(rec)
	ok(w, r)
}

func (s *Server) recall(w http.ResponseWriter, r *http.Request, body []byte) {
	var req recallRequest
	if err := decode(body, &req); err != nil {
		fail(w, r, errInvalidParam("body is not the documented JSON object"))
		return
	}
	agent, okAgent := s.agent(w, r, req.AgentID)
	if !okAgent {
		return
	}
	t, found := s.lookup(w, r, "msg_task_id", req.MsgTaskID)
	if !found {
		return
	}
	s.mu.Lock()
	t.recalled = true
	s.mu.Unlock()
	s.Record(Record{Endpoint: Recall, TaskID: t.id, AgentID: agent, Body: body, At: s.Now()})
	ok(w, r)
}
