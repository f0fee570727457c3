package feishusim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
)

// GET /_sim/records and GET /_feishusim/refresh serve snake_case keys,
// like simkit.Call, and decode back unchanged.
func TestRecordsOverControl(t *testing.T) {
	s := start(t, feishusim.Options{})
	if r := s.post(sendPath("1"), sendHeaders(s.userToken()), `{"send_at":"1624326025000"}`); r.code() != 0 {
		t.Fatalf("execute_send: %s", r.raw)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, c := range []struct {
		path string
		keys []string
	}{
		{simkit.ControlPrefix + "records", []string{"notification_id", "send_at", "user_token", "helpdesk", "at"}},
		{"/_feishusim/refresh", []string{"token", "at", "code", "issued"}},
	} {
		resp, err := http.Get(s.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var objs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &objs); err != nil || len(objs) != 1 {
			t.Fatalf("%s: %s (%v)", c.path, raw, err)
		}
		for k := range objs[0] {
			if !snake.MatchString(k) {
				t.Errorf("%s: key %q is not snake_case", c.path, k)
			}
		}
		for _, k := range c.keys {
			if _, ok := objs[0][k]; !ok {
				t.Errorf("%s: no %q in %s", c.path, k, raw)
			}
		}
	}
	var got []feishusim.Record
	if err := (&simkit.Control{URL: s.base}).Records(t.Context(), &got); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s.Received())
	if again, _ := json.Marshal(got); string(again) != string(want) {
		t.Fatalf("round trip through /_sim/records:\n got %s\nwant %s", again, want)
	}
}
