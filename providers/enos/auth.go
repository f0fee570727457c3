package enos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// The headers that authenticate a gateway call.
const (
	headerAccessToken = "apim-accesstoken"
	headerTimestamp   = "apim-timestamp"
	headerSignature   = "apim-signature"
)

// tokenRequest is token/get's body; token/refresh adds the token.
type tokenRequest struct {
	AppKey      string `json:"appKey"`
	Encryption  string `json:"encryption"`
	Timestamp   int64  `json:"timestamp"`
	AccessToken string `json:"accessToken,omitempty"`
}

// tokenData is the token service's data: {accessToken, expire (s)}.
type tokenData struct {
	AccessToken string      `json:"accessToken"`
	Expire      json.Number `json:"expire"`
}

// sha256Hex is lowercase hex SHA-256 of the parts concatenated.
func sha256Hex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sign is apim-signature: sha256(accessToken + paramsData + timestamp +
// appSecret), paramsData being the query parameters sorted by name (ASCII)
// as name+value, then body, the exact bytes that are sent.
func sign(token string, query url.Values, body []byte, stamp, secret string) string {
	names := make([]string, 0, len(query))
	for k := range query {
		names = append(names, k)
	}
	sort.Strings(names)
	var params strings.Builder
	for _, k := range names {
		for _, v := range query[k] {
			params.WriteString(k)
			params.WriteString(v)
		}
	}
	params.Write(body)
	return sha256Hex(token, params.String(), stamp, secret)
}

// token returns the cached access token, fetching one if needed.
func (c *Client) token(ctx context.Context) (string, error) {
	return c.tokens.Token(ctx, c.tokenKey, c.fetchToken)
}

// fetchToken gets the app's access token. token/get returns the same token
// while it is valid, with what is left of its life; when that is less than
// the cache's margin, the token is refreshed so the cache gets one worth
// keeping. A failed refresh still leaves the token from get, cached for
// half of what it has left.
func (c *Client) fetchToken(ctx context.Context) (providers.Token, error) {
	tok, err := c.tokenCall(ctx, "token.get", tokenGetPath, "")
	if err != nil {
		return providers.Token{}, err
	}
	if time.Until(tok.ExpiresAt) >= c.margin() {
		return tok, nil
	}
	if fresh, err := c.tokenCall(ctx, "token.refresh", tokenRefreshPath, tok.Value); err == nil {
		return fresh, nil
	}
	return tok, nil
}

func (c *Client) margin() time.Duration {
	switch m := c.tokens.Margin; {
	case m == 0:
		return providers.DefaultTokenMargin
	case m < 0:
		return 0
	default:
		return m
	}
}

// tokenCall makes one token-service call.
func (c *Client) tokenCall(ctx context.Context, op, path, old string) (providers.Token, error) {
	ts := c.stamp(ctx)
	body, err := json.Marshal(tokenRequest{
		AppKey:      c.cfg.AppKey,
		Encryption:  sha256Hex(c.cfg.AppKey, strconv.FormatInt(ts, 10), c.cfg.AppSecret),
		Timestamp:   ts,
		AccessToken: old,
	})
	if err != nil {
		return providers.Token{}, &providers.Error{Provider: Provider, Op: op, Class: providers.Permanent, Code: "marshal", Message: "encode token request", Err: err}
	}
	sent := time.Now()
	rep, err := providers.Do(ctx, c.http, providers.Request{
		Provider: Provider, Op: op, URL: c.base + path, Body: body,
		Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "Accept": {"application/json"}},
	})
	if err != nil {
		return providers.Token{}, err
	}
	var env envelope
	if err := judge(rep, &env); err != nil {
		// The token service takes no token: "unauthorized" there means
		// the app's credentials are wrong, which fetching again will
		// not fix.
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Class == providers.Unauthorized {
			pe.Class = providers.Permanent
		}
		return providers.Token{}, err
	}
	var data tokenData
	if err := json.Unmarshal(env.Data, &data); err != nil || data.AccessToken == "" {
		return providers.Token{}, rep.Error(providers.Transient, "bad_reply", "token reply has no accessToken")
	}
	secs, err := data.Expire.Int64()
	if err != nil || secs <= 0 {
		return providers.Token{}, rep.Error(providers.Transient, "bad_reply", "token reply has no expire")
	}
	// Counted from when the request left, so the cache never outlives
	// the token.
	return providers.Token{Value: data.AccessToken, ExpiresAt: sent.Add(time.Duration(secs) * time.Second)}, nil
}
