package enossim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Headers every gateway call carries.
const (
	HeaderAccessToken = "apim-accesstoken"
	HeaderTimestamp   = "apim-timestamp"
	HeaderSignature   = "apim-signature"
)

// tokenRequest is token/get's and token/refresh's body. Timestamp is a Long
// in milliseconds; it is kept as sent, since the encryption covers its
// decimal form.
type tokenRequest struct {
	AppKey      string      `json:"appKey"`
	Encryption  string      `json:"encryption"`
	Timestamp   json.Number `json:"timestamp"`
	AccessToken string      `json:"accessToken"` // refresh only
}

type tokenData struct {
	AccessToken string `json:"accessToken"`
	Expire      int64  `json:"expire"`
}

// Sha256Hex is lowercase hex SHA-256, EnOS's digest for both the token
// request's encryption and every call's signature.
func Sha256Hex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkTokenRequest parses and authenticates a token-service body,
// answering the call itself when it fails.
func (s *Server) checkTokenRequest(w http.ResponseWriter, r *http.Request, ep Endpoint, body []byte) (tokenRequest, bool) {
	var req tokenRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, r, ep, CodeInvalidParam, "invalid JSON body: "+err.Error())
		return req, false
	}
	if req.AppKey == "" || req.Encryption == "" || req.Timestamp == "" || (ep == TokenRefresh && req.AccessToken == "") {
		s.fail(w, r, ep, CodeEmptyParam, "parameter is empty")
		return req, false
	}
	ts, err := req.Timestamp.Int64()
	if err != nil || ts <= 0 {
		s.fail(w, r, ep, CodeInvalidParam, "timestamp must be a Long in milliseconds")
		return req, false
	}
	if req.AppKey != s.opts.AppKey {
		s.fail(w, r, ep, CodeUnknownAppKey, "appKey does not exist")
		return req, false
	}
	if req.Encryption != Sha256Hex(req.AppKey, req.Timestamp.String(), s.opts.AppSecret) {
		s.fail(w, r, ep, CodeBadEncryption, "encryption is not valid")
		return req, false
	}
	if !s.useStamp("token:"+req.AppKey, ts) {
		s.fail(w, r, ep, CodeReusedTimestamp, "repeated request: duplicated encryption")
		return req, false
	}
	return req, true
}

// tokenGet returns the app's token, the same one while it is valid.
func (s *Server) tokenGet(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, ok := s.checkTokenRequest(w, r, TokenGet, body); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if left := s.currentLeft(); left > 0 {
		s.grant(w, s.current, left)
		return
	}
	s.issue(w)
}

// tokenRefresh replaces a valid token with a new one. The old token stays
// valid until its own expiry, so calls already under way with it still
// pass [U].
func (s *Server) tokenRefresh(w http.ResponseWriter, r *http.Request, body []byte) {
	req, ok := s.checkTokenRequest(w, r, TokenRefresh, body)
	if !ok {
		return
	}
	if subject, state := s.CheckToken(req.AccessToken); state != simkit.TokenValid || subject != s.opts.AppKey {
		s.fail(w, r, TokenRefresh, CodeRefreshFailed, "failed to refresh access token: token unknown or expired")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issue(w)
}

// issue makes a new current token and answers with it; s.mu is held.
func (s *Server) issue(w http.ResponseWriter) {
	tok, exp := s.IssueToken(s.opts.AppKey, s.opts.TokenTTL)
	s.current, s.currentExp = tok, exp
	s.grant(w, tok, s.opts.TokenTTL)
}

func (s *Server) grant(w http.ResponseWriter, tok string, left time.Duration) {
	writeJSON(w, http.StatusOK, tokenReply{
		Msg: "SUCCESS", Business: "apim-token-service",
		Data: tokenData{AccessToken: tok, Expire: int64(math.Ceil(left.Seconds()))},
	})
}

// currentLeft is how long the current token has left, 0 if there is none
// or it was revoked or expired; s.mu is held.
func (s *Server) currentLeft() time.Duration {
	if s.current == "" {
		return 0
	}
	if _, state := s.CheckToken(s.current); state != simkit.TokenValid {
		return 0
	}
	return s.currentExp.Sub(s.Now())
}

// authenticate checks a gateway call's apim headers and signature over the
// sorted query and the exact body bytes, answering the call itself when
// they fail. The timestamp is spent only by a call whose signature holds.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, body []byte) bool {
	tok := r.Header.Get(HeaderAccessToken)
	stamp := r.Header.Get(HeaderTimestamp)
	sig := r.Header.Get(HeaderSignature)
	if tok == "" || stamp == "" || sig == "" {
		s.fail(w, r, Produce, CodeEmptyParam, "apim-accesstoken, apim-timestamp and apim-signature are required")
		return false
	}
	switch subject, state := s.CheckToken(tok); {
	case state == simkit.TokenExpired:
		s.fail(w, r, Produce, CodeTokenExpired, "access token has expired")
		return false
	case state != simkit.TokenValid || subject != s.opts.AppKey:
		s.fail(w, r, Produce, CodeInvalidToken, "invalid access token")
		return false
	}
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil || ts <= 0 {
		s.fail(w, r, Produce, CodeInvalidParam, "apim-timestamp must be milliseconds")
		return false
	}
	if sig != Sha256Hex(tok, ParamsData(r.URL.Query(), body), stamp, s.opts.AppSecret) {
		s.fail(w, r, Produce, CodeBadEncryption, "apim-signature does not match the request")
		return false
	}
	if !s.useStamp(tok, ts) {
		s.fail(w, r, Produce, CodeReusedTimestamp, "repeated request: apim-timestamp already used")
		return false
	}
	return true
}

// ParamsData is what a signature covers besides token, timestamp and
// secret: the query parameters sorted by name (ASCII), each as name+value
// (values decoded), then the body exactly as received.
func ParamsData(q url.Values, body []byte) string {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range q[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	b.Write(body)
	return b.String()
}

// stampWindow is how long a used timestamp is remembered [U]: EnOS does
// not say; a replay older than a token's life is refused by the token.
const stampWindow = 2 * time.Hour

// useStamp spends timestamp ts for key, reporting false if it was spent
// already. Spent timestamps older than stampWindow before ts are
// forgotten, so the memory stays bounded.
func (s *Server) useStamp(key string, ts int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	used := s.stamps[key]
	if used == nil {
		used = map[int64]bool{}
		s.stamps[key] = used
	}
	if used[ts] {
		return false
	}
	used[ts] = true
	if len(used)%1024 == 0 {
		cut := ts - stampWindow.Milliseconds()
		for t := range used {
			if t < cut {
				delete(used, t)
			}
		}
	}
	return true
}
