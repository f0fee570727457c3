package easemob_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
)

func TestPushDeliversTheDocumentedBody(t *testing.T) {
	clk := newClock()                       // 2026-03-02 10:00 CST
	const startDate = "2026-03-02 12:30:00" // 2.5 h ahead in the server's zone
	pm := tasks.PushMessage{
		Title:   "环信推送",
		Content: "你好，欢迎使用环信推送服务",
		Ext:     map[string]any{"order": "A-1"},
		Config:  &tasks.PushConfig{ClickAction: &tasks.ClickAction{URL: "https://example.com/o/A-1"}},
		Vivo:    json.RawMessage(`{"category":"ORDER"}`),
	}
	tests := []struct {
		name         string
		job          tasks.Job
		wantEndpoint easemobsim.Endpoint
		wantTargets  []string
		wantStrategy *int
		wantStart    string
		// check looks at the result
		check func(t *testing.T, res any, rec easemobsim.Record)
	}{
		{
			name:         "sync",
			job:          &tasks.EasemobPushSync{Target: "user 1/ü", Strategy: ptr(3), PushMessage: pm},
			wantEndpoint: easemobsim.PushSync, wantTargets: []string{"user 1/ü"}, wantStrategy: ptr(3),
			check: func(t *testing.T, res any, _ easemobsim.Record) {
				r := res.(*easemob.SyncResult)
				if !r.Delivered || r.PushStatus != "SUCCESS" || r.Target != "user 1/ü" || len(r.Outcomes[0].Data) == 0 || r.Timestamp == 0 {
					t.Fatalf("result %+v", r)
				}
			},
		},
		{
			name:         "async",
			job:          &tasks.EasemobPushAsync{Target: "u2", PushMessage: pm},
			wantEndpoint: easemobsim.PushAsync, wantTargets: []string{"u2"},
			check: func(t *testing.T, res any, _ easemobsim.Record) {
				r := res.(*easemob.AsyncResult)
				if !r.Accepted || r.PushStatus != "ASYNC_SUCCESS" || r.Target != "u2" {
					t.Fatalf("result %+v", r)
				}
			},
		},
		{
			name:         "single",
			job:          &tasks.EasemobPushSingle{Targets: []string{"a", "b", "c"}, Strategy: ptr(0), PushMessage: pm},
			wantEndpoint: easemobsim.PushSingle, wantTargets: []string{"a", "b", "c"}, wantStrategy: ptr(0),
			check: func(t *testing.T, res any, _ easemobsim.Record) {
				r := res.(*easemob.SingleResult)
				if len(r.Targets) != 3 || r.Targets[2].ID != "c" || r.Targets[2].PushStatus != "ASYNC_SUCCESS" {
					t.Fatalf("result %+v", r)
				}
			},
		},
		{
			name:         "label, scheduled",
			job:          &tasks.EasemobPushLabel{Targets: []string{"post-90s"}, StartDate: startDate, Strategy: ptr(2), PushMessage: pm},
			wantEndpoint: easemobsim.PushLabel, wantTargets: []string{"post-90s"}, wantStrategy: ptr(2), wantStart: startDate,
			check: func(t *testing.T, res any, rec easemobsim.Record) {
				if r := res.(*easemob.TaskResult); r.TaskID == "" || r.TaskID != rec.TaskID {
					t.Fatalf("task id %q, simulator created %q", r.TaskID, rec.TaskID)
				}
			},
		},
		{
			name:         "all users, now",
			job:          &tasks.EasemobPushTask{PushMessage: pm},
			wantEndpoint: easemobsim.PushTask,
			check: func(t *testing.T, res any, rec easemobsim.Record) {
				if r := res.(*easemob.TaskResult); r.TaskID == "" || r.TaskID != rec.TaskID {
					t.Fatalf("task id %q, simulator created %q", r.TaskID, rec.TaskID)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sim := setup(t, relaxed(easemobsim.Options{Now: clk.Now}))
			res, err := c.Send(t.Context(), tt.job)
			if err != nil {
				t.Fatal(err)
			}
			recs := sim.Received()
			if len(recs) != 1 {
				t.Fatalf("simulator received %d pushes, want 1", len(recs))
			}
			rec := recs[0]
			if rec.Endpoint != tt.wantEndpoint || !slices.Equal(rec.Targets, tt.wantTargets) || rec.StartDate != tt.wantStart {
				t.Fatalf("received %s to %q starting %q; want %s to %q starting %q",
					rec.Endpoint, rec.Targets, rec.StartDate, tt.wantEndpoint, tt.wantTargets, tt.wantStart)
			}
			if !reflect.DeepEqual(rec.Strategy, tt.wantStrategy) {
				t.Fatalf("strategy %v, want %v", deref(rec.Strategy), deref(tt.wantStrategy))
			}
			got := fields(t, rec.PushMessage)
			want := map[string]any{
				"title": pm.Title, "content": pm.Content,
				"ext":    map[string]any{"order": "A-1"},
				"config": map[string]any{"clickAction": map[string]any{"url": "https://example.com/o/A-1"}},
				"vivo":   map[string]any{"category": "ORDER"},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("pushMessage %v, want %v", got, want)
			}
			body := fields(t, rec.Body)
			for _, k := range []string{"target", "Target", "account"} {
				if _, ok := body[k]; ok {
					t.Fatalf("body carries %q: %s", k, rec.Body)
				}
			}
			if _, ok := body["strategy"]; ok != (tt.wantStrategy != nil) {
				t.Fatalf("strategy sent = %v, want %v: %s", ok, tt.wantStrategy != nil, rec.Body)
			}
			tt.check(t, res, rec)
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestSyncFailIsAResultNotAnError(t *testing.T) {
	tests := []struct {
		user     string
		wantDesc string
	}{
		{"nobind", "no push binding"},
		{"ghost", "appUser not exists"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c, _ := setup(t, relaxed(easemobsim.Options{NoBinding: []string{"nobind"}, UnknownUsers: []string{"ghost"}}))
			res, err := c.PushSync(t.Context(), &tasks.EasemobPushSync{Target: tt.user, PushMessage: tasks.PushMessage{Title: "t", Content: "c"}})
			if err != nil {
				t.Fatalf("err = %v, want a FAIL result", err)
			}
			if res.Delivered || res.PushStatus != "FAIL" || res.Desc != tt.wantDesc || res.Target != tt.user {
				t.Fatalf("result %+v, want FAIL %q", res, tt.wantDesc)
			}
		})
	}
}

func TestSyncErrorIsTransient(t *testing.T) {
	c, sim := setup(t, relaxed(easemobsim.Options{ErrorUsers: []string{"flaky"}}))
	_, err := c.PushSync(t.Context(), &tasks.EasemobPushSync{Target: "flaky", PushMessage: tasks.PushMessage{Title: "t"}})
	pe := providerError(t, err)
	if pe.Class != providers.Transient || pe.Code != "ERROR" || pe.Message != "connect timed out" || pe.Op != "push.sync" {
		t.Fatalf("error %+v, want transient ERROR", pe)
	}
	if len(sim.Received()) != 1 {
		t.Fatal("the push did not reach the simulator")
	}
}

func TestTaskIDPrecision(t *testing.T) {
	const id = 968120369184112182 // Easemob's documented example; not a float64
	if int64(float64(id)) == id {
		t.Fatal("test id is exactly representable; pick one that is not")
	}
	tests := []struct {
		name string
		job  tasks.Job
	}{
		{"label", &tasks.EasemobPushLabel{Targets: []string{"vip"}, PushMessage: tasks.PushMessage{Title: "t"}}},
		{"all users", &tasks.EasemobPushTask{PushMessage: tasks.PushMessage{Title: "t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, relaxed(easemobsim.Options{TaskID: func() int64 { return id }}))
			res, err := c.Send(t.Context(), tt.job)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.(*easemob.TaskResult).TaskID; got != "968120369184112182" {
				t.Fatalf("task id %s, want 968120369184112182", got)
			}
			b, _ := json.Marshal(res)
			if want := `"taskId":"968120369184112182"`; !json.Valid(b) || !strings.Contains(string(b), want) {
				t.Fatalf("result JSON %s lacks %s", b, want)
			}
		})
	}
}

func TestSendRejectsOtherJobs(t *testing.T) {
	c, sim := setup(t, relaxed(easemobsim.Options{}))
	_, err := c.Send(t.Context(), &tasks.FeishuExecuteSend{})
	pe := providerError(t, err)
	if pe.Class != providers.Permanent || pe.Code != "unsupported_job" {
		t.Fatalf("error %+v", pe)
	}
	if len(sim.Calls()) != 0 {
		t.Fatal("an unsupported job reached the provider")
	}
}
