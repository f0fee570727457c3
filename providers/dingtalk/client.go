// Package dingtalk is Herald's client for DingTalk's work notifications
// (the legacy server API at oapi.dingtalk.com): the app's access_token, the
// five corpconversation calls, and the mapping of DingTalk's answers to
// providers.Error classes.
//
// DingTalk answers almost everything with HTTP 200 and an envelope
// {errcode, errmsg, request_id, …}; errcode 0 is success. The client reads
// the envelope of every reply, keeps request_id for logs and errors, and
// reads sub_code when errcode is 88 (see errors.go).
//
// Send makes exactly one HTTP call. After a token error (40014, 42001,
// 40001) it drops the token that call used and returns an Unauthorized
// error: the worker calls again, through its limiter, and the client then
// fetches a fresh token. Tokens are cached per app (not per account), in
// Redis through providers.TokenCache, so every replica and every account on
// one app share one token, as DingTalk asks.
//
//	c := dingtalk.New(dingtalk.Config{
//		AppKey: key, AppSecret: secret, AgentID: 1185599675,
//		Tokens: providers.NewTokenCache(rdb),
//	})
//	res, err := c.Send(ctx, &tasks.DingTalkSend{UseridList: "manager7675", Msg: msg})
package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// Provider is the name in every *providers.Error this package returns.
const Provider = "dingtalk"

// DefaultBaseURL is DingTalk's server API.
const DefaultBaseURL = "https://oapi.dingtalk.com"

// DefaultTimeout bounds a call when Config.HTTPClient is nil.
const DefaultTimeout = 15 * time.Second

// maxReplyBytes bounds what the client reads back: DingTalk's replies are
// small, and a runaway body must not exhaust a worker's memory.
const maxReplyBytes = 1 << 20

// Config is one DingTalk app (an internal app's agent).
type Config struct {
	// BaseURL is the API's root; empty means DefaultBaseURL.
	BaseURL string
	// AppKey and AppSecret are the app's credentials (the console's
	// Client ID and Client Secret).
	AppKey, AppSecret string
	// AgentID is the app's agent_id, sent with every call.
	AgentID int64

	// HTTPClient makes the calls. Nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// Tokens caches the access_token. Use one Redis-backed cache for every
	// replica: DingTalk throttles apps that ask for tokens too often. Nil
	// means a cache in this process only.
	Tokens *providers.TokenCache
}

// Validate reports the first missing setting.
func (c Config) Validate() error {
	switch {
	case c.AppKey == "":
		return errors.New("dingtalk: config: AppKey is required")
	case c.AppSecret == "":
		return errors.New("dingtalk: config: AppSecret is required")
	case c.AgentID <= 0:
		return errors.New("dingtalk: config: AgentID must be a positive agent_id")
	}
	if c.BaseURL != "" {
		return providers.CheckBaseURL(Provider, c.BaseURL)
	}
	return nil
}

// Client calls one DingTalk app. It is safe for concurrent use.
type Client struct {
	cfg      Config
	cfgErr   error
	base     string
	http     *http.Client
	tokens   *providers.TokenCache
	tokenKey string
}

// New returns a client for cfg. See Config for the defaults.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, cfgErr: cfg.Validate(), http: cfg.HTTPClient, tokens: cfg.Tokens}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.tokens == nil {
		c.tokens = providers.NewTokenCache(nil)
	}
	c.base = strings.TrimRight(cfg.BaseURL, "/")
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	// Keyed by app: two accounts on one app share its token.
	c.tokenKey = TokenKey(cfg.AppKey)
	return c
}

// TokenKey is the token cache key of the app with this key.
func TokenKey(appKey string) string { return "dingtalk:" + appKey }

// envelope is what every DingTalk reply carries.
type envelope struct {
	ErrCode   json.Number `json:"errcode"`
	ErrMsg    string      `json:"errmsg"`
	RequestID string      `json:"request_id"`
	SubCode   string      `json:"sub_code"`
	SubMsg    string      `json:"sub_msg"`
}

// post makes one call: the body as JSON to path, access_token in the
// query. A token error drops the token it used; the worker retries.
func (c *Client) post(ctx context.Context, op, path string, body, out any) error {
	if c.cfgErr != nil {
		return &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "config", Message: c.cfgErr.Error()}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "marshal", Message: "encode request body", Err: err}
	}
	tok, err := c.tokens.Token(ctx, c.tokenKey, c.fetchToken)
	if err != nil {
		return err
	}
	q := url.Values{"access_token": {tok}}
	err = c.do(ctx, op, http.MethodPost, c.base+path+"?"+q.Encode(), b, out)
	if providers.ClassOf(err) == providers.Unauthorized {
		// Only the token this call used: another replica may already
		// have stored a fresh one.
		if derr := c.tokens.Drop(ctx, c.tokenKey, tok); derr != nil {
			return errors.Join(err, derr)
		}
	}
	return err
}

// do makes exactly one HTTP call and decodes the reply into out after
// checking its envelope.
func (c *Client) do(ctx context.Context, op, method, rawURL string, body []byte, out any) error {
	h := http.Header{"Accept": {"application/json"}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	rep, err := providers.Do(ctx, c.http, providers.Request{
		Provider: Provider, Op: op, Method: method, URL: rawURL, Header: h, Body: body, MaxReplyBytes: maxReplyBytes,
	})
	if err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) {
			pe.Err = redact(pe.Err)
		}
		return err
	}
	var env envelope
	envErr := json.Unmarshal(rep.Body, &env)
	rep.RequestID = env.RequestID
	if rep.Status != http.StatusOK {
		return errorFrom(op, rep.Status, env, envErr == nil && !rep.Truncated)
	}
	if envErr != nil || rep.Truncated {
		// DingTalk may have acted on the call: Transient all the same;
		// the delivered-marker is the worker's defence against a resend.
		return rep.DecodeJSON(&env)
	}
	if code := env.ErrCode.String(); code != "0" && code != "" {
		return errorFrom(op, rep.Status, env, true)
	}
	if out == nil {
		return nil
	}
	return rep.DecodeJSON(out)
}

// redact drops the URL from a *url.Error: DingTalk puts the access_token
// (and, for gettoken, the app secret) in the query, and net/http quotes the
// whole URL in its errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
