package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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

func enqueue(ctx context.Context, env *commandEnv, args []string) error {
	fs := newFlagSet("enqueue")
	fs.StringVar(&env.redisURL, "redis", env.redisURL, "")
	file := fs.String("f", "-", "")
	var (
		opts []tasks.Option
		when string // the flag that set the delivery time
	)
	deliver := func(name string, o tasks.Option) error {
		if when != "" && when != name {
			return fmt.Errorf("excludes --%s", when)
		}
		when = name
		opts = append(opts, o)
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
		opts = append(opts, tasks.IdempotencyKey(s))
		return nil
	})
	fs.Func("account", "", func(s string) error {
		opts = append(opts, tasks.Account(s))
		return nil
	})
	fs.Func("max-retry", "", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errors.New("want a whole number")
		}
		opts = append(opts, tasks.MaxRetry(n))
		return nil
	})
	durationOption := func(name string, option func(time.Duration) tasks.Option) {
		fs.Func(name, "", func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return errors.New("want a duration, e.g. 10s or 1h")
			}
			opts = append(opts, option(d))
			return nil
		})
	}
	durationOption("timeout", tasks.Timeout)
	durationOption("retention", tasks.Retention)

	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return inputErrorf("enqueue takes one job type, got %d arguments (see producer --help)", len(pos))
	}
	taskType := pos[0]
	if !slices.Contains(tasks.Types(), taskType) {
		return inputErrorf("unknown job type %q (see producer --help)", taskType)
	}

	// Connect (and so check the URL) before reading stdin, which may
	// block; the connection itself is made on first use.
	producer, err := env.open()
	if err != nil {
		return err
	}
	defer producer.Close()

	payload, err := readPayload(env.stdin, *file)
	if err != nil {
		return err
	}
	job, err := tasks.ParseStrict(taskType, payload)
	if err != nil {
		return err
	}
	receipt, err := producer.Enqueue(ctx, job, opts...)
	if receipt != nil {
		// Also when a split job failed part-way: say what got in.
		if perr := env.print(receipt); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func readPayload(stdin io.Reader, file string) ([]byte, error) {
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
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
