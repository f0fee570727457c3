// Package easemob is Herald's client for Easemob's push REST API: app
// tokens, the five push calls, and the mapping of Easemob's answers to
// providers.Error classes.
//
// Easemob has no official Go server SDK; this client follows the REST
// documentation (seed 001, providers.md section B). Its tests run it against
// easemobsim, which implements the same documentation independently.
//
//	c := easemob.New(easemob.Config{
//		BaseURL: "https://a1.easemob.com", OrgName: "org", AppName: "app",
//		ClientID: id, ClientSecret: secret,
//		Tokens: providers.NewTokenCache(rdb), Account: "default",
//	})
//	res, err := c.PushSingle(ctx, &tasks.EasemobPushSingle{...})
package easemob

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// Provider is the name in every *providers.Error this package returns.
const Provider = "easemob"

// DefaultTimeout bounds a call when Config.HTTPClient is nil. push/sync
// waits for the vendor's verdict, so it is generous.
const DefaultTimeout = 30 * time.Second

// DefaultTaskLimitRetryAfter is the wait suggested after 403 LimitException
// ("limit request"), when Easemob sends no Retry-After: the documented cap
// is 3 tasks per 5 minutes, so a steady producer gets a slot every 100 s.
// Asking sooner mostly hits the same wall.
const DefaultTaskLimitRetryAfter = 100 * time.Second

// Config is one Easemob app's connection.
type Config struct {
	// BaseURL is the app's REST host, e.g. "https://a1.easemob.com". The
	// host is per app: see the console.
	BaseURL string
	// OrgName and AppName are the two halves of the AppKey
	// ("org#app").
	OrgName, AppName string
	// ClientID and ClientSecret are the app's credentials.
	ClientID, ClientSecret string
	// TokenTTL, if set, asks for tokens that live this long (whole
	// seconds). Zero leaves it to the console's setting (60 days by
	// default).
	TokenTTL time.Duration

	// HTTPClient makes the calls. Nil means
	// providers.NewHTTPClient(DefaultTimeout, MaxConns).
	HTTPClient *http.Client
	// MaxConns is how many calls may run at once (the worker's
	// concurrency), to keep that many connections open when HTTPClient is
	// nil. Zero keeps Go's default of 2 idle per host.
	MaxConns int
	// Tokens caches the app token. Use one Redis-backed cache for every
	// replica: Easemob bans apps that request tokens too often. Nil means
	// a cache in this process only (fine for tests, the demo and CLIs;
	// each process then fetches its own token).
	Tokens *providers.TokenCache
	// Account names the worker-side account; the token is cached under
	// "easemob:<account>". Empty means "default".
	Account string
	// TaskLimitRetryAfter is the wait suggested on 403 LimitException when
	// the reply has no Retry-After. Zero means
	// DefaultTaskLimitRetryAfter.
	TaskLimitRetryAfter time.Duration
}

// Validate reports the first missing setting. A worker calls it at start;
// a Client made from an invalid Config answers every call with its error.
func (c Config) Validate() error {
	return providers.CheckConfig(Provider, c.BaseURL,
		providers.Setting{Name: "OrgName", Value: c.OrgName},
		providers.Setting{Name: "AppName", Value: c.AppName},
		providers.Setting{Name: "ClientID", Value: c.ClientID},
		providers.Setting{Name: "ClientSecret", Value: c.ClientSecret},
	)
}

// Client calls one Easemob app. It is safe for concurrent use.
type Client struct {
	cfg      Config
	cfgErr   error
	base     string // BaseURL/{org}/{app}, escaped
	http     *http.Client
	tokens   *providers.TokenCache
	tokenKey string
}

// New returns a client for cfg. See Config for the defaults.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, cfgErr: cfg.Validate(), http: cfg.HTTPClient, tokens: cfg.Tokens}
	if c.http == nil {
		c.http = providers.NewHTTPClient(DefaultTimeout, cfg.MaxConns)
	}
	if c.tokens == nil {
		c.tokens = providers.NewTokenCache(nil)
	}
	account := cfg.Account
	if account == "" {
		account = "default"
	}
	c.tokenKey = "easemob:" + account
	c.base = strings.TrimRight(cfg.BaseURL, "/") + "/" + url.PathEscape(cfg.OrgName) + "/" + url.PathEscape(cfg.AppName)
	return c
}

// post sends body as JSON to path with the app token, decodes a 200 reply
// into out, and maps anything else to a *providers.Error. It makes exactly
// one call: on 401 it drops the token it used and returns the Unauthorized
// error, and the worker calls again through its limiter, so the retry is
// counted like any call.
func (c *Client) post(ctx context.Context, op, path string, body, out any) error {
	if c.cfgErr != nil {
		return &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "config", Message: c.cfgErr.Error()}
	}
	b, err := marshal(op, body)
	if err != nil {
		return err
	}
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	err = c.send(ctx, op, path, tok, b, out)
	if providers.ClassOf(err) == providers.Unauthorized {
		// Only the token this call used is dropped: another replica may
		// already have stored a fresh one.
		if derr := c.tokens.Drop(ctx, c.tokenKey, tok); derr != nil {
			return errors.Join(err, derr)
		}
	}
	return err
}

// send makes one HTTP call.
func (c *Client) send(ctx context.Context, op, path, token string, body []byte, out any) error {
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	rep, err := providers.Do(ctx, c.http, providers.Request{
		Provider: Provider, Op: op, URL: c.base + path, Header: h, Body: body,
	})
	if err != nil {
		return err
	}
	if rep.Status != http.StatusOK {
		return c.errorFrom(rep)
	}
	// Task ids are Longs beyond float64's 2^53: DecodeJSON keeps them.
	return rep.DecodeJSON(out)
}

func marshal(op string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "marshal", Message: "encode request body", Err: err}
	}
	return b, nil
}
