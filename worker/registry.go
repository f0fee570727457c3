package worker

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/tasks"
)

// publishAccounts adds the worker's accounts, as "provider:account", to
// tasks.AccountsKey with the time it started, so a producer can warn about
// a job naming an account no worker has (the worker would archive it).
// It is a hint, never a gate: failing to write it is logged, not fatal.
func (w *Worker) publishAccounts(ctx context.Context) {
	now := float64(time.Now().Unix())
	var members []redis.Z
	for p, accts := range w.accounts {
		for name := range accts {
			members = append(members, redis.Z{Score: now, Member: tasks.AccountRef(p, name)})
		}
	}
	if len(members) == 0 {
		return
	}
	if err := w.rdb.ZAdd(ctx, tasks.AccountsKey, members...).Err(); err != nil {
		w.log.Warn().Err(err).Msg("could not publish the worker's accounts")
	}
}
