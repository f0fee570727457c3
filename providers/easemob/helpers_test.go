package easemob_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
)

const secret = "demo-client-secret"

// clock is a settable clock for the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, tasks.ChinaStandardTime())}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// relaxed lifts the simulator's QPS limits and task caps, for tests about
// something else.
func relaxed(o easemobsim.Options) easemobsim.Options {
	if o.QPS == nil {
		o.QPS = map[easemobsim.Endpoint]int{}
		for ep := range easemobsim.DefaultQPS() {
			o.QPS[ep] = -1
		}
	}
	if o.TasksPerWindow == 0 {
		o.TasksPerWindow = 1000
	}
	if o.MaxRunningTasks == 0 {
		o.MaxRunningTasks = 1000
	}
	return o
}

// setup starts a simulator and returns a client for it whose tokens live in
// the test's Redis.
func setup(t *testing.T, opts easemobsim.Options, tweak ...func(*easemob.Config)) (*easemob.Client, *easemobsim.Server) {
	t.Helper()
	sim := easemobsim.New(opts)
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cfg := config(url)
	cfg.Tokens = providers.NewTokenCache(srv.Client(t))
	for _, f := range tweak {
		f(&cfg)
	}
	return easemob.New(cfg), sim
}

func config(url string) easemob.Config {
	return easemob.Config{
		BaseURL: url, OrgName: "herald", AppName: "demo",
		ClientID: "demo-client-id", ClientSecret: secret,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Account:    "default",
	}
}

// providerError asserts err is a *providers.Error and returns it.
func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *providers.Error", err, err)
	}
	if pe.Provider != "easemob" {
		t.Fatalf("Provider %q, want easemob", pe.Provider)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error text holds the client secret: %v", err)
	}
	return pe
}

// fields decodes a recorded pushMessage.
func fields(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("pushMessage %s: %v", raw, err)
	}
	return m
}

func ptr[T any](v T) *T { return &v }

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
