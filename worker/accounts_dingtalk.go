package worker

import (
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/dingtalk"
	"github.com/herald-dispatch/herald/tasks"
)

// buildDingTalk adds a client for every DingTalk account. Tokens are
// cached per app key, so accounts on one app share one token.
func buildDingTalk(cfg Config, rdb redis.UniversalClient, tokens *providers.TokenCache, accounts Accounts) error {
	if len(cfg.DingTalk) == 0 {
		return nil
	}
	queue := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, name := range sortedKeys(cfg.DingTalk) {
		a := cfg.DingTalk[name]
		timeout := a.Timeout.D()
		if timeout == 0 {
			timeout = defaultCallTimeout
		}
		client := dingtalk.New(dingtalk.Config{
			BaseURL:    a.BaseURL,
			AppKey:     a.AppKey,
			AppSecret:  a.AppSecret,
			AgentID:    int64(a.AgentID),
			HTTPClient: providers.NewHTTPClient(timeout, cfg.Concurrency),
			Tokens:     tokens,
		})
		tr := a.Tracking.withDefaults()
		accounts.add(tasks.DingTalk, name, Account{
			Sender: &dingTalkSender{
				client: client, rdb: rdb, queue: queue, insp: insp, shards: cfg.Shards,
				pace: tr, keep: max(cfg.DeliveredTTL.D(), tr.Window.D()+tasks.DefaultRetention),
			},
			// DingTalk limits an app (20 QPS per app per API), by its app key.
			limits:  resolveLimits(tasks.DingTalk, LimitScope(a.AppKey), a.Limits, cfg.Limiter, timeout),
			timeout: timeout,
		})
	}
	return nil
}
