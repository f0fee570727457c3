package feishu

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// Feishu's codes Herald tells apart (providers.md section A; the helpdesk
// codes from the execute_send seed).
const (
	CodeBadRequest     = 154000 // 400: body or parameters wrong
	CodeHelpdeskAuth   = 154001 // 401: Authorization or helpdesk header wrong
	CodeForbidden      = 154003 // 403: permission missing
	CodeNotFound       = 154004 // 404: no such notification
	CodeNotAllowed     = 154005 // 405: not allowed to push (not approved)
	CodeInternal       = 155000 // 500
	CodeRateLimited    = 99991400
	CodeIPDenied       = 99991401
	CodeQuotaExhausted = 99991403
	CodeNoToken        = 99991661
	CodeTenantToken    = 99991663 // a tenant token where a user token is required; on token calls: invalid token
	CodeTokenInvalid   = 99991664
	CodeUserTokenBad   = 99991668
	CodeTokenFormat    = 99991671
	CodeScope          = 99991672
	CodeUserTokenExp   = 99991677
)

// classes is the documented table. Codes not in it fall back to the HTTP
// status (see classify).
var classes = map[int64]providers.Class{
	CodeBadRequest:     providers.Permanent,
	CodeHelpdeskAuth:   providers.Permanent, // a wrong helpdesk token stays wrong
	CodeForbidden:      providers.Permanent,
	CodeNotFound:       providers.Permanent,
	CodeNotAllowed:     providers.Permanent,
	CodeInternal:       providers.Transient,
	1500:               providers.Transient, // inference: internal errors
	5000:               providers.Transient,
	2200:               providers.Transient,
	CodeRateLimited:    providers.RateLimited,
	CodeIPDenied:       providers.Permanent,
	CodeQuotaExhausted: providers.Permanent,
	CodeNoToken:        providers.Permanent,
	CodeTenantToken:    providers.Permanent, // on execute_send: the wrong kind of token
	CodeTokenInvalid:   providers.Unauthorized,
	CodeUserTokenBad:   providers.Unauthorized,
	CodeTokenFormat:    providers.Unauthorized,
	CodeScope:          providers.Permanent,
	CodeUserTokenExp:   providers.Unauthorized,
}

// errorFrom maps a reply that is not a success to a *providers.Error: a
// non-200 status, a non-zero code, or a body that is not the envelope.
//
//	code                         class         worker does
//	154000 154001 154003 154004  Permanent     archive with code and msg
//	154005 99991401 99991403
//	99991661 99991663 99991672
//	155000 1500 5000 2200        Transient     back off, retry
//	99991400 (HTTP 429 or 400)   RateLimited   wait x-ogw-ratelimit-reset s,
//	                                           cool-down for every replica
//	99991664 99991668 99991671   Unauthorized  token dropped, call again
//	99991677                                   through the limiter
//	unknown code or no envelope  by HTTP status: 401 Unauthorized, 429
//	                             RateLimited, other 4xx (and a 200 with an
//	                             unknown code) Permanent, 5xx Transient
func errorFrom(rep *providers.Reply, parsed bool, env envelope) *providers.Error {
	code, _ := env.Code.Int64()
	var e *providers.Error
	switch {
	case rep.Truncated:
		e = rep.Error(providers.Transient, "reply_too_large", "reply is too large")
	case parsed && code != 0:
		e = rep.Error(classify(rep.Status, code), env.Code.String(), env.Msg)
	case rep.Status == http.StatusOK:
		// A 200 whose body is not the envelope: the call's fate is
		// unknown, so it is retried (the delivered-marker guards).
		e = rep.Error(providers.Transient, "bad_reply", "reply is not a Feishu envelope")
	default:
		e = rep.Error(providers.ClassOfStatus(rep.Status), "", "")
	}
	if e.Class == providers.RateLimited || rep.Status == http.StatusTooManyRequests {
		if d, ok := rateLimitReset(rep.Header); ok {
			e.RetryAfter = d
		}
	}
	return e
}

func classify(status int, code int64) providers.Class {
	if c, ok := classes[code]; ok {
		return c
	}
	if status == http.StatusOK {
		// Feishu answers some refusals 200 with a code: a business
		// refusal, which a retry will not change.
		return providers.Permanent
	}
	return providers.ClassOfStatus(status)
}

// rateLimitReset reads x-ogw-ratelimit-reset: seconds until the window
// frees. Without it the reply's Retry-After (if any) stands.
func rateLimitReset(h http.Header) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("x-ogw-ratelimit-reset")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second)), true
		}
	}
	return 0, false
}
