package feishusim_test

import (
	"testing"

	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// GET /_sim/records and GET /_feishusim/refresh serve snake_case keys,
// like simkit.Call, and decode back unchanged.
func TestRecordsOverControl(t *testing.T) {
	s := start(t, feishusim.Options{})
	if r := s.post(sendPath("1"), sendHeaders(s.userToken()), `{"send_at":"1624326025000"}`); r.code() != 0 {
		t.Fatalf("execute_send: %s", r.raw)
	}
	simtest.CheckRecords(t, s.base, s.Received(), "notification_id", "send_at", "user_token", "helpdesk", "at")
	simtest.CheckSnakeCase(t, s.base+"/_feishusim/refresh", "token", "at", "code", "issued")
}
