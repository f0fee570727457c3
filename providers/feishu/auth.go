package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// Token endpoints.
const (
	appTokenPath = "/open-apis/auth/v3/app_access_token/internal"
	refreshPath  = "/open-apis/authen/v1/oidc/refresh_access_token"
)

// refreshRefused are the codes with which Feishu refuses the refresh token
// itself: invalid, expired, revoked, already used [U: from Feishu's error
// code list for refresh_access_token, not in providers.md]. A fresh
// authorization is the only cure, so the account is paused.
var refreshRefused = []string{"20026", "20037", "20064", "20073"}

// appTokenReply is the app token's answer, flat beside code.
type appTokenReply struct {
	AppAccessToken string `json:"app_access_token"`
	Expire         int64  `json:"expire"` // seconds
}

// refreshReply is the refresh call's answer, in data.
type refreshReply struct {
	Data struct {
		AccessToken      string `json:"access_token"`
		RefreshToken     string `json:"refresh_token"`
		TokenType        string `json:"token_type"`
		ExpiresIn        int64  `json:"expires_in"`
		RefreshExpiresIn int64  `json:"refresh_expires_in"`
	} `json:"data"`
}

// userToken returns the cached user access token, refreshing it (once for
// every replica) when it is missing or about to expire.
func (c *Client) userToken(ctx context.Context) (string, error) {
	return c.tokens.Token(ctx, userTokenKey(c.cfg.Account), c.fetchUserToken)
}

// dropUserToken forgets tok after Feishu refused it.
func (c *Client) dropUserToken(ctx context.Context, tok string) error {
	return c.tokens.Drop(ctx, userTokenKey(c.cfg.Account), tok)
}

// NeedsReauth reports whether the account is paused until an operator
// stores a new refresh token. The worker exports it as a metric.
func (c *Client) NeedsReauth(ctx context.Context) (bool, error) {
	paused, _, err := c.refresh.NeedsReauth(ctx)
	return paused, err
}

// fetchUserToken redeems the current refresh token for a new pair. It runs
// under the user token's refresh lock, so one replica at a time redeems.
func (c *Client) fetchUserToken(ctx context.Context) (providers.Token, error) {
	const op = "refresh"
	st, err := c.refresh.load(ctx)
	if err != nil {
		return providers.Token{}, providers.TransportError(Provider, op, err)
	}
	if st.Reauth != "" {
		return providers.Token{}, c.paused(st.Reauth)
	}
	redeem := st.Token
	if redeem == "" {
		redeem = c.cfg.RefreshToken // bootstrap: Redis holds none yet
	}
	if redeem == "" {
		return providers.Token{}, c.paused("no refresh token configured or stored")
	}
	app, err := c.appToken(ctx)
	if err != nil {
		return providers.Token{}, err
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": redeem})
	sent := time.Now()
	var reply refreshReply
	_, err = c.post(ctx, op, refreshPath, app, "", body, &reply)
	if err != nil {
		var pe *providers.Error
		if !errors.As(err, &pe) {
			return providers.Token{}, err
		}
		switch {
		case slices.Contains(refreshRefused, pe.Code):
			return providers.Token{}, c.refused(ctx, st.Token, pe)
		case pe.Class == providers.Unauthorized || pe.Code == strconv.Itoa(CodeTenantToken):
			// The app token was refused: forget it so the next try
			// fetches another. The refresh token was not redeemed.
			pe.Class = providers.Unauthorized
			if derr := c.tokens.Drop(ctx, c.appKey, app); derr != nil {
				return providers.Token{}, errors.Join(err, derr)
			}
		}
		return providers.Token{}, err
	}
	d := reply.Data
	if d.AccessToken == "" || d.RefreshToken == "" {
		// Feishu may have rotated the token and we cannot see the new
		// one: the account will need re-authorization if so.
		return providers.Token{}, &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Status: 200, Code: "bad_reply", Message: "refresh reply lacks access_token or refresh_token"}
	}
	exp := sent.Add(time.Duration(d.ExpiresIn) * time.Second)
	// Store the pair before anything else, and even if the caller has
	// given up by now: the old refresh token is spent.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.storeRotated(sctx, st.Token, d.RefreshToken, d.AccessToken, exp); err != nil {
		return providers.Token{}, &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Code: "store_refresh_token",
			Message: "Feishu rotated the refresh token but Redis did not take the new one; the account will need re-authorization", Err: err}
	}
	return providers.Token{Value: d.AccessToken, ExpiresAt: exp}, nil
}

// storeRotated writes the new pair, trying a few times: losing it means
// the account needs re-authorization.
func (c *Client) storeRotated(ctx context.Context, old, refresh, access string, exp time.Time) (bool, error) {
	var err error
	for attempt := range 4 {
		var ok bool
		if ok, err = c.refresh.rotate(ctx, old, refresh, access, exp, time.Now()); err == nil {
			return ok, nil
		}
		t := time.NewTimer(time.Duration(50<<attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	return false, err
}

// refused handles Feishu refusing the refresh token: the account is
// paused, unless the token in Redis changed meanwhile (another replica
// rotated it, or an operator stored a new one), in which case the caller
// simply tries again.
func (c *Client) refused(ctx context.Context, stored string, pe *providers.Error) error {
	reason := fmt.Sprintf("Feishu refused the refresh token (%s %s) at %s", pe.Code, pe.Message, time.Now().UTC().Format(time.RFC3339))
	marked, err := c.refresh.refuse(context.WithoutCancel(ctx), stored, reason)
	if err != nil {
		return errors.Join(pe, err)
	}
	if !marked {
		return &providers.Error{Provider: Provider, Op: pe.Op, Class: providers.Transient, Code: "refresh_raced", Message: "the refresh token changed while it was being redeemed; trying again", RequestID: pe.RequestID}
	}
	return c.paused(reason)
}

// paused is the error of a job whose account needs re-authorization.
func (c *Client) paused(reason string) *providers.Error {
	retry := c.cfg.ReauthRetry
	if retry <= 0 {
		retry = DefaultReauthRetry
	}
	return &providers.Error{
		Provider: Provider, Op: "refresh", Class: providers.Paused, Code: "needs_reauth",
		Message: fmt.Sprintf("account %q needs re-authorization: %s; store a new refresh token with `worker feishu-auth %s`",
			c.cfg.Account, reason, c.cfg.Account),
		RetryAfter: retry,
	}
}

// appToken returns the cached app_access_token, fetching one if needed.
func (c *Client) appToken(ctx context.Context) (string, error) {
	return c.tokens.Token(ctx, c.appKey, c.fetchAppToken)
}

func (c *Client) fetchAppToken(ctx context.Context) (providers.Token, error) {
	const op = "app_token"
	body, _ := json.Marshal(map[string]string{"app_id": c.cfg.AppID, "app_secret": c.cfg.AppSecret})
	sent := time.Now()
	var reply appTokenReply
	if _, err := c.post(ctx, op, appTokenPath, "", "", body, &reply); err != nil {
		// No token is sent here: a refusal means wrong credentials,
		// which fetching again will not fix.
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Class == providers.Unauthorized {
			pe.Class = providers.Permanent
		}
		return providers.Token{}, err
	}
	if reply.AppAccessToken == "" {
		return providers.Token{}, &providers.Error{Provider: Provider, Op: op, Class: providers.Transient, Status: 200, Code: "bad_reply", Message: "reply has no app_access_token"}
	}
	return providers.Token{Value: reply.AppAccessToken, ExpiresAt: sent.Add(time.Duration(reply.Expire) * time.Second)}, nil
}
