package worker

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/tasks"
)

// schedulerTick is how often every worker looks for scheduled jobs that are
// due, and how often an idle worker looks for new jobs in its queues. Both
// polls are one short script; together they put a job in a worker's hands
// a few tens of milliseconds after its due time.
const schedulerTick = 20 * time.Millisecond

// moveBatch bounds how many due tasks one script run moves, so a burst of
// due jobs does not hold Redis for long; the scheduler runs the script again
// at once while a batch comes back full.
const moveBatch = 200

// moveDue moves the tasks of one queue that are due by Redis' clock from
// asynq's scheduled set to its pending list, exactly as asynq's forwarder
// does for one task (Herald puts no task in a group), and drops their
// entries from the due set.
//
// A task no longer in the scheduled set is skipped: it was cancelled,
// or asynq's forwarder moved it at the whole second already. So a task is
// never moved twice, and a cancelled one never runs.
//
// KEYS[1] the due set (tasks.DueKey), KEYS[2] asynq:{q}:scheduled,
// KEYS[3] asynq:{q}:pending; ARGV[1] the task key prefix asynq:{q}:t:,
// ARGV[2] the batch size. All share the hash tag {q}. Returns
// {entries popped, tasks moved}.
var moveDue = redis.NewScript(`
local t = redis.call("TIME")
local nowms = t[1] .. string.format("%03d", math.floor(tonumber(t[2]) / 1000))
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", nowms, "LIMIT", 0, tonumber(ARGV[2]))
if #ids == 0 then
	return {0, 0}
end
redis.call("ZREM", KEYS[1], unpack(ids))
local since = t[1] .. string.format("%06d", tonumber(t[2])) .. "000"
local moved = 0
for _, id in ipairs(ids) do
	if redis.call("ZREM", KEYS[2], id) == 1 then
		redis.call("LPUSH", KEYS[3], id)
		redis.call("HSET", ARGV[1] .. id, "state", "pending", "pending_since", since)
		moved = moved + 1
	end
end
return {#ids, moved}
`)

// scheduler hands scheduled jobs to their queues at their due time, to the
// millisecond as Redis tells time. Every replica runs one: the script is
// atomic, so two replicas never move one task twice, and any one of them
// is enough.
type scheduler struct {
	rdb  redis.UniversalClient
	tick time.Duration
	log  zerolog.Logger

	mu     sync.Mutex
	queues []string
}

// add has the scheduler serve more queues from its next round on.
func (s *scheduler) add(queues ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues = append(slices.Clip(s.queues), queues...)
}

// run polls until ctx is done. Each round runs the script once per queue,
// pipelined (on a Cluster go-redis splits the pipeline by node), and goes
// again at once for a queue whose batch came back full.
func (s *scheduler) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		for s.round(ctx) {
			if ctx.Err() != nil {
				return
			}
		}
		// Jitter keeps replicas from polling in lockstep.
		timer.Reset(s.tick/2 + rand.N(s.tick))
	}
}

// round runs the script for every queue and reports whether any queue had
// more due tasks than one batch.
func (s *scheduler) round(ctx context.Context) (more bool) {
	s.mu.Lock()
	queues := s.queues
	s.mu.Unlock()
	cmds := make([]*redis.Cmd, len(queues))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range queues {
			cmds[i] = moveDue.EvalSha(ctx, p, dueKeys(q), dueArgs(q)...)
		}
		return nil
	})
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		// A pipeline cannot fall back from EVALSHA to EVAL by itself: load
		// the script (into every master of a Cluster) and go again.
		if lerr := moveDue.Load(ctx, s.rdb).Err(); lerr == nil {
			return true
		}
	}
	if err != nil && ctx.Err() == nil {
		// asynq's forwarder still moves every task at the whole second
		// after its due time; precision suffers, nothing is lost.
		s.log.Warn().Err(err).Msg("scheduler: could not move due jobs; asynq will move them within a second")
		return false
	}
	for _, c := range cmds {
		if r, err := c.Int64Slice(); err == nil && len(r) == 2 && r[0] >= moveBatch {
			more = true
		}
	}
	return more
}

// dueKeys are moveDue's KEYS for queue q, all tagged {q}.
func dueKeys(q string) []string {
	return []string{tasks.DueKey(q), asynqScheduledKey(q), asynqPendingKey(q)}
}

func dueArgs(q string) []any { return []any{asynqTaskKeyPrefix(q), moveBatch} }
