package easemobsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// token answers POST /{org}/{app}/token: body {grant_type:
// "client_credentials", client_id, client_secret, ttl?}, reply {access_token,
// expires_in, application} (no envelope). A wrong credential is HTTP 400
// {"error":"invalid_grant","error_description":"client_id does not match"}.
func (s *Server) token(c *call) {
	if !s.Allow(Token) {
		c.fail(http.StatusTooManyRequests, errReachLimit())
		return
	}
	body, ok := c.readBody()
	if !ok {
		return
	}
	m, err := decodeObject(body)
	if err != nil {
		c.fail(http.StatusBadRequest, errJSONParse(err))
		return
	}
	str := func(k string) string {
		var v string
		if raw, ok := m[k]; ok {
			_ = json.Unmarshal(raw, &v)
		}
		return v
	}
	grant := func(why string) {
		// The token endpoint's errors are plain OAuth bodies: error and
		// error_description only.
		simkit.Note(c.r, "invalid_grant")
		c.writeJSON(http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": why})
	}
	switch {
	case str("grant_type") != "client_credentials":
		grant("unsupported grant_type, expected client_credentials")
		return
	case str("client_id") != s.opts.ClientID:
		grant("client_id does not match")
		return
	case str("client_secret") != s.opts.ClientSecret:
		grant("client_secret does not match")
		return
	}
	ttl := s.opts.TokenTTL
	if raw, ok := m["ttl"]; ok {
		var secs json.Number
		if err := json.Unmarshal(raw, &secs); err != nil {
			c.fail(http.StatusBadRequest, errIllegalArgument("ttl must be a number of seconds"))
			return
		}
		n, err := secs.Int64()
		if err != nil || n < 0 {
			c.fail(http.StatusBadRequest, errIllegalArgument("ttl must be a number of seconds"))
			return
		}
		// ttl 0 asks for a token that never expires.
		ttl = time.Duration(n) * time.Second
	}

	tok, _ := s.IssueToken("app", ttl)

	c.writeJSON(http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Application string `json:"application"`
	}{tok, int64(ttl / time.Second), s.application})
}

// authorized checks the Bearer token and answers 401 itself when it is bad,
// with the documented bodies: missing or expired is "unauthorized", a
// malformed header or a token this server never issued is
// "auth_bad_access_token".
func (s *Server) authorized(c *call) bool {
	h := c.r.Header.Get("Authorization")
	if h == "" {
		c.fail(http.StatusUnauthorized, errExpiredToken())
		return false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		c.fail(http.StatusUnauthorized, errBadToken())
		return false
	}
	switch _, state := s.CheckToken(tok); state {
	case simkit.TokenUnknown:
		e := errBadToken()
		e.Description = "Unable to authenticate"
		c.fail(http.StatusUnauthorized, e)
		return false
	case simkit.TokenExpired:
		c.fail(http.StatusUnauthorized, errExpiredToken())
		return false
	}
	return true
}
