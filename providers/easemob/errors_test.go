package easemob_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
	"github.com/herald-dispatch/herald/tasks"
)

func single(targets ...string) *tasks.EasemobPushSingle {
	return &tasks.EasemobPushSingle{Targets: targets, PushMessage: tasks.PushMessage{Title: "Hello", Content: "Hi"}}
}

// TestErrorsFromTheSimulator provokes each documented error for real and
// checks its class, code and status.
func TestErrorsFromTheSimulator(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	tests := []struct {
		name      string
		opts      easemobsim.Options
		tweak     func(*easemob.Config)
		job       tasks.Job
		wantOp    string
		wantClass providers.Class
		wantCode  string
		wantHTTP  int
	}{
		{"101 targets", relaxed(easemobsim.Options{}), nil, single(many...),
			"push.single", providers.Permanent, "IllegalArgumentException", 400},
		{"title too wide", relaxed(easemobsim.Options{}), nil,
			&tasks.EasemobPushSync{Target: "u1", PushMessage: tasks.PushMessage{Title: strings.Repeat("环", 17)}},
			"push.sync", providers.Permanent, "MessageException", 400},
		{"strategy out of range", relaxed(easemobsim.Options{}), nil,
			&tasks.EasemobPushAsync{Target: "u1", Strategy: ptr(9), PushMessage: tasks.PushMessage{Title: "t"}},
			"push.async", providers.Permanent, "IllegalArgumentException", 400},
		{"body over 5 KB", relaxed(easemobsim.Options{}), nil,
			&tasks.EasemobPushTask{PushMessage: tasks.PushMessage{Title: "t", Ext: map[string]any{"k": strings.Repeat("x", 6000)}}},
			"push.task", providers.Permanent, "request_entity_too_large", 413},
		{"push service not open", relaxed(easemobsim.Options{PushDisabled: true}), nil, single("u1"),
			"push.single", providers.Permanent, "ServiceNotOpenException", 403},
		{"wrong secret", relaxed(easemobsim.Options{}), func(c *easemob.Config) { c.ClientSecret = "wrong-" + secret },
			single("u1"), "token", providers.Permanent, "invalid_grant", 400},
		{"unknown app", relaxed(easemobsim.Options{}), func(c *easemob.Config) { c.AppName = "nope" },
			single("u1"), "token", providers.Permanent, "organization_application_not_found", 404},
		{"QPS", easemobsim.Options{Now: newClock().Now}, nil, single("u1"),
			"push.single", providers.RateLimited, "reach_limit", 429},
		{"task cap", relaxed(easemobsim.Options{TasksPerWindow: 3, Now: newClock().Now}), nil,
			&tasks.EasemobPushTask{PushMessage: tasks.PushMessage{Title: "t"}},
			"push.task", providers.RateLimited, "LimitException", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tweaks []func(*easemob.Config)
			if tt.tweak != nil {
				tweaks = append(tweaks, tt.tweak)
			}
			c, sim := setup(t, tt.opts, tweaks...)
			var err error
			// Exhaust the limit being tested: ten calls fill push/single's
			// 10/s, three tasks the 3-per-window cap.
			for range 11 {
				if _, err = c.Send(t.Context(), tt.job); err != nil {
					break
				}
			}
			pe := providerError(t, err)
			if pe.Op != tt.wantOp || pe.Class != tt.wantClass || pe.Code != tt.wantCode || pe.Status != tt.wantHTTP {
				t.Fatalf("got op %s class %s code %q HTTP %d (%v); want %s %s %q %d",
					pe.Op, pe.Class, pe.Code, pe.Status, err, tt.wantOp, tt.wantClass, tt.wantCode, tt.wantHTTP)
			}
			if pe.Message == "" {
				t.Fatal("no message")
			}
			if tt.wantCode == "LimitException" && pe.RetryAfter != easemob.DefaultTaskLimitRetryAfter {
				t.Fatalf("RetryAfter %v, want %v", pe.RetryAfter, easemob.DefaultTaskLimitRetryAfter)
			}
			if tt.wantCode == "reach_limit" && len(sim.Received()) != 10 {
				t.Fatalf("%d pushes accepted before the limit, want 10", len(sim.Received()))
			}
		})
	}
}

// TestErrorBodies feeds the client each documented error body (and a few
// undocumented ones) through the simulator's fault injection.
func TestErrorBodies(t *testing.T) {
	body := func(errCode, exc, desc string) string {
		return fmt.Sprintf(`{"error":%q,"exception":%q,"timestamp":1689154498019,"duration":0,"error_description":%q}`, errCode, exc, desc)
	}
	tests := []struct {
		name      string
		status    int
		body      string
		header    http.Header
		wantClass providers.Class
		wantCode  string
		wantMsg   string
		wantRetry time.Duration
	}{
		{"reach_limit", 429, body("reach_limit", "x.RateLimitException", "This request has reached api limit"), nil,
			providers.RateLimited, "reach_limit", "This request has reached api limit", 0},
		{"reach_limit with Retry-After", 429, body("reach_limit", "", "slow down"), http.Header{"Retry-After": {"3"}},
			providers.RateLimited, "reach_limit", "slow down", 3 * time.Second},
		{"resource_limited (free edition)", 429, body("resource_limited", "", "You have exceeded the limit of the community edition"), nil,
			providers.Permanent, "resource_limited", "You have exceeded the limit of the community edition", 0},
		{"LimitException by exception only", 403, body("", "com.easemob.push.exception.LimitException", "limit request"), nil,
			providers.RateLimited, "LimitException", "limit request", easemob.DefaultTaskLimitRetryAfter},
		{"LimitException with Retry-After", 403, body("LimitException", "", "limit request"), http.Header{"Retry-After": {"30"}},
			providers.RateLimited, "LimitException", "limit request", 30 * time.Second},
		{"ServiceNotOpenException", 403, body("", "a.b.ServiceNotOpenException", "push service not open"), nil,
			providers.Permanent, "ServiceNotOpenException", "push service not open", 0},
		{"MessageException", 400, body("MessageException", "a.MessageException", "bad_request"), nil,
			providers.Permanent, "MessageException", "bad_request", 0},
		{"json_parse", 400, body("json_parse", "com.fasterxml.jackson.core.JsonParseException", "Unexpected character"), nil,
			providers.Permanent, "json_parse", "Unexpected character", 0},
		{"illegal_argument", 400, body("illegal_argument", "", "bad"), nil, providers.Permanent, "illegal_argument", "bad", 0},
		{"url is invalid", 404, body("service_resource_not_found", "", "url is invalid"), nil,
			providers.Permanent, "service_resource_not_found", "url is invalid", 0},
		{"415", 415, body("unsupported_media_type", "", "Unsupported Media Type"), nil,
			providers.Permanent, "unsupported_media_type", "Unsupported Media Type", 0},
		{"unknown 4xx", 418, `{}`, nil, providers.Permanent, "", "I'm a teapot", 0},
		{"500", 500, body("server_error", "java.lang.RuntimeException", "boom"), nil, providers.Transient, "server_error", "boom", 0},
		{"502 from a gateway, HTML", 502, `<html><body>Bad Gateway</body></html>`, nil, providers.Transient, "", "Bad Gateway", 0},
		{"503", 503, body("", "", "Service Unavailable"), nil, providers.Transient, "", "Service Unavailable", 0},
		{"503 with Retry-After is throttling", 503, `{}`, http.Header{"Retry-After": {"7"}}, providers.RateLimited, "", "Service Unavailable", 7 * time.Second},
		{"503 reach_limit", 503, body("reach_limit", "", "limited"), nil, providers.RateLimited, "reach_limit", "limited", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sim := setup(t, relaxed(easemobsim.Options{}))
			sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Endpoint: easemobsim.PushSingle, Count: 1, Status: tt.status, Body: tt.body, Header: tt.header})
			_, err := c.PushSingle(t.Context(), single("u1"))
			pe := providerError(t, err)
			if pe.Class != tt.wantClass || pe.Code != tt.wantCode || pe.Status != tt.status || pe.Message != tt.wantMsg || pe.RetryAfter != tt.wantRetry {
				t.Fatalf("got class %s code %q HTTP %d message %q retry %v; want %s %q %d %q %v",
					pe.Class, pe.Code, pe.Status, pe.Message, pe.RetryAfter, tt.wantClass, tt.wantCode, tt.status, tt.wantMsg, tt.wantRetry)
			}
			if providers.ClassOf(err) != tt.wantClass || providers.RetryAfterOf(err) != tt.wantRetry {
				t.Fatal("ClassOf/RetryAfterOf disagree with the error")
			}
		})
	}
}

// Send makes exactly one HTTP call, even when it is answered 401: the
// retry with a new token is the worker's, through its limiter. The client
// drops the token it used, so the worker's next call fetches a new one.
func TestUnauthorizedIsOneCallAndDropsTheToken(t *testing.T) {
	tests := []struct {
		ep  easemobsim.Endpoint
		job tasks.Job
	}{
		{easemobsim.PushSync, &tasks.EasemobPushSync{Target: "u1", PushMessage: tasks.PushMessage{Title: "t", Content: "c"}}},
		{easemobsim.PushAsync, &tasks.EasemobPushAsync{Target: "u1", PushMessage: tasks.PushMessage{Title: "t", Content: "c"}}},
		{easemobsim.PushSingle, single("u1")},
		{easemobsim.PushLabel, &tasks.EasemobPushLabel{Targets: []string{"vip"}, PushMessage: tasks.PushMessage{Title: "t", Content: "c"}}},
		{easemobsim.PushTask, &tasks.EasemobPushTask{PushMessage: tasks.PushMessage{Title: "t", Content: "c"}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.ep), func(t *testing.T) {
			rdb := srv.Client(t)
			c, sim := setup(t, relaxed(easemobsim.Options{}), func(cfg *easemob.Config) { cfg.Tokens = providers.NewTokenCache(rdb) })
			key := "herald:token:{easemob:default}"
			if _, err := c.Send(t.Context(), tt.job); err != nil {
				t.Fatal(err)
			}
			first := rdb.Get(t.Context(), key).Val()
			if first == "" {
				t.Fatal("token not cached in Redis")
			}
			sim.RevokeTokens() // the cached token is now rejected with 401

			res, err := c.Send(t.Context(), tt.job)
			pe := providerError(t, err)
			if res != nil || pe.Class != providers.Unauthorized || pe.Status != 401 {
				t.Fatalf("got %v, %+v; want no result and an Unauthorized error", res, pe)
			}
			var statuses []int
			for _, call := range sim.Calls() {
				if call.Endpoint == tt.ep {
					statuses = append(statuses, call.Status)
				}
			}
			if fmt.Sprint(statuses) != "[200 401]" {
				t.Fatalf("%s statuses %v, want [200 401]: one call, no retry inside Send", tt.ep, statuses)
			}
			if got := rdb.Get(t.Context(), key).Val(); got == first {
				t.Fatal("the rejected token is still cached")
			}
			if strings.Contains(err.Error(), first) {
				t.Fatal("the token is in the error text")
			}

			// The worker's retry: a new token, one more call.
			if _, err := c.Send(t.Context(), tt.job); err != nil {
				t.Fatalf("the call after a 401 should fetch a new token and succeed: %v", err)
			}
			if n := sim.TokensIssued(); n != 2 {
				t.Fatalf("%d tokens fetched, want 2", n)
			}
			if n := len(sim.Received()); n != 2 {
				t.Fatalf("%d notifications received, want 2", n)
			}
		})
	}
}

// A 401 drops only the token the call used: a newer one another replica
// stored meanwhile stays cached.
func TestUnauthorizedKeepsAnotherReplicasToken(t *testing.T) {
	rdb := srv.Client(t)
	c, sim := setup(t, relaxed(easemobsim.Options{}), func(cfg *easemob.Config) { cfg.Tokens = providers.NewTokenCache(rdb) })
	key := "herald:token:{easemob:default}"
	if _, err := c.PushSingle(t.Context(), single("u1")); err != nil {
		t.Fatal(err)
	}
	// While the next call is in flight (held by injected latency), another
	// replica stores a fresh token; then the call is answered 401.
	sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Endpoint: easemobsim.PushSingle, Count: 1, Delay: 300 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		_, err := c.PushSingle(context.Background(), single("u2"))
		errc <- err
	}()
	simtest.WaitUntil(t, "the call to take the latency fault", func() bool { return len(sim.Faults()) == 0 })
	sim.RevokeTokens()
	ttl := rdb.TTL(t.Context(), key).Val()
	if err := rdb.Set(t.Context(), key, "fresh-from-another-replica", ttl).Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; providers.ClassOf(err) != providers.Unauthorized {
		t.Fatalf("err = %v, want Unauthorized", err)
	}
	if got := rdb.Get(t.Context(), key).Val(); got != "fresh-from-another-replica" {
		t.Fatalf("cached token %q: the 401 dropped another replica's token", got)
	}
}

func TestTransportFailuresAreTransient(t *testing.T) {
	tests := []struct {
		name    string
		kind    easemobsim.FaultKind
		wantMsg string
		// delivered: the provider acted though no reply came (in doubt).
		delivered bool
	}{
		{"timeout", easemobsim.FaultHang, "timed out", false},
		{"dropped connection", easemobsim.FaultDrop, "request failed", false},
		{"dropped after processing", easemobsim.FaultDropAfter, "request failed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sim := setup(t, relaxed(easemobsim.Options{}), func(cfg *easemob.Config) {
				cfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
			})
			// Get the token first so the fault hits the push itself.
			if _, err := c.PushSingle(t.Context(), single("u0")); err != nil {
				t.Fatal(err)
			}
			sim.Inject(easemobsim.Fault{Kind: tt.kind, Endpoint: easemobsim.PushSingle, Count: 1})
			_, err := c.PushSingle(t.Context(), single("u1"))
			pe := providerError(t, err)
			if pe.Class != providers.Transient || pe.Status != 0 || pe.Message != tt.wantMsg || pe.Err == nil {
				t.Fatalf("error %+v, want transient %q with a cause", pe, tt.wantMsg)
			}
			want := 1
			if tt.delivered {
				want = 2
			}
			if got := len(sim.Received()); got != want {
				t.Fatalf("%d notifications received, want %d", got, want)
			}
		})
	}
}

func TestTokenSharedByReplicas(t *testing.T) {
	sim := easemobsim.New(relaxed(easemobsim.Options{}))
	url := simtest.Start(t, sim.Kit)
	srv.Client(t) // flush
	replicas := make([]*easemob.Client, 2)
	for i := range replicas {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		cfg := config(url)
		cfg.Tokens = providers.NewTokenCache(rdb)
		replicas[i] = easemob.New(cfg)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := replicas[i%2].PushSingle(context.Background(), single(fmt.Sprintf("u%d", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens fetched by two replicas, want 1", n)
	}
	if n := len(sim.Received()); n != 20 {
		t.Fatalf("%d pushes received, want 20", n)
	}
}

func TestInMemoryTokensWithoutACache(t *testing.T) {
	sim := easemobsim.New(relaxed(easemobsim.Options{}))
	c := easemob.New(config(simtest.Start(t, sim.Kit))) // Tokens nil
	for i := range 3 {
		if _, err := c.PushSingle(t.Context(), single(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens fetched, want 1", n)
	}
}

func TestTokenRequestAsksForTheConfiguredTTL(t *testing.T) {
	rdb := srv.Client(t)
	c, _ := setup(t, relaxed(easemobsim.Options{TokenTTL: 2 * time.Hour}), func(cfg *easemob.Config) {
		cfg.TokenTTL = 90 * time.Minute
		cfg.Tokens = providers.NewTokenCache(rdb)
	})
	if _, err := c.PushSingle(t.Context(), single("u1")); err != nil {
		t.Fatal(err)
	}
	// Had ttl not been sent, the simulator's 2 h default would apply and
	// the token would be cached for 115 minutes.
	ttl := rdb.PTTL(t.Context(), "herald:token:{easemob:default}").Val()
	if ttl > 85*time.Minute || ttl < 85*time.Minute-5*time.Second {
		t.Fatalf("token cached for %v, want about 85m (90m asked for, 5m margin)", ttl)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(*easemob.Config)
	}{
		{"no base URL", func(c *easemob.Config) { c.BaseURL = "" }},
		{"base URL not http", func(c *easemob.Config) { c.BaseURL = "a1.easemob.com" }},
		{"no org", func(c *easemob.Config) { c.OrgName = "" }},
		{"no secret", func(c *easemob.Config) { c.ClientSecret = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config("http://127.0.0.1:1")
			tt.tweak(&cfg)
			if cfg.Validate() == nil {
				t.Fatal("Validate passed")
			}
			_, err := easemob.New(cfg).PushSingle(t.Context(), single("u1"))
			if pe := providerError(t, err); pe.Class != providers.Permanent || pe.Code != "config" {
				t.Fatalf("error %+v", pe)
			}
		})
	}
	if err := config("https://a1.easemob.com").Validate(); err != nil {
		t.Fatalf("a complete config fails: %v", err)
	}
}
