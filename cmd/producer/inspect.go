package main

import (
	"context"
)

// status prints a task's state as JSON.
func status(ctx context.Context, env *commandEnv, args []string) error {
	id, err := taskID(env, "status", args)
	if err != nil {
		return err
	}
	producer, err := env.open()
	if err != nil {
		return err
	}
	defer producer.Close()
	st, err := producer.Status(ctx, id)
	if err != nil {
		return err
	}
	return env.print(st)
}

// cancel deletes a task that has not run yet and prints {"cancelled": id}.
func cancel(ctx context.Context, env *commandEnv, args []string) error {
	id, err := taskID(env, "cancel", args)
	if err != nil {
		return err
	}
	producer, err := env.open()
	if err != nil {
		return err
	}
	defer producer.Close()
	if err := producer.Cancel(ctx, id); err != nil {
		return err
	}
	return env.print(struct {
		Cancelled string `json:"cancelled"`
	}{id})
}

// taskID parses the arguments of status and cancel: one task id, and
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
