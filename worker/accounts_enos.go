package worker

import (
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/enos"
	"github.com/herald-dispatch/herald/tasks"
)

// addEnOSAccounts builds a client per EnOS account. Their tokens live in
// Redis with EnOS's own margin (the SDK replaces a token ten minutes before
// it expires), and their apim timestamps are made unique through Redis too,
// so replicas never send a reused one.
func addEnOSAccounts(accounts Accounts, cfg Config, rdb redis.UniversalClient) {
	tokens := providers.NewTokenCache(rdb)
	tokens.Margin = enos.DefaultTokenMargin
	for _, name := range sortedKeys(cfg.EnOS) {
		a := cfg.EnOS[name]
		timeout := a.Timeout.D()
		if timeout == 0 {
			timeout = defaultCallTimeout
		}
		client := enos.New(enos.Config{
			BaseURL:    a.BaseURL,
			AppKey:     a.AppKey,
			AppSecret:  a.AppSecret,
			HTTPClient: providers.NewHTTPClient(timeout, cfg.Concurrency),
			Tokens:     tokens,
			Redis:      rdb,
		})
		accounts.add(tasks.EnOS, name, Account{
			Sender: client,
			// EnOS limits an application, by its app key.
			limits:  resolveLimits(tasks.EnOS, LimitScope(a.AppKey), a.Limits, cfg.Limiter, timeout),
			timeout: timeout,
		})
	}
}
