package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/worker"
)

// A job posted over HTTP is validated, split, enqueued, run by the worker
// and delivered to the simulator; its status then says so.
func TestAPIJobIsDelivered(t *testing.T) {
	s := newStack(t, nil)
	users := make([]string, 150)
	for i := range users {
		users[i] = fmt.Sprintf("u%03d", i)
	}
	targets, _ := json.Marshal(users)
	res := s.do(t, "POST", "/v1/jobs", `{"type":"easemob:push.single","account":"default","max_retry":3,"timeout":"20s",
		"payload":{"targets":`+string(targets)+`,"pushMessage":{"title":"Shipped","content":"Your parcel is on its way"}}}`,
		"Idempotency-Key", "order-1")
	if res.status != http.StatusCreated {
		t.Fatalf("POST: %d %s, want 201", res.status, res.body)
	}
	rc := res.receipt(t)
	if len(rc.Tasks) != 2 || rc.Tasks[0].ID != "order-1" || rc.Tasks[1].ID != "order-1/2" || rc.Duplicate {
		t.Fatalf("receipt %+v: want tasks order-1 and order-1/2, not duplicate", rc)
	}
	if loc := res.header.Get("Location"); loc != "" {
		t.Errorf("Location %q for a split job: which task would it be?", loc)
	}
	for _, task := range rc.Tasks {
		if _, off := task.ProcessAt.Zone(); off != 0 {
			t.Errorf("process_at %v is not UTC", task.ProcessAt)
		}
		st := s.waitState(t, task.ID, "completed")
		if st.Account != "default" || st.Type != "easemob:push.single" || len(st.Result) == 0 {
			t.Errorf("status %+v: want the account, type and the provider's result", st)
		}
	}
	var got []string
	for _, rec := range s.sim.Received() {
		if rec.Endpoint != easemobsim.PushSingle {
			t.Errorf("endpoint %s, want push.single", rec.Endpoint)
		}
		got = append(got, rec.Targets...)
	}
	slices.Sort(got)
	if !slices.Equal(got, users) {
		t.Errorf("the simulator got %d targets, want exactly the 150 posted", len(got))
	}
	// A split part's id is also taken with its slash unescaped, which
	// OpenAPI cannot describe, so this asks without the validating client.
	req, _ := http.NewRequest("GET", s.url+"/v1/jobs/order-1/2", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/jobs/order-1/2: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

// The same Idempotency-Key enqueues once: 201, then 200 with the same task
// marked duplicate, and the simulator is called once. The key with another
// job is a conflict.
func TestAPIIdempotencyKey(t *testing.T) {
	s := newStack(t, nil)
	body := `{"type":"easemob:push.async","payload":{"target":"alice","pushMessage":{"title":"Once","content":"only once"}}}`
	first := s.do(t, "POST", "/v1/jobs", body, "Idempotency-Key", "k-1")
	second := s.do(t, "POST", "/v1/jobs", body, "Idempotency-Key", "k-1")
	if first.status != http.StatusCreated || second.status != http.StatusOK {
		t.Fatalf("statuses %d, %d; want 201 then 200", first.status, second.status)
	}
	if r := second.receipt(t); !r.Duplicate || !r.Tasks[0].Duplicate || r.Tasks[0].ID != "k-1" {
		t.Fatalf("second receipt %s: want task k-1 marked duplicate", second.body)
	}
	if loc := first.header.Get("Location"); loc != "/v1/jobs/k-1" {
		t.Errorf("Location %q, want /v1/jobs/k-1", loc)
	}
	s.waitState(t, "k-1", "completed")
	if n := len(s.sim.Received()); n != 1 {
		t.Errorf("simulator received %d, want 1", n)
	}
	other := s.do(t, "POST", "/v1/jobs", strings.Replace(body, "alice", "bob", 1), "Idempotency-Key", "k-1")
	if e := other.apiErr(t); other.status != http.StatusConflict || e.Code != "key_reused" || e.Field != "Idempotency-Key" {
		t.Errorf("same key, other job: %d %+v; want 409 key_reused", other.status, e)
	}
	bad := s.do(t, "POST", "/v1/jobs", body, "Idempotency-Key", "has space")
	if e := bad.apiErr(t); bad.status != http.StatusBadRequest || e.Field != "Idempotency-Key" || !strings.Contains(e.Rule, "spaces") {
		t.Errorf("key with a space: %d %+v; want 400 naming Idempotency-Key", bad.status, e)
	}
}

// A scheduled job can be listed and cancelled before it is due; then it is
// gone. A completed one cannot be cancelled.
func TestAPICancelScheduled(t *testing.T) {
	s := newStack(t, nil)
	res := s.do(t, "POST", "/v1/jobs", `{"type":"easemob:push.sync","deliver_in":"1h",
		"payload":{"target":"carol","pushMessage":{"title":"Later","content":"in an hour"}}}`, "Idempotency-Key", "later-1")
	if res.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.status, res.body)
	}
	if due := res.receipt(t).Tasks[0].ProcessAt; time.Until(due) < 59*time.Minute {
		t.Errorf("process_at %v, want an hour ahead", due)
	}
	if st := s.waitState(t, "later-1", "scheduled"); st.Queue != "easemob" {
		t.Errorf("queue %q", st.Queue)
	}
	list := s.do(t, "GET", "/v1/queues/easemob/jobs?state=scheduled&size=10", "")
	var l struct {
		Total int
		Jobs  []status
	}
	if err := json.Unmarshal(list.body, &l); err != nil || list.status != http.StatusOK {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	if l.Total != 1 || len(l.Jobs) != 1 || l.Jobs[0].ID != "later-1" || l.Jobs[0].State != "scheduled" {
		t.Fatalf("list = %s, want later-1 scheduled", list.body)
	}

	if res := s.do(t, "DELETE", "/v1/jobs/later-1", ""); res.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s, want 204", res.status, res.body)
	}
	if res := s.do(t, "GET", "/v1/jobs/later-1", ""); res.status != http.StatusNotFound || res.apiErr(t).Code != "not_found" {
		t.Errorf("GET after cancel: %d %s, want 404 not_found", res.status, res.body)
	}
	if res := s.do(t, "DELETE", "/v1/jobs/later-1", ""); res.status != http.StatusNotFound {
		t.Errorf("DELETE again: %d, want 404", res.status)
	}

	done := s.do(t, "POST", "/v1/jobs", `{"type":"easemob:push.sync","payload":{"target":"dave","pushMessage":{"title":"Now","content":"now"}}}`,
		"Idempotency-Key", "now-1")
	if done.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", done.status, done.body)
	}
	s.waitState(t, "now-1", "completed")
	res = s.do(t, "DELETE", "/v1/jobs/now-1", "")
	if e := res.apiErr(t); res.status != http.StatusConflict || e.Code != "not_cancellable" {
		t.Errorf("DELETE completed: %d %+v, want 409 not_cancellable", res.status, e)
	}
	if n := len(s.sim.Received()); n != 1 {
		t.Errorf("simulator received %d, want only the unscheduled job", n)
	}
}

// A bad job is a 400 naming the field and the rule, and nothing reaches
// Redis.
func TestAPIBadJobs(t *testing.T) {
	s := newStack(t, func(c *worker.Config) { c.API.MaxBodyBytes = 4096 })
	push := `"pushMessage":{"title":"Hi","content":"x"}`
	tests := []struct {
		name        string
		body        string
		status      int
		code, field string
		rule        string // a substring
	}{
		{"empty user id", `{"type":"easemob:push.single","payload":{"targets":["alice",""],` + push + `}}`,
			400, "invalid_job", "targets[1]", "empty user id"},
		{"unknown payload field", `{"type":"easemob:push.sync","payload":{"target":"a","pushMesage":{}}}`,
			400, "invalid_job", "pushMesage", "unknown field"},
		{"field in the wrong case", `{"type":"easemob:push.sync","payload":{"target":"a","PushMessage":{"title":"Hi","content":"x"}}}`,
			400, "invalid_job", "PushMessage", "did you mean"},
		{"wrong JSON type", `{"type":"easemob:push.single","payload":{"targets":"alice",` + push + `}}`,
			400, "invalid_job", "targets", "must be an array"},
		{"payload not an object", `{"type":"easemob:push.sync","payload":[1]}`,
			400, "invalid_job", "payload", "JSON object"},
		{"unknown type", `{"type":"easemob:push.everyone","payload":{}}`,
			400, "unknown_type", "type", "job type"},
		{"no type", `{"payload":{}}`, 400, "invalid_request", "type", "required"},
		{"no payload", `{"type":"easemob:push.sync"}`, 400, "invalid_request", "payload", "required"},
		{"unknown envelope field", `{"type":"easemob:push.sync","deliver_on":"1h","payload":{}}`,
			400, "invalid_request", "deliver_on", "unknown field"},
		{"envelope field in the wrong case", `{"Type":"easemob:push.sync","payload":{}}`,
			400, "invalid_request", "Type", "unknown field"},
		{"malformed JSON", `{"type":"easemob:push.sync",`, 400, "invalid_request", "", "not valid JSON"},
		{"trailing data", `{"type":"easemob:push.sync","payload":{}} {}`, 400, "invalid_request", "", "not valid JSON"},
		{"not an object", `["easemob:push.sync"]`, 400, "invalid_request", "", "JSON object"},
		{"empty body", ``, 400, "invalid_request", "", "JSON object"},
		{"both delivery times", `{"type":"easemob:push.sync","deliver_in":"1m","deliver_at":"2030-01-01T00:00:00Z","payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "deliver_in", "not both"},
		{"bad deliver_at", `{"type":"easemob:push.sync","deliver_at":"tomorrow","payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "deliver_at", "RFC 3339"},
		{"negative deliver_in", `{"type":"easemob:push.sync","deliver_in":"-5s","payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "deliver_in", "negative"},
		{"short timeout", `{"type":"easemob:push.sync","timeout":"10ms","payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "timeout", "at least 1s"},
		{"max_retry not a number", `{"type":"easemob:push.sync","max_retry":"5","payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "max_retry", "whole number"},
		{"negative max_retry", `{"type":"easemob:push.sync","max_retry":-1,"payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "max_retry", "negative"},
		{"bad account", `{"type":"easemob:push.sync","account":"Shop","payload":{"target":"a",` + push + `}}`,
			400, "invalid_request", "account", "lower-case"},
		{"too large", `{"type":"easemob:push.sync","payload":{"target":"` + strings.Repeat("a", 5000) + `",` + push + `}}`,
			413, "too_large", "", "4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, "POST", "/v1/jobs", tt.body)
			e := res.apiErr(t)
			if res.status != tt.status || e.Code != tt.code || e.Field != tt.field ||
				!strings.Contains(e.Rule+" "+e.Message, tt.rule) || e.Message == "" {
				t.Errorf("%d %s\nwant %d code %q field %q rule containing %q", res.status, res.body, tt.status, tt.code, tt.field, tt.rule)
			}
		})
	}
	if keys := s.rdb.Keys(t.Context(), "asynq:*:t:*").Val(); len(keys) != 0 {
		t.Errorf("bad jobs left tasks in Redis: %v", keys)
	}
	if n := len(s.sim.Received()); n != 0 {
		t.Errorf("simulator received %d, want none", n)
	}
}

// Without a valid token every job route is 401 with a challenge, and the
// token is never echoed in an answer or a log line.
func TestAPIAuth(t *testing.T) {
	s := newStack(t, nil)
	wrong := "wrong-token-0123456789"
	body := `{"type":"easemob:push.sync","payload":{"target":"a","pushMessage":{"title":"Hi","content":"x"}}}`
	for _, tt := range []struct {
		name, auth, challenge string
	}{
		{"missing", "", `Bearer realm="herald"`},
		{"wrong", "Bearer " + wrong, `Bearer realm="herald", error="invalid_token"`},
		{"other scheme", "Basic " + testToken, `Bearer realm="herald"`},
		{"a prefix of a token", "Bearer " + testToken[:10], `Bearer realm="herald", error="invalid_token"`},
	} {
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/v1/jobs", body}, {"GET", "/v1/jobs/x", ""}, {"DELETE", "/v1/jobs/x", ""}, {"GET", "/v1/queues/easemob/jobs", ""},
		} {
			res := s.do(t, r.method, r.path, r.body, "Authorization", tt.auth)
			if res.status != http.StatusUnauthorized || res.apiErr(t).Code != "unauthorized" || res.header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("%s token, %s %s: %d %q %s; want 401 with %q", tt.name, r.method, r.path, res.status,
					res.header.Get("WWW-Authenticate"), res.body, tt.challenge)
			}
			if strings.Contains(string(res.body), wrong) || strings.Contains(string(res.body), testToken[:10]) {
				t.Errorf("the answer echoes the token: %s", res.body)
			}
		}
	}
	if n, _ := s.rdb.Keys(t.Context(), "asynq:*:t:*").Result(); len(n) != 0 {
		t.Errorf("an unauthenticated request enqueued %v", n)
	}
	// Both configured tokens work; the scheme is case-insensitive.
	for _, auth := range []string{"Bearer " + testToken, "bearer other-service-token-1"} {
		if res := s.do(t, "POST", "/v1/jobs", body, "Authorization", auth); res.status != http.StatusCreated {
			t.Errorf("%q: %d %s", auth, res.status, res.body)
		}
	}
	logs := s.logs.String()
	for _, secret := range []string{testToken, wrong, "other-service-token-1"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold a token")
		}
	}
	if !regexp.MustCompile(`"component":"api".*"status":401`).MatchString(logs) || !strings.Contains(logs, `"token":2`) {
		t.Errorf("the request log does not show the 401s and which token was used:\n%s", logs)
	}
}

// Unknown routes and methods answer in the API's JSON.
func TestAPIRoutingErrors(t *testing.T) {
	s := newStack(t, nil)
	res := s.do(t, "GET", "/v1/nothing", "")
	if res.status != http.StatusNotFound || res.apiErr(t).Code != "not_found" {
		t.Errorf("unknown route: %d %s", res.status, res.body)
	}
	res = s.do(t, "PUT", "/v1/jobs", "{}")
	if res.status != http.StatusMethodNotAllowed || res.apiErr(t).Code != "method_not_allowed" || res.header.Get("Allow") != "POST" {
		t.Errorf("PUT /v1/jobs: %d Allow %q %s", res.status, res.header.Get("Allow"), res.body)
	}
	for _, tt := range []struct{ path, field string }{
		{"/v1/queues/easemob/jobs?state=done", "state"},
		{"/v1/queues/easemob/jobs?size=101", "size"},
		{"/v1/queues/easemob/jobs?page=0", "page"},
	} {
		res := s.do(t, "GET", tt.path, "")
		if e := res.apiErr(t); res.status != http.StatusBadRequest || e.Field != tt.field {
			t.Errorf("%s: %d %s; want 400 naming %s", tt.path, res.status, res.body, tt.field)
		}
	}
	if res := s.do(t, "GET", "/v1/queues/sms/jobs", ""); res.status != http.StatusNotFound {
		t.Errorf("unknown queue: %d %s", res.status, res.body)
	}
	// A queue nobody used yet lists empty.
	res = s.do(t, "GET", "/v1/queues/enos/jobs", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"jobs":[]`) {
		t.Errorf("empty queue: %d %s", res.status, res.body)
	}
}

// The README's curl examples work as a person running them would see: one
// job of each provider is accepted and completes at that provider's
// simulator (the demo's four, on a real Redis), the scheduled one is
// cancelled, and the bad one is refused naming its field.
func TestAPIReadmeExamples(t *testing.T) {
	s := newStack(t, func(cfg *worker.Config) {
		demo, err := worker.StartDemo()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(demo.Close)
		redisURL := cfg.Redis
		demo.Configure(cfg) // an account on each provider's simulator
		cfg.Redis = redisURL
	})
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "## HTTP API")
	if start < 0 {
		t.Fatal("README has no HTTP API section")
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	types := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?s)curl [^\n]*-X POST \$HERALD/v1/jobs([^\n]*?)\\\n\s*-d '(\{.*?\})'`).FindAllStringSubmatch(section, -1) {
		body := m[2]
		var headers []string
		if k := regexp.MustCompile(`Idempotency-Key: ([^']+)`).FindStringSubmatch(m[1]); k != nil {
			headers = []string{"Idempotency-Key", k[1]}
		}
		var env struct{ Type string }
		_ = json.Unmarshal([]byte(body), &env)
		res := s.do(t, "POST", "/v1/jobs", body, headers...)
		if env.Type == "easemob:push.single" && strings.Contains(body, `""`) {
			if res.status != http.StatusBadRequest || res.apiErr(t).Field != "targets[1]" {
				t.Errorf("README's bad example: %d %s, want the 400 it shows", res.status, res.body)
			}
			continue
		}
		if res.status != http.StatusCreated {
			t.Errorf("README example %s: %d %s", env.Type, res.status, res.body)
			continue
		}
		var receipt struct{ Tasks []struct{ ID string } }
		if err := json.Unmarshal(res.body, &receipt); err != nil || len(receipt.Tasks) == 0 {
			t.Fatalf("README example %s: receipt %s", env.Type, res.body)
		}
		for _, task := range receipt.Tasks {
			if strings.Contains(body, `"deliver_in"`) {
				if del := s.do(t, "DELETE", "/v1/jobs/"+task.ID, ""); del.status != http.StatusNoContent {
					t.Errorf("cancel the scheduled README example %s: %d %s", env.Type, del.status, del.body)
				}
				continue
			}
			s.waitState(t, task.ID, "completed")
		}
		types[strings.Split(env.Type, ":")[0]] = true
	}
	for _, p := range []string{"feishu", "easemob", "dingtalk", "enos"} {
		if !types[p] {
			t.Errorf("README has no working curl example for %s", p)
		}
	}
}
