package tasks

import (
	"context"
	"fmt"
	"time"
)

// AccountsKey is a sorted set in which each worker, when it starts, puts
// its accounts as "provider:account" (AccountRef), scored with the Unix
// time. It tells a producer which accounts some worker has had:
//
//	redis-cli ZRANGE herald:accounts 0 -1 WITHSCORES
const AccountsKey = "herald:accounts"

// AccountRef is an account's member in AccountsKey: "easemob:shop".
func AccountRef(p Provider, account string) string { return string(p) + ":" + account }

// WorkerAccounts returns the accounts workers have published in
// AccountsKey ("easemob:shop"), each with when a worker last started with
// it. An empty map means no worker has published any: a Redis no worker
// has run against yet, and nothing can be said about an account.
func (p *Producer) WorkerAccounts(ctx context.Context) (map[string]time.Time, error) {
	if p.rdb == nil {
		return nil, ErrNoRedis
	}
	zs, err := p.rdb.ZRangeWithScores(ctx, AccountsKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: read %s: %w", AccountsKey, err)
	}
	out := make(map[string]time.Time, len(zs))
	for _, z := range zs {
		if m, ok := z.Member.(string); ok {
			out[m] = time.Unix(int64(z.Score), 0).UTC()
		}
	}
	return out, nil
}
