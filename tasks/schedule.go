package tasks

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// DueKey names the sorted set holding queue's scheduled tasks with their due
// times to the millisecond: member the task id, score Unix milliseconds.
//
// asynq keeps a scheduled task's due time in whole seconds and moves it to
// its queue on a poll, so on its own it would run a job up to a second early
// and a poll late. Herald therefore asks asynq for the next whole second at
// or after the due time (its forwarder then never moves a job early) and
// adds the exact time here, where every worker's scheduler moves the task
// to its queue within a few tens of milliseconds of the due time. The set
// is only a hint: a task cancelled meanwhile is simply not found, and a task
// the scheduler never saw (it was down, or this write failed) still goes
// out at the whole second, through asynq.
//
// The key's hash tag is the queue name, as in asynq's own keys
// ("asynq:{easemob}:scheduled"), so one script can touch both on a Redis
// Cluster.
func DueKey(queue string) string { return "herald:due:{" + queue + "}" }

// DueChannel is where a producer announces a job due within
// DueWakeHorizon, so a worker's scheduler sleeping until the next due time
// it knows of wakes for it. The message is the job's queue.
const DueChannel = "herald:due"

// DueWakeHorizon is how soon a job must be due for the producer to announce
// it on DueChannel. A worker's scheduler looks at the due sets at least
// once a second whatever it was told, so a later job is found in time; the
// second more leaves room for the producer's clock to differ from Redis'.
const DueWakeHorizon = 2 * time.Second

// ceilToSecond is the first whole second at or after t. asynq stores a due
// time as t.Unix(), which truncates: rounding up first means its forwarder
// never moves the task before t.
func ceilToSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// ceilToMilli is the first whole millisecond at or after t. Due times
// travel in milliseconds (the not-before header, the due set's score), so
// rounding up keeps a job from going out up to a millisecond before the
// time it was asked for.
func ceilToMilli(t time.Time) time.Time {
	if s := t.Truncate(time.Millisecond); !s.Equal(t) {
		return s.Add(time.Millisecond)
	}
	return t
}

// addDue records a scheduled task's exact due time for the workers'
// scheduler. Its failure is not Enqueue's: the task is in Redis and will be
// delivered at the whole second after at, so reporting an error would only
// invite the caller to enqueue it twice.
//
// A job due within DueWakeHorizon is then announced. Not in one pipeline
// with the write: on a Cluster the two go to different nodes at once, and
// a scheduler woken before the write lands would find nothing.
func (p *Producer) addDue(ctx context.Context, info *asynq.TaskInfo, at time.Time) {
	if info.State != asynq.TaskStateScheduled {
		return
	}
	err := p.rdb.ZAdd(ctx, DueKey(info.Queue), redis.Z{Score: float64(at.UnixMilli()), Member: info.ID}).Err()
	if err == nil && time.Until(at) < DueWakeHorizon {
		_ = p.rdb.Publish(ctx, DueChannel, info.Queue).Err()
	}
}
