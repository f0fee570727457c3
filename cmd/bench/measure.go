package main

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// dispatchResult is one variant's run of n jobs.
type dispatchResult struct {
	perSec      float64
	tripsPerJob float64
	cmdsPerJob  float64
	cpuPerJob   time.Duration // Redis server CPU
	// procPerJob is this process's CPU (user+sys): the server under test
	// and the in-process simulator, which costs every variant alike.
	procPerJob time.Duration
	// keptPerJob is the Redis memory each delivered job still holds once
	// the queue is empty: the completed task kept for its retention, the
	// delivery record, the outcome event and its once-key.
	keptPerJob float64
	// switchesPerJob and allocsPerJob are this process's context switches
	// and heap allocations, again with the simulator's.
	switchesPerJob, allocsPerJob float64
	// commands is what Redis ran, by command (for -commandstats).
	commands map[string]commandStat
	// scripts is what SLOWLOG saw, by script (for -scripts).
	scripts map[string]scriptCost
}

// dispatch enqueues n jobs while no server runs, then starts the variant's
// server and times it from start until the last push reaches the
// simulator. Redis figures cover the whole run until the queue is empty,
// background polls included.
//
// With scripts, Redis logs every command meanwhile, for the result's
// scripts; that costs Redis time, which the other figures then include.
func dispatch(ctx context.Context, e *env, v variant, n, concurrency int, scripts bool) (dispatchResult, error) {
	if err := e.reset(ctx); err != nil {
		return dispatchResult{}, err
	}
	rdb, trips := e.client(concurrency + 10)
	defer rdb.Close()
	sc := redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	defer sc.Close()
	mem0, err := usedMemory(ctx, sc)
	if err != nil {
		return dispatchResult{}, err
	}
	if err := enqueueAll(ctx, v.enqueuer(rdb), n, 8, func(i int) (string, time.Time) { return "j" + strconv.Itoa(i), time.Time{} }); err != nil {
		return dispatchResult{}, err
	}
	if err := resetStats(ctx, sc); err != nil {
		return dispatchResult{}, err
	}
	before, err := readStats(ctx, sc)
	if err != nil {
		return dispatchResult{}, err
	}
	if scripts {
		if err := logEverything(ctx, sc); err != nil {
			return dispatchResult{}, err
		}
	}
	trips.n.Store(0)
	use0 := processUsage()
	start := time.Now()
	// Labelled so a -cpuprofile can be split by variant (go tool pprof
	// -tagfocus variant=...): the server's goroutines inherit the label,
	// the simulator's do not.
	var stop func()
	pprof.Do(ctx, pprof.Labels("variant", v.name), func(context.Context) { stop, err = v.start(rdb, e.url, concurrency) })
	if err != nil {
		return dispatchResult{}, err
	}
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	if err := e.rec.wait(ctx, n, time.Duration(n)*20*time.Millisecond+30*time.Second); err != nil {
		return dispatchResult{}, fmt.Errorf("%s: %w", v.name, err)
	}
	took := time.Since(start)
	polls, err := drained(ctx, sc, v.queue)
	if err != nil {
		return dispatchResult{}, err
	}
	after, err := readStats(ctx, sc)
	if err != nil {
		return dispatchResult{}, err
	}
	mem, err := usedMemory(ctx, sc)
	if err != nil {
		return dispatchResult{}, err
	}
	var costs map[string]scriptCost
	if scripts {
		if costs, err = scriptCosts(ctx, sc); err != nil {
			return dispatchResult{}, err
		}
	}
	tripsN := trips.n.Load()
	use := processUsage().sub(use0)
	stop()
	stop = nil
	d := after.sub(before)
	return dispatchResult{
		perSec:         float64(n) / took.Seconds(),
		tripsPerJob:    float64(tripsN) / float64(n),
		cmdsPerJob:     float64(d.commands()-int64(polls)) / float64(n), // less drained's own LLENs
		cpuPerJob:      time.Duration(d.cpuMicros) * time.Microsecond / time.Duration(n),
		procPerJob:     use.cpu / time.Duration(n),
		keptPerJob:     float64(mem-mem0) / float64(n),
		switchesPerJob: float64(use.switches) / float64(n),
		allocsPerJob:   float64(use.allocs) / float64(n),
		commands:       d.byCommand,
		scripts:        costs,
	}, nil
}

// drained polls until the queues have no pending or active task, so every
// job's completion is in the figures, and returns how many commands it
// sent.
func drained(ctx context.Context, c redis.Cmdable, queues ...string) (int, error) {
	sent := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		var lens []*redis.IntCmd
		_, err := c.Pipelined(ctx, func(pp redis.Pipeliner) error {
			lens = lens[:0]
			for _, q := range queues {
				lens = append(lens, pp.LLen(ctx, "asynq:{"+q+"}:pending"), pp.LLen(ctx, "asynq:{"+q+"}:active"))
			}
			return nil
		})
		sent += len(lens)
		if err != nil {
			return sent, err
		}
		var left int64
		for _, l := range lens {
			left += l.Val()
		}
		if left == 0 {
			return sent, nil
		}
		if time.Now().After(deadline) {
			return sent, fmt.Errorf("queues %v not drained: %d pending or active", queues, left)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// enqueueAll adds n jobs from par goroutines; job(i) names the i-th.
func enqueueAll(ctx context.Context, enq func(context.Context, string, time.Time) error, n, par int, job func(i int) (string, time.Time)) error {
	var wg sync.WaitGroup
	errs := make(chan error, par)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				target, at := job(i)
				if err := enq(ctx, target, at); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// enqueueRate times n enqueues from par goroutines into an empty Redis.
func enqueueRate(ctx context.Context, e *env, v variant, n, par int) (float64, error) {
	if err := e.reset(ctx); err != nil {
		return 0, err
	}
	rdb, _ := e.client(par + 2)
	defer rdb.Close()
	enq := v.enqueuer(rdb)
	// One enqueue first, so connection set-up is not timed.
	if err := enq(ctx, "warm", time.Time{}); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := enqueueAll(ctx, enq, n, par, func(i int) (string, time.Time) { return "e" + strconv.Itoa(i), time.Time{} }); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// lateness is how scheduled jobs arrived relative to their due times.
type lateness struct {
	n, early           int
	maxEarly           time.Duration
	p50, p99, maxLate  time.Duration
	dupes, unknownDues int
}

// schedule runs the variant's server, enqueues n jobs due evenly over span
// starting a second from now (each target carries its due time), and
// measures at the simulator when each arrives.
func schedule(ctx context.Context, e *env, v variant, n int, span time.Duration, concurrency int) (lateness, error) {
	if err := e.reset(ctx); err != nil {
		return lateness{}, err
	}
	rdb, _ := e.client(concurrency + 10)
	defer rdb.Close()
	stop, err := v.start(rdb, e.url, concurrency)
	if err != nil {
		return lateness{}, err
	}
	defer stop()
	first := time.Now().Add(time.Second)
	err = enqueueAll(ctx, v.enqueuer(rdb), n, 8, func(i int) (string, time.Time) {
		// Odd milliseconds: due times fall anywhere within a second.
		at := first.Add(span * time.Duration(i) / time.Duration(n)).Add(time.Duration(i%7) * time.Millisecond).Truncate(time.Millisecond)
		return "d" + strconv.FormatInt(at.UnixMilli(), 10), at
	})
	if err != nil {
		return lateness{}, err
	}
	if err := e.rec.wait(ctx, n, span+30*time.Second); err != nil {
		return lateness{}, fmt.Errorf("%s: %w", v.name, err)
	}
	return measureLateness(e.rec.arrivals()), nil
}

func measureLateness(got []arrival) lateness {
	var l lateness
	seen := map[string]bool{}
	var late []time.Duration
	for _, a := range got {
		ms, err := strconv.ParseInt(strings.TrimPrefix(a.target, "d"), 10, 64)
		if err != nil {
			l.unknownDues++
			continue
		}
		if seen[a.target] {
			l.dupes++
			continue
		}
		seen[a.target] = true
		d := a.at.Sub(time.UnixMilli(ms))
		if d < 0 {
			l.early++
			l.maxEarly = max(l.maxEarly, -d)
			d = 0
		}
		late = append(late, d)
	}
	l.n = len(late)
	if l.n == 0 {
		return l
	}
	slices.Sort(late)
	l.p50 = late[l.n/2]
	l.p99 = late[min(l.n-1, l.n*99/100)]
	l.maxLate = late[l.n-1]
	return l
}
