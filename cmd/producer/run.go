package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/tasks"
)

// Exit statuses, listed in the usage text.
const (
	exitOK             = 0
	exitFailure        = 1 // Redis unreachable, or another runtime error
	exitInput          = 2 // bad usage, flags, payload or option
	exitNotFound       = 3
	exitNotCancellable = 4 // the task's state does not allow it
	exitArchived       = 5 // status --wait: the task failed for good
	exitStillRunning   = 6 // status --wait: --timeout ran out
)

// envRedisURL names the environment variable --redis defaults to.
const envRedisURL = "HERALD_REDIS_URL"

// envEventStream is the worker's events.stream: cancel and delete record
// cancelled outcomes in the stream the workers use.
const envEventStream = "HERALD_EVENTS_STREAM"

// envShards is the workers' shards: how many queues each provider's jobs
// are spread over. Producers and workers must agree on it.
const envShards = "HERALD_SHARDS"

// run is main with its dependencies passed in, for tests. It returns the
// exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlagSet("producer")
	redisURL := fs.String("redis", getenv(envRedisURL), "")
	cmdArgs, err := parseCommand(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(stdout, usage())
		return exitOK
	case err != nil:
		return fail(stderr, err)
	}
	if len(cmdArgs) == 0 {
		return fail(stderr, inputErrorf("no command given"))
	}

	var cmd func(context.Context, *commandEnv, []string) error
	switch cmdArgs[0] {
	case "enqueue":
		cmd = enqueue
	case "status":
		cmd = status
	case "cancel":
		cmd = cancel
	case "list":
		cmd = list
	case "retry":
		cmd = retry
	case "delete":
		cmd = remove
	case "example":
		cmd = example
	case "help":
		io.WriteString(stdout, usage())
		return exitOK
	default:
		return fail(stderr, inputErrorf("unknown command %q", cmdArgs[0]))
	}
	env := &commandEnv{redisURL: *redisURL, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, openFile: openFile}
	err = cmd(ctx, env, cmdArgs[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(stdout, usage())
		return exitOK
	case err != nil:
		return fail(stderr, err)
	}
	return exitOK
}

// commandEnv is what a command gets besides its arguments.
type commandEnv struct {
	redisURL string // from the global --redis or the environment
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer // warnings; nil drops them
	getenv   func(string) string
	openFile func(name string) (io.ReadCloser, error) // for -f
}

func openFile(name string) (io.ReadCloser, error) { return os.Open(name) }

// checkRedisURL reports a missing Redis URL as bad input.
func (e *commandEnv) checkRedisURL() error {
	if e.redisURL == "" {
		return inputErrorf("no Redis: set --redis or %s (redis://host:6379/0, rediss:// for TLS)", envRedisURL)
	}
	return nil
}

// producerOptions are opts and those the environment sets: the event
// stream and the shards.
func (e *commandEnv) producerOptions(opts ...tasks.ProducerOption) ([]tasks.ProducerOption, error) {
	if s := e.getenv(envEventStream); s != "" {
		opts = append(opts, tasks.WithEvents(s))
	}
	if s := e.getenv(envShards); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > tasks.MaxShards {
			return nil, inputErrorf("%s=%q: must be a whole number from 1 to %d, the workers' shards", envShards, s, tasks.MaxShards)
		}
		opts = append(opts, tasks.WithShards(n))
	}
	return opts, nil
}

// open connects to Redis and checks that it answers, so that an
// unreachable Redis is reported as that, naming the address (never the
// password), rather than as the first command asynq failed to run. A
// missing or malformed URL is bad input.
func (e *commandEnv) open(ctx context.Context, opts ...tasks.ProducerOption) (*tasks.Producer, error) {
	if err := e.checkRedisURL(); err != nil {
		return nil, err
	}
	opts, err := e.producerOptions(opts...)
	if err != nil {
		return nil, err
	}
	p, err := tasks.OpenProducer(e.redisURL, opts...)
	if err != nil {
		return nil, inputError{err}
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		addr := "the Redis"
		if o, perr := redis.ParseURL(e.redisURL); perr == nil {
			addr = "Redis at " + o.Addr
		}
		return nil, fmt.Errorf("cannot reach %s (from --redis or %s): %w", addr, envRedisURL, errors.Unwrap(err))
	}
	return p, nil
}

// warn prints a warning line on stderr.
func (e *commandEnv) warn(format string, args ...any) {
	if e.stderr != nil {
		fmt.Fprintf(e.stderr, "producer: warning: "+format+"\n", args...)
	}
}

// print writes v to stdout as indented JSON.
func (e *commandEnv) print(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// inputError marks an error as the user's: bad usage, flags, payload.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

// fail prints err as one line on stderr and returns its exit status.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "producer: "+oneLine(message(err)))
	return exitCode(err)
}

func exitCode(err error) int {
	var (
		in   inputError
		verr *tasks.ValidationError
		oerr *tasks.OptionError
	)
	switch {
	case errors.As(err, &in), errors.As(err, &verr), errors.As(err, &oerr),
		errors.Is(err, tasks.ErrUnknownType), errors.Is(err, tasks.ErrKeyReused):
		return exitInput
	case errors.Is(err, tasks.ErrNotFound):
		return exitNotFound
	case errors.Is(err, tasks.ErrNotCancellable), errors.Is(err, tasks.ErrNotRunnable):
		return exitNotCancellable
	case errors.Is(err, errArchived):
		return exitArchived
	case errors.Is(err, errStillRunning):
		return exitStillRunning
	}
	return exitFailure
}

// message words err for a person at a terminal: options by their flag
// names, the rest without the "tasks: " prefix of library errors.
func message(err error) string {
	var oerr *tasks.OptionError
	if errors.As(err, &oerr) {
		if name, ok := optionFlag(oerr.Option); ok {
			return "--" + name + " " + oerr.Value + ": " + oerr.Rule
		}
	}
	var verr *tasks.ValidationError
	if errors.As(err, &verr) {
		return verr.Error()
	}
	msg := err.Error()
	if in := (inputError{}); errors.As(err, &in) {
		msg = in.err.Error()
	}
	return strings.TrimPrefix(msg, "tasks: ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func usage() string {
	var b strings.Builder
	b.WriteString(`Usage:
  producer [--redis URL] <command> [flags]

Enqueue Herald notification jobs, and check, list, retry or cancel them.

Commands:
  enqueue <type> [-f FILE] [flags]   enqueue a job; its JSON payload comes from FILE or stdin
  example <type>                     print a valid sample payload for the job type
  status <id> [--wait [--timeout D]] print a task's state; --wait polls until it is
                                     completed or archived (at most D, e.g. 2m)
  list <queue> [--state S] [--page N] [--size N]
                                     list a queue's tasks in state S: scheduled,
                                     pending (default), active, retry, archived,
                                     completed; 20 a page (at most 1000)
  cancel <id>                        cancel a task that has not run yet
  retry <id>                         run an archived or retrying task now
  delete <id>                        delete a task in any state but running,
                                     completed ones too (frees its key)

Enqueue flags:
  -f FILE            payload file; "-" or no -f reads stdin
  --at TIME          deliver at TIME, RFC 3339: 2030-01-02T09:00:00+08:00
  --in DURATION      deliver after DURATION: 90s, 2h30m
  --key KEY          idempotency key: enqueueing the same job with the same key
                     again returns the task already there ("duplicate": true)
  --account NAME     worker account whose credentials and limits to use
                     (default "default")
  --max-retry N      retries before a failing job is archived (default 25)
  --timeout DURATION time limit for one attempt (default 30m)
  --retention DURATION
                     how long a completed task stays visible and its key taken
                     (default 24h)
  --zone ZONE        the account's Easemob server zone, in which startDate is
                     checked: +08:00 or an IANA name such as Asia/Shanghai
                     (default $HERALD_EASEMOB_<ACCOUNT>_ZONE, then $HERALD_ZONE,
                     then +08:00)
  --dry-run          check the job and options and print the tasks that would be
                     enqueued, without Redis; with HERALD_SHARDS above 1 a task's
                     queue is printed only with --key (the task id picks it)

Flags for every command:
  --redis URL        redis://[user:password@]host:port/db, rediss:// for TLS
                     (default $HERALD_REDIS_URL)

Environment:
  HERALD_REDIS_URL       the Redis, as --redis
  HERALD_EVENTS_STREAM   the workers' outcome event stream, where cancel and
                         delete record "cancelled" (default herald:events)
  HERALD_SHARDS          how many queues each provider's jobs are spread over,
                         as the workers' shards (default 1)

Job types (payload fields as the provider documents them):
`)
	for _, t := range tasks.Types() {
		b.WriteString("  " + t + "\n")
	}
	b.WriteString(`
Output is JSON on stdout: the receipt of an enqueue (one task per provider
call, a long recipient list makes several), a task's status, a page of
tasks, or {"cancelled"|"retried"|"deleted": "<id>"}. Errors are one line on
stderr. Times are UTC. A task's "attempts" counts the tries a worker made,
the running one included, as the worker's logs number them ("attempt": 1
is the first); a wait for a rate limit is not a try.

Enqueue warns (and still enqueues) when workers have published their
accounts in Redis and none has the job's provider and --account; see them
with: redis-cli ZRANGE herald:accounts 0 -1 WITHSCORES

Exit status:
  0  done, including an enqueue that found its job already there
  1  failure: Redis unreachable or another runtime error
  2  bad input: usage, flag, unknown job type, payload that does not decode
     or breaks a provider rule, a key already used for another job;
     nothing was enqueued
  3  no task has that id
  4  the task's state does not allow it: cancel of a running or completed
     task, retry of one not archived or retrying, delete of a running one
  5  status --wait: the task was archived (failed for good)
  6  status --wait: --timeout ran out before the task was done
`)
	return b.String()
}
