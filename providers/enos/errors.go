package enos

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/herald-dispatch/herald/providers"
)

// envelope reads both of EnOS's reply shapes: the application portal's
// {code, msg, requestId, data} and the token service's {status, msg,
// business, data}. Which shape the gateway's own refusals (a bad
// signature, an expired token) take is undocumented, so both are read
// everywhere; "message" is read too, as the seed's example uses it.
type envelope struct {
	Code      json.RawMessage `json:"code"`
	Status    json.RawMessage `json:"status"`
	Msg       string          `json:"msg"`
	Message   string          `json:"message"`
	RequestID string          `json:"requestId"`
	Data      json.RawMessage `json:"data"`
}

// code is the reply's code as sent ("0", "31401"), "" if it has none.
func (e *envelope) code() string {
	for _, raw := range []json.RawMessage{e.Code, e.Status} {
		s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
		if s != "" && s != "null" {
			return s
		}
	}
	return ""
}

func (e *envelope) msg() string {
	if e.Msg != "" {
		return e.Msg
	}
	return e.Message
}

// sent reads data: the produce call documents a Boolean, "whether the
// message was sent", and the seed's example shows {"success": true}. known
// is false when data is neither.
func (e *envelope) sent() (ok, known bool) {
	var b bool
	if err := json.Unmarshal(e.Data, &b); err == nil && !bytes.Equal(bytes.TrimSpace(e.Data), []byte("null")) {
		return b, true
	}
	var obj struct {
		Success *bool `json:"success"`
	}
	if err := json.Unmarshal(e.Data, &obj); err == nil && obj.Success != nil {
		return *obj.Success, true
	}
	return false, false
}

// Classes of EnOS's documented codes (providers.md D). The token-service
// codes can come from any gateway call.
//
//	code   meaning                                class
//	1001   reused timestamp / encryption          transient: the next attempt has a new timestamp
//	1002   appKey does not exist                  permanent
//	1003   encryption (or signature) invalid      permanent
//	1004   invalid parameter                      permanent
//	1005   token service internal error           transient
//	1202   empty parameter                        permanent
//	1203   access token expired                   unauthorized: drop the token, call again
//	1204   token refresh failed                   transient
//	31400  invalid parameter                      permanent
//	31401  invalid token                          unauthorized
//	31403  no permission                          permanent
//	99400  bad request                            permanent
//	99403  forbidden                              permanent
//	99404  not found                              permanent
//	99500  internal error                         transient
//
// A code not listed is judged by the HTTP status (providers.ClassOfStatus:
// 401 unauthorized, 429 rate-limited, other 4xx permanent, 5xx transient);
// with HTTP 200 it is permanent, so the job is archived with EnOS's code
// and message for an operator to read. HTTP 429 is rate-limited whatever
// the code.
//
// 1001 is transient, not re-signed and resent within the same Send: a
// Send makes one HTTP call, so that every call passes the worker's
// limiter. A client hands out strictly increasing timestamps, so 1001
// needs two replicas signing in the same millisecond; the retry is rare,
// and harmless, since a resent batch cannot duplicate anything.
var codeClass = map[string]providers.Class{
	"1001":  providers.Transient,
	"1002":  providers.Permanent,
	"1003":  providers.Permanent,
	"1004":  providers.Permanent,
	"1005":  providers.Transient,
	"1202":  providers.Permanent,
	"1203":  providers.Unauthorized,
	"1204":  providers.Transient,
	"31400": providers.Permanent,
	"31401": providers.Unauthorized,
	"31403": providers.Permanent,
	"99400": providers.Permanent,
	"99403": providers.Permanent,
	"99404": providers.Permanent,
	"99500": providers.Transient,
}

// classify is the class of a reply with a non-zero code (or none) and an
// HTTP status.
func classify(code string, status int) providers.Class {
	if status == http.StatusTooManyRequests {
		return providers.RateLimited
	}
	if c, ok := codeClass[code]; ok {
		return c
	}
	if status < 400 {
		return providers.Permanent
	}
	return providers.ClassOfStatus(status)
}

// judge decodes rep into env and returns nil for a success (code 0 with a
// 2xx status), else the *providers.Error it stands for. The request id in
// the body, when there is one, becomes the reply's.
func judge(rep *providers.Reply, env *envelope) error {
	derr := rep.DecodeJSON(env)
	if env.RequestID != "" {
		rep.RequestID = env.RequestID
	}
	ok2xx := rep.Status >= 200 && rep.Status < 300
	if derr != nil {
		if ok2xx {
			// EnOS said 2xx but its answer is unreadable: it may have
			// acted. A resend is harmless, so retry.
			return derr
		}
		// A gateway's HTML error page: only the status speaks.
		return rep.Error(providers.ClassOfStatus(rep.Status), "", "")
	}
	code := env.code()
	switch {
	case code == "0" && ok2xx:
		return nil
	case code == "" && ok2xx:
		return rep.Error(providers.Transient, "bad_reply", "reply has no code")
	case code == "0":
		code = ""
	}
	return rep.Error(classify(code, rep.Status), code, env.msg())
}
