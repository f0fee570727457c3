package dingtalk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// tokenReply is GET /gettoken's answer.
type tokenReply struct {
	envelope
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken asks DingTalk for the app's access_token:
// GET /gettoken?appkey=&appsecret=. Within its 7200 s DingTalk hands back
// the same token, so a refetch after an auth error may return the token
// just dropped; that is fine, since the error said it was bad only if
// DingTalk itself had dropped it.
func (c *Client) fetchToken(ctx context.Context) (providers.Token, error) {
	const op = "gettoken"
	q := url.Values{"appkey": {c.cfg.AppKey}, "appsecret": {c.cfg.AppSecret}}
	sent := time.Now()
	var reply tokenReply
	if err := c.do(ctx, op, http.MethodGet, c.base+"/gettoken?"+q.Encode(), nil, &reply); err != nil {
		// gettoken takes no token: an auth error there means the
		// credentials are wrong, which fetching again will not fix.
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Class == providers.Unauthorized {
			pe.Class = providers.Permanent
		}
		return providers.Token{}, err
	}
	if reply.AccessToken == "" {
		return providers.Token{}, &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Status: 200, Code: "bad_reply", Message: "reply has no access_token", RequestID: reply.RequestID}
	}
	tok := providers.Token{Value: reply.AccessToken}
	if reply.ExpiresIn > 0 {
		// Counted from when the request left, so the cache never
		// outlives the token.
		tok.ExpiresAt = sent.Add(time.Duration(reply.ExpiresIn) * time.Second)
	}
	return tok, nil
}
