package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// maxPayload bounds what enqueue reads. Jobs are split per provider call,
// so a payload may hold thousands of recipients, but not gigabytes.
const maxPayload = 16 << 20

// optionFlag returns the flag that sets the tasks.Option named option, so
// an *OptionError reads in the user's terms.
func optionFlag(option string) (string, bool) {
	switch option {
	case "DeliverAt":
		return "at", true
	case "DeliverIn":
		return "in", true
	case "IdempotencyKey":
		return "key", true
	case "Account":
		return "account", true
	case "MaxRetry":
		return "max-retry", true
	case "Timeout":
		return "timeout", true
	case "Retention":
		return "retention", true
	}
	return "", false
}

// enqueueRequest is an enqueue command line, parsed and checked as far as
// it can be without Redis.
type enqueueRequest struct {
	taskType string
	opts     []tasks.Option
	account  string
	zone     *time.Location // the account's Easemob zone
	dryRun   bool
	job      tasks.Job
}

// parseEnqueue reads the flags and the payload and decodes the job. It
// never touches Redis: the fuzz tests drive it directly.
func parseEnqueue(env *commandEnv, args []string) (*enqueueRequest, error) {
	req := &enqueueRequest{account: tasks.DefaultAccount}
	fs := newFlagSet("enqueue")
	fs.StringVar(&env.redisURL, "redis", env.redisURL, "")
	file := fs.String("f", "-", "")
	zone := fs.String("zone", "", "")
	fs.BoolVar(&req.dryRun, "dry-run", false, "")
	var when string // the flag that set the delivery time
	deliver := func(name string, o tasks.Option) error {
		if when != "" && when != name {
			return fmt.Errorf("excludes --%s", when)
		}
		when = name
		req.opts = append(req.opts, o)
		return nil
	}
	fs.Func("at", "", func(s string) error {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return errors.New("want RFC 3339, e.g. 2030-01-02T09:00:00+08:00")
		}
		return deliver("at", tasks.DeliverAt(t))
	})
	fs.Func("in", "", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("want a duration, e.g. 90s or 2h30m")
		}
		return deliver("in", tasks.DeliverIn(d))
	})
	fs.Func("key", "", func(s string) error {
		req.opts = append(req.opts, tasks.IdempotencyKey(s))
		return nil
	})
	fs.Func("account", "", func(s string) error {
		req.account = s
		req.opts = append(req.opts, tasks.Account(s))
		return nil
	})
	fs.Func("max-retry", "", func(s string) error {
		// Atoi takes any int; tasks.MaxRetry says which ones asynq can
		// keep, so the range is checked in one place.
		n, err := strconv.Atoi(s)
		if errors.Is(err, strconv.ErrRange) {
			return errors.New("out of range: want 0 to 2147483647")
		}
		if err != nil {
			return errors.New("want a whole number")
		}
		req.opts = append(req.opts, tasks.MaxRetry(n))
		return nil
	})
	durationOption := func(name string, option func(time.Duration) tasks.Option) {
		fs.Func(name, "", func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return errors.New("want a duration, e.g. 10s or 1h")
			}
			req.opts = append(req.opts, option(d))
			return nil
		})
	}
	durationOption("timeout", tasks.Timeout)
	durationOption("retention", tasks.Retention)

	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, inputErrorf("enqueue takes one job type, got %d arguments (see producer --help)", len(pos))
	}
	req.taskType = pos[0]
	if !slices.Contains(tasks.Types(), req.taskType) {
		return nil, inputErrorf("unknown job type %q (see producer --help)", req.taskType)
	}
	if req.zone, err = accountZone(env.getenv, *zone, req.account); err != nil {
		return nil, err
	}
	if !req.dryRun {
		// Check the URL before reading stdin, which may block.
		if err := env.checkRedisURL(); err != nil {
			return nil, err
		}
	}
	payload, err := readPayload(env, *file)
	if err != nil {
		return nil, err
	}
	if req.job, err = tasks.Parse(req.taskType, payload); err != nil {
		return nil, err
	}
	return req, nil
}

// Environment variables that tell the command an account's Easemob zone.
const (
	envZone = "HERALD_ZONE" // every account's
	// envAccountZone is the worker's own per-account variable, so a shell
	// set up like the worker checks startDate as the worker will.
	envAccountZone = "HERALD_EASEMOB_%s_ZONE"
)

// accountZone returns the Easemob time zone of account: --zone, else the
// worker's HERALD_EASEMOB_<ACCOUNT>_ZONE, else HERALD_ZONE, else +08:00.
func accountZone(getenv func(string) string, flagValue, account string) (*time.Location, error) {
	name, source := flagValue, "--zone"
	if name == "" {
		source = fmt.Sprintf(envAccountZone, strings.ToUpper(account))
		name = getenv(source)
	}
	if name == "" {
		name, source = getenv(envZone), envZone
	}
	loc, err := tasks.ParseZone(name)
	if err != nil {
		return nil, inputErrorf("%s: %v", source, err)
	}
	return loc, nil
}

func enqueue(ctx context.Context, env *commandEnv, args []string) error {
	req, err := parseEnqueue(env, args)
	if err != nil {
		return err
	}
	zone := tasks.WithZone(req.zone)
	if req.dryRun {
		opts, err := env.producerOptions(zone)
		if err != nil {
			return err
		}
		return dryRun(env, tasks.NewProducer(nil, opts...), req)
	}
	producer, err := env.open(ctx, zone)
	if err != nil {
		return err
	}
	defer producer.Close()
	warnUnknownAccount(ctx, env, producer, req)
	receipt, err := producer.Enqueue(ctx, req.job, req.opts...)
	if receipt != nil {
		// Also when a split job failed part-way: say what got in.
		if perr := env.print(receipt); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// plannedTask is one task a dry run would enqueue.
type plannedTask struct {
	Type string `json:"type"`
	// ID and Queue are known when --key sets the task id; the queue also
	// with one shard. Otherwise the id is made at enqueue, and picks the
	// shard.
	ID      string    `json:"id,omitempty"`
	Queue   string    `json:"queue,omitempty"`
	Payload tasks.Job `json:"payload"`
}

// dryRun checks the job and options as enqueue would and prints the tasks
// it would add, without Redis.
func dryRun(env *commandEnv, p *tasks.Producer, req *enqueueRequest) error {
	planned, err := p.Check(req.job, req.opts...)
	if err != nil {
		return err
	}
	out := struct {
		DryRun bool          `json:"dry_run"`
		Tasks  []plannedTask `json:"tasks"`
	}{DryRun: true}
	for _, t := range planned {
		out.Tasks = append(out.Tasks, plannedTask{Type: t.Job.Type(), ID: t.ID, Queue: t.Queue, Payload: t.Job})
	}
	return env.print(out)
}

func readPayload(env *commandEnv, file string) ([]byte, error) {
	r := env.stdin
	if file != "-" {
		f, err := env.openFile(file)
		if err != nil {
			return nil, inputError{fmt.Errorf("-f: %w", err)}
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("read payload: %w", err)
	}
	if len(b) > maxPayload {
		return nil, inputErrorf("payload is over %d MiB", maxPayload>>20)
	}
	return b, nil
}

// warnUnknownAccount warns when workers have published their accounts and
// none has the job's. It cannot know for sure (a worker with the account
// may not have started yet), so it warns and enqueues all the same.
func warnUnknownAccount(ctx context.Context, env *commandEnv, p *tasks.Producer, req *enqueueRequest) {
	known, err := p.WorkerAccounts(ctx)
	if err != nil || len(known) == 0 {
		return
	}
	prov, _ := tasks.ProviderOf(req.taskType)
	if _, ok := known[tasks.AccountRef(prov, req.account)]; ok {
		return
	}
	var have []string
	for ref := range known {
		if strings.HasPrefix(ref, string(prov)+":") {
			have = append(have, strings.TrimPrefix(ref, string(prov)+":"))
		}
	}
	slices.Sort(have)
	if len(have) == 0 {
		have = []string{"none"}
	}
	env.warn("no worker has published the %s account %q (they have: %s; see redis-cli ZRANGE %s 0 -1); a worker without it archives the job",
		prov, req.account, strings.Join(have, ", "), tasks.AccountsKey)
}
