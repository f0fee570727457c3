package worker

// asynq's own Redis key names (its internal/base package), for the one
// place Herald writes asynq's keys itself: the scheduler's script moving a
// due task. Every one carries the queue as its hash tag, so they share a
// Redis Cluster slot with each other and with tasks.DueKey.

func asynqTaskKeyPrefix(q string) string { return "asynq:{" + q + "}:t:" }
func asynqScheduledKey(q string) string  { return "asynq:{" + q + "}:scheduled" }
func asynqPendingKey(q string) string    { return "asynq:{" + q + "}:pending" }
