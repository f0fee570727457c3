package feishu_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
)

// Every code in providers.md section A (and the execute_send seed) maps to
// its class; unknown codes go by HTTP status. Every error keeps the
// request id, X-Tt-Logid first, else X-Request-Id.
func TestErrorClasses(t *testing.T) {
	type tc struct {
		name       string
		status     int
		body       string
		header     http.Header
		class      providers.Class
		code       string
		retryAfter time.Duration
	}
	env := func(code string) string { return `{"code":` + code + `,"msg":"m","error":{"log_id":"x"}}` }
	ogw := http.Header{"X-Ogw-Ratelimit-Reset": {"7"}, "X-Ogw-Ratelimit-Limit": {"10"}}
	cases := []tc{
		{"154000 bad request", 400, env("154000"), nil, providers.Permanent, "154000", 0},
		{"154001 helpdesk auth", 401, env("154001"), nil, providers.Permanent, "154001", 0},
		{"154003 permission", 403, env("154003"), nil, providers.Permanent, "154003", 0},
		{"154004 not found", 404, env("154004"), nil, providers.Permanent, "154004", 0},
		{"154005 not allowed", 405, env("154005"), nil, providers.Permanent, "154005", 0},
		{"155000 internal", 500, env("155000"), nil, providers.Transient, "155000", 0},
		{"1500 internal", 500, env("1500"), nil, providers.Transient, "1500", 0},
		{"5000 internal", 200, env("5000"), nil, providers.Transient, "5000", 0},
		{"2200 internal", 500, env("2200"), nil, providers.Transient, "2200", 0},
		{"99991400 as 429", 429, env("99991400"), ogw, providers.RateLimited, "99991400", 7 * time.Second},
		{"99991400 as 400", 400, env("99991400"), ogw, providers.RateLimited, "99991400", 7 * time.Second},
		{"99991668 user token invalid", 400, env("99991668"), nil, providers.Unauthorized, "99991668", 0},
		{"99991677 user token expired", 400, env("99991677"), nil, providers.Unauthorized, "99991677", 0},
		{"99991664 token invalid", 400, env("99991664"), nil, providers.Unauthorized, "99991664", 0},
		{"99991671 token format", 400, env("99991671"), nil, providers.Unauthorized, "99991671", 0},
		{"99991672 scope", 400, env("99991672"), nil, providers.Permanent, "99991672", 0},
		{"99991401 ip allowlist", 400, env("99991401"), nil, providers.Permanent, "99991401", 0},
		{"99991661 no token", 400, env("99991661"), nil, providers.Permanent, "99991661", 0},
		{"99991403 monthly quota", 400, env("99991403"), nil, providers.Permanent, "99991403", 0},
		{"99991663 tenant token", 400, env("99991663"), nil, providers.Permanent, "99991663", 0},
		{"unknown code 4xx", 400, env("123456"), nil, providers.Permanent, "123456", 0},
		{"unknown code 5xx", 503, env("123456"), nil, providers.Transient, "123456", 0},
		{"unknown code 200", 200, env("123456"), nil, providers.Permanent, "123456", 0},
		{"html 502", 502, "<html>bad gateway</html>", nil, providers.Transient, "", 0},
		{"html 401", 401, "<html>no</html>", nil, providers.Unauthorized, "", 0},
		{"bare 429", 429, "", ogw, providers.RateLimited, "99991400", 7 * time.Second},
		{"200 not json", 200, "ok", nil, providers.Transient, "bad_reply", 0},
	}
	c, sim, _ := setup(t, feishusim.Options{})
	ctx := context.Background()
	if _, err := c.Send(ctx, job("1")); err != nil { // tokens in place
		t.Fatal(err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h[k] = v
			}
			logID := "log-" + tc.name
			if i%2 == 0 || tc.body == "" { // the simulator adds its own X-Tt-Logid to a bare fault
				h.Set("X-Tt-Logid", logID)
				h.Set("X-Request-Id", "not-this-one")
			} else {
				h.Set("X-Request-Id", logID)
			}
			sim.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: feishusim.ExecuteSend, Count: 1, Status: tc.status, Body: tc.body, Header: h})
			_, err := c.Send(ctx, job("2"))
			pe := providerError(t, err)
			if pe.Class != tc.class || pe.Code != tc.code || pe.Status != tc.status || pe.RetryAfter != tc.retryAfter {
				t.Errorf("got class %v code %q status %d retry %v; want %v %q %d %v (%v)", pe.Class, pe.Code, pe.Status, pe.RetryAfter, tc.class, tc.code, tc.status, tc.retryAfter, err)
			}
			if pe.RequestID != logID {
				t.Errorf("request id %q, want %q", pe.RequestID, logID)
			}
			if pe.Class == providers.Unauthorized {
				// The token was dropped: get the next one in place.
				if _, err := c.Send(ctx, job("1")); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// The simulator's own refusals (not injected) come back with their
// documented class.
func TestSimulatorRefusals(t *testing.T) {
	c, sim, _ := setup(t, feishusim.Options{Notifications: []string{"1"}, NotApproved: []string{"2"}})
	ctx := context.Background()
	for _, tc := range []struct {
		id, sendAt string
		status     int
		code       string
	}{
		{"9", "1624326025000", 404, "154004"},
		{"2", "1624326025000", 405, "154005"},
		{"1", "1624326025", 400, "154000"},
	} {
		j := job(tc.id)
		j.SendAt = tc.sendAt
		_, err := c.Send(ctx, j)
		pe := providerError(t, err)
		if pe.Class != providers.Permanent || pe.Status != tc.status || pe.Code != tc.code || pe.RequestID == "" {
			t.Errorf("%s/%s: %v (request %q)", tc.id, tc.sendAt, err, pe.RequestID)
		}
	}
	if n := len(sim.Received()); n != 0 {
		t.Errorf("simulator accepted %d", n)
	}
}

// The 11th execute_send in a minute is refused 429/99991400 with the
// seconds until the window frees.
func TestRateLimitedBySimulator(t *testing.T) {
	sim, url := startSim(t, feishusim.Options{})
	rdb := srv.Client(t)
	c := newClient(url, sim.IssueRefreshToken(), rdb)
	ctx := context.Background()
	for i := range 10 {
		if _, err := c.Send(ctx, job("1")); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := c.Send(ctx, job("1"))
	pe := providerError(t, err)
	if pe.Class != providers.RateLimited || pe.Status != 429 || pe.Code != "99991400" || pe.RetryAfter < 50*time.Second || pe.RetryAfter > 60*time.Second {
		t.Fatalf("11th call: %v, retry after %v", err, pe.RetryAfter)
	}
}
