package feishusim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Refresh-token refusals [U: Feishu's error list for
// refresh_access_token; providers.md only says the token rotates].
const (
	codeBadRequest      = 20001 // grant_type or refresh_token missing
	codeRefreshInvalid  = 20026 // never issued
	codeRefreshExpired  = 20037
	codeRefreshRevoked  = 20064
	codeRefreshUsed     = 20073 // redeemed before: single use
	codeAppSecret       = 10014 // app_id / app_secret wrong [U]
	codeMissingToken    = 99991661
	codeTenantToken     = 99991663
	codeAppTokenInvalid = 99991664
	codeUserTokenBad    = 99991668
	codeUserTokenExp    = 99991677
)

// refreshToken is one refresh token the simulator issued.
type refreshToken struct {
	expires time.Time
	used    bool
	revoked bool
}

// Redemption is one refresh call, in the order they arrived.
type Redemption struct {
	// Token is the refresh token presented.
	Token string    `json:"token"`
	At    time.Time `json:"at"`
	// Code is 0 when a new pair was issued, else the refusal's code.
	Code int `json:"code"`
	// Issued is the new refresh token, "" when refused.
	Issued string `json:"issued,omitempty"`
}

// IssueRefreshToken is a user authorizing the app: it returns a fresh
// refresh token, the one an operator would bootstrap an account with.
func (s *Server) IssueRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueRefreshLocked()
}

func (s *Server) issueRefreshLocked() string {
	v := "ur-" + simkit.RandomHex(20)
	s.refresh[v] = &refreshToken{expires: s.Now().Add(s.opts.RefreshTokenTTL)}
	return v
}

// RevokeRefreshTokens revokes every refresh token outstanding, as when the
// user withdraws the app's authorization: the next refresh is refused
// with 20064.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		t.revoked = true
	}
}

// Redemptions returns every refresh call, oldest first.
func (s *Server) Redemptions() []Redemption {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Redemption(nil), s.redeemed...)
}

// appToken answers the app and tenant token endpoints: body {app_id,
// app_secret}, reply flat {code, msg, <field>, expire}. With at least 30
// minutes left the same token is returned; below that a new one is issued
// and both stay valid.
func (s *Server) appToken(w http.ResponseWriter, r *http.Request, subject, field string) {
	var body struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	if body.AppID != s.opts.AppID || body.AppSecret != s.opts.AppSecret {
		s.fail(w, r, http.StatusBadRequest, codeAppSecret, "app secret invalid")
		return
	}
	now := s.Now()
	s.mu.Lock()
	cur, ok := s.appTok[subject]
	// A token revoked since (RevokeTokens, /_sim/tokens/revoke) is never
	// handed out again: a client that dropped a refused token would get
	// it back and loop.
	if _, state := s.CheckToken(cur.token); ok && state != simkit.TokenValid {
		ok = false
	}
	if !ok || cur.expires.Sub(now) < 30*time.Minute {
		v, exp := s.IssueToken(subject, s.opts.AppTokenTTL)
		cur = issuedApp{token: v, expires: exp}
		s.appTok[subject] = cur
	}
	s.mu.Unlock()
	s.reply(w, http.StatusOK, map[string]any{
		"code": 0, "msg": "ok", field: cur.token, "expire": int(cur.expires.Sub(now) / time.Second),
	})
}

// refreshToken answers POST /open-apis/authen/v1/oidc/refresh_access_token:
// Bearer app_access_token, body {grant_type: "refresh_token",
// refresh_token}. The refresh token is single-use: redeeming it issues a
// new pair and spends it.
func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) {
	switch subj, state := s.bearer(r); {
	case state == "":
		s.fail(w, r, http.StatusBadRequest, codeMissingToken, "Missing access token for authorization")
		return
	case state != "valid" || subj != subjectApp:
		s.fail(w, r, http.StatusBadRequest, codeAppTokenInvalid, "Invalid access token for authorization. Please make a request with token attached.")
		return
	}
	var body struct {
		GrantType    string `json:"grant_type"`
		RefreshToken string `json:"refresh_token"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	if body.GrantType != "refresh_token" || body.RefreshToken == "" {
		s.fail(w, r, http.StatusBadRequest, codeBadRequest, "invalid request: grant_type must be refresh_token and refresh_token is required")
		return
	}
	now := s.Now()
	s.mu.Lock()
	red := Redemption{Token: body.RefreshToken, At: now}
	t, ok := s.refresh[body.RefreshToken]
	switch {
	case !ok:
		red.Code = codeRefreshInvalid
	case t.revoked:
		red.Code = codeRefreshRevoked
	case t.used:
		red.Code = codeRefreshUsed
	case !now.Before(t.expires):
		red.Code = codeRefreshExpired
	default:
		t.used = true
		red.Issued = s.issueRefreshLocked()
	}
	s.redeemed = append(s.redeemed, red)
	s.mu.Unlock()
	if red.Code != 0 {
		msg := map[int]string{
			codeRefreshInvalid: "The refresh token passed is invalid",
			codeRefreshRevoked: "The refresh token has been revoked",
			codeRefreshUsed:    "The refresh token has been used",
			codeRefreshExpired: "The refresh token has expired",
		}[red.Code]
		s.fail(w, r, http.StatusBadRequest, red.Code, msg)
		return
	}
	access, _ := s.IssueToken(subjectUser, s.opts.UserTokenTTL)
	s.reply(w, http.StatusOK, map[string]any{"code": 0, "msg": "success", "data": map[string]any{
		"access_token": access, "refresh_token": red.Issued, "token_type": "Bearer",
		"expires_in":         int(s.opts.UserTokenTTL / time.Second),
		"refresh_expires_in": int(s.opts.RefreshTokenTTL / time.Second),
		"scope":              "helpdesk:all",
	}})
}

// bearer reads "Authorization: Bearer <token>" and checks the token:
// state "" (none), "valid", "expired" or "unknown".
func (s *Server) bearer(r *http.Request) (subject, state string) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(v) == "" {
		return "", ""
	}
	subject, st := s.CheckToken(strings.TrimSpace(v))
	switch st {
	case simkit.TokenValid:
		return subject, "valid"
	case simkit.TokenExpired:
		return subject, "expired"
	}
	return "", "unknown"
}

// decode reads a JSON object body; a bad one is 400 with the endpoint's
// bad-request code.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		code := codeBadRequest
		if route(r) == ExecuteSend {
			code = 154000
		}
		s.fail(w, r, http.StatusBadRequest, code, "Bad request, please check your request body")
		return false
	}
	return true
}

const controlPrefix = "/_feishusim/"

// control serves Feishu's own control endpoints (see the package doc).
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	write := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch p := strings.TrimPrefix(r.URL.Path, controlPrefix); {
	case p == "authorize" && r.Method == http.MethodPost:
		write(map[string]string{"refresh_token": s.IssueRefreshToken()})
	case p == "refresh/revoke" && r.Method == http.MethodPost:
		s.RevokeRefreshTokens()
		w.WriteHeader(http.StatusNoContent)
	case p == "refresh" && r.Method == http.MethodGet:
		write(s.Redemptions())
	default:
		http.NotFound(w, r)
	}
}
