package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// status prints a task's state as JSON. With --wait it polls until the
// task is done (completed, or archived: failed for good) and prints the
// final state; --timeout bounds the wait.
func status(ctx context.Context, env *commandEnv, args []string) error {
	fs := newFlagSet("status")
	fs.StringVar(&env.redisURL, "redis", env.redisURL, "")
	wait := fs.Bool("wait", false, "")
	timeout := fs.Duration("timeout", 0, "")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return inputErrorf("status takes one task id (see producer --help)")
	}
	if *timeout < 0 || (*timeout > 0 && !*wait) {
		return inputErrorf("--timeout: a positive duration, with --wait")
	}
	producer, err := env.open(ctx)
	if err != nil {
		return err
	}
	defer producer.Close()
	if !*wait {
		st, err := producer.Status(ctx, pos[0])
		if err != nil {
			return err
		}
		return env.print(st)
	}
	return waitDone(ctx, env, producer, pos[0], *timeout)
}

// pollEvery is how often status --wait asks.
const pollEvery = 200 * time.Millisecond

// errStillRunning is status --wait's error when the timeout ran out.
var errStillRunning = errors.New("not done")

// errArchived is status --wait's error for a task that failed for good.
var errArchived = errors.New("archived")

func waitDone(ctx context.Context, env *commandEnv, p *tasks.Producer, id string, timeout time.Duration) error {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		st, err := p.Status(ctx, id)
		if err != nil {
			return err
		}
		switch st.State {
		case "completed":
			return env.print(st)
		case "archived":
			if err := env.print(st); err != nil {
				return err
			}
			return fmt.Errorf("%w: task %q failed for good: %s", errArchived, id, st.LastError)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			_ = env.print(st)
			return fmt.Errorf("%w: task %q is still %s after %s", errStillRunning, id, st.State, timeout)
		case <-tick.C:
		}
	}
}

// cancel deletes a task that has not run yet and prints {"cancelled": id}.
func cancel(ctx context.Context, env *commandEnv, args []string) error {
	return byID(ctx, env, "cancel", args, (*tasks.Producer).Cancel, "cancelled")
}

// retry runs an archived or retrying task now and prints {"retried": id}.
func retry(ctx context.Context, env *commandEnv, args []string) error {
	return byID(ctx, env, "retry", args, (*tasks.Producer).Retry, "retried")
}

// remove deletes a task in any state but running and prints
// {"deleted": id}.
func remove(ctx context.Context, env *commandEnv, args []string) error {
	return byID(ctx, env, "delete", args, (*tasks.Producer).Delete, "deleted")
}

// byID runs op on the one task id in args and prints {done: id}.
func byID(ctx context.Context, env *commandEnv, cmd string, args []string,
	op func(*tasks.Producer, context.Context, string) error, done string) error {
	id, err := taskID(env, cmd, args)
	if err != nil {
		return err
	}
	producer, err := env.open(ctx)
	if err != nil {
		return err
	}
	defer producer.Close()
	if err := op(producer, ctx, id); err != nil {
		return err
	}
	return env.print(map[string]string{done: id})
}

// taskID parses the arguments of the commands that take one task id, and
// --redis anywhere.
func taskID(env *commandEnv, cmd string, args []string) (string, error) {
	fs := newFlagSet(cmd)
	fs.StringVar(&env.redisURL, "redis", env.redisURL, "")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 || pos[0] == "" {
		return "", inputErrorf("%s takes one task id (see producer --help)", cmd)
	}
	return pos[0], nil
}

// list prints a page of the tasks in a queue and state.
func list(ctx context.Context, env *commandEnv, args []string) error {
	fs := newFlagSet("list")
	fs.StringVar(&env.redisURL, "redis", env.redisURL, "")
	state := fs.String("state", "pending", "")
	page := fs.Int("page", 1, "")
	size := fs.Int("size", 20, "")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	var queues []string
	for _, p := range tasks.Providers() {
		queues = append(queues, p.Queue())
	}
	switch {
	case len(pos) != 1:
		return inputErrorf("list takes one queue: %s", strings.Join(queues, ", "))
	case !isQueue(pos[0]):
		return inputErrorf("unknown queue %q: the queues are %s, or one of their shards (easemob.7)", pos[0], strings.Join(queues, ", "))
	case !slices.Contains(tasks.ListStates, *state):
		return inputErrorf("--state %s: one of %s", *state, strings.Join(tasks.ListStates, ", "))
	case *page < 1:
		return inputErrorf("--page %d: pages count from 1", *page)
	case *size < 1 || *size > tasks.MaxListSize:
		return inputErrorf("--size %d: 1 to %s", *size, strconv.Itoa(tasks.MaxListSize))
	}
	producer, err := env.open(ctx)
	if err != nil {
		return err
	}
	defer producer.Close()
	l, err := producer.List(ctx, pos[0], *state, *page, *size)
	if err != nil {
		return err
	}
	return env.print(l)
}

// isQueue reports whether list can show queue: a provider's, for all its
// jobs, or one of its shards.
func isQueue(queue string) bool {
	_, ok := tasks.ProviderOfQueue(queue)
	return ok
}
