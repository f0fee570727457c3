package easemob

import (
	"context"
	"errors"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// tokenRequest is POST /{org}/{app}/token's body.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TTL          int64  `json:"ttl,omitempty"`
}

// tokenReply is its answer; unlike the push calls it has no envelope.
type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Application string `json:"application"`
}

// token returns the cached app token, fetching one if needed.
func (c *Client) token(ctx context.Context) (string, error) {
	return c.tokens.Token(ctx, c.tokenKey, c.fetchToken)
}

// fetchToken asks Easemob for a new app token. An expires_in of 0 is a
// token that never expires (asked for with ttl 0).
func (c *Client) fetchToken(ctx context.Context) (providers.Token, error) {
	const op = "token"
	body := tokenRequest{
		GrantType:    "client_credentials",
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		TTL:          int64(c.cfg.TokenTTL / time.Second),
	}
	b, err := marshal(op, body)
	if err != nil {
		return providers.Token{}, err
	}
	sent := time.Now()
	var reply tokenReply
	if err := c.send(ctx, op, "/token", "", b, &reply); err != nil {
		// The token endpoint takes no token: a 401 there means the
		// credentials are wrong, which fetching again will not fix.
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Class == providers.Unauthorized {
			pe.Class = providers.Permanent
		}
		return providers.Token{}, err
	}
	if reply.AccessToken == "" {
		return providers.Token{}, &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Status: 200, Code: "bad_reply", Message: "reply has no access_token"}
	}
	tok := providers.Token{Value: reply.AccessToken}
	if reply.ExpiresIn > 0 {
		// Counted from when the request left, so the cache never
		// outlives the token.
		tok.ExpiresAt = sent.Add(time.Duration(reply.ExpiresIn) * time.Second)
	}
	return tok, nil
}
