package worker

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// markers remember which tasks a provider has already confirmed, so a task
// retried after a crash (the worker died between the provider's reply and
// asynq marking the task done) is not sent twice. The window that is left
// is the instant between the provider's reply and the marker write.
type markers struct {
	rdb redis.UniversalClient
	ttl time.Duration
}

// markerKey names a task's marker. The enqueue id (tasks.HeaderEnqueueID)
// tells apart two tasks that share an id because an idempotency key was
// enqueued again after asynq forgot the first; a task enqueued without one
// is known by its id alone.
func markerKey(taskID, enqueueID string) string {
	k := "herald:delivered:{" + taskID + "}"
	if enqueueID != "" {
		k += ":" + enqueueID
	}
	return k
}

// get returns the stored result of a delivered task.
func (m markers) get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := m.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// set records a delivered task with its result, and stores the result on
// the task itself (taskKey, asynq's hash for it) as asynq's ResultWriter
// would: one pipeline, so one round trip on a single Redis (on a Cluster
// go-redis sends it to each node holding a key). Only the marker's error
// is returned: the result is for people to read; the marker is what stops
// a second send.
func (m markers) set(ctx context.Context, key string, result []byte, taskKey string) error {
	var marker *redis.StatusCmd
	_, _ = m.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		marker = p.Set(ctx, key, result, m.ttl)
		p.HSet(ctx, taskKey, "result", result)
		return nil
	})
	return marker.Err()
}
