package easemobsim_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

func TestFaultStatus(t *testing.T) {
	tests := []struct {
		name      string
		fault     easemobsim.Fault
		wantCode  string
		wantRetry string
	}{
		{"503 burst", easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 503, Count: 2}, "server_error", ""},
		{"429 with Retry-After", easemobsim.Fault{
			Kind: easemobsim.FaultStatus, Status: 429, Count: 2, Header: http.Header{"Retry-After": {"3"}},
		}, "reach_limit", "3"},
		{"custom body", easemobsim.Fault{
			Kind: easemobsim.FaultStatus, Status: 403, Count: 2,
			Body: `{"error":"","exception":"x.LimitException","timestamp":1,"duration":0,"error_description":"limit request"}`,
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, easemobsim.Options{QPS: unlimited()})
			tok := s.token()
			tt.fault.Endpoint = easemobsim.PushSingle
			s.Inject(tt.fault)
			body := map[string]any{"targets": []string{"u1"}, "pushMessage": msg()}
			// Other endpoints are not affected.
			if r := s.do("/push/async/u1", tok, body); r.status != 200 {
				t.Fatalf("async hit by a push.single fault: HTTP %d", r.status)
			}
			for i := range 2 {
				r := s.do("/push/single", tok, body)
				if r.status != tt.fault.Status || r.str("error") != tt.wantCode || r.header.Get("Retry-After") != tt.wantRetry {
					t.Fatalf("call %d: HTTP %d %s Retry-After %q", i+1, r.status, r.raw, r.header.Get("Retry-After"))
				}
			}
			if r := s.do("/push/single", tok, body); r.status != 200 {
				t.Fatalf("after the fault's count: HTTP %d %s", r.status, r.raw)
			}
			if n := len(s.Received()); n != 2 {
				t.Fatalf("%d records, want 2 (faulted calls are not received)", n)
			}
		})
	}
}

func TestFaultLatency(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	s.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Delay: 50 * time.Millisecond, Count: 1})
	began := time.Now()
	r := s.do("/push/sync/u1", tok, map[string]any{"pushMessage": msg()})
	if r.status != 200 {
		t.Fatalf("HTTP %d %s", r.status, r.raw)
	}
	if waited := time.Since(began); waited < 50*time.Millisecond {
		t.Fatalf("answered after %v, before the injected 50ms", waited)
	}
	if len(s.Received()) != 1 {
		t.Fatal("a delayed call was not handled")
	}
}

func TestFaultHangAndDrop(t *testing.T) {
	tests := []struct {
		name string
		kind easemobsim.FaultKind
		// timeout is the client's; a hang lasts until it fires.
		timeout time.Duration
	}{
		{"hang until the client gives up", easemobsim.FaultHang, 100 * time.Millisecond},
		{"dropped connection", easemobsim.FaultDrop, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, easemobsim.Options{QPS: unlimited()})
			tok := s.token()
			s.Inject(easemobsim.Fault{Kind: tt.kind, Endpoint: easemobsim.PushTask, Count: 1})
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			req := newPost(t, s.base+"/push/task", map[string]any{"pushMessage": msg()}).WithContext(ctx)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got HTTP %d, want no answer", resp.StatusCode)
			}
			if tt.kind == easemobsim.FaultHang && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the client's deadline", err)
			}
			simtest.WaitUntil(t, "the call to be recorded as unanswered", func() bool {
				calls := s.Calls()
				last := calls[len(calls)-1]
				return last.Endpoint == easemobsim.PushTask && last.Status == 0
			})
			if len(s.Received()) != 0 {
				t.Fatal("an unanswered call was recorded as received")
			}
		})
	}
}

func TestCloseReleasesHungCalls(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	s.Inject(easemobsim.Fault{Kind: easemobsim.FaultHang, Count: 1})
	req := newPost(t, s.base+"/push/task", map[string]any{"pushMessage": msg()})
	req.Header.Set("Authorization", "Bearer "+tok)
	simtest.CheckShutdownReleases(t, s.Kit, req)
}
