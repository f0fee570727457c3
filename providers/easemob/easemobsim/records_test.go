package easemobsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit"
)

// GET /_sim/records serves each Record with snake_case keys, like
// simkit.Call, and simkit.Control decodes them back unchanged.
func TestRecordsOverControl(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	if r := s.do("/push/sync/u1", tok, `{"strategy":2,"pushMessage":{"title":"Hi","content":"x"}}`); r.status != 200 {
		t.Fatalf("sync: HTTP %d %s", r.status, r.raw)
	}
	resp, err := http.Get(s.URL() + simkit.ControlPrefix + "records")
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
	for _, k := range []string{"endpoint", "targets", "strategy", "push_message", "body", "results", "at"} {
		if _, ok := objs[0][k]; !ok {
			t.Errorf("no %q in %s", k, raw)
		}
	}
	var got []easemobsim.Record
	if err := (&simkit.Control{URL: s.URL()}).Records(t.Context(), &got); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s.Received())
	if again, _ := json.Marshal(got); string(again) != string(want) {
		t.Fatalf("round trip through /_sim/records:\n got %s\nwant %s", again, want)
	}
}
