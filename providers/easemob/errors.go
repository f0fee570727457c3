package easemob

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// errorReply is Easemob's error body:
//
//	{"error":"auth_bad_access_token","exception":"…SecurityException",
//	 "timestamp":1689154498019,"duration":0,
//	 "error_description":"Unable to authenticate due to corrupt access token"}
type errorReply struct {
	Error       string `json:"error"`
	Exception   string `json:"exception"`
	Description string `json:"error_description"`
}

// errorFrom maps a non-200 reply to a *providers.Error.
//
// The class follows providers.md section B (codes documented, policy
// Herald's):
//
//	401 (unauthorized, auth_bad_access_token)       Unauthorized: the worker retries once with a new token
//	429 reach_limit                                  RateLimited
//	429 resource_limited (free edition's cap)        Permanent
//	403 LimitException "limit request" (task caps)   RateLimited, RetryAfter ~100 s
//	403 ServiceNotOpenException                      Permanent
//	400 MessageException, IllegalArgumentException,
//	    json_parse, illegal_argument, invalid_grant  Permanent
//	404, 413, 415, other 4xx                         Permanent
//	5xx                                              Transient
//
// 503 is documented both as "service unavailable" and, for some APIs, as
// throttling. Herald treats it as Transient (exponential backoff, a retry
// used) unless it carries reach_limit or a Retry-After header, which make
// it RateLimited: classing every 503 as RateLimited would retry a real
// outage forever without ever archiving the job.
//
// A Retry-After header, when present, becomes RetryAfter whatever the class.
func (c *Client) errorFrom(rep *providers.Reply) *providers.Error {
	var body errorReply
	_ = json.Unmarshal(rep.Body, &body) // a non-JSON body (a gateway's HTML) leaves it empty
	exc := shortName(body.Exception)
	code := body.Error
	if code == "" {
		code = exc
	}
	_, hasRetryAfter := providers.ParseRetryAfter(rep.Header.Get("Retry-After"), time.Now())
	e := rep.Error(classify(rep.Status, body.Error, exc, hasRetryAfter), code, body.Description)
	if !hasRetryAfter && e.Class == providers.RateLimited && isLimitException(body.Error, exc) {
		e.RetryAfter = c.taskLimitRetryAfter()
	}
	return e
}

func classify(status int, code, exc string, hasRetryAfter bool) providers.Class {
	switch {
	case status == http.StatusUnauthorized || code == "unauthorized" || code == "auth_bad_access_token":
		return providers.Unauthorized
	case code == "resource_limited":
		return providers.Permanent
	case code == "reach_limit":
		return providers.RateLimited
	case isLimitException(code, exc):
		return providers.RateLimited
	case status == http.StatusServiceUnavailable && hasRetryAfter:
		return providers.RateLimited
	}
	return providers.ClassOfStatus(status)
}

// isLimitException recognises 403 "limit request": too many push tasks
// created or running. It comes back once a task finishes or leaves the
// 5-minute window.
func isLimitException(code, exc string) bool {
	return code == "LimitException" || exc == "LimitException"
}

func (c *Client) taskLimitRetryAfter() time.Duration {
	if c.cfg.TaskLimitRetryAfter > 0 {
		return c.cfg.TaskLimitRetryAfter
	}
	return DefaultTaskLimitRetryAfter
}

// shortName is a Java class name without its package:
// "com.easemob.push.exception.LimitException" -> "LimitException".
func shortName(exc string) string {
	if i := strings.LastIndexByte(exc, '.'); i >= 0 {
		return exc[i+1:]
	}
	return exc
}
