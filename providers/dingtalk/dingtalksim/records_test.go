package dingtalksim_test

import (
	"testing"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// GET /_sim/records serves each Record with snake_case keys, like
// simkit.Call, and simkit.Control decodes them back unchanged.
func TestRecordsOverControl(t *testing.T) {
	s := startSim(t, dingtalksim.Options{QPS: -1})
	if m := s.api(t, "asyncsend_v2", sendBody("u1,u2", "7", textMsg)); errcode(m) != 0 {
		t.Fatalf("send: %v", m)
	}
	simtest.CheckRecords(t, s.base, s.Received(),
		"endpoint", "task_id", "agent_id", "user_ids", "dept_ids", "msg", "msg_type", "body", "at")
}
