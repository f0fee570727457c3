package enos_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/enos"
	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
	"github.com/herald-dispatch/herald/tasks"
)

// newClock is a settable clock for the simulator, starting now.
func newClock() *simkit.Clock { return simkit.NewClock(time.Now()) }

// setup starts a simulator and returns a client for it whose tokens live in
// the test's Redis.
func setup(t *testing.T, opts enossim.Options, tweak ...func(*enos.Config)) (*enos.Client, *enossim.Server) {
	t.Helper()
	sim := enossim.New(opts)
	cfg := config(simtest.Start(t, sim.Kit))
	cfg.Tokens = providers.NewTokenCache(srv.Client(t))
	cfg.Tokens.Margin = enos.DefaultTokenMargin
	for _, f := range tweak {
		f(&cfg)
	}
	return enos.New(cfg), sim
}

func config(url string) enos.Config {
	return enos.Config{
		BaseURL: url, AppKey: enossim.DefaultAppKey, AppSecret: enossim.DefaultAppSecret,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
	}
}

func ptr[T any](v T) *T { return &v }

// msg is a valid new message for users.
func msg(id string, users ...string) tasks.EnOSMessage {
	return tasks.EnOSMessage{
		MessageID: id, MessageType: ptr(1), AppID: "app-access-key",
		Header:     &tasks.I18n{DefaultValue: "Header " + id, I18nValue: map[string]string{"zh_CN": "标题", "en_US": "Header"}},
		Body:       &tasks.I18n{DefaultValue: "Body <&> " + id},
		Tags:       []tasks.I18n{{DefaultValue: "tag"}},
		TargetType: ptr(1), Targets: users,
	}
}

func produce(msgs ...tasks.EnOSMessage) *tasks.EnOSNoticeProduce {
	return &tasks.EnOSNoticeProduce{OrgID: enossim.DefaultOrgID, Messages: msgs}
}

// providerError asserts err is a *providers.Error and returns it.
func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *providers.Error", err, err)
	}
	if pe.Provider != "enos" {
		t.Fatalf("Provider %q, want enos", pe.Provider)
	}
	if strings.Contains(err.Error(), enossim.DefaultAppSecret) {
		t.Fatalf("error text holds the app secret: %v", err)
	}
	return pe
}

// deliveries renders the simulator's pushes as "message:user" counts.
func deliveries(sim *enossim.Server) map[string]int {
	out := map[string]int{}
	for _, r := range sim.Records() {
		out[fmt.Sprintf("%s:%s", r.MessageID, r.User)]++
	}
	return out
}

// endpointCalls counts the calls to ep.
func endpointCalls(sim *enossim.Server, ep enossim.Endpoint) int {
	n := 0
	for _, c := range sim.Calls() {
		if c.Endpoint == ep {
			n++
		}
	}
	return n
}
