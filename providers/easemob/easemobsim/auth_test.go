package easemobsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

func TestTokenEndpoint(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{"grant_type": "client_credentials", "client_id": "demo-client-id", "client_secret": "demo-client-secret"}
	}
	with := func(k string, v any) map[string]any { m := good(); m[k] = v; return m }
	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		wantError  string
		wantTTL    int64 // expires_in, when 200
	}{
		{"issued with the default lifetime", "/token", good(), 200, "", 2 * 3600},
		{"ttl asked for", "/token", with("ttl", 60), 200, "", 60},
		{"ttl 0 never expires", "/token", with("ttl", 0), 200, "", 0},
		{"wrong secret", "/token", with("client_secret", "nope"), 400, "invalid_grant", 0},
		{"wrong client id", "/token", with("client_id", "nope"), 400, "invalid_grant", 0},
		{"wrong grant type", "/token", with("grant_type", "password"), 400, "invalid_grant", 0},
		{"not JSON", "/token", "grant_type=client_credentials", 400, "json_parse", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, easemobsim.Options{TokenTTL: 2 * time.Hour})
			r := s.do(tt.path, "", tt.body)
			if r.status != tt.wantStatus || r.str("error") != tt.wantError {
				t.Fatalf("HTTP %d error %q (%s); want %d %q", r.status, r.str("error"), r.raw, tt.wantStatus, tt.wantError)
			}
			if tt.wantStatus != 200 {
				if r.str("error_description") == "" {
					t.Fatalf("no error_description: %s", r.raw)
				}
				if s.TokensIssued() != 0 {
					t.Fatal("a token was issued on a failed request")
				}
				return
			}
			if r.str("access_token") == "" || r.str("application") == "" {
				t.Fatalf("reply lacks access_token or application: %s", r.raw)
			}
			if n, err := r.num("expires_in"); err != nil || n != tt.wantTTL {
				t.Fatalf("expires_in %d (%v), want %d: %s", n, err, tt.wantTTL, r.raw)
			}
			if s.TokensIssued() != 1 {
				t.Fatalf("TokensIssued %d, want 1", s.TokensIssued())
			}
			// The token works.
			if r := s.do("/push/single", r.str("access_token"), map[string]any{"targets": []string{"u1"}, "pushMessage": msg()}); r.status != 200 {
				t.Fatalf("push with the new token: HTTP %d %s", r.status, r.raw)
			}
		})
	}
}

func TestBearerCheck(t *testing.T) {
	clk := newClock()
	s := start(t, easemobsim.Options{Now: clk.Now, TokenTTL: time.Hour, QPS: unlimited()})
	valid := s.token()
	body := map[string]any{"targets": []string{"u1"}, "pushMessage": msg()}

	tests := []struct {
		name      string
		header    string
		advance   time.Duration
		wantError string
		wantDesc  string
	}{
		{"valid", "Bearer " + valid, 0, "", ""},
		{"missing", "", 0, "unauthorized", "Unable to authenticate due to expired access token"},
		{"not bearer", "Basic " + valid, 0, "auth_bad_access_token", "Unable to authenticate due to corrupt access token"},
		{"unknown", "Bearer YWMtforged", 0, "auth_bad_access_token", "Unable to authenticate"},
		{"expired", "Bearer " + valid, time.Hour, "unauthorized", "Unable to authenticate due to expired access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			req := newPost(t, s.base+"/push/single", body)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			r := s.send(req)
			if tt.wantError == "" {
				if r.status != 200 {
					t.Fatalf("HTTP %d %s", r.status, r.raw)
				}
				return
			}
			wantError(t, r, http.StatusUnauthorized, tt.wantError)
			if r.str("error_description") != tt.wantDesc {
				t.Fatalf("error_description %q, want %q", r.str("error_description"), tt.wantDesc)
			}
		})
	}
}

func TestRevokeTokens(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	s.RevokeTokens()
	r := s.do("/push/single", tok, map[string]any{"targets": []string{"u1"}, "pushMessage": msg()})
	wantError(t, r, 401, "auth_bad_access_token")
	if len(s.Received()) != 0 {
		t.Fatal("a push with a revoked token was recorded")
	}
}

func TestRouting(t *testing.T) {
	s := start(t, easemobsim.Options{QPS: unlimited()})
	tok := s.token()
	url := s.URL()
	tests := []struct {
		name       string
		method     string
		url        string
		wantStatus int
		wantError  string
	}{
		{"unknown path", "POST", s.base + "/push/everyone", 404, "service_resource_not_found"},
		{"sync without target", "POST", s.base + "/push/sync/", 404, "service_resource_not_found"},
		{"unknown app", "POST", url + "/herald/other/push/single", 404, "organization_application_not_found"},
		{"unknown org", "POST", url + "/nobody/demo/token", 404, "organization_application_not_found"},
		{"wrong method", "GET", s.base + "/push/single", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			wantError(t, s.send(req), tt.wantStatus, tt.wantError)
		})
	}
	if calls := s.Calls(); calls[len(calls)-1].Status != 405 {
		t.Fatalf("last call recorded as %+v, want the 405", calls[len(calls)-1])
	}
}
