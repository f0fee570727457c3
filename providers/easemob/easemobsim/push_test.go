package easemobsim_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

func TestSyncOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		strategy any
		want     string
		wantDesc string
	}{
		{"bound user", "alice", nil, "SUCCESS", ""},
		{"no binding, vendor channel", "nobind", nil, "FAIL", "no push binding"},
		{"no binding, strategy 3 offline via vendor", "nobind", 3, "FAIL", "no push binding"},
		{"no binding, Easemob channel only", "nobind", 1, "SUCCESS", ""},
		{"unknown user", "ghost", 1, "FAIL", "appUser not exists"},
		{"server-side error", "flaky", nil, "ERROR", "connect timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, easemobsim.Options{
				QPS: unlimited(), NoBinding: []string{"nobind"}, UnknownUsers: []string{"ghost"}, ErrorUsers: []string{"flaky"},
			})
			body := map[string]any{"pushMessage": msg()}
			if tt.strategy != nil {
				body["strategy"] = tt.strategy
			}
			r := s.do("/push/sync/"+tt.user, s.token(), body)
			if r.status != 200 {
				t.Fatalf("HTTP %d %s: a push outcome is always HTTP 200", r.status, r.raw)
			}
			var out struct {
				Timestamp int64 `json:"timestamp"`
				Duration  *int  `json:"duration"`
				Data      []struct {
					PushStatus string          `json:"pushStatus"`
					Data       json.RawMessage `json:"data"`
					Desc       string          `json:"desc"`
				} `json:"data"`
			}
			if err := json.Unmarshal(r.raw, &out); err != nil || len(out.Data) != 1 || out.Timestamp == 0 || out.Duration == nil {
				t.Fatalf("reply %s does not have the documented shape (%v)", r.raw, err)
			}
			if out.Data[0].PushStatus != tt.want || out.Data[0].Desc != tt.wantDesc {
				t.Fatalf("pushStatus %q desc %q, want %q %q", out.Data[0].PushStatus, out.Data[0].Desc, tt.want, tt.wantDesc)
			}
			if tt.want == "SUCCESS" && len(out.Data[0].Data) == 0 {
				t.Fatal("SUCCESS without the vendor's result data")
			}
			rec := s.Received()
			if len(rec) != 1 || rec[0].Results[tt.user] != tt.want {
				t.Fatalf("records %+v, want one with %s=%s", rec, tt.user, tt.want)
			}
		})
	}
}

func TestAcceptedPushesAreRecorded(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	target := "user/1 ü" // escaped in the path, one segment
	pm := `{"title":"环信推送","content":"你好","ext":{"order":"A-1"},"vivo":{}}`
	r := s.do("/push/async/"+url.PathEscape(target), tok, `{"strategy":3,"pushMessage":`+pm+`}`)
	if r.status != 200 || !slices.Equal(asStatuses(t, r.raw), []string{"ASYNC_SUCCESS"}) {
		t.Fatalf("async: HTTP %d %s", r.status, r.raw)
	}
	r = s.do("/push/single", tok, map[string]any{"targets": []string{"a", "b"}, "pushMessage": msg()})
	if r.status != 200 {
		t.Fatalf("single: HTTP %d %s", r.status, r.raw)
	}
	var single struct {
		Data []struct{ ID, PushStatus, Desc string } `json:"data"`
	}
	if err := json.Unmarshal(r.raw, &single); err != nil || len(single.Data) != 2 || single.Data[1].ID != "b" || single.Data[1].PushStatus != "ASYNC_SUCCESS" {
		t.Fatalf("single reply %s", r.raw)
	}
	// A rejected call is a Call but not a Record.
	wantError(t, s.do("/push/single", tok, map[string]any{"targets": []string{"a"}}), 400, "MessageException")

	rec := s.Received()
	if len(rec) != 2 {
		t.Fatalf("%d records, want 2", len(rec))
	}
	a := rec[0]
	if a.Endpoint != easemobsim.PushAsync || !slices.Equal(a.Targets, []string{target}) || a.Strategy == nil || *a.Strategy != 3 || string(a.PushMessage) != pm {
		t.Fatalf("async record %+v", a)
	}
	if b := rec[1]; b.Endpoint != easemobsim.PushSingle || !slices.Equal(b.Targets, []string{"a", "b"}) || b.Strategy != nil {
		t.Fatalf("single record %+v", b)
	}
	calls := s.Calls()
	if len(calls) != 4 || calls[0].Endpoint != easemobsim.Token || calls[3].Status != 400 || calls[3].Error != "MessageException" {
		t.Fatalf("calls %+v", calls)
	}
	s.Reset()
	if len(s.Received()) != 0 || len(s.Calls()) != 0 {
		t.Fatal("Reset kept records")
	}
	if r := s.do("/push/single", tok, map[string]any{"targets": []string{"a"}, "pushMessage": msg()}); r.status != 200 {
		t.Fatalf("token lost by Reset: HTTP %d", r.status)
	}
}

func asStatuses(t *testing.T, raw []byte) []string {
	t.Helper()
	var out struct {
		Data []struct {
			PushStatus string `json:"pushStatus"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, d := range out.Data {
		s = append(s, d.PushStatus)
	}
	return s
}

func TestRecordsAreBounded(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited(), MaxRecords: 2})
	tok := s.token()
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		if r := s.do("/push/async/"+u, tok, map[string]any{"pushMessage": msg()}); r.status != 200 {
			t.Fatalf("HTTP %d", r.status)
		}
	}
	rec := s.Received()
	if len(rec) > 4 || rec[len(rec)-1].Targets[0] != "e" {
		t.Fatalf("%d records ending %v; want at most 4, newest kept", len(rec), rec[len(rec)-1].Targets)
	}
	if n := len(s.Calls()); n > 4 {
		t.Fatalf("%d calls kept, want at most 4", n)
	}
	if s.TokensIssued() != 1 {
		t.Fatal("trimming the calls lost the token count")
	}
}
