package worker

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// WithoutScheduler stops w from moving scheduled jobs itself, as if its
// scheduler had died: only asynq's whole-second forwarder is left. Call it
// before Run.
func WithoutScheduler(w *Worker) { w.sched = nil }

// SetSchedulerIdle has w's scheduler sleep up to d when no job is due
// sooner (schedulerIdle). Call it before Run.
func SetSchedulerIdle(w *Worker, d time.Duration) { w.sched.idle = d }

// MoveDueScriptHash is the scheduler script's SHA1, as EVALSHA names it.
func MoveDueScriptHash() string { return moveDue.Hash() }

// MoveDue runs the scheduler's script once for queue and returns how many
// due entries it popped and how many tasks it moved to the queue.
func MoveDue(ctx context.Context, rdb redis.UniversalClient, queue string) (popped, moved int64, err error) {
	popped, moved, _, err = MoveDueNext(ctx, rdb, queue)
	return popped, moved, err
}

// MoveDueNext is MoveDue that also returns how long until the next entry
// left in the due set is due, by Redis' clock (-1 if none is left).
func MoveDueNext(ctx context.Context, rdb redis.UniversalClient, queue string) (popped, moved int64, next time.Duration, err error) {
	r, err := moveDue.Run(ctx, rdb, dueKeys(queue), dueArgs(queue)...).Int64Slice()
	if err != nil {
		return 0, 0, 0, err
	}
	next = -1
	if r[2] >= 0 {
		next = time.Duration(r[2]) * time.Millisecond
	}
	return r[0], r[1], next, nil
}

// DeliveryRecordKey names the delivery record of the task with the given
// id and enqueue id (tasks.HeaderEnqueueID, "" if it has none).
func DeliveryRecordKey(taskID, enqueueID string) string { return string(keyOf(taskID, enqueueID)) }
