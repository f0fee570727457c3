package main

import (
	"context"
	"fmt"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// tripCounter is a go-redis hook counting round trips: one per command
// sent alone, one per pipeline (or MULTI/EXEC block).
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// serverStats is what redis-server says it has done since CONFIG RESETSTAT
// (commands) and since it started (CPU).
type serverStats struct {
	// cpuMicros is the server process's CPU time, user plus system, in
	// microseconds: command execution, scripts and network I/O alike.
	// commandstats' usec would count a script's inner commands twice.
	cpuMicros int64
	// byCommand is each command's calls and microseconds (usec, as INFO
	// commandstats reports it: a script's time includes its inner
	// commands'), but not the benchmark's own INFO and CONFIG.
	byCommand map[string]commandStat
}

// commands counts every command executed, including those a script runs
// (Redis 7 counts them in INFO commandstats too).
func (s serverStats) commands() int64 {
	var n int64
	for _, st := range s.byCommand {
		n += st.calls
	}
	return n
}

type commandStat struct{ calls, usec int64 }

func readStats(ctx context.Context, c *redis.Client) (serverStats, error) {
	info, err := c.Info(ctx, "commandstats", "cpu").Result()
	if err != nil {
		return serverStats{}, err
	}
	s := serverStats{byCommand: map[string]commandStat{}}
	for _, line := range strings.Split(info, "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, "cmdstat_"):
			cmd := strings.TrimPrefix(name, "cmdstat_")
			if cmd == "info" || strings.HasPrefix(cmd, "config") {
				continue
			}
			var st commandStat
			for _, kv := range strings.Split(val, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					st.calls, _ = strconv.ParseInt(v, 10, 64)
				} else if v, ok := strings.CutPrefix(kv, "usec="); ok {
					st.usec, _ = strconv.ParseInt(v, 10, 64)
				}
			}
			s.byCommand[cmd] = st
		case name == "used_cpu_user" || name == "used_cpu_sys":
			f, _ := strconv.ParseFloat(val, 64)
			s.cpuMicros += int64(f * 1e6)
		}
	}
	return s, nil
}

func (s serverStats) sub(o serverStats) serverStats {
	by := map[string]commandStat{}
	for name, st := range s.byCommand {
		was := o.byCommand[name]
		by[name] = commandStat{calls: st.calls - was.calls, usec: st.usec - was.usec}
	}
	return serverStats{cpuMicros: s.cpuMicros - o.cpuMicros, byCommand: by}
}

// usedMemory is the bytes Redis holds (INFO memory's used_memory).
func usedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

// resetStats zeroes the command counts.
func resetStats(ctx context.Context, c *redis.Client) error {
	return c.ConfigResetStat(ctx).Err()
}

// usage is what this process has spent so far.
type usage struct {
	cpu time.Duration // user+sys
	// switches are context switches, voluntary or not: on a virtual
	// machine each costs more than the work between many of them.
	switches int64
	allocs   uint64 // heap objects allocated
}

func processUsage() usage {
	var u usage
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		u.switches = ru.Nvcsw + ru.Nivcsw
	}
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		u.allocs = s[0].Value.Uint64()
	}
	return u
}

func (u usage) sub(v usage) usage {
	return usage{cpu: u.cpu - v.cpu, switches: u.switches - v.switches, allocs: u.allocs - v.allocs}
}
