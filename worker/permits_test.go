package worker

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/ratelimit"
	"github.com/herald-dispatch/herald/tasks"
)

// startRedis starts a redis-server of the test's own.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// replica is another client of rdb's server, as another worker process
// would have.
func replica(t *testing.T, rdb *redis.Client) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func newPools(rdb *redis.Client, f *inflight) *callPools {
	return &callPools{calls: ratelimit.NewCalls(rdb), cool: ratelimit.NewCooldown(rdb), pipes: rdb, inflight: f}
}

// take asks ps for a call under lim as admitAtOnce does, in a pipeline of
// its own. decided reports whether it asked Redis for a decision: for the
// job, or for the next block.
func take(t *testing.T, ps *callPools, rdb *redis.Client, lim limit) (ok, decided bool) {
	t.Helper()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	read := ps.reserveIn(ctx, pipe, lim, nil, tasks.Easemob)
	decided = slices.ContainsFunc(pipe.Cmds(), func(c redis.Cmder) bool { return c.Name() == "evalsha" })
	_, _ = pipe.Exec(ctx)
	var pm permit
	ok = read(&pm)
	if ok != (len(pm.calls) == 1) {
		t.Fatalf("admitted %v with %d calls", ok, len(pm.calls))
	}
	return ok, decided
}

func rateLimit(n int) limit {
	return limit{name: "r", key: "easemob:app:r", kind: kindRate,
		calls: ratelimit.CallLimit{N: n, Period: time.Minute}, inFlight: 5 * time.Second}
}

// counted is how many calls (a rate) or holders (a concurrency limit) the
// limit counts in Redis.
func counted(t *testing.T, rdb *redis.Client, lim limit) int64 {
	t.Helper()
	kind := ":calls"
	if lim.kind == kindConcurrent {
		kind = ":concurrency"
	}
	n, err := rdb.ZCard(context.Background(), "herald:rl:{"+lim.key+"}"+kind).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// awaitCounted waits for the limit to count want: what a worker has on
// hand goes back once its time is over.
func awaitCounted(t *testing.T, rdb *redis.Client, lim limit, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for counted(t, rdb, lim) != want {
		if time.Now().After(deadline) {
			t.Fatalf("the limit counts %d, want %d", counted(t, rdb, lim), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Far from its limit, a worker asks Redis once per block of calls, not
// once per job; near it, once per job; and either way the limit counts
// exactly the calls used once the blocks' leftovers are given back.
func TestCallPoolsBlocks(t *testing.T) {
	tests := []struct {
		name     string
		n, jobs  int
		admitted int
		// maxDecisions bounds how many jobs asked Redis for a decision.
		maxDecisions int
	}{
		// A block lives 200 ms; on a loaded machine fewer jobs fit in one.
		{"far from the limit", 100000, 300, 300, 300 / 4},
		{"at the limit", 8, 20, 8, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := startRedis(t)
			ps := newPools(rdb, nil)
			lim := rateLimit(tt.n)
			admitted, decisions := 0, 0
			for range tt.jobs {
				ok, decided := take(t, ps, rdb, lim)
				if ok {
					admitted++
				}
				if decided {
					decisions++
				}
			}
			if admitted != tt.admitted || decisions > tt.maxDecisions {
				t.Errorf("%d jobs: %d admitted with %d decisions, want %d with at most %d",
					tt.jobs, admitted, decisions, tt.admitted, tt.maxDecisions)
			}
			awaitCounted(t, rdb, lim, int64(admitted))
		})
	}
}

// Replicas drawing blocks from one limit at once never get more calls
// between them than it allows.
func TestCallPoolsShareTheLimit(t *testing.T) {
	rdb := startRedis(t)
	lim := rateLimit(60)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		other := replica(t, rdb)
		ps := newPools(other, nil)
		for range 10 {
			wg.Go(func() {
				for range 10 {
					if ok, _ := take(t, ps, other, lim); ok {
						admitted.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	if n := admitted.Load(); n > 60 || n == 0 {
		t.Fatalf("%d calls admitted under a limit of 60", n)
	}
	awaitCounted(t, rdb, lim, admitted.Load())
}

// A cool-down another replica sets stops the calls on hand at once: the
// next job asks for a decision (which waits out the cool-down), and the
// calls on hand are given back.
func TestCallPoolsHonourAnotherReplicasCooldown(t *testing.T) {
	rdb := startRedis(t)
	ps := newPools(rdb, nil)
	lim := rateLimit(1000)
	if ok, decided := take(t, ps, rdb, lim); !ok || !decided {
		t.Fatalf("first job: admitted %v, decided %v", ok, decided)
	}
	if got := counted(t, rdb, lim); got < 2 {
		t.Fatalf("the first decision took %d calls, want a block", got)
	}
	other := ratelimit.NewCooldown(replica(t, rdb))
	if _, err := other.Block(context.Background(), lim.key, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, _ := take(t, ps, rdb, lim); ok {
		t.Fatal("a call on hand went out in a cool-down")
	}
	if got := counted(t, rdb, lim); got != 1 {
		t.Errorf("the limit counts %d calls after the cool-down, want the 1 used", got)
	}
	if ok, decided := take(t, ps, rdb, lim); ok || !decided {
		t.Errorf("in the cool-down: admitted %v, decided %v; want a decision, denied", ok, decided)
	}
}

// A stopping worker waits for its calls on hand to be given back.
func TestCallPoolsDrainGivesBack(t *testing.T) {
	rdb := startRedis(t)
	f := newInflight(nil, records{}, zerolog.Nop(), nil)
	ps := newPools(rdb, f)
	lim := rateLimit(1000)
	if ok, _ := take(t, ps, rdb, lim); !ok {
		t.Fatal("not admitted")
	}
	if got := counted(t, rdb, lim); got < 2 {
		t.Fatalf("the first decision took %d calls, want a block", got)
	}
	if !f.drain(time.Minute) {
		t.Fatal("drain unclean")
	}
	if got := counted(t, rdb, lim); got != 1 {
		t.Errorf("after drain the limit counts %d calls, want the 1 used", got)
	}
}

// Calls answered by many jobs are marked in Redis together, in a script
// run or two rather than one each; markAnswered marks those so far at once,
// and a stopping worker waits for the rest.
func TestCallPoolsSettleAnswersTogether(t *testing.T) {
	ctx := context.Background()
	rdb := startRedis(t)
	f := newInflight(nil, records{}, zerolog.Nop(), nil)
	ps := newPools(rdb, f)
	lim := rateLimit(1000)
	var calls []*ratelimit.Call
	for range 20 {
		pipe := rdb.Pipeline()
		read := ps.calls.ReserveIn(ctx, pipe, lim.key, lim.calls, time.Hour)
		_, _ = pipe.Exec(ctx)
		call, _, err := read()
		if err != nil || call == nil {
			t.Fatal(call, err)
		}
		calls = append(calls, call)
	}
	scripts := func() int {
		t.Helper()
		info, err := rdb.InfoMap(ctx, "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		stat := info["Commandstats"]["cmdstat_evalsha"] // calls=N,usec=…
		calls, _, _ := strings.Cut(strings.TrimPrefix(stat, "calls="), ",")
		n, _ := strconv.Atoi(calls)
		return n
	}
	// Answered, a call counts from then, no longer an hour in flight.
	marked := func() int64 {
		t.Helper()
		soon := strconv.FormatInt(time.Now().Add(time.Minute).UnixMicro(), 10)
		n, err := rdb.ZCount(ctx, "herald:rl:{"+lim.key+"}:calls", "-inf", soon).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := scripts()
	for _, c := range calls[:10] {
		ps.answered([]*ratelimit.Call{c})
	}
	// What reads the answers (Throttle) has them all in Redis first.
	ps.markAnswered()
	if n := marked(); n != 10 {
		t.Errorf("after markAnswered, %d of 10 answers marked", n)
	}
	for _, c := range calls[10:] {
		ps.answered([]*ratelimit.Call{c})
	}
	if !f.drain(time.Minute) {
		t.Fatal("drain unclean")
	}
	if n := scripts() - before; n > 3 {
		t.Errorf("20 answers took %d script runs", n)
	}
	if n := marked(); n != 20 {
		t.Errorf("after drain, %d of 20 answers marked", n)
	}
}
