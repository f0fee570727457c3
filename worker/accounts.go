package worker

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/tasks"
)

// defaultCallTimeout bounds one provider HTTP call when an account sets none.
const defaultCallTimeout = 15 * time.Second

// buildAccounts creates a client for every configured provider account. The
// clients share one token cache in Redis, so replicas share tokens too.
func buildAccounts(cfg Config, rdb redis.UniversalClient) (Accounts, error) {
	lc := cfg.Limiter
	tokens := providers.NewTokenCache(rdb)
	// An Easemob app token changes only on expiry or a 401, both of which
	// reach every replica's copy in memory: reading Redis for it on every
	// job would be a round trip for nothing.
	easemobTokens := providers.NewTokenCache(rdb)
	easemobTokens.LocalTTL = providers.DefaultTokenLocalTTL
	accounts := Accounts{}
	for _, name := range sortedKeys(cfg.Easemob) {
		a := cfg.Easemob[name]
		zone, err := a.Location()
		if err != nil {
			return nil, &ConfigError{Key: "easemob." + name + ".zone", Rule: err.Error()}
		}
		timeout := a.Timeout.D()
		if timeout == 0 {
			timeout = defaultCallTimeout
		}
		client := easemob.New(easemob.Config{
			BaseURL:      a.BaseURL,
			OrgName:      a.OrgName,
			AppName:      a.AppName,
			ClientID:     a.ClientID,
			ClientSecret: a.ClientSecret,
			HTTPClient:   providers.NewHTTPClient(timeout, cfg.Concurrency),
			Tokens:       easemobTokens,
			Account:      name,
		})
		// Easemob limits an app (its AppKey, org#app), whichever account
		// calls it.
		scope := LimitScope(a.OrgName, a.AppName)
		if err := checkScope(scope); err != nil {
			return nil, &ConfigError{Key: "easemob." + name + ".app_name", Rule: err.Error()}
		}
		accounts.add(tasks.Easemob, name, Account{
			Sender:  client,
			Env:     tasks.Env{Zone: zone},
			limits:  resolveLimits(tasks.Easemob, scope, a.Limits, lc, timeout),
			timeout: timeout,
		})
	}
	buildFeishu(cfg, rdb, tokens, accounts)
	if err := buildDingTalk(cfg, rdb, tokens, accounts); err != nil {
		return nil, err
	}
	addEnOSAccounts(accounts, cfg, rdb)
	return accounts, nil
}

func (a Accounts) add(p tasks.Provider, name string, acct Account) {
	if a[p] == nil {
		a[p] = map[string]*Account{}
	}
	a[p][name] = &acct
}
