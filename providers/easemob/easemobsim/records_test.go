package easemobsim_test

import (
	"testing"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// GET /_sim/records serves each Record with snake_case keys, like
// simkit.Call, and simkit.Control decodes them back unchanged.
func TestRecordsOverControl(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	if r := s.do("/push/sync/u1", tok, `{"strategy":2,"pushMessage":{"title":"Hi","content":"x"}}`); r.status != 200 {
		t.Fatalf("sync: HTTP %d %s", r.status, r.raw)
	}
	simtest.CheckRecords(t, s.URL(), s.Received(),
		"endpoint", "targets", "strategy", "push_message", "body", "results", "at")
}
