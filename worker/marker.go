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

// records keep each task's delivery record in Redis, one key: while a
// call is out, an attempt saying who started it and when, renewed by the
// worker's heartbeat; once the provider confirmed, its result (the
// delivered-marker), so a retry after a crash returns the stored result
// instead of sending again. A later attempt that finds an attempt whose
// heartbeat stopped, and no result, knows the provider may have acted: it
// is in doubt (see InDoubtPolicy).
//
// One key for both makes a delivered call's record one plain SET, the
// cheapest write there is, on the path every job takes.
type records struct {
	rdb    redis.UniversalClient
	ttl    time.Duration
	script *redis.Script
}

func newRecords(rdb redis.UniversalClient, ttl time.Duration) records {
	return records{rdb: rdb, ttl: ttl, script: redis.NewScript(attemptLua)}
}

// recordKey names a task's delivery record.
type recordKey string

// keyOf names a task's record. Its hash tag is the task id, so tasks
// spread over a cluster's slots. The enqueue id (tasks.HeaderEnqueueID)
// tells apart two tasks that share an id because an idempotency key was
// enqueued again after asynq forgot the first; a task enqueued without one
// is known by its id alone. The name is the one the delivered-marker had
// before attempts moved into it, so markers written then still count.
func keyOf(taskID, enqueueID string) recordKey {
	k := "herald:delivered:{" + taskID + "}"
	if enqueueID != "" {
		k += ":" + enqueueID
	}
	return recordKey(k)
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
//
// Most calls are a task's first, with no record yet: for them the attempt
// is one plain SET NX, no script. Only when a record is there does the
// returned func run attempt.lua's begin (a round trip more), which reads
// it by Redis's clock and decides.
//
// The attempt SET NX writes takes its start and lease from this process's
// clock; attempt.lua, which judges them, and the heartbeat, which renews
// the lease within attemptLease/3, use Redis's. A clock some seconds off is
// harmless: one ahead makes a crashed call's doubt known that much later,
// one behind makes the lease look that much shorter until the first
// renewal, which comes with two thirds of the lease to spare.
func (r records) beginIn(ctx context.Context, pipe redis.Pipeliner, k recordKey, owner, worker string, retry int, lease time.Duration, policy InDoubtPolicy) func() (begun, error) {
	now := time.Now()
	first := pipe.SetNX(ctx, string(k), attemptValue(owner, retry, now, now.Add(lease), worker), r.ttl)
	return func() (begun, error) {
		set, err := first.Result()
		if err != nil {
			return begun{}, fmt.Errorf("attempt record: %w", err)
		}
		if set {
			return begun{status: beginFirst}, nil
		}
		v, err := r.script.Run(ctx, r.rdb, []string{string(k)},
			"begin", owner, worker, retry, lease.Microseconds(), string(policy), r.ttl.Milliseconds()).Slice()
		if err != nil {
			return begun{}, fmt.Errorf("attempt record: %w", err)
		}
		return readBegun(v), nil
	}
}

// attemptValue is an attempt as the record holds it; attempt.lua's write
// makes the same, and reads it.
func attemptValue(owner string, retry int, started, until time.Time, worker string) string {
	// Appended rather than fmt.Sprintf'd: every job writes one.
	b := make([]byte, 0, len(owner)+len(worker)+48)
	b = append(b, '~')
	b = append(b, owner...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(retry), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, started.UnixMicro(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, until.UnixMicro(), 10)
	b = append(b, " - "...)
	b = append(b, worker...)
	return string(b)
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
func (r records) renew(ctx context.Context, k recordKey, owner string, lease time.Duration) error {
	return r.script.Run(ctx, r.rdb, []string{string(k)}, "renew", owner, lease.Microseconds()).Err()
}

// done writes the delivered-marker with the provider's result over the
// attempt, whoever owns it by now: the call was delivered.
func (r records) done(ctx context.Context, k recordKey, result []byte) error {
	return r.doneIn(ctx, r.rdb, k, result).Err()
}

// doneIn is done queued on pipe, to go with the call's settles.
func (r records) doneIn(ctx context.Context, pipe redis.Cmdable, k recordKey, result []byte) *redis.StatusCmd {
	return pipe.Set(ctx, string(k), result, r.ttl)
}

// endIn is end queued on pipe.
func (r records) endIn(ctx context.Context, pipe redis.Pipeliner, k recordKey, owner, op string) func() error {
	q := pipescript.Queue(ctx, pipe, r.rdb, r.script, []string{string(k)}, op, owner)
	return func() error { return q.Result(ctx).Err() }
}

// end closes an attempt that delivered nothing: "clear" when the provider
// answered (it did not act) or the call never left, "doubt" when no reply
// came.
func (r records) end(ctx context.Context, k recordKey, owner, op string) error {
	return r.script.Run(ctx, r.rdb, []string{string(k)}, op, owner).Err()
}
