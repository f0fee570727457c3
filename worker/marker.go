package worker

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/pipescript"
)

//go:embed attempt.lua
var attemptLua string

// records keep each task's delivery record in Redis: a delivered-marker
// once the provider confirmed (a retry after a crash then returns the
// stored result instead of sending again), and, while a call is out, an
// attempt record saying who started it and when, renewed by the worker's
// heartbeat. A later attempt that finds an attempt record whose heartbeat
// stopped, and no marker, knows the provider may have acted: it is in
// doubt (see InDoubtPolicy).
//
// Both keys share the task id as their hash tag, so one script reads and
// writes them together on Redis Cluster.
type records struct {
	rdb    redis.UniversalClient
	ttl    time.Duration
	script *redis.Script
}

func newRecords(rdb redis.UniversalClient, ttl time.Duration) records {
	return records{rdb: rdb, ttl: ttl, script: redis.NewScript(attemptLua)}
}

// recordKeys are a task's two keys.
type recordKeys struct{ marker, attempt string }

// keysOf names a task's record. The enqueue id (tasks.HeaderEnqueueID)
// tells apart two tasks that share an id because an idempotency key was
// enqueued again after asynq forgot the first; a task enqueued without one
// is known by its id alone.
func keysOf(taskID, enqueueID string) recordKeys {
	suffix := ""
	if enqueueID != "" {
		suffix = ":" + enqueueID
	}
	return recordKeys{
		marker:  "herald:delivered:{" + taskID + "}" + suffix,
		attempt: "herald:attempt:{" + taskID + "}" + suffix,
	}
}

// beginStatus is what begin found.
type beginStatus int

const (
	beginFirst     beginStatus = 0
	beginDelivered beginStatus = 1
	beginBusy      beginStatus = 2
	beginHeld      beginStatus = 3
	beginReleased  beginStatus = 4
	beginResend    beginStatus = 5
)

// begun is begin's answer.
type begun struct {
	status beginStatus
	result []byte        // beginDelivered
	wait   time.Duration // beginBusy: until the other call's heartbeat lapses
	// evidence of the earlier call, for in-doubt statuses
	started time.Time
	worker  string
	attempt string
}

// beginIn queues on pipe the record that a call is about to go, unless the
// task is delivered, another call of it is running, or an earlier call is
// in doubt and the policy holds it. The returned func reads the answer
// once pipe has run.
func (r records) beginIn(ctx context.Context, pipe redis.Pipeliner, k recordKeys, owner, worker string, retry int, lease time.Duration, policy InDoubtPolicy) func() (begun, error) {
	q := pipescript.Queue(ctx, pipe, r.rdb, r.script, []string{k.marker, k.attempt},
		"begin", owner, worker, retry, lease.Microseconds(), string(policy), r.ttl.Milliseconds())
	return func() (begun, error) {
		v, err := q.Result(ctx).Slice()
		if err != nil {
			return begun{}, fmt.Errorf("attempt record: %w", err)
		}
		return readBegun(v), nil
	}
}

// readBegun decodes the begin op's reply (see attempt.lua).
func readBegun(v []any) begun {
	status, _ := v[0].(int64)
	b := begun{status: beginStatus(status)}
	str := func(i int) string {
		if i < len(v) {
			s, _ := v[i].(string)
			return s
		}
		return ""
	}
	switch b.status {
	case beginDelivered:
		b.result = []byte(str(1))
	case beginBusy:
		us, _ := strconv.ParseInt(str(1), 10, 64)
		b.wait = time.Duration(us) * time.Microsecond
	case beginHeld, beginReleased, beginResend:
		us, _ := strconv.ParseInt(str(1), 10, 64)
		b.started = time.UnixMicro(us).UTC()
		b.worker, b.attempt = str(2), str(3)
	}
	return b
}

// owns reports whether begin left the attempt record to this call: it
// goes, and must end the record (done, clear or doubt) whatever happens.
func (b begun) owns() bool {
	return b.status == beginFirst || b.status == beginReleased || b.status == beginResend
}

// renew extends a running call's attempt lease.
func (r records) renew(ctx context.Context, k recordKeys, owner string, lease time.Duration) error {
	return r.script.Run(ctx, r.rdb, []string{k.marker, k.attempt}, "renew", owner, lease.Microseconds()).Err()
}

// done writes the delivered-marker with the provider's result.
func (r records) done(ctx context.Context, k recordKeys, owner string, result []byte) error {
	return r.script.Run(ctx, r.rdb, []string{k.marker, k.attempt}, "done", owner, result, r.ttl.Milliseconds()).Err()
}

// doneIn is done queued on pipe, to go with the call's settles.
func (r records) doneIn(ctx context.Context, pipe redis.Pipeliner, k recordKeys, owner string, result []byte) func() error {
	q := pipescript.Queue(ctx, pipe, r.rdb, r.script, []string{k.marker, k.attempt}, "done", owner, result, r.ttl.Milliseconds())
	return func() error { return q.Result(ctx).Err() }
}

// endIn is end queued on pipe.
func (r records) endIn(ctx context.Context, pipe redis.Pipeliner, k recordKeys, owner, op string) func() error {
	q := pipescript.Queue(ctx, pipe, r.rdb, r.script, []string{k.marker, k.attempt}, op, owner)
	return func() error { return q.Result(ctx).Err() }
}

// end closes an attempt that delivered nothing: "clear" when the provider
// answered (it did not act) or the call never left, "doubt" when no reply
// came.
func (r records) end(ctx context.Context, k recordKeys, owner, op string) error {
	return r.script.Run(ctx, r.rdb, []string{k.marker, k.attempt}, op, owner).Err()
}
