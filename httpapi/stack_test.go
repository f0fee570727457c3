package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/worker"
)

// testToken is the bearer token the stack's API accepts.
const testToken = "test-token-5f1c2a9e7b"

// stack is the whole path a job takes from an HTTP client: the API served
// by a worker over real HTTP, the test's Redis, the worker running jobs,
// and the Easemob simulator they are delivered to.
type stack struct {
	rdb    redis.UniversalClient
	sim    *easemobsim.Server
	url    string
	client *http.Client // validates every exchange against the OpenAPI document
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newStack starts the simulator, a worker with the API on, and an HTTP
// server for the worker's API handler. tune may change the config.
func newStack(t *testing.T, tune func(*worker.Config)) *stack {
	t.Helper()
	rdb := srv.Client(t)
	sim := easemobsim.New(easemobsim.Options{})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	cfg := worker.Defaults()
	cfg.Redis.URL = srv.URL()
	cfg.Admin.Addr = "-"
	cfg.PollInterval = worker.Duration(100 * time.Millisecond)
	cfg.Retry.Initial = worker.Duration(100 * time.Millisecond)
	cfg.Retry.Max = worker.Duration(300 * time.Millisecond)
	cfg.API.Tokens = []string{"other-service-token-1", testToken}
	cfg.Easemob = map[string]worker.EasemobAccount{"default": {
		BaseURL: simURL, OrgName: easemobsim.DefaultOrgName, AppName: easemobsim.DefaultAppName,
		ClientID: easemobsim.DefaultClientID, ClientSecret: easemobsim.DefaultClientSecret,
	}}
	if tune != nil {
		tune(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	w, err := worker.New(cfg, rdb, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	api := httptest.NewServer(w.APIHandler())
	t.Cleanup(func() {
		api.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker.Run: %v", err)
		}
		if t.Failed() {
			t.Logf("worker logs:\n%s", logs.String())
		}
	})
	return &stack{rdb: rdb, sim: sim, url: api.URL, client: validatingClient(t), logs: logs}
}

// response is an API answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// apiErr decodes the error body.
func (r response) apiErr(t *testing.T) apiError {
	t.Helper()
	var e struct{ Error apiError }
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("status %d body %s: not an API error", r.status, r.body)
	}
	return e.Error
}

type apiError struct {
	Code, Field, Rule, Message string
	Receipt                    json.RawMessage
}

// do sends a request with the test token (unless headers set
// Authorization, "" for none) and reads the answer.
func (s *stack) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// receiptOf decodes a receipt.
type receipt struct {
	Tasks []struct {
		ID, Type, Queue string
		ProcessAt       time.Time `json:"process_at"`
		Duplicate       bool
	}
	Duplicate bool
}

func (r response) receipt(t *testing.T) receipt {
	t.Helper()
	var rc receipt
	if err := json.Unmarshal(r.body, &rc); err != nil || len(rc.Tasks) == 0 {
		t.Fatalf("status %d body %s: not a receipt", r.status, r.body)
	}
	return rc
}

type status struct {
	ID, Type, Queue, Account, State string
	Attempts                        int
	LastError                       string `json:"last_error"`
	Result                          json.RawMessage
}

// waitState polls GET /v1/jobs/{id} until the task is in state.
func (s *stack) waitState(t *testing.T, id, state string) status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := s.do(t, "GET", "/v1/jobs/"+url.PathEscape(id), "")
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", id, res.status, res.body)
		}
		var st status
		if err := json.Unmarshal(res.body, &st); err != nil {
			t.Fatal(err)
		}
		if st.State == state {
			return st
		}
		if st.State == "archived" {
			t.Fatalf("task %s archived (%s) while waiting for %s", id, st.LastError, state)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %s, not %s, after 30s", id, st.State, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
