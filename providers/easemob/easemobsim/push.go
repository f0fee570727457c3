package easemobsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// pushStatus is one entry of push/sync's and push/async's data list.
type pushStatus struct {
	PushStatus string `json:"pushStatus"`
	Data       any    `json:"data,omitempty"`
	Desc       string `json:"desc,omitempty"`
}

// pushOne answers push/sync/{target} and push/async/{target}.
func (s *Server) pushOne(c *call, ep Endpoint, target string, body []byte) {
	req, ok := s.parsePush(c, body, bodyRules{})
	if !ok {
		return
	}
	rec := Record{
		Endpoint: ep, Targets: []string{target}, Strategy: req.strategy,
		PushMessage: req.pushMessage, Body: body, At: s.now(),
	}
	if ep == PushAsync {
		s.Record(rec)
		// The async data is documented as "" (the notification's content,
		// empty in every example).
		c.ok([]map[string]string{{"pushStatus": "ASYNC_SUCCESS", "data": "", "desc": "success"}})
		return
	}
	st := s.syncOutcome(target, req.strategy)
	rec.Results = map[string]string{target: st.PushStatus}
	s.Record(rec)
	c.ok([]pushStatus{st})
}

// syncOutcome is what push/sync reports for one user. A refusal is still
// HTTP 200, with pushStatus FAIL; ERROR is a failure on Easemob's side.
func (s *Server) syncOutcome(user string, strategy *int) pushStatus {
	switch {
	case slices.Contains(s.opts.UnknownUsers, user):
		return pushStatus{PushStatus: "FAIL", Desc: "appUser not exists"}
	case slices.Contains(s.opts.ErrorUsers, user):
		return pushStatus{PushStatus: "ERROR", Desc: "connect timed out"}
	case slices.Contains(s.opts.NoBinding, user) && usesVendor(strategy):
		return pushStatus{PushStatus: "FAIL", Desc: "no push binding"}
	}
	// The vendor's answer, shaped like the documented example.
	return pushStatus{PushStatus: "SUCCESS", Data: map[string]any{
		"code": 200,
		"data": map[string]any{
			"expireTokens": []string{},
			"sendResult":   true,
			"requestId":    simkit.RandomHex(8) + "-" + simkit.RandomHex(16),
			"failTokens":   []string{},
			"msgCode":      200,
		},
		"message": "Success",
	}}
}

// usesVendor reports whether a strategy relies on a vendor channel, and so
// on the user's push binding. 1 and 4 use Easemob's own channel only [U: the
// docs show "no push binding" only for pushes through a vendor channel].
func usesVendor(strategy *int) bool {
	if strategy == nil {
		return true // default 2: vendor channels only
	}
	return *strategy != 1 && *strategy != 4
}

// pushSingle answers push/single: up to 100 targets, accepted
// asynchronously.
func (s *Server) pushSingle(c *call, body []byte) {
	req, ok := s.parsePush(c, body, bodyRules{targets: true, maxTargets: maxTargets})
	if !ok {
		return
	}
	s.Record(Record{
		Endpoint: PushSingle, Targets: req.targets, Strategy: req.strategy,
		PushMessage: req.pushMessage, Body: body, At: s.now(),
	})
	data := make([]map[string]string, len(req.targets))
	for i, t := range req.targets {
		data[i] = map[string]string{"id": t, "pushStatus": "ASYNC_SUCCESS", "desc": "async success."}
	}
	c.ok(data)
}

// pushLabel answers push/list/label: exactly one label, optional
// startDate; it creates a push task, subject to the task caps.
func (s *Server) pushLabel(c *call, body []byte) {
	req, ok := s.parsePush(c, body, bodyRules{targets: true, maxTargets: 1, startDate: true})
	if !ok {
		return
	}
	label := req.targets[0]
	if s.opts.Labels != nil {
		if _, ok := s.opts.Labels[label]; !ok {
			c.fail(http.StatusBadRequest, errIllegalArgument("label "+label+" does not exist"))
			return
		}
	}
	id, ok := s.createTask(labelTask, req.start)
	if !ok {
		c.fail(http.StatusForbidden, errLimit())
		return
	}
	s.Record(Record{
		Endpoint: PushLabel, Targets: req.targets, Strategy: req.strategy, PushMessage: req.pushMessage,
		StartDate: req.startDate, TaskID: strconv.FormatInt(id, 10), Body: body, At: s.now(),
	})
	c.ok(map[string]json.Number{"taskId": json.Number(strconv.FormatInt(id, 10))})
}

// pushTask answers push/task: a push to every user, optional startDate; it
// creates a push task, subject to the task caps.
func (s *Server) pushTask(c *call, body []byte) {
	req, ok := s.parsePush(c, body, bodyRules{startDate: true})
	if !ok {
		return
	}
	id, ok := s.createTask(allUsersTask, req.start)
	if !ok {
		c.fail(http.StatusForbidden, errLimit())
		return
	}
	s.Record(Record{
		Endpoint: PushTask, Strategy: req.strategy, PushMessage: req.pushMessage,
		StartDate: req.startDate, TaskID: strconv.FormatInt(id, 10), Body: body, At: s.now(),
	})
	c.ok(json.Number(strconv.FormatInt(id, 10)))
}
