package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// ErrNotRunnable is returned by Producer.Retry for a task that is not
// archived or waiting to retry. The error names the state.
var ErrNotRunnable = errors.New("tasks: task cannot be run again")

// ListStates are the states Producer.List takes, in the order a task moves
// through them.
var ListStates = []string{"scheduled", "pending", "active", "retry", "archived", "completed"}

// MaxListSize bounds a page of Producer.List.
const MaxListSize = 1000

// A TaskList is one page of the tasks in a queue and state.
type TaskList struct {
	Queue string `json:"queue"`
	State string `json:"state"`
	Page  int    `json:"page"`
	Size  int    `json:"size"`
	// Total is how many tasks the queue holds in the state.
	Total int       `json:"total"`
	Tasks []*Status `json:"tasks"`
}

// WithEvents sets where Cancel and Delete record a cancelled outcome: the
// stream the workers' events.stream names ("" is DefaultEventStream, "-"
// records none). The producer otherwise writes to DefaultEventStream.
func WithEvents(stream string) ProducerOption {
	return producerOption(func(p *Producer) error {
		p.events.Stream = stream
		return nil
	})
}

// List returns page page (from 1) of size tasks in queue that are in
// state, one of ListStates ("" is pending), each as Status reports it.
// Tasks in pending, active and retry come in asynq's order; scheduled by
// due time; archived and completed most recent last.
//
// queue is a provider's name ("easemob") for all its jobs, or one shard's
// queue ("easemob.7"). A provider spread over shards (WithShards) is
// listed shard after shard, each in the order above; its shards are the
// producer's and any other of the provider's queues Redis holds.
func (p *Producer) List(ctx context.Context, queue, state string, page, size int) (*TaskList, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.inspector == nil {
		return nil, ErrNoRedis
	}
	if state == "" {
		state = "pending"
	}
	switch {
	case queue == "":
		return nil, optionError("List", queue, "needs a queue: "+queueNames())
	case !slices.Contains(ListStates, state):
		return nil, optionError("List", state, "state must be one of scheduled, pending, active, retry, archived, completed")
	case page < 1:
		return nil, optionError("List", page, "page counts from 1")
	case size < 1 || size > MaxListSize:
		return nil, optionError("List", size, "size must be 1 to "+strconv.Itoa(MaxListSize))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	queues, err := p.listedQueues(queue)
	if err != nil {
		return nil, err
	}
	list := &TaskList{Queue: queue, State: state, Page: page, Size: size, Tasks: []*Status{}}
	skip := (page - 1) * size
	for _, q := range queues {
		n, err := p.count(q, state)
		if err != nil {
			return nil, err
		}
		list.Total += n
		if skip >= n || len(list.Tasks) == size {
			skip -= min(skip, n)
			continue
		}
		infos, err := p.slice(q, state, skip, size-len(list.Tasks))
		if err != nil {
			return nil, err
		}
		skip = 0
		for _, info := range infos {
			st := statusOf(info)
			if st.Tracking, err = trackingOf(ctx, p.rdb, info); err != nil {
				return nil, fmt.Errorf("tasks: tracking of %q: %w", info.ID, err)
			}
			list.Tasks = append(list.Tasks, st)
		}
	}
	return list, nil
}

// listedQueues are the queues List reads for queue: a provider's shards,
// the producer's first, then any other Redis holds; any other queue alone.
// A queue asynq has never seen holds nothing and is left out.
func (p *Producer) listedQueues(queue string) ([]string, error) {
	all, err := p.inspector.Queues()
	if err != nil {
		return nil, fmt.Errorf("tasks: list queues: %w", err)
	}
	var queues []string
	if prov, ok := ProviderOfQueue(queue); ok && prov.Queue() == queue {
		queues = slices.Clone(p.queues[prov])
		slices.Sort(all)
		for _, q := range all {
			if owner, ok := ProviderOfQueue(q); ok && owner == prov && !slices.Contains(queues, q) {
				queues = append(queues, q)
			}
		}
	} else {
		queues = []string{queue}
	}
	return slices.DeleteFunc(queues, func(q string) bool { return !slices.Contains(all, q) }), nil
}

// count is how many tasks queue holds in state.
func (p *Producer) count(queue, state string) (int, error) {
	qi, err := p.inspector.GetQueueInfo(queue)
	if err != nil {
		return 0, fmt.Errorf("tasks: count %s tasks in queue %q: %w", state, queue, err)
	}
	return map[string]int{
		"pending": qi.Pending, "scheduled": qi.Scheduled, "retry": qi.Retry,
		"archived": qi.Archived, "completed": qi.Completed, "active": qi.Active,
	}[state], nil
}

// slice reads n tasks of queue in state from the skip-th on. asynq reads
// whole pages, so it takes the page holding the first and, when the slice
// crosses into it, the next.
func (p *Producer) slice(queue, state string, skip, n int) ([]*asynq.TaskInfo, error) {
	first := skip / n
	var out []*asynq.TaskInfo
	for pg := first; pg <= first+1 && len(out) < n; pg++ {
		infos, err := p.page(queue, state, pg+1, n)
		if err != nil {
			return nil, fmt.Errorf("tasks: list %s tasks in queue %q: %w", state, queue, err)
		}
		if pg == first {
			infos = infos[min(skip%n, len(infos)):]
		}
		out = append(out, infos...)
	}
	return out[:min(len(out), n)], nil
}

// page is asynq's page (from 1) of size tasks of queue in state.
func (p *Producer) page(queue, state string, page, size int) ([]*asynq.TaskInfo, error) {
	opts := []asynq.ListOption{asynq.Page(page), asynq.PageSize(size)}
	switch state {
	case "scheduled":
		return p.inspector.ListScheduledTasks(queue, opts...)
	case "retry":
		return p.inspector.ListRetryTasks(queue, opts...)
	case "archived":
		return p.inspector.ListArchivedTasks(queue, opts...)
	case "completed":
		return p.inspector.ListCompletedTasks(queue, opts...)
	case "active":
		return p.inspector.ListActiveTasks(queue, opts...)
	}
	return p.inspector.ListPendingTasks(queue, opts...)
}

func queueNames() string {
	var s string
	for i, prov := range Providers() {
		if i > 0 {
			s += ", "
		}
		s += prov.Queue()
	}
	return s
}

// Retry runs an archived task, or one waiting to retry, now: it goes back
// to its queue as pending and a worker takes it at once, with the attempts
// it has used so far. Use it after fixing what made the task fail (a
// worker's account, a provider's quota). Its next outcome is recorded as a
// new event. Any other state returns an error wrapping ErrNotRunnable; an
// unknown id ErrNotFound.
func (p *Producer) Retry(ctx context.Context, id string) error {
	info, err := p.locate(ctx, id)
	if err != nil {
		return err
	}
	if s := info.State; s != asynq.TaskStateArchived && s != asynq.TaskStateRetry {
		return fmt.Errorf("%w: task %q is %s; only archived and retry tasks can be run again", ErrNotRunnable, id, s)
	}
	err = p.inspector.RunTask(info.Queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("tasks: run %q again: %w", id, err)
	}
	return nil
}

// Delete removes the task with the given id from Redis, whatever its
// state except running (active): what Cancel does, and also a completed
// task's record, which frees its idempotency key before its retention
// ends. A task deleted before it had an outcome is recorded as cancelled.
// A running task returns an error wrapping ErrNotCancellable.
func (p *Producer) Delete(ctx context.Context, id string) error {
	return p.remove(ctx, id, true)
}

// remove deletes a task, refusing a completed one unless completed is set,
// and records a cancelled outcome for a task that had none.
func (p *Producer) remove(ctx context.Context, id string, completed bool) error {
	info, err := p.locate(ctx, id)
	if err != nil {
		return err
	}
	if err := removable(info, completed); err != nil {
		return err
	}
	// A worker may pick the task up between the lookup and the delete;
	// asynq then refuses to delete an active task, and we report why.
	//
	// Known gap: asynq's delete also removes completed tasks, so a task
	// that runs to completion in that same instant loses its record.
	err = p.inspector.DeleteTask(info.Queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		if now, lerr := p.inspector.GetTaskInfo(info.Queue, id); lerr == nil {
			if rerr := removable(now, completed); rerr != nil {
				return rerr
			}
		}
		return fmt.Errorf("tasks: cancel %q: %w", id, err)
	}
	if info.State == asynq.TaskStateCompleted {
		return nil // its outcome (delivered) stands
	}
	st := statusOf(info)
	ev := Event{
		Outcome: Cancelled, TaskID: info.ID, Type: info.Type, Queue: info.Queue,
		Account: st.Account, Attempts: st.Attempts, At: p.now(),
	}
	// An archived task's outcome is recorded already; Record leaves it.
	if _, err := p.events.Record(ctx, ev, info.Headers[HeaderEnqueueID], info.Retried); err != nil {
		return fmt.Errorf("tasks: task %q cancelled, but its outcome event was not recorded: %w", id, err)
	}
	return nil
}

func removable(info *asynq.TaskInfo, completed bool) error {
	switch {
	case info.State == asynq.TaskStateActive, info.State == asynq.TaskStateCompleted && !completed:
		return fmt.Errorf("%w: task %q is %s", ErrNotCancellable, info.ID, info.State)
	}
	return nil
}

// utc returns t in UTC, keeping the zero time zero, so that every time
// Herald prints reads with a Z.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// Ping checks that Redis answers, so that a command line can say "cannot
// reach Redis" before anything else fails in asynq's words.
func (p *Producer) Ping(ctx context.Context) error {
	if p.rdb == nil {
		return ErrNoRedis
	}
	if err := p.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("tasks: cannot reach Redis: %w", err)
	}
	return nil
}
