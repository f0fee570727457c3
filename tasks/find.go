package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
)

// FindTask finds the task with the given id, where the producer puts it
// first: in the shard queue the id picks among each of provs' shards
// (see WithShards). Then it looks in every other queue asynq knows, so that
// a task enqueued under another shard count, or put by a raw client in a
// queue no worker serves (asynq's "default"), is found, not reported
// missing.
//
// It returns an error matching ErrNotFound when no queue has the task, and
// ErrAmbiguousID when several do.
func FindTask(ctx context.Context, insp *asynq.Inspector, id string, shards int, provs ...Provider) (*asynq.TaskInfo, error) {
	home := make([]string, 0, len(provs))
	for _, p := range provs {
		home = append(home, p.QueueFor(id, shards))
	}
	found, err := lookup(ctx, insp, id, home)
	if found != nil || err != nil {
		return found, err
	}
	all, err := insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("tasks: list queues: %w", err)
	}
	slices.Sort(all)
	found, err = lookup(ctx, insp, id, slices.DeleteFunc(all, func(q string) bool { return slices.Contains(home, q) }))
	if found == nil && err == nil {
		err = fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return found, err
}

// lookup asks each queue for the task with the given id. It returns nil
// and no error if none has it, ErrAmbiguousID if several do.
func lookup(ctx context.Context, insp *asynq.Inspector, id string, queues []string) (*asynq.TaskInfo, error) {
	var found *asynq.TaskInfo
	for _, q := range queues {
		// asynq's Inspector takes no context; honour ours between calls.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, err := insp.GetTaskInfo(q, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("tasks: look up task %q: %w", id, err)
		case found != nil:
			return nil, fmt.Errorf("%w: %q is in queues %s and %s", ErrAmbiguousID, id, found.Queue, info.Queue)
		}
		found = info
	}
	return found, nil
}
