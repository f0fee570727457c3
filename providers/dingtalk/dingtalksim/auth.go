package dingtalksim

import (
	"net/http"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// getToken answers GET /gettoken?appkey=&appsecret= with
// {errcode:0, errmsg:"ok", access_token, expires_in}. While the app's token
// is valid the same token is returned, its life extended to TokenTTL again,
// as DingTalk documents; a wrong key or secret is errcode 40089.
func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("appkey") != s.opts.AppKey || q.Get("appsecret") != s.opts.AppSecret {
		fail(w, r, errBadApp())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" {
		if _, renewed := s.RenewToken(s.token, s.opts.TokenTTL); renewed {
			ok(w, r, map[string]any{"access_token": s.token, "expires_in": int64(s.opts.TokenTTL / time.Second)})
			return
		}
	}
	s.token, _ = s.IssueToken(s.opts.AppKey, s.opts.TokenTTL)
	ok(w, r, map[string]any{"access_token": s.token, "expires_in": int64(s.opts.TokenTTL / time.Second)})
}

// authorized checks the access_token query parameter: missing or unknown
// (revoked) is 40014, expired 42001.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok := r.URL.Query().Get("access_token")
	switch _, state := s.CheckToken(tok); {
	case tok == "" || state == simkit.TokenUnknown:
		fail(w, r, errBadToken())
		return false
	case state == simkit.TokenExpired:
		fail(w, r, errExpiredToken())
		return false
	}
	return true
}
