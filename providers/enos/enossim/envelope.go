package enossim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Token-service codes (providers.md D; EnOS "Invoking API with Access
// Token").
const (
	CodeReusedTimestamp = 1001 // repeated request: duplicated encryption or apim-timestamp
	CodeUnknownAppKey   = 1002
	CodeBadEncryption   = 1003 // also a wrong apim-signature [U]
	CodeInvalidParam    = 1004
	CodeInternal        = 1005
	CodeEmptyParam      = 1202
	CodeTokenExpired    = 1203
	CodeRefreshFailed   = 1204
)

// Application-portal and common codes.
const (
	CodeBadRequest   = 31400
	CodeInvalidToken = 31401
	CodeForbidden    = 31403
	CodeCommonBad    = 99400
	CodeCommonDenied = 99403
	CodeNotFound     = 99404
	CodeTooMany      = 99429 // the gateway's throttling answer [U]
	CodeServerError  = 99500
)

// StatusFor is an ErrorStatus that gives each code its HTTP meaning: 401
// for token errors, 403 permission, 404, 429, 500 for internal errors and
// 400 for the rest. Whether EnOS does so is undocumented [U]; tests run the
// client against both this and HTTP 200 for everything.
func StatusFor(code int) int {
	switch code {
	case CodeTokenExpired, CodeInvalidToken, CodeBadEncryption:
		return http.StatusUnauthorized
	case CodeForbidden, CodeCommonDenied, CodeUnknownAppKey:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeTooMany:
		return http.StatusTooManyRequests
	case CodeInternal, CodeServerError:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// envelope is the application portal's reply:
//
//	{"code":0,"msg":"OK","requestId":"…","data":true}
//
// with a non-zero code and data null on errors. The gateway's own refusals
// (signature, token, timestamp) use it too [U].
type envelope struct {
	Code      int    `json:"code"`
	Msg       string `json:"msg"`
	RequestID string `json:"requestId"`
	Data      any    `json:"data"`
}

// tokenReply is the token service's reply:
//
//	{"status":0,"msg":"SUCCESS","business":"apim-token-service","data":{…}}
type tokenReply struct {
	Status   int    `json:"status"`
	Msg      string `json:"msg"`
	Business string `json:"business"`
	Data     any    `json:"data"`
}

// fail answers with code in the endpoint's error shape.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ep Endpoint, code int, msg string) {
	simkit.Note(r, strconv.Itoa(code))
	status := http.StatusOK
	if s.opts.ErrorStatus != nil {
		status = s.opts.ErrorStatus(code)
	}
	if ep == TokenGet || ep == TokenRefresh {
		writeJSON(w, status, tokenReply{Status: code, Msg: msg, Business: "apim-token-service"})
		return
	}
	writeJSON(w, status, envelope{Code: code, Msg: msg, RequestID: simkit.RandomHex(16)})
}

// faultReply is the documented body for an injected status fault: the
// code that status stands for.
func (s *Server) faultReply(w http.ResponseWriter, r *http.Request, status int) {
	code := CodeBadRequest
	switch {
	case status == http.StatusUnauthorized:
		code = CodeInvalidToken
	case status == http.StatusForbidden:
		code = CodeForbidden
	case status == http.StatusNotFound:
		code = CodeNotFound
	case status == http.StatusTooManyRequests:
		code = CodeTooMany
	case status >= 500:
		code = CodeServerError
	}
	simkit.Note(r, strconv.Itoa(code))
	writeJSON(w, status, envelope{Code: code, Msg: http.StatusText(status), RequestID: simkit.RandomHex(16)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"code":99500,"msg":"marshal","data":null}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// maxBody bounds a request body: 100 messages with long texts fit easily
// [U: EnOS documents no size limit].
const maxBody = 4 << 20

// readBody reads the whole body, answering the call itself on failure.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, ep Endpoint) ([]byte, bool) {
	code := CodeInvalidParam
	if ep == Produce {
		code = CodeBadRequest
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.fail(w, r, ep, code, "read body: "+err.Error())
		return nil, false
	}
	if len(b) > maxBody {
		s.fail(w, r, ep, code, "body too large")
		return nil, false
	}
	return b, true
}
