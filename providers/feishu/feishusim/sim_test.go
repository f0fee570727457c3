package feishusim_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
)

// App and tenant tokens: a flat reply; with at least 30 min left the same
// token comes back with the time it has left, below that a new one is
// issued and the old one stays valid until its own expiry.
func TestAppTokenIssueAndReuse(t *testing.T) {
	for _, tt := range []struct{ name, path, field string }{
		{"app", appTokenPath, "app_access_token"},
		{"tenant", tenantTokenPath, "tenant_access_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := start(t, feishusim.Options{Now: clk.Now})
			tok, exp := s.appToken(tt.path, tt.field)
			if exp != 7200 {
				t.Fatalf("expire %v, want 7200", exp)
			}
			clk.Advance(89 * time.Minute) // 31 min left
			again, exp := s.appToken(tt.path, tt.field)
			if again != tok || exp != 31*60 {
				t.Fatalf("with 31 min left: token changed=%t expire %v; want the same token, expire 1860", again != tok, exp)
			}
			clk.Advance(2 * time.Minute) // 29 min left
			fresh, exp := s.appToken(tt.path, tt.field)
			if fresh == tok || exp != 7200 {
				t.Fatalf("with 29 min left: token changed=%t expire %v; want a new token, expire 7200", fresh != tok, exp)
			}
			// Both stay valid: the old one is refused on execute_send for
			// being an app token (99991663), not for being invalid.
			for _, v := range []string{tok, fresh} {
				wantError(t, s.post(sendPath("1"), sendHeaders(v), `{"send_at":"1624326025000"}`), 400, 99991663)
			}
			clk.Advance(29 * time.Minute) // the old one expired
			wantError(t, s.post(sendPath("1"), sendHeaders(tok), `{"send_at":"1624326025000"}`), 400, 99991668)

			wantError(t, s.post(tt.path, nil, `{"app_id":"`+feishusim.DefaultAppID+`","app_secret":"wrong"}`), 400, 10014)
			wantError(t, s.post(tt.path, nil, `not json`), 400, 20001)
		})
	}
}

// A revoked app token is never handed out again: the next request gets a
// new one, or a client that drops a refused token would loop on it.
func TestAppTokenAfterRevoke(t *testing.T) {
	s := start(t, feishusim.Options{})
	tok, _ := s.appToken(appTokenPath, "app_access_token")
	s.RevokeTokens()
	fresh, exp := s.appToken(appTokenPath, "app_access_token")
	if fresh == tok || exp != 7200 {
		t.Fatalf("after revocation: same token=%t expire %v", fresh == tok, exp)
	}
	if r := s.refresh(fresh, s.authorize()); r.code() != 0 {
		t.Fatalf("the new app token is refused: %s", r.raw)
	}
}

// The refresh token is single-use and rotates: each redemption issues a
// new pair; presenting a spent one is refused with 20073.
func TestRefreshRotatesSingleUse(t *testing.T) {
	clk := newClock()
	s := start(t, feishusim.Options{Now: clk.Now})
	app, _ := s.appToken(appTokenPath, "app_access_token")
	first := s.authorize()

	r := s.refresh(app, first)
	d := r.data()
	second, _ := d["refresh_token"].(string)
	user, _ := d["access_token"].(string)
	if r.status != 200 || r.code() != 0 || second == "" || second == first || user == "" ||
		d["expires_in"] != 7200.0 || d["token_type"] != "Bearer" {
		t.Fatalf("refresh: HTTP %d %s", r.status, r.raw)
	}
	// The spent token is refused, and refusing it issues nothing.
	wantError(t, s.refresh(app, first), 400, 20073)
	// The rotated one works once.
	if r := s.refresh(app, second); r.code() != 0 {
		t.Fatalf("rotated refresh token refused: %s", r.raw)
	}
	wantError(t, s.refresh(app, second), 400, 20073)

	tenant, _ := s.appToken(tenantTokenPath, "tenant_access_token")
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		code    float64
	}{
		{"no bearer", nil, `{"grant_type":"refresh_token","refresh_token":"` + s.authorize() + `"}`, 99991661},
		{"user token as bearer", bearer(user), `{"grant_type":"refresh_token","refresh_token":"` + s.authorize() + `"}`, 99991664},
		{"tenant token as bearer", bearer(tenant), `{"grant_type":"refresh_token","refresh_token":"` + s.authorize() + `"}`, 99991664},
		{"wrong grant_type", bearer(app), `{"grant_type":"authorization_code","refresh_token":"` + s.authorize() + `"}`, 20001},
		{"no refresh_token", bearer(app), `{"grant_type":"refresh_token"}`, 20001},
		{"never issued", bearer(app), `{"grant_type":"refresh_token","refresh_token":"ur-made-up"}`, 20026},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.post(refreshPath, tt.headers, tt.body), 400, tt.code)
		})
	}

	stale := s.authorize()
	clk.Advance(30*24*time.Hour + time.Second)
	app, _ = s.appToken(appTokenPath, "app_access_token")
	wantError(t, s.refresh(app, stale), 400, 20037)

	revoked := s.authorize()
	if r := s.post("/_feishusim/refresh/revoke", nil, ""); r.status != http.StatusNoContent {
		t.Fatalf("revoke: HTTP %d", r.status)
	}
	wantError(t, s.refresh(app, revoked), 400, 20064)

	// The refresh log, as the control endpoint serves it.
	red := s.Redemptions()
	if len(red) != 7 || red[0].Token != first || red[0].Code != 0 || red[0].Issued != second ||
		red[1].Code != 20073 || red[1].Issued != "" {
		t.Fatalf("redemptions %+v", red)
	}
}

// execute_send by hand: the documented call succeeds; each broken rule is
// answered with its documented HTTP status and code, and is not recorded.
func TestExecuteSendByHand(t *testing.T) {
	clk := newClock()
	s := start(t, feishusim.Options{
		Now: clk.Now, ExecuteSendPerMinute: -1, UserTokenTTL: time.Hour,
		Notifications: []string{"6985032626234982420"}, NotApproved: []string{"42"},
	})
	user := s.userToken()
	tenant, _ := s.appToken(tenantTokenPath, "tenant_access_token")
	const id = "6985032626234982420"
	const body = `{"send_at":"1624326025000"}`

	r := s.post(sendPath(id), sendHeaders(user), body)
	if r.status != 200 || r.code() != 0 || r.str("msg") != "success" || r.data() == nil || len(r.data()) != 0 {
		t.Fatalf("documented call: HTTP %d %s; want 200 {code:0,msg:success,data:{}}", r.status, r.raw)
	}
	if r.header.Get("X-Tt-Logid") == "" {
		t.Fatal("no X-Tt-Logid on a success")
	}

	with := func(edit func(h map[string]string)) map[string]string {
		h := sendHeaders(user)
		edit(h)
		return h
	}
	tests := []struct {
		name    string
		id      string
		headers map[string]string
		body    string
		status  int
		code    float64
	}{
		{"tenant token", id, with(func(h map[string]string) { h["Authorization"] = "Bearer " + tenant }), body, 400, 99991663},
		{"no token", id, with(func(h map[string]string) { delete(h, "Authorization") }), body, 400, 99991661},
		{"unknown token", id, with(func(h map[string]string) { h["Authorization"] = "Bearer u-nope" }), body, 400, 99991668},
		{"no helpdesk header", id, with(func(h map[string]string) { delete(h, "X-Lark-Helpdesk-Authorization") }), body, 401, 154001},
		{"wrong helpdesk token", id, with(func(h map[string]string) {
			h["X-Lark-Helpdesk-Authorization"] = helpdeskHeader(feishusim.DefaultHelpdeskID, "old-token")
		}), body, 401, 154001},
		{"helpdesk header not base64", id, with(func(h map[string]string) {
			h["X-Lark-Helpdesk-Authorization"] = feishusim.DefaultHelpdeskID + ":" + feishusim.DefaultHelpdeskToken
		}), body, 401, 154001},
		{"unknown notification", "6985032626234982421", sendHeaders(user), body, 404, 154004},
		{"notification id not digits", "abc", sendHeaders(user), body, 404, 154004},
		{"not approved", "42", sendHeaders(user), body, 405, 154005},
		{"send_at a number", id, sendHeaders(user), `{"send_at":1624326025000}`, 400, 154000},
		{"send_at in seconds", id, sendHeaders(user), `{"send_at":"1624326025"}`, 400, 154000},
		{"send_at 14 digits", id, sendHeaders(user), `{"send_at":"16243260250000"}`, 400, 154000},
		{"send_at not digits", id, sendHeaders(user), `{"send_at":"2021-06-22T01:00"}`, 400, 154000},
		{"send_at missing", id, sendHeaders(user), `{}`, 400, 154000},
		{"body not JSON", id, sendHeaders(user), `send_at=1624326025000`, 400, 154000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.post(sendPath(tt.id), tt.headers, tt.body), tt.status, tt.code)
		})
	}

	clk.Advance(time.Hour) // the user token expires: 99991677, refresh and retry
	wantError(t, s.post(sendPath(id), sendHeaders(user), body), 400, 99991677)

	got := s.Received()
	if len(got) != 1 || got[0].NotificationID != id || got[0].SendAt != "1624326025000" ||
		got[0].UserToken != user || got[0].Helpdesk != feishusim.DefaultHelpdeskID {
		t.Fatalf("records %+v; want only the documented call", got)
	}
}

// execute_send takes 10 calls a minute: the 11th is answered HTTP 429,
// code 99991400, with x-ogw-ratelimit-* saying when to come back.
func TestExecuteSendRateLimit(t *testing.T) {
	clk := newClock()
	s := start(t, feishusim.Options{Now: clk.Now})
	h := sendHeaders(s.userToken())
	const body = `{"send_at":"1624326025000"}`
	for i := range 10 {
		if r := s.post(sendPath("1"), h, body); r.code() != 0 {
			t.Fatalf("call %d within the limit: %s", i+1, r.raw)
		}
	}
	clk.Advance(20 * time.Second)
	r := s.post(sendPath("1"), h, body)
	wantError(t, r, 429, 99991400)
	if r.header.Get("x-ogw-ratelimit-limit") != "10" || r.header.Get("x-ogw-ratelimit-reset") != "40" {
		t.Fatalf("headers limit %q reset %q; want 10 and 40 (s until the window frees)",
			r.header.Get("x-ogw-ratelimit-limit"), r.header.Get("x-ogw-ratelimit-reset"))
	}
	clk.Advance(40 * time.Second)
	if r := s.post(sendPath("1"), h, body); r.code() != 0 {
		t.Fatalf("after x-ogw-ratelimit-reset: %s", r.raw)
	}
	if n := len(s.Received()); n != 11 {
		t.Fatalf("%d records, want 11 (the refused call is not one)", n)
	}
	// The limit is execute_send's: tokens are not counted against it.
	s.appToken(appTokenPath, "app_access_token")
}

// Faults come from simkit; a status fault without a body gets the
// documented code for its status.
func TestFaults(t *testing.T) {
	tests := []struct {
		status int
		code   float64
	}{
		{400, 154000}, {401, 154001}, {403, 154003}, {404, 154004}, {405, 154005},
		{429, 99991400}, {500, 155000}, {503, 155000},
	}
	s := start(t, feishusim.Options{ExecuteSendPerMinute: -1})
	h := sendHeaders(s.userToken())
	const body = `{"send_at":"1624326025000"}`
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			s.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: feishusim.ExecuteSend, Status: tt.status, Count: 1})
			wantError(t, s.post(sendPath("1"), h, body), tt.status, tt.code)
			if r := s.post(sendPath("1"), h, body); r.code() != 0 {
				t.Fatalf("after the fault's count: %s", r.raw)
			}
		})
	}
	if n := len(s.Received()); n != len(tests) {
		t.Fatalf("%d records, want %d: a faulted call is not handled", n, len(tests))
	}

	// drop_after: handled and recorded, then the connection is cut.
	before := len(s.Received())
	s.Inject(simkit.Fault{Kind: simkit.FaultDropAfter, Endpoint: feishusim.ExecuteSend, Count: 1})
	req, _ := http.NewRequest(http.MethodPost, s.base+sendPath("7"), strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("drop_after answered HTTP %d", resp.StatusCode)
	}
	if got := s.Received(); len(got) != before+1 || got[len(got)-1].NotificationID != "7" {
		t.Fatalf("drop_after: %d records, want %d with notification 7 last", len(got), before+1)
	}
	// The Kit logs the call once its handler is done, which may be after
	// the client saw the connection close: wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		calls := s.Calls()
		last := calls[len(calls)-1]
		if last.Fault == simkit.FaultDropAfter {
			if last.Status != 0 || last.Path != sendPath("7") {
				t.Fatalf("drop_after call %+v; want status 0 (no reply seen)", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drop_after call never logged; last %+v", last)
		}
		time.Sleep(time.Millisecond)
	}
}
