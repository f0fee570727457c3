package easemob_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
	"github.com/herald-dispatch/herald/tasks"
)

const secret = "demo-client-secret"

// newClock is a settable clock for the simulator, at 10:00 China time.
func newClock() *simkit.Clock {
	return simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, tasks.ChinaStandardTime()))
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
	cfg := config(simtest.Start(t, sim.Kit))
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
