package worker

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/tasks"
)

// buildFeishu adds a client for every Feishu account. Tokens and the
// rotating refresh token live in rdb, shared by every replica.
func buildFeishu(cfg Config, rdb redis.UniversalClient, tokens *providers.TokenCache, accounts Accounts) {
	for _, name := range sortedKeys(cfg.Feishu) {
		a := cfg.Feishu[name]
		timeout := a.Timeout.D()
		if timeout == 0 {
			timeout = defaultCallTimeout
		}
		client := feishu.New(feishu.Config{
			BaseURL:       a.BaseURL,
			AppID:         a.AppID,
			AppSecret:     a.AppSecret,
			HelpdeskID:    a.HelpdeskID,
			HelpdeskToken: a.HelpdeskToken,
			RefreshToken:  a.RefreshToken,
			Account:       name,
			Redis:         rdb,
			Tokens:        tokens,
			HTTPClient:    providers.NewHTTPClient(timeout, cfg.Concurrency),
			ReauthRetry:   a.ReauthRetry.D(),
		})
		accounts.add(tasks.Feishu, name, Account{
			Sender: client,
			// Feishu limits an app, by its app id.
			limits:  resolveLimits(tasks.Feishu, LimitScope(a.AppID), a.Limits, cfg.Limiter, timeout),
			timeout: timeout,
		})
	}
}

// reauther is a Sender whose account can need an operator to
// re-authorize it (Feishu's refresh token refused).
type reauther interface {
	NeedsReauth(ctx context.Context) (bool, error)
}
