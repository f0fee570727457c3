package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/pipescript"
)

// An Outcome is how a task ended for good.
type Outcome string

// The outcomes an Event reports.
const (
	// Delivered: the provider accepted the call; Event.Result holds what
	// it answered.
	Delivered Outcome = "delivered"
	// Archived: the task failed for good (a permanent provider error, a
	// payload or account the worker cannot use, or its retries used up);
	// Event.Reason says why. An operator may still run it again
	// (producer retry, asynqmon), and its next outcome is a new event.
	Archived Outcome = "archived"
	// Cancelled: the task was deleted before it had an outcome
	// (Producer.Cancel or Delete, the CLI, the HTTP API).
	Cancelled Outcome = "cancelled"
)

// DefaultEventStream is the Redis stream outcome events go to unless the
// worker's events.stream (HERALD_EVENTS_STREAM) names another.
const DefaultEventStream = "herald:events"

// DefaultEventMaxLen is the approximate length the stream is trimmed to
// (XADD MAXLEN ~): at a hundred thousand events, consumers that fall behind
// by more lose the oldest.
const DefaultEventMaxLen = 100_000

// EventField is the stream entry's one field; its value is the Event as
// JSON.
const EventField = "event"

// An Event is one task's final outcome, as appended to the event stream and
// POSTed to an account's webhook. It carries no credentials: the account is
// named, never its secrets.
type Event struct {
	// ID is the stream entry's id ("1700000000000-0"), set by ReadEvent; it
	// is not part of the JSON in the stream, but a webhook body carries it
	// so a receiver can drop a repeat.
	ID      string  `json:"id,omitempty"`
	Outcome Outcome `json:"outcome"`
	TaskID  string  `json:"task_id"`
	Type    string  `json:"type"`
	Queue   string  `json:"queue"`
	Account string  `json:"account"`
	// Attempts is how many times a worker tried the task, counting the
	// last; waits for a rate limit do not count. Zero for a task cancelled
	// before it ran.
	Attempts int `json:"attempts"`
	// Result is the provider's answer to a delivered task (the task's
	// result in Status and asynqmon).
	Result json.RawMessage `json:"result,omitempty"`
	// Reason says why a task was archived, in the worker's words with the
	// provider's code and message.
	Reason string `json:"reason,omitempty"`
	// Class is the error class of an archived task's last error:
	// permanent, transient, unauthorized, rate_limited…
	Class string `json:"class,omitempty"`
	// At is when the outcome happened, in UTC.
	At time.Time `json:"at"`
}

// ReadEvent decodes a stream entry, as XREAD and XREADGROUP return it.
func ReadEvent(msg redis.XMessage) (Event, error) {
	var ev Event
	s, ok := msg.Values[EventField].(string)
	if !ok {
		return ev, fmt.Errorf("tasks: stream entry %s has no %q field", msg.ID, EventField)
	}
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		return ev, fmt.Errorf("tasks: stream entry %s: %w", msg.ID, err)
	}
	ev.ID = msg.ID
	return ev, nil
}

// EventLog appends outcome events to a Redis stream, once per task
// outcome. The zero value (with a client) writes to DefaultEventStream,
// trimmed to about DefaultEventMaxLen, and remembers an outcome for a day.
//
// Once: next to the stream, each task has a small key saying which outcome
// it recorded. A second Record of the same task (a worker retrying a task
// whose delivered-marker says it went out, a crash after the event was
// written but before asynq moved the task on) finds the key and adds
// nothing. The key and the stream share a hash slot, so the check and the
// append are one Lua script, atomic on Redis Cluster too.
type EventLog struct {
	RDB redis.UniversalClient
	// Stream is the stream's key; "" is DefaultEventStream and "-" turns
	// events off (Record does nothing).
	Stream string
	// MaxLen trims the stream approximately; 0 is DefaultEventMaxLen, a
	// negative value never trims.
	MaxLen int64
	// Remember is how long a task's recorded outcome blocks a repeat. It
	// must outlast the task's retries; 0 is a day.
	Remember time.Duration
}

// Off reports whether events are turned off.
func (l EventLog) Off() bool { return l.Stream == "-" || l.RDB == nil }

func (l EventLog) stream() string {
	if l.Stream == "" {
		return DefaultEventStream
	}
	return l.Stream
}

// onceKey names the key that remembers a task's recorded outcome. It lives
// in the stream's hash slot: the stream's own hash tag if it has one, else
// the stream's name made the tag (a key without braces hashes whole, so
// "{herald:events}…" lands where "herald:events" does). The enqueue id tells
// apart tasks that reuse an id after the first was gone.
func (l EventLog) onceKey(taskID, enqueueID string) string {
	s := l.stream()
	prefix := "{" + s + "}"
	if i := strings.IndexByte(s, '{'); i >= 0 {
		if j := strings.IndexByte(s[i+1:], '}'); j > 0 {
			prefix = s
		}
	}
	k := prefix + ":outcome:" + taskID
	if enqueueID != "" {
		k += ":" + enqueueID
	}
	return k
}

// recordScript appends the event unless the task already has an outcome
// recorded. ARGV[5], when not empty, is a recorded outcome this one may
// replace: the archive of the attempt now running, which means an operator
// ran the archived task again and this is its new outcome.
//
// KEYS: once key, stream. ARGV: mark, ttl ms, maxlen, event JSON, replaceable.
var recordScript = redis.NewScript(`
-- Most tasks have no outcome yet: one SET marks it then.
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  local cur = redis.call('GET', KEYS[1])
  if cur and cur ~= ARGV[5] then
    return false
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if tonumber(ARGV[3]) > 0 then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'event', ARGV[4])
end
return redis.call('XADD', KEYS[2], '*', 'event', ARGV[4])
`)

// rerunScript forgets an archived outcome recorded at the attempt that is
// now failing again: the task was run again after it was archived. KEYS:
// once key. ARGV: the mark to forget.
var rerunScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
`)

// archivedMark is what a task archived after attempt number attempt (0 for
// the first) leaves in its once key. asynq's archive does not count the
// last attempt, and running an archived task again starts from the same
// count, so the first attempt of a rerun sees the same number; a retry
// after a crash does not (it counts the lost attempt).
func archivedMark(attempt int) string { return "archived:" + strconv.Itoa(attempt) }

// Record appends ev to the stream unless the task (ev.TaskID with its
// enqueue id, tasks.HeaderEnqueueID) already has an outcome there. attempt
// is asynq's retry count of the attempt that ended (0 for the first); it
// tells a rerun of an archived task from a repeat. It reports whether the
// event was appended.
func (l EventLog) Record(ctx context.Context, ev Event, enqueueID string, attempt int) (bool, error) {
	if l.Off() {
		return false, nil
	}
	keys, args, err := l.recordArgs(ev, enqueueID, attempt)
	if err != nil {
		return false, err
	}
	return recorded(ev, recordScript.Run(ctx, l.RDB, keys, args...).Err())
}

// RecordIn is Record queued on pipe, so a worker records a delivery's
// event in the same round trip as its other writes. The returned func
// reports, once pipe has run, what Record would have.
func (l EventLog) RecordIn(ctx context.Context, pipe redis.Pipeliner, ev Event, enqueueID string, attempt int) func() (bool, error) {
	if l.Off() {
		return func() (bool, error) { return false, nil }
	}
	keys, args, err := l.recordArgs(ev, enqueueID, attempt)
	if err != nil {
		return func() (bool, error) { return false, err }
	}
	q := pipescript.Queue(ctx, pipe, l.RDB, recordScript, keys, args...)
	return func() (bool, error) { return recorded(ev, q.Result(ctx).Err()) }
}

// recordArgs are recordScript's keys and arguments for ev.
func (l EventLog) recordArgs(ev Event, enqueueID string, attempt int) ([]string, []any, error) {
	ev.ID = ""
	ev.At = ev.At.UTC()
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, fmt.Errorf("tasks: encode event: %w", err)
	}
	mark := string(ev.Outcome)
	if ev.Outcome == Archived {
		mark = archivedMark(attempt)
	}
	remember := l.Remember
	if remember <= 0 {
		remember = 24 * time.Hour
	}
	maxLen := l.MaxLen
	if maxLen == 0 {
		maxLen = DefaultEventMaxLen
	}
	replaceable := ""
	if ev.Outcome != Cancelled {
		replaceable = archivedMark(attempt)
	}
	keys := []string{l.onceKey(ev.TaskID, enqueueID), l.stream()}
	return keys, []any{mark, remember.Milliseconds(), maxLen, b, replaceable}, nil
}

// recorded reads recordScript's reply: nil when the task had an outcome
// already.
func recorded(ev Event, err error) (bool, error) {
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("tasks: record %s event of task %q: %w", ev.Outcome, ev.TaskID, err)
	}
	return true, nil
}

// Rerun is called when attempt (asynq's retry count) of a task failed and
// will be retried. If the task had been archived at that same count, it was
// run again since, and the archive stops blocking its next outcome.
func (l EventLog) Rerun(ctx context.Context, taskID, enqueueID string, attempt int) error {
	if l.Off() {
		return nil
	}
	return rerunScript.Run(ctx, l.RDB, []string{l.onceKey(taskID, enqueueID)}, archivedMark(attempt)).Err()
}
