package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
)

// exampleClient connects to the test package's redis-server on an empty
// database. In a program, use the client the worker already shares with
// asynq.
func exampleClient() *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		panic(err)
	}
	return rdb
}

// Easemob's push/sync takes one call a second per app. A replica that is
// told to wait either waits RetryAfter in place or reschedules the task.
func ExampleRate() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	rl := ratelimit.NewRate(rdb)
	for range 2 {
		d, err := rl.Allow(ctx, "easemob:default:push.sync", ratelimit.PerSecond(1))
		if err != nil {
			panic(err)
		}
		if d.Allowed {
			fmt.Println("send now")
		} else {
			fmt.Println("wait, at most a second:", d.RetryAfter <= time.Second)
		}
	}
	// Output:
	// send now
	// wait, at most a second: true
}

// Easemob lets an app create 3 push tasks per 5 minutes, counted on a
// rolling window. The fourth has to wait until the first is 5 minutes old.
func ExampleWindow() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	w := ratelimit.NewWindow(rdb)
	for i := 1; i <= 4; i++ {
		d, err := w.Allow(ctx, "easemob:default:push.task", 3, 5*time.Minute)
		if err != nil {
			panic(err)
		}
		fmt.Printf("task %d: allowed=%v remaining=%d\n", i, d.Allowed, d.Remaining)
		if !d.Allowed {
			fmt.Println("next start within 5m:", d.RetryAfter <= 5*time.Minute)
		}
	}
	// Output:
	// task 1: allowed=true remaining=2
	// task 2: allowed=true remaining=1
	// task 3: allowed=true remaining=0
	// task 4: allowed=false remaining=0
	// next start within 5m: true
}

// At most 3 Easemob push tasks may run at once. The lease outlives the call
// comfortably; if the worker dies mid-call, the slot frees itself when the
// lease runs out.
func ExampleConcurrency() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	c := ratelimit.NewConcurrency(rdb)
	lease, d, err := c.Hold(ctx, "easemob:default:push.task", 3, 2*time.Minute)
	if err != nil {
		panic(err)
	}
	if !d.Allowed {
		fmt.Println("all slots busy; retry in", d.RetryAfter)
		return
	}
	defer lease.Release(ctx)
	fmt.Println("running;", d.Remaining, "slots left")
	// Output:
	// running; 2 slots left
}

// A holder with an id of its own, such as the asynq task id, can use
// Acquire directly: acquiring again after a retry keeps the same one slot.
func ExampleConcurrency_Acquire() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	c := ratelimit.NewConcurrency(rdb)
	for _, task := range []string{"task-1", "task-1", "task-2"} {
		d, err := c.Acquire(ctx, "dingtalk:default:work_notice.send", 1, task, time.Minute)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: allowed=%v\n", task, d.Allowed)
	}
	if err := c.Release(ctx, "dingtalk:default:work_notice.send", "task-1"); err != nil {
		panic(err)
	}
	d, _ := c.Acquire(ctx, "dingtalk:default:work_notice.send", 1, "task-2", time.Minute)
	fmt.Printf("task-2 after release: allowed=%v\n", d.Allowed)
	// Output:
	// task-1: allowed=true
	// task-1: allowed=true
	// task-2: allowed=false
	// task-2 after release: allowed=true
}

// DingTalk answered one replica with a QPS error and a 30 s wait. Block
// makes every replica's next decision for that key a denial, in the same
// round trip as the limit check.
func ExampleCooldown() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	const key = "dingtalk:default:work_notice.send"
	cool := ratelimit.NewCooldown(rdb)
	wait, err := cool.Block(ctx, key, 30*time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Println("cooling down for", wait)

	d, err := ratelimit.NewRate(rdb).Allow(ctx, key, ratelimit.PerSecond(20))
	if err != nil {
		panic(err)
	}
	fmt.Printf("allowed=%v blocked=%v retry within 30s=%v\n", d.Allowed, d.Blocked, d.RetryAfter <= 30*time.Second)
	// Output:
	// cooling down for 30s
	// allowed=false blocked=true retry within 30s=true
}

// Easemob's push/sync takes one call a second per app, counted when calls
// arrive. Calls counts each call until its answer, so the next call waits a
// full second after the answer however long the first took to leave; a
// call that never went out is given back. When the app answers 429 anyway,
// Throttle lowers the rate for every replica.
func ExampleCalls() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	c := ratelimit.NewCalls(rdb)
	lim := ratelimit.CallLimit{N: 1, Period: time.Second,
		Adapt: ratelimit.Adapt{Decrease: 0.5, Increase: 0.1, Quiet: 30 * time.Second}}
	const key = "easemob:herald#demo:push_sync"
	const timeout = 15 * time.Second // the call's own timeout

	call, d, err := c.Reserve(ctx, key, lim, timeout)
	if err != nil {
		panic(err)
	}
	fmt.Println("first:", d.Allowed)
	// ... the HTTP call; its answer came back:
	if err := call.Done(ctx); err != nil {
		panic(err)
	}
	_, d, _ = c.Reserve(ctx, key, lim, timeout)
	fmt.Println("second at once:", d.Allowed, "- wait about a second:", d.RetryAfter > 900*time.Millisecond)

	// The app said 429 although the limit allowed the call.
	share, _, err := c.Throttle(ctx, key, lim)
	if err != nil {
		panic(err)
	}
	fmt.Println("share of 1/s in force:", share)
	// Output:
	// first: true
	// second at once: false - wait about a second: true
	// share of 1/s in force: 0.5
}

// A worker far from its limit takes calls in blocks, one decision for many
// jobs: each call is counted from the grant, so handing them out over the
// next 200 ms needs that much more time in flight. What it does not use it
// gives back; what it used it marks answered, all in one script run.
func ExampleCalls_ReserveManyIn() {
	ctx := context.Background()
	rdb := exampleClient()
	defer rdb.Close()

	c := ratelimit.NewCalls(rdb)
	lim := ratelimit.CallLimit{N: 100, Period: time.Second}
	pipe := rdb.Pipeline()
	block := c.ReserveManyIn(ctx, pipe, "easemob:default:push.async", lim, 30*time.Second+200*time.Millisecond, 8)
	_, _ = pipe.Exec(ctx) // each command holds its own error
	calls, d, err := block()
	if err != nil {
		panic(err)
	}
	fmt.Println("granted", len(calls), "remaining", d.Remaining)

	// Five calls went out and were answered; three were not needed.
	pipe = rdb.Pipeline()
	settled := c.SettleIn(ctx, pipe, calls[:5], calls[5:])
	_, _ = pipe.Exec(ctx)
	if err := settled(); err != nil {
		panic(err)
	}
	_, d, err = c.Reserve(ctx, "easemob:default:push.async", lim, 30*time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Println("after giving three back, remaining", d.Remaining)
	// Output:
	// granted 8 remaining 92
	// after giving three back, remaining 94
}
