package feishusim_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// newClock is a settable clock for Options.Now.
func newClock() *simkit.Clock { return simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) }

// sim is a started simulator and hand-built HTTP around it: nothing here
// uses Herald's feishu client, so a client bug cannot hide a sim bug.
type sim struct {
	*feishusim.Server
	t    *testing.T
	base string
}

func start(t *testing.T, opts feishusim.Options) *sim {
	t.Helper()
	s := feishusim.New(opts)
	return &sim{Server: s, t: t, base: simtest.Start(t, s.Kit)}
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r reply) code() float64 {
	c, _ := r.body["code"].(float64)
	return c
}

func (r reply) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

func (r reply) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

// post sends body as is to path with headers.
func (s *sim) post(path string, headers map[string]string, body string) reply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, raw := simtest.Fetch(s.t, req)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

const (
	appTokenPath    = "/open-apis/auth/v3/app_access_token/internal"
	tenantTokenPath = "/open-apis/auth/v3/tenant_access_token/internal"
	refreshPath     = "/open-apis/authen/v1/oidc/refresh_access_token"
)

func sendPath(id string) string {
	return "/open-apis/helpdesk/v1/notifications/" + id + "/execute_send"
}

var appCreds = `{"app_id":"` + feishusim.DefaultAppID + `","app_secret":"` + feishusim.DefaultAppSecret + `"}`

// appToken gets a token from path (app or tenant), failing the test
// unless the flat reply {code:0, msg, <field>, expire} comes back.
func (s *sim) appToken(path, field string) (string, float64) {
	s.t.Helper()
	r := s.post(path, nil, appCreds)
	tok := r.str(field)
	if r.status != 200 || r.code() != 0 || tok == "" || r.body["data"] != nil {
		s.t.Fatalf("%s: HTTP %d %s; want a flat {code:0, %s, expire}", path, r.status, r.raw, field)
	}
	exp, _ := r.body["expire"].(float64)
	return tok, exp
}

// authorize is a user authorizing the app, through the simulator's own
// control endpoint: a fresh refresh token.
func (s *sim) authorize() string {
	s.t.Helper()
	r := s.post("/_feishusim/authorize", nil, "")
	if r.status != 200 || r.str("refresh_token") == "" {
		s.t.Fatalf("authorize: HTTP %d %s", r.status, r.raw)
	}
	return r.str("refresh_token")
}

// refresh redeems rt with the app token app.
func (s *sim) refresh(app, rt string) reply {
	s.t.Helper()
	return s.post(refreshPath, bearer(app), `{"grant_type":"refresh_token","refresh_token":"`+rt+`"}`)
}

// userToken is a valid user_access_token, had the documented way.
func (s *sim) userToken() string {
	s.t.Helper()
	app, _ := s.appToken(appTokenPath, "app_access_token")
	r := s.refresh(app, s.authorize())
	tok, _ := r.data()["access_token"].(string)
	if r.code() != 0 || tok == "" {
		s.t.Fatalf("refresh: HTTP %d %s", r.status, r.raw)
	}
	return tok
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// helpdeskHeader is X-Lark-Helpdesk-Authorization for id:token.
func helpdeskHeader(id, token string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + token))
}

// sendHeaders are a correct execute_send's headers with user token tok.
func sendHeaders(tok string) map[string]string {
	return map[string]string{
		"Authorization":                 "Bearer " + tok,
		"X-Lark-Helpdesk-Authorization": helpdeskHeader(feishusim.DefaultHelpdeskID, feishusim.DefaultHelpdeskToken),
	}
}

// wantError checks an error reply: HTTP status, code, and the documented
// envelope {code, msg, error:{log_id}} with a log id header.
func wantError(t *testing.T, r reply, status int, code float64) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("HTTP %d code %v (%s); want HTTP %d code %v", r.status, r.code(), r.raw, status, code)
	}
	e, _ := r.body["error"].(map[string]any)
	if r.str("msg") == "" || e["log_id"] == nil || r.header.Get("X-Tt-Logid") == "" {
		t.Fatalf("error reply lacks msg, error.log_id or X-Tt-Logid: %s %v", r.raw, r.header)
	}
}
