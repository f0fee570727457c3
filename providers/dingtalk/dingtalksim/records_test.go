package dingtalksim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/simkit"
)

// GET /_sim/records serves each Record with snake_case keys, like
// simkit.Call, and simkit.Control decodes them back unchanged.
func TestRecordsOverControl(t *testing.T) {
	s := startSim(t, dingtalksim.Options{QPS: -1})
	if m := s.api(t, "asyncsend_v2", sendBody("u1,u2", "7", textMsg)); errcode(m) != 0 {
		t.Fatalf("send: %v", m)
	}
	resp, err := http.Get(s.base + simkit.ControlPrefix + "records")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil || len(objs) != 1 {
		t.Fatalf("records: %s (%v)", raw, err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for k := range objs[0] {
		if !snake.MatchString(k) {
			t.Errorf("key %q is not snake_case: %s", k, raw)
		}
	}
	for _, k := range []string{"endpoint", "task_id", "agent_id", "user_ids", "dept_ids", "msg", "msg_type", "body", "at"} {
		if _, ok := objs[0][k]; !ok {
			t.Errorf("no %q in %s", k, raw)
		}
	}
	var got []dingtalksim.Record
	if err := (&simkit.Control{URL: s.base}).Records(t.Context(), &got); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s.Received())
	if again, _ := json.Marshal(got); string(again) != string(want) {
		t.Fatalf("round trip through /_sim/records:\n got %s\nwant %s", again, want)
	}
}
