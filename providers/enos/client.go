// Package enos is Herald's client for the EnOS application portal's notice
// messages: apim access tokens, signed gateway calls, the produce call, and
// the mapping of EnOS's answers to providers.Error classes.
//
// Every gateway call is signed: apim-signature is lowercase hex
// sha256(accessToken + paramsData + timestamp + appSecret), where
// paramsData is the query parameters sorted by name as name+value followed
// by the request body. The client marshals the body once and signs and
// sends those same bytes, so the signature always covers what EnOS
// receives.
//
// Its tests run it against enossim, which implements the same
// documentation (seed 003, providers.md section D) independently.
//
//	c := enos.New(enos.Config{
//		BaseURL: "https://apigw-cn2.envisioniot.com", AppKey: key, AppSecret: secret,
//		Tokens: providers.NewTokenCache(rdb),
//	})
//	res, err := c.Send(ctx, &tasks.EnOSNoticeProduce{OrgID: "o123", Messages: …})
package enos

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// Provider is the name in every *providers.Error this package returns.
const Provider = "enos"

// DefaultTimeout bounds a call when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// DefaultTokenMargin is how long before expiry a token is replaced: the
// official SDK refreshes ten minutes early.
const DefaultTokenMargin = 10 * time.Minute

// Paths on the API gateway.
const (
	tokenGetPath     = "/apim-token-service/v2.0/token/get"
	tokenRefreshPath = "/apim-token-service/v2.0/token/refresh"
	producePath      = "/app-portal/api/v3/notice-message/produce"
)

// Config is one EnOS application's connection.
type Config struct {
	// BaseURL is the environment's API gateway,
	// "https://{apigw-address}"; it differs per EnOS environment.
	BaseURL string
	// AppKey and AppSecret are the application's access key and secret
	// key, from the EnOS Management Console.
	AppKey, AppSecret string

	// HTTPClient makes the calls. Nil means providers.NewHTTPClient with
	// DefaultTimeout and MaxConns.
	HTTPClient *http.Client
	// MaxConns sizes the default HTTP client's idle connections (the
	// worker's concurrency); ignored when HTTPClient is set.
	MaxConns int
	// Tokens caches the access token for every replica. Its Margin should
	// be DefaultTokenMargin, as the SDK's. Nil means a cache in this
	// process with that margin.
	Tokens *providers.TokenCache
	// Redis, when set, makes apim timestamps unique across every replica
	// sharing it (see Client.stamp). Nil keeps them unique in this
	// process only.
	Redis redis.UniversalClient
	// Now is the clock for apim timestamps; nil means time.Now.
	Now func() time.Time
}

// Validate reports the first missing or malformed setting. A worker calls
// it at start; a Client made from an invalid Config answers every call with
// its error.
func (c Config) Validate() error {
	return providers.CheckConfig(Provider, c.BaseURL,
		providers.Setting{Name: "AppKey", Value: c.AppKey},
		providers.Setting{Name: "AppSecret", Value: c.AppSecret},
	)
}

// Client calls the EnOS gateway for one application. It is safe for
// concurrent use.
type Client struct {
	cfg      Config
	cfgErr   error
	base     string
	http     *http.Client
	tokens   *providers.TokenCache
	tokenKey string
	now      func() time.Time

	mu        sync.Mutex
	lastStamp int64
}

// New returns a client for cfg. See Config for the defaults.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, cfgErr: cfg.Validate(), http: cfg.HTTPClient, tokens: cfg.Tokens, now: cfg.Now}
	if c.http == nil {
		c.http = providers.NewHTTPClient(DefaultTimeout, cfg.MaxConns)
	}
	if c.tokens == nil {
		c.tokens = &providers.TokenCache{Margin: DefaultTokenMargin}
	}
	if c.now == nil {
		c.now = time.Now
	}
	// The token belongs to the application, not to Herald's account
	// name: two accounts on one app share it, as EnOS hands out one
	// token per app.
	c.tokenKey = "enos:" + cfg.AppKey
	c.base = strings.TrimRight(cfg.BaseURL, "/")
	return c
}

// NoticeResult is what a produce call reports.
type NoticeResult struct {
	OrgID string `json:"orgId"`
	// MessageIDs are the messages the call created or sent, in order.
	MessageIDs []string `json:"messageIds"`
	// RequestID is EnOS's id for the call.
	RequestID string `json:"requestId,omitempty"`
}

// Send runs job, which must be an *tasks.EnOSNoticeProduce: the worker's
// entry point.
func (c *Client) Send(ctx context.Context, job tasks.Job) (any, error) {
	j, ok := job.(*tasks.EnOSNoticeProduce)
	if !ok || j == nil {
		typ := "<nil>"
		if job != nil {
			typ = job.Type()
		}
		return nil, &providers.Error{Provider: Provider, Op: "send", Class: providers.Permanent, Code: "unsupported_job", Message: "not an EnOS job: " + typ}
	}
	res, err := c.Produce(ctx, j)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// produceBody is the documented request body. Messages are marshalled from
// the job's own type, whose JSON names are EnOS's (MessageProduceDTO).
type produceBody struct {
	Messages []tasks.EnOSMessage `json:"messages"`
}

// Produce creates and sends up to 100 messages in one call, all or
// nothing. It makes exactly one HTTP call (plus a token request when no
// token is cached). On an expired or invalid token it drops the token it
// used and returns Unauthorized, so the worker calls again through its
// limiter with a fresh one.
//
// A failed call may be retried whole, and so may a call whose reply never
// arrived: an existing messageId is only sent, never changed, and never
// pushed twice to a user, so a resend cannot duplicate anything.
func (c *Client) Produce(ctx context.Context, job *tasks.EnOSNoticeProduce) (*NoticeResult, error) {
	const op = "notice.produce"
	if c.cfgErr != nil {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "config", Message: c.cfgErr.Error()}
	}
	if job.OrgID == "" {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "request", Message: "orgId is required"}
	}
	body, err := json.Marshal(produceBody{Messages: job.Messages})
	if err != nil {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "marshal", Message: "encode request body", Err: err}
	}
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	query := url.Values{"orgId": {job.OrgID}}
	var env envelope
	rep, err := c.call(ctx, op, producePath, query, tok, body, &env)
	if providers.ClassOf(err) == providers.Unauthorized {
		// Only the token this call used is dropped: another replica may
		// already have stored a fresh one.
		if derr := c.tokens.Drop(ctx, c.tokenKey, tok); derr != nil {
			return nil, errors.Join(err, derr)
		}
	}
	if err != nil {
		return nil, err
	}
	if ok, known := env.sent(); known && !ok {
		// data false: "the message was not sent". Nothing says why; a
		// resend is harmless, so retry it.
		return nil, rep.Error(providers.Transient, "not_sent", "EnOS answered data false: messages not sent")
	}
	res := &NoticeResult{OrgID: job.OrgID, RequestID: rep.RequestID, MessageIDs: make([]string, len(job.Messages))}
	for i, m := range job.Messages {
		res.MessageIDs[i] = m.MessageID
	}
	return res, nil
}

// call signs and makes one gateway call, decodes the envelope into env and
// returns the reply, or the *providers.Error the reply stands for.
func (c *Client) call(ctx context.Context, op, path string, query url.Values, token string, body []byte, env *envelope) (*providers.Reply, error) {
	stamp := strconv.FormatInt(c.stamp(ctx), 10)
	h := http.Header{
		"Content-Type": {"application/json;charset=UTF-8"},
		"Accept":       {"application/json"},
	}
	h.Set(headerAccessToken, token)
	h.Set(headerTimestamp, stamp)
	h.Set(headerSignature, sign(token, query, body, stamp, c.cfg.AppSecret))
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	rep, err := providers.Do(ctx, c.http, providers.Request{
		Provider: Provider, Op: op, URL: u, Header: h, Body: body,
		RequestIDHeaders: []string{"X-Request-Id"},
	})
	if err != nil {
		return nil, err
	}
	if err := judge(rep, env); err != nil {
		return rep, err
	}
	return rep, nil
}

// stamp returns a millisecond timestamp for apim-timestamp, later than any
// handed out before for this app: EnOS refuses a reused timestamp (1001),
// and concurrent calls, in this process or on other replicas sharing the
// token, would otherwise share a millisecond. With Config.Redis the last
// timestamp is kept in Redis, one round trip; without it, or if Redis
// fails, in this process.
func (c *Client) stamp(ctx context.Context) int64 {
	now := c.now().UnixMilli()
	c.mu.Lock()
	if now <= c.lastStamp {
		now = c.lastStamp + 1
	}
	c.lastStamp = now
	c.mu.Unlock()
	if c.cfg.Redis == nil {
		return now
	}
	v, err := stampScript.Run(ctx, c.cfg.Redis, []string{"herald:enos:{" + c.tokenKey + "}:stamp"}, now).Int64()
	if err != nil {
		return now
	}
	c.mu.Lock()
	c.lastStamp = max(c.lastStamp, v)
	c.mu.Unlock()
	return v
}

// stampScript returns max(ARGV[1], last+1) and stores it as last. The key
// lives a minute: long enough to outlast any clock step between replicas.
var stampScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now <= last then now = last + 1 end
redis.call('SET', KEYS[1], now, 'PX', 60000)
return now
`)
