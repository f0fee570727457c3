// Command bench measures Herald against a bare asynq server doing the same
// work, in one run on one machine, and prints one table.
//
//	go run ./cmd/bench            # the full run, a few minutes
//	go run ./cmd/bench -quick     # seconds: every figure, small numbers
//	go run ./cmd/bench -cluster=false  # without the Redis Cluster run
//	go run ./cmd/bench -scripts   # also Redis time per job by script
//
// It starts its own redis-server (on a free loopback port, persistence off)
// and an Easemob simulator with its limits off, in process (and, for the
// cluster figures, a local 3-master Redis Cluster and one simulator per
// account). Every job is a
// push/async to one user. Variants run interleaved, round by round, so a
// noisy neighbour on the machine hurts them alike:
//
//   - bare asynq: an asynq server whose handler makes the same call through
//     the same Easemob client, token in memory;
//   - herald, no limits: Herald's worker with every limit switched off;
//   - herald, limits on: Herald's worker with the job's rate and in-flight
//     limits set far above what the run reaches (they cost, never bind).
//
// Figures: dispatch jobs/s (from server start to the last push arriving),
// Redis round trips per job (a go-redis hook on the server's client),
// Redis commands per job (INFO commandstats, commands run by scripts
// included), Redis memory each delivered job keeps (INFO memory), Redis
// server CPU per job (INFO cpu, user+sys), and this process's CPU, context
// switches and heap allocations per job; enqueue/s of
// tasks.Producer and asynq.Client; lateness of scheduled jobs measured at
// the simulator (arrival minus due time); and RSS of a worker process,
// idle and with jobs in flight (a child process of this binary, read from
// /proc); and, on the cluster, each master's share of the commands Redis
// ran for Herald's jobs of 8 accounts, with 1 shard and with 8.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"
)

type options struct {
	rounds      int
	jobs        int
	concurrency int
	enqueue     int
	pairs       int // enqueue pairs per round
	schedJobs   int
	schedSpan   time.Duration
	rssJobs     int
	rssHold     time.Duration // how long the simulator holds each push for the busy RSS figure
	cluster     bool          // also run on a local 3-master Redis Cluster
	// commandstats prints, after each dispatch run, what Redis ran per job
	// by command: where the server's CPU goes.
	commandstats bool
	// scripts prints, after each dispatch run, Redis time per job by
	// script, from SLOWLOG.
	scripts bool
}

func defaults(quick bool) options {
	if quick {
		return options{rounds: 1, jobs: 200, concurrency: 20, enqueue: 200, pairs: 1, schedJobs: 100, schedSpan: time.Second, rssJobs: 100, rssHold: time.Second, cluster: true}
	}
	return options{rounds: 3, jobs: 3000, concurrency: 20, enqueue: 1000, pairs: 7, schedJobs: 1000, schedSpan: 10 * time.Second, rssJobs: 1000, rssHold: 3 * time.Second, cluster: true}
}

func main() {
	if os.Getenv(childEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	quick := flag.Bool("quick", false, "small numbers, one round: a few seconds")
	o := defaults(false)
	flag.IntVar(&o.rounds, "rounds", 0, "interleaved rounds of dispatch and enqueue (default 3, quick 1)")
	flag.IntVar(&o.jobs, "jobs", 0, "jobs per dispatch run (default 3000, quick 200)")
	flag.IntVar(&o.concurrency, "concurrency", o.concurrency, "worker concurrency")
	flag.IntVar(&o.enqueue, "enqueue", 0, "jobs per enqueue run (default 1000, quick 200)")
	flag.IntVar(&o.pairs, "enqueue-pairs", 0, "enqueue runs of asynq.Client and tasks.Producer, back to back, per round (default 7, quick 1)")
	flag.IntVar(&o.schedJobs, "sched-jobs", 0, "scheduled jobs (default 1000, quick 100)")
	flag.DurationVar(&o.schedSpan, "sched-span", 0, "scheduled jobs are due evenly over this (default 10s, quick 1s)")
	flag.IntVar(&o.rssJobs, "rss-jobs", 0, "jobs in flight for the busy RSS figure, also the child's concurrency (default 1000, quick 100)")
	flag.BoolVar(&o.cluster, "cluster", o.cluster, "also run Herald on a local 3-master Redis Cluster, with 1 and 8 shards, and show how the masters share the commands")
	flag.BoolVar(&o.commandstats, "commandstats", false, "after each dispatch run, print to stderr the Redis commands per job and microseconds per call, by command")
	flag.BoolVar(&o.scripts, "scripts", false, "after each dispatch run, print to stderr Redis time per job by script (SLOWLOG logs every command meanwhile, which inflates the Redis CPU figures)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (every variant and the simulator share the process) to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file (go tool pprof -sample_index=alloc_objects)")
	flag.Parse()
	d := defaults(*quick)
	for _, f := range []struct {
		v   any
		def any
	}{{&o.rounds, d.rounds}, {&o.jobs, d.jobs}, {&o.enqueue, d.enqueue}, {&o.pairs, d.pairs}, {&o.schedJobs, d.schedJobs}, {&o.schedSpan, d.schedSpan}, {&o.rssJobs, d.rssJobs}} {
		switch p := f.v.(type) {
		case *int:
			if *p == 0 {
				*p = f.def.(int)
			}
		case *time.Duration:
			if *p == 0 {
				*p = f.def.(time.Duration)
			}
		}
	}
	if *memProfile != "" {
		// Every allocation, not one per 512 KB: the small ones on the hot
		// path are what the profile is for. It slows the run.
		runtime.MemProfileRate = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// run takes every measurement and prints the table to out.
func run(ctx context.Context, o options, out io.Writer) error {
	e, err := startEnv()
	if err != nil {
		return err
	}
	defer e.close()
	rep := report{opts: o, loadBefore: loadAvg(), started: time.Now()}

	variants := []variant{bare, heraldNoLimits, heraldLimits}
	rep.dispatch = make([][]dispatchResult, len(variants))
	for r := range o.rounds {
		// Rotate the order each round: no variant always goes first.
		for k := range variants {
			i := (k + r) % len(variants)
			res, err := dispatch(ctx, e, variants[i], o.jobs, o.concurrency, o.scripts)
			if err != nil {
				return err
			}
			rep.dispatch[i] = append(rep.dispatch[i], res)
			if o.commandstats {
				printCommands(os.Stderr, variants[i].name, o.jobs, res.commands)
			}
			if o.scripts {
				printScripts(os.Stderr, variants[i].name, o.jobs, res.scripts)
			}
		}
		// Enqueue runs take a fraction of a second, so a burst from a
		// neighbour can fall on one of them alone: many short runs in
		// pairs, the pair's order alternating, and the ratio taken within
		// each pair, hold up better than a few long ones.
		for j := range o.pairs {
			for k := range 2 {
				k = (k + j) % 2
				rate, err := enqueueRate(ctx, e, []variant{bare, heraldLimits}[k], o.enqueue, 4)
				if err != nil {
					return err
				}
				rep.enqueue[k] = append(rep.enqueue[k], rate)
			}
		}
	}
	for k, v := range []variant{bare, heraldLimits} {
		if rep.sched[k], err = schedule(ctx, e, v, o.schedJobs, o.schedSpan, o.concurrency); err != nil {
			return err
		}
	}
	for k, v := range []variant{bare, heraldLimits} {
		if rep.rss[k], err = measureRSS(ctx, e, v, []string{"bare", "herald"}[k], o.rssJobs, o.rssHold); err != nil {
			return err
		}
	}
	if o.cluster {
		if rep.cluster, err = clusterSpread(ctx, o.jobs, o.concurrency, []int{1, 8}); err != nil {
			return err
		}
	}
	rep.loadAfter = loadAvg()
	rep.took = time.Since(rep.started)
	rep.print(out)
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	var a, b5, c string
	fmt.Sscan(string(b), &a, &b5, &c)
	return a + " " + b5 + " " + c
}

// writeHeapProfile writes the allocations of the run so far to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
