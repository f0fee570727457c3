package worker

// asynq's own Redis key names (its internal/base package), for the two
// places Herald writes next to asynq in the same round trip or script: the
// scheduler moving a due task, and the result stored with the
// delivered-marker. Every one carries the queue as its hash tag, so they
// share a Redis Cluster slot with each other and with tasks.DueKey.

func asynqTaskKeyPrefix(q string) string { return "asynq:{" + q + "}:t:" }
func asynqTaskKey(q, id string) string   { return asynqTaskKeyPrefix(q) + id }
func asynqScheduledKey(q string) string  { return "asynq:{" + q + "}:scheduled" }
func asynqPendingKey(q string) string    { return "asynq:{" + q + "}:pending" }
