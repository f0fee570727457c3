package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// scriptCost is what SLOWLOG saw of one script (or command) in a run.
type scriptCost struct {
	calls int
	usec  int64
	// example is one call's first arguments: for a script, its SHA and
	// keys, which tell whose it is.
	example string
}

// logEverything makes Redis log every command in SLOWLOG, so scriptCosts
// can tell scripts apart: INFO commandstats lumps every EVALSHA together.
// Logging costs Redis time too, so a run with it on reports more CPU.
func logEverything(ctx context.Context, c *redis.Client) error {
	for _, err := range []error{
		c.ConfigSet(ctx, "slowlog-log-slower-than", "0").Err(),
		c.ConfigSet(ctx, "slowlog-max-len", "10000000").Err(),
		c.SlowLogReset(ctx).Err(),
	} {
		if err != nil {
			return fmt.Errorf("slowlog: %w", err)
		}
	}
	return nil
}

// scriptCosts reads SLOWLOG since logEverything, by script SHA (or command
// name), and turns logging off again.
func scriptCosts(ctx context.Context, c *redis.Client) (map[string]scriptCost, error) {
	logs, err := c.SlowLogGet(ctx, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("slowlog: %w", err)
	}
	if err := c.ConfigSet(ctx, "slowlog-log-slower-than", "10000").Err(); err != nil {
		return nil, fmt.Errorf("slowlog: %w", err)
	}
	by := map[string]scriptCost{}
	for _, l := range logs {
		// Kept as sent: Lua's redis.call names are in capitals here, a
		// client's commands (go-redis sends them) in lower case.
		name := l.Args[0]
		if strings.EqualFold(name, "evalsha") && len(l.Args) > 1 {
			name += " " + l.Args[1][:min(len(l.Args[1]), 8)]
		}
		s := by[name]
		if s.calls == 0 {
			s.example = printable(strings.Join(l.Args[:min(len(l.Args), 5)], " "))
		}
		s.calls++
		s.usec += l.Duration.Microseconds()
		by[name] = s
	}
	return by, nil
}

// printable keeps a logged call on one line: arguments can be binary
// (asynq's protobuf) or Lua source.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == utf8.RuneError {
			return '.'
		}
		return r
	}, strings.ToValidUTF8(s, "."))
}

// printScripts writes scriptCosts per job, dearest first.
func printScripts(w io.Writer, variant string, jobs int, by map[string]scriptCost) {
	names := slices.Collect(maps.Keys(by))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(by[b].usec, by[a].usec) })
	fmt.Fprintf(w, "%s: Redis time per job by script and command (SLOWLOG, which inflates it; commands in capitals ran inside a script and are part of its time)\n", variant)
	for _, name := range names {
		s := by[name]
		if float64(s.calls)/float64(jobs) < 0.01 {
			continue
		}
		ex := s.example
		if len(ex) > 110 {
			ex = ex[:110] + "…"
		}
		fmt.Fprintf(w, "  %5.2f/job %7.2f µs/call %7.2f µs/job  %s\n", float64(s.calls)/float64(jobs), float64(s.usec)/float64(s.calls), float64(s.usec)/float64(jobs), ex)
	}
}
