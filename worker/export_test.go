package worker

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// WithoutScheduler stops w from moving scheduled jobs itself, as if its
// scheduler had died: only asynq's whole-second forwarder is left. Call it
// before Run.
func WithoutScheduler(w *Worker) { w.sched = nil }

// MoveDue runs the scheduler's script once for queue and returns how many
// due entries it popped and how many tasks it moved to the queue.
func MoveDue(ctx context.Context, rdb redis.UniversalClient, queue string) (popped, moved int64, err error) {
	r, err := moveDue.Run(ctx, rdb, dueKeys(queue), dueArgs(queue)...).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	return r[0], r[1], nil
}

// DeliveryRecordKey names the delivery record of the task with the given
// id and enqueue id (tasks.HeaderEnqueueID, "" if it has none).
func DeliveryRecordKey(taskID, enqueueID string) string { return string(keyOf(taskID, enqueueID)) }
