// Package feishu is Herald's client for Feishu's (and Lark's) helpdesk
// notification execute_send, with the user access token it needs.
//
// execute_send accepts only a user_access_token, and a user token is had
// only by refreshing it with a refresh token that Feishu rotates on every
// use. The refresh token therefore lives in Redis, shared by every worker
// replica, and is replaced atomically under the user token's refresh lock
// (see RefreshStore). When Feishu refuses the refresh token itself the
// account is paused until an operator stores a new one (StoreRefreshToken,
// or `worker feishu-auth <account>`): its jobs wait without spending
// retries.
//
// The client follows providers.md section A and the execute_send seed; its
// tests run it against feishusim, which implements the same documentation
// independently.
package feishu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// Provider is the name in every *providers.Error this package returns.
const Provider = "feishu"

// Hosts of the two editions. They are not interchangeable: an app lives
// on one.
const (
	FeishuURL = "https://open.feishu.cn"
	LarkURL   = "https://open.larksuite.com"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout = 15 * time.Second
	// DefaultTokenMargin is how long before expiry a token stops being
	// used, as the official Go SDK does (expire − 3 min).
	DefaultTokenMargin = 3 * time.Minute
	// DefaultReauthRetry is how often a paused account's jobs look again
	// for a new refresh token.
	DefaultReauthRetry = time.Minute
)

// Config is one Feishu app, helpdesk and authorizing user.
type Config struct {
	// BaseURL is FeishuURL or LarkURL (a simulator's in tests).
	BaseURL string
	// AppID and AppSecret get the app_access_token the refresh call needs.
	AppID, AppSecret string
	// HelpdeskID and HelpdeskToken make the X-Lark-Helpdesk-Authorization
	// header every helpdesk call carries.
	HelpdeskID, HelpdeskToken string
	// RefreshToken bootstraps the account: it is used only when Redis holds
	// no refresh token for it yet. Feishu rotates the token on every use,
	// so after the first refresh this value is spent.
	RefreshToken string

	// Account names the worker-side account; Redis keys carry it. Empty
	// means "default".
	Account string
	// Redis holds the refresh token and the tokens for every replica. Nil
	// keeps them in this process (tests, the demo): the refresh token is
	// then lost when the process ends.
	Redis redis.UniversalClient
	// Tokens caches the app and user tokens. Nil means a cache on Redis
	// (or in process memory if Redis is nil) with DefaultTokenMargin.
	Tokens *providers.TokenCache
	// HTTPClient makes the calls. Nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// ReauthRetry is how long a paused account's jobs wait before looking
	// again. Zero means DefaultReauthRetry.
	ReauthRetry time.Duration
}

// Validate reports the first missing or malformed setting.
func (c Config) Validate() error {
	return providers.CheckConfig(Provider, c.BaseURL,
		providers.Setting{Name: "AppID", Value: c.AppID},
		providers.Setting{Name: "AppSecret", Value: c.AppSecret},
		providers.Setting{Name: "HelpdeskID", Value: c.HelpdeskID},
		providers.Setting{Name: "HelpdeskToken", Value: c.HelpdeskToken},
	)
}

// Client calls one Feishu helpdesk as one user. It is safe for concurrent
// use; replicas sharing a Redis share its tokens.
type Client struct {
	cfg      Config
	cfgErr   error
	base     string
	http     *http.Client
	tokens   *providers.TokenCache
	refresh  *RefreshStore
	helpdesk string // X-Lark-Helpdesk-Authorization
	appKey   string // token cache key of the app token
}

// New returns a client for cfg. See Config for the defaults.
func New(cfg Config) *Client {
	if cfg.Account == "" {
		cfg.Account = tasks.DefaultAccount
	}
	c := &Client{cfg: cfg, cfgErr: cfg.Validate(), http: cfg.HTTPClient, tokens: cfg.Tokens}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.tokens == nil {
		c.tokens = providers.NewTokenCache(cfg.Redis)
		c.tokens.Margin = DefaultTokenMargin
	}
	c.refresh = NewRefreshStore(cfg.Redis, cfg.Account)
	c.base = strings.TrimRight(cfg.BaseURL, "/")
	c.helpdesk = base64.StdEncoding.EncodeToString([]byte(cfg.HelpdeskID + ":" + cfg.HelpdeskToken))
	c.appKey = "feishu-app:" + cfg.AppID
	return c
}

// Result is what execute_send's success says, kept as the job's result.
type Result struct {
	NotificationID string `json:"notification_id"`
	SendAt         string `json:"send_at"`
	RequestID      string `json:"request_id,omitempty"`
}

// Send delivers job, which must be a *tasks.FeishuExecuteSend. It makes
// exactly one call to execute_send (none if the account is paused, or a
// token could not be had). On an auth error it drops the token it used and
// returns Unauthorized: the worker calls again, through its limiter.
// Getting a token may make calls of its own (app token, refresh), under
// the token lock, at most once per token lifetime for all replicas.
func (c *Client) Send(ctx context.Context, job tasks.Job) (any, error) {
	j, ok := job.(*tasks.FeishuExecuteSend)
	if !ok || j == nil {
		typ := "<nil>"
		if job != nil {
			typ = job.Type()
		}
		return nil, &providers.Error{Provider: Provider, Op: "send", Class: providers.Permanent, Code: "unsupported_job", Message: "not a Feishu job: " + typ}
	}
	return c.ExecuteSend(ctx, j)
}

// ExecuteSend calls POST /open-apis/helpdesk/v1/notifications/{id}/execute_send.
func (c *Client) ExecuteSend(ctx context.Context, job *tasks.FeishuExecuteSend) (*Result, error) {
	const op = "execute_send"
	if c.cfgErr != nil {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "config", Message: c.cfgErr.Error()}
	}
	if job.NotificationID == "" {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "invalid_job", Message: "notification_id is empty"}
	}
	tok, err := c.userToken(ctx)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(struct {
		SendAt string `json:"send_at"`
	}{job.SendAt})
	path := "/open-apis/helpdesk/v1/notifications/" + url.PathEscape(job.NotificationID) + "/execute_send"
	reqID, err := c.post(ctx, op, path, tok, c.helpdesk, body, nil)
	if err != nil {
		if providers.ClassOf(err) == providers.Unauthorized {
			// Only the token this call used: another replica may have
			// stored a fresh one already.
			if derr := c.dropUserToken(ctx, tok); derr != nil {
				return nil, errors.Join(err, derr)
			}
		}
		return nil, err
	}
	return &Result{NotificationID: job.NotificationID, SendAt: job.SendAt, RequestID: reqID}, nil
}

// envelope is every Feishu reply: {code, msg, data}. The token endpoints
// put their fields beside code instead of in data.
type envelope struct {
	Code json.Number     `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// post makes one HTTP call: body as JSON to path with the bearer token (if
// any) and helpdesk header (if any). A reply with code 0 is decoded into
// out (the whole reply, not just data). Anything else becomes a
// *providers.Error carrying the request id.
func (c *Client) post(ctx context.Context, op, path, bearer, helpdesk string, body []byte, out any) (requestID string, err error) {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	if helpdesk != "" {
		h.Set("X-Lark-Helpdesk-Authorization", helpdesk)
	}
	rep, err := providers.Do(ctx, c.http, providers.Request{
		Provider: Provider, Op: op, URL: c.base + path, Header: h, Body: body,
		RequestIDHeaders: requestIDHeaders,
	})
	if err != nil {
		return "", err
	}
	var env envelope
	if derr := rep.DecodeJSON(&env); derr != nil || rep.Status != http.StatusOK || env.Code != "0" {
		return rep.RequestID, errorFrom(rep, derr == nil, env)
	}
	if out != nil {
		if err := rep.DecodeJSON(out); err != nil {
			return rep.RequestID, err
		}
	}
	return rep.RequestID, nil
}

// requestIDHeaders carry the id Feishu support asks for: X-Tt-Logid, else
// X-Request-Id.
var requestIDHeaders = []string{"X-Tt-Logid", "X-Request-Id"}
