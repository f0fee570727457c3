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

// schedulerTick is the shortest gap between two rounds of a worker's
// scheduler (a job due sooner waits for it), and half the average gap
// between an idle worker's looks at its queues (see serverConfig): together
// they put a job in a worker's hands a few tens of milliseconds after its
// due time.
const schedulerTick = 20 * time.Millisecond

// schedulerIdle is the longest a scheduler sleeps: with no job due sooner,
// it looks again after this. A job added meanwhile that is due sooner is
// announced on tasks.DueChannel (the producer does so for jobs due within
// tasks.DueWakeHorizon, which leaves a second for the clocks to differ),
// and wakes it.
const schedulerIdle = time.Second

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
// {entries popped, tasks moved, milliseconds until the next entry left is
// due (0: due now, a batch came back full; -1: none left)}, the wait by
// Redis' clock, as the due times are.
var moveDue = redis.NewScript(`
local t = redis.call("TIME")
local nowms = t[1] .. string.format("%03d", math.floor(tonumber(t[2]) / 1000))
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", nowms, "LIMIT", 0, tonumber(ARGV[2]))
local function after()
	local next = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
	if #next == 0 then
		return -1
	end
	return math.max(0, math.ceil(tonumber(next[2]) - tonumber(nowms)))
end
if #ids == 0 then
	return {0, 0, after()}
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
return {#ids, moved, after()}
`)

// scheduler hands scheduled jobs to their queues at their due time, to the
// millisecond as Redis tells time. Every replica runs one: the script is
// atomic, so two replicas never move one task twice, and any one of them
// is enough.
//
// Between rounds it sleeps until the next job is due, at least a tick and
// at most schedulerIdle, so a worker with nothing scheduled soon costs
// Redis a round a second, not one a tick. A job due sooner than the
// scheduler's next round is announced on tasks.DueChannel and wakes it.
type scheduler struct {
	rdb  redis.UniversalClient
	tick time.Duration
	idle time.Duration // schedulerIdle, but in tests
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
	// go-redis subscribes again by itself after a lost connection. Each
	// subscription's confirmation wakes the scheduler like an
	// announcement: a job announced before the subscription took (at
	// start, or while it was down) is in its due set by then, and the
	// round the confirmation brings finds it.
	sub := s.rdb.Subscribe(ctx, tasks.DueChannel)
	defer sub.Close()
	wake := sub.ChannelWithSubscriptions()

	timer := time.NewTimer(0)
	defer timer.Stop()
	var last, next time.Time // the last round, and the next one planned
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				// The client was closed under us: go on polling.
				wake = nil
				continue
			}
			// Wake for it, but not sooner than a tick after the last round:
			// a burst of announcements costs one round a tick at most.
			if at := last.Add(s.tick); at.Before(next) {
				next = at
				timer.Reset(time.Until(at))
			}
			continue
		case <-timer.C:
		}
		wait := time.Duration(0)
		for wait == 0 {
			if ctx.Err() != nil {
				return
			}
			wait = s.round(ctx)
		}
		last = time.Now()
		// Jitter keeps replicas, which all know the same next due time,
		// from asking for it at the same instant.
		sleep := min(max(wait, s.tick), s.idle) + rand.N(s.tick/4)
		next = last.Add(sleep)
		timer.Reset(sleep)
	}
}

// round runs the script for every queue and returns how long until a job
// left in a due set is due: 0 when a queue had more due tasks than one
// batch (go again at once), s.idle when none is due sooner, and a
// tick after a failure.
func (s *scheduler) round(ctx context.Context) time.Duration {
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
			return 0
		}
	}
	if err != nil && ctx.Err() == nil {
		// asynq's forwarder still moves every task at the whole second
		// after its due time; precision suffers, nothing is lost.
		s.log.Warn().Err(err).Msg("scheduler: could not move due jobs; asynq will move them within a second")
		return s.tick
	}
	wait := s.idle
	for _, c := range cmds {
		r, err := c.Int64Slice()
		if err != nil || len(r) != 3 {
			continue
		}
		if r[0] >= moveBatch {
			return 0
		}
		if r[2] >= 0 {
			// At least a millisecond: only a full batch means "at once".
			wait = min(wait, max(time.Duration(r[2])*time.Millisecond, time.Millisecond))
		}
	}
	return wait
}

// dueKeys are moveDue's KEYS for queue q, all tagged {q}.
func dueKeys(q string) []string {
	return []string{tasks.DueKey(q), asynqScheduledKey(q), asynqPendingKey(q)}
}

func dueArgs(q string) []any { return []any{asynqTaskKeyPrefix(q), moveBatch} }
