package dingtalk

import (
	"net/http"
	"strconv"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// Waits suggested with a RateLimited error, shared with every replica as a
// cool-down by the worker.
const (
	// QPSRetryAfter follows 90018/90002: DingTalk's docs say to sleep 1 s.
	QPSRetryAfter = time.Second
	// MinuteCapRetryAfter follows the per-minute caps (41047, 41048,
	// 143103, 143104): the next minute.
	MinuteCapRetryAfter = time.Minute
	// BanRetryAfter follows a temporary ban (90001, 90003–90014). The docs
	// give 5 minutes for the per-IP ban and nothing for the others [U]: a
	// minute keeps probing cheap while the ban lasts.
	BanRetryAfter = time.Minute
)

// MaxBusyTries is how many times DingTalk's docs allow a call answered −1
// ("system busy") to be made in all. The worker archives a job whose
// MaxBusyTries-th try is answered −1 again.
const MaxBusyTries = 3

// CodeBusy is errcode −1, system busy.
const CodeBusy = "-1"

// codeClass is each documented errcode's class (providers.md section C).
// A non-zero errcode not listed here is Permanent: DingTalk sent HTTP 200
// and said no, and nothing suggests asking again changes that.
var codeClass = map[string]providers.Class{
	"-1": providers.Transient, // system busy: at most MaxBusyTries tries

	"40014": providers.Unauthorized, // invalid access_token
	"42001": providers.Unauthorized, // access_token expired
	"40001": providers.Unauthorized, // invalid credential / access_token

	"90002":  providers.RateLimited, // this API's requests throttled
	"90018":  providers.RateLimited, // QPS limit
	"41047":  providers.RateLimited, // per-minute cap
	"41048":  providers.RateLimited, // per-minute cap
	"143103": providers.RateLimited, // recipients per minute
	"143104": providers.RateLimited, // recipients per minute
	"90001":  providers.RateLimited, // temporary bans, 90001 and 90003–90014
	"90003":  providers.RateLimited,
	"90004":  providers.RateLimited,
	"90005":  providers.RateLimited,
	"90006":  providers.RateLimited,
	"90007":  providers.RateLimited,
	"90008":  providers.RateLimited,
	"90009":  providers.RateLimited,
	"90010":  providers.RateLimited,
	"90011":  providers.RateLimited,
	"90012":  providers.RateLimited,
	"90013":  providers.RateLimited,
	"90014":  providers.RateLimited,

	"40089":   providers.Permanent, // invalid appkey or appsecret
	"40035":   providers.Permanent, // invalid parameter
	"40056":   providers.Permanent, // invalid agent_id
	"60011":   providers.Permanent, // no permission
	"60020":   providers.Permanent, // caller IP not in the allowlist
	"90020":   providers.Permanent, // monthly quota used up
	"143105":  providers.Permanent, // per-user daily cap
	"143106":  providers.Permanent, // same content to the same user today
	"1430000": providers.Permanent, // no recipients
	"1430002": providers.Permanent, // prohibited content
}

// retryAfter is the wait a RateLimited code asks for.
func retryAfter(code string) time.Duration {
	switch code {
	case "90002", "90018":
		return QPSRetryAfter
	case "41047", "41048", "143103", "143104":
		return MinuteCapRetryAfter
	}
	return BanRetryAfter
}

// ClassOf is the class of an errcode (with its sub_code when errcode is
// 88) in a reply with HTTP status 200: the table above, Permanent for
// codes it does not list. errcode 88 wraps another error: its sub_code is
// looked up in the same table ("88" with a sub_code of "42001" is a token
// error), and a sub_code the table does not list is Permanent.
func ClassOf(code, subCode string) providers.Class {
	if code == "88" {
		code = subCode
	}
	if c, ok := codeClass[code]; ok {
		return c
	}
	return providers.Permanent
}

// errorFrom builds the *providers.Error for a reply that is not a success:
// a non-zero errcode, or an HTTP status other than 200. A non-200 status
// whose body carries a code the table knows is classed by the code;
// otherwise by the status (4xx Permanent, 5xx Transient, 401, 429).
func errorFrom(op string, status int, env envelope, hasEnvelope bool) *providers.Error {
	code := env.ErrCode.String()
	e := &providers.Error{
		Provider: Provider, Op: op, Status: status,
		Code: code, Message: env.ErrMsg, RequestID: env.RequestID,
	}
	if code == "88" && env.SubCode != "" {
		e.Code = "88/" + env.SubCode
		if env.SubMsg != "" {
			e.Message = env.SubMsg
		}
	}
	_, known := codeClass[code]
	if code == "88" {
		_, known = codeClass[env.SubCode]
	}
	switch {
	case status == http.StatusOK:
		e.Class = ClassOf(code, env.SubCode)
	case hasEnvelope && known:
		e.Class = ClassOf(code, env.SubCode)
	default:
		e.Class = providers.ClassOfStatus(status)
		if e.Code == "" || e.Code == "0" {
			e.Code = strconv.Itoa(status)
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Class == providers.RateLimited {
		subject := code
		if code == "88" {
			subject = env.SubCode
		}
		e.RetryAfter = retryAfter(subject)
		if status == http.StatusTooManyRequests && !known {
			e.RetryAfter = QPSRetryAfter
		}
	}
	return e
}
