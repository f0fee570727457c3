package tasks

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// Status is a task's state in Redis, as Producer.Status reports it.
type Status struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Queue string `json:"queue"`
	// Account is the worker-side account the job uses.
	Account string `json:"account"`
	// State is one of pending, scheduled, active, retry, archived,
	// completed or aggregating (asynq's task states). A task is archived
	// when it failed for good: a permanent provider error, or MaxRetry
	// used up. LastError then says why.
	State string `json:"state"`
	// Attempts counts the tries a worker made: the failed ones (asynq's
	// Retried) and, for a task that is running, completed or archived,
	// the one running or last. It agrees with the "attempt" the worker
	// logs (1 on the first try). A wait for a rate limit is not a try.
	Attempts int `json:"attempts"`
	MaxRetry int `json:"max_retry"`
	// LastError is the error of the last failed attempt, as the worker
	// reported it. A completed task has none: see EarlierError.
	LastError string `json:"last_error,omitempty"`
	// EarlierError is, for a completed task, the error of an earlier
	// attempt that failed or was told to wait (a limit reached) before a
	// later attempt delivered it. It is history, not the outcome.
	EarlierError string    `json:"earlier_error,omitempty"`
	LastFailedAt time.Time `json:"last_failed_at,omitzero"`
	// NextProcessAt is when a pending, scheduled or retry task is due; asynq
	// keeps it in whole seconds.
	NextProcessAt time.Time `json:"next_process_at,omitzero"`
	// NotBefore is the DeliverAt time to the millisecond, for a scheduled
	// job. The worker holds the job until then.
	NotBefore   time.Time `json:"not_before,omitzero"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// Payload is the provider call the task carries.
	Payload json.RawMessage `json:"payload,omitempty"`
	// Note warns about a task no worker will run as it stands: one in a
	// queue Herald does not serve (asynq's "default" queue, say, from a
	// client that named no queue).
	Note string `json:"note,omitempty"`
	// Result is what the worker recorded on success (for DingTalk, the
	// send progress and result). A result that is not JSON is given as a
	// JSON string.
	Result json.RawMessage `json:"result,omitempty"`
	// Tracking follows a DingTalk send after DingTalk accepted it: its
	// task_id, progress and final lists (see Tracking). Nil for other jobs
	// and before the send is accepted.
	Tracking *Tracking `json:"tracking,omitempty"`
}

func statusOf(info *asynq.TaskInfo) *Status {
	s := &Status{
		ID:            info.ID,
		Type:          info.Type,
		Queue:         info.Queue,
		Account:       AccountOf(info.Headers),
		State:         info.State.String(),
		Attempts:      attempts(info),
		MaxRetry:      info.MaxRetry,
		LastError:     info.LastErr,
		LastFailedAt:  utc(info.LastFailedAt),
		NextProcessAt: utc(info.NextProcessAt),
		NotBefore:     utc(notBefore(info)),
		CompletedAt:   utc(info.CompletedAt),
		Payload:       asJSON(info.Payload),
		Result:        asJSON(info.Result),
	}
	if info.State == asynq.TaskStateCompleted {
		s.LastError, s.EarlierError = "", info.LastErr
	}
	if !servedQueue(info.Queue) {
		s.Note = unservedNote(info)
	}
	return s
}

// attempts is how many tries a task has had. asynq's Retried counts the
// failed tries that were followed by a retry; an archive does not count
// the last one and a success is not counted at all.
func attempts(info *asynq.TaskInfo) int {
	switch info.State {
	case asynq.TaskStateActive, asynq.TaskStateCompleted, asynq.TaskStateArchived:
		return info.Retried + 1
	}
	return info.Retried
}

// servedQueue reports whether Herald's workers take tasks from queue: a
// provider's queue or one of its shards.
func servedQueue(queue string) bool {
	_, ok := ProviderOfQueue(queue)
	return ok
}

func unservedNote(info *asynq.TaskInfo) string {
	note := "no Herald worker serves queue " + strconv.Quote(info.Queue) + ", so this task will not run there"
	if p, ok := ProviderOf(info.Type); ok {
		note += "; enqueue the job again in queue " + strconv.Quote(p.Queue()) + " (the producer does) and cancel this one"
	}
	return note
}

// notBefore reads HeaderNotBefore, or returns the zero time.
func notBefore(info *asynq.TaskInfo) time.Time {
	ms, err := strconv.ParseInt(info.Headers[HeaderNotBefore], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// asJSON returns b as JSON: itself when it is JSON already, else quoted.
// A RawMessage that is not JSON would make the whole Status unmarshalable.
func asJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	q, _ := json.Marshal(string(b)) // a string always marshals
	return q
}
