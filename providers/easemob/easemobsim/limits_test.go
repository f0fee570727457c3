package easemobsim_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

func TestQPSLimits(t *testing.T) {
	body := map[string]any{"pushMessage": msg()}
	list := map[string]any{"targets": []string{"u1"}, "pushMessage": msg()}
	tokenBody := map[string]any{"grant_type": "client_credentials", "client_id": "demo-client-id", "client_secret": "demo-client-secret"}
	tests := []struct {
		ep    easemobsim.Endpoint
		path  string
		body  any
		limit int
	}{
		{easemobsim.PushSync, "/push/sync/u1", body, 1},
		{easemobsim.PushSingle, "/push/single", list, 10},
		{easemobsim.PushLabel, "/push/list/label", list, 10},
		{easemobsim.PushTask, "/push/task", body, 1},
		{easemobsim.Token, "/token", tokenBody, 300},
	}
	for _, tt := range tests {
		t.Run(string(tt.ep), func(t *testing.T) {
			clk := newClock()
			s := start(t, easemobsim.Options{Now: clk.Now, TasksPerWindow: 1000, MaxRunningTasks: 1000})
			tok := s.token()
			if tt.ep == easemobsim.Token {
				s.Reset() // forget the token call above
			}
			for i := range tt.limit {
				if r := s.do(tt.path, tok, tt.body); r.status != 200 {
					t.Fatalf("call %d of %d: HTTP %d %s", i+1, tt.limit, r.status, r.raw)
				}
			}
			wantError(t, s.do(tt.path, tok, tt.body), 429, "reach_limit")

			// Still inside the same second: still limited; refused calls
			// do not count against the next second.
			clk.Advance(999 * time.Millisecond)
			wantError(t, s.do(tt.path, tok, tt.body), 429, "reach_limit")
			clk.Advance(time.Millisecond)
			for i := range tt.limit {
				if r := s.do(tt.path, tok, tt.body); r.status != 200 {
					t.Fatalf("next second, call %d: HTTP %d %s", i+1, r.status, r.raw)
				}
			}
		})
	}
}

func TestQPSIsPerEndpointAndConfigurable(t *testing.T) {
	clk := newClock()
	s := start(t, easemobsim.Options{Now: clk.Now, QPS: map[easemobsim.Endpoint]int{easemobsim.PushSync: 2}})
	tok := s.token()
	body := map[string]any{"pushMessage": msg()}
	for range 2 {
		if r := s.do("/push/sync/u1", tok, body); r.status != 200 {
			t.Fatalf("HTTP %d %s", r.status, r.raw)
		}
	}
	wantError(t, s.do("/push/sync/u1", tok, body), 429, "reach_limit")
	if r := s.do("/push/async/u1", tok, body); r.status != 200 {
		t.Fatalf("async limited by sync's window: HTTP %d %s", r.status, r.raw)
	}
}

func TestTaskCreationWindow(t *testing.T) {
	tests := []struct {
		name string
		path string
		body map[string]any
		// after the tasks finish (but inside the window) is a new one
		// allowed? Label tasks leave the count when they finish; all-users
		// tasks count for the whole window.
		freedWhenFinished bool
	}{
		{"all-users", "/push/task", map[string]any{"pushMessage": msg()}, false},
		{"label", "/push/list/label", map[string]any{"targets": []string{"vip"}, "pushMessage": msg()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := start(t, easemobsim.Options{
				Now: clk.Now, QPS: unlimited(),
				TaskWindow: 10 * time.Second, TasksPerWindow: 3, MaxRunningTasks: 100,
				TaskDuration: 5 * time.Second,
			})
			tok := s.token()
			for i := range 3 {
				if r := s.do(tt.path, tok, tt.body); r.status != 200 {
					t.Fatalf("task %d: HTTP %d %s", i+1, r.status, r.raw)
				}
				clk.Advance(time.Second)
			}
			// t0+3s: three tasks in the window, none finished (5 s each).
			r := s.do(tt.path, tok, tt.body)
			wantError(t, r, 403, "LimitException")
			if r.str("error_description") != "limit request" {
				t.Fatalf("error_description %q, want the documented \"limit request\"", r.str("error_description"))
			}
			clk.Advance(4 * time.Second) // t0+7s: all three finished, none left the window
			r = s.do(tt.path, tok, tt.body)
			if tt.freedWhenFinished {
				if r.status != 200 {
					t.Fatalf("after the label tasks finished: HTTP %d %s", r.status, r.raw)
				}
				return
			}
			wantError(t, r, 403, "LimitException")
			clk.Advance(3 * time.Second) // t0+10s: the first task has left the window
			if r := s.do(tt.path, tok, tt.body); r.status != 200 {
				t.Fatalf("after the window: HTTP %d %s", r.status, r.raw)
			}
			wantError(t, s.do(tt.path, tok, tt.body), 403, "LimitException")
		})
	}
}

func TestTaskRunningCap(t *testing.T) {
	clk := newClock() // 10:00 CST
	s := start(t, easemobsim.Options{
		Now: clk.Now, QPS: unlimited(),
		TasksPerWindow: 100, MaxRunningTasks: 3, TaskDuration: 30 * time.Minute,
	})
	tok := s.token()
	// Three tasks scheduled for 12:00: they hold their slots from
	// creation, before they run, until they finish at 12:30.
	scheduled := map[string]any{"startDate": "2026-03-02 12:00:00", "pushMessage": msg()}
	for i := range 3 {
		if r := s.do("/push/task", tok, scheduled); r.status != 200 {
			t.Fatalf("task %d: HTTP %d %s", i+1, r.status, r.raw)
		}
	}
	label := map[string]any{"targets": []string{"vip"}, "pushMessage": msg()}
	wantError(t, s.do("/push/list/label", tok, label), 403, "LimitException")
	clk.Advance(150 * time.Minute) // 12:30: finished
	if r := s.do("/push/list/label", tok, label); r.status != 200 {
		t.Fatalf("after the tasks finished: HTTP %d %s", r.status, r.raw)
	}
	if n := len(s.Received()); n != 4 {
		t.Fatalf("%d tasks recorded, want 4", n)
	}
}

func TestTaskIDs(t *testing.T) {
	t.Run("default ids exceed 2^53", func(t *testing.T) {
		s := start(t, easemobsim.Options{QPS: unlimited()})
		tok := s.token()
		r := s.do("/push/task", tok, map[string]any{"pushMessage": msg()})
		id, err := r.num("data")
		if err != nil || id <= 1<<53 {
			t.Fatalf("task id %d (%v), want more than 2^53: %s", id, err, r.raw)
		}
		if got := s.Received()[0].TaskID; got != r.body["data"].(json.Number).String() {
			t.Fatalf("recorded task id %s, answered %s", got, r.raw)
		}
	})
	t.Run("configured ids, label shape", func(t *testing.T) {
		s := start(t, easemobsim.Options{QPS: unlimited(), TaskID: func() int64 { return 968120369184112182 }})
		r := s.do("/push/list/label", s.token(), map[string]any{"targets": []string{"post-90s"}, "pushMessage": msg()})
		if want := `"data":{"taskId":968120369184112182}`; !strings.Contains(string(r.raw), want) {
			t.Fatalf("reply %s lacks %s", r.raw, want)
		}
	})
}
