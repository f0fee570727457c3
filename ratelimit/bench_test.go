package ratelimit_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
)

// Every benchmark makes real round trips to the package's redis-server, so
// the figures are decisions per second including the network hop and the
// script. Parallel runs keep 4 callers per CPU in flight, as a busy worker
// would.
const benchKey = "easemob:default:push.sync"

// benchParallel runs decide from parallel goroutines, each with a distinct
// number (for holder ids).
func benchParallel(b *testing.B, rdb *redis.Client, decide func(ctx context.Context, g int) error) {
	b.Helper()
	resetServerStats(b, rdb)
	var next atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		g := int(next.Add(1))
		for pb.Next() {
			if err := decide(ctx, g); err != nil {
				b.Error(err)
				return
			}
		}
	})
	report(b, rdb)
}

func benchSerial(b *testing.B, rdb *redis.Client, decide func(ctx context.Context, g int) error) {
	b.Helper()
	resetServerStats(b, rdb)
	ctx := context.Background()
	for b.Loop() {
		if err := decide(ctx, 0); err != nil {
			b.Fatal(err)
		}
	}
	report(b, rdb)
}

// report adds decisions per second and the time Redis spent running
// scripts per decision (from INFO commandstats), which does not depend on
// how busy the client machine is.
func report(b *testing.B, rdb *redis.Client) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var usec int64
	for _, line := range strings.Split(info, "\r\n") {
		if !strings.HasPrefix(line, "cmdstat_eval") { // eval and evalsha
			continue
		}
		if _, after, ok := strings.Cut(line, ",usec="); ok {
			n, _ := strconv.ParseInt(after[:strings.IndexByte(after, ',')], 10, 64)
			usec += n
		}
	}
	b.ReportMetric(float64(usec)*1000/float64(b.N), "server-ns/op")
}

func resetServerStats(b *testing.B, rdb *redis.Client) {
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRate measures Herald's GCRA against go-redis/redis_rate, the
// reference implementation it is modelled on, with the same limit on the
// same key in the same run. "allowed" never runs out (each decision writes
// the new TAT); "denied" is always out (read only).
func BenchmarkRate(b *testing.B) {
	rdb := srv.Client(b)
	herald := ratelimit.NewRate(rdb)
	ref := redis_rate.NewLimiter(rdb)
	cases := []struct {
		name  string
		limit ratelimit.Limit
	}{
		{"allowed", ratelimit.PerSecond(1_000_000)},
		{"denied", ratelimit.PerHour(1)},
	}
	for _, c := range cases {
		refLimit := redis_rate.Limit{Rate: c.limit.Rate, Period: c.limit.Period, Burst: c.limit.Burst}
		impls := []struct {
			name   string
			decide func(ctx context.Context, _ int) error
		}{
			{"herald", func(ctx context.Context, _ int) error {
				_, err := herald.Allow(ctx, benchKey, c.limit)
				return err
			}},
			{"redis_rate", func(ctx context.Context, _ int) error {
				_, err := ref.Allow(ctx, benchKey, refLimit)
				return err
			}},
		}
		for _, impl := range impls {
			b.Run(c.name+"/"+impl.name, func(b *testing.B) { benchSerial(b, rdb, impl.decide) })
			b.Run(c.name+"/"+impl.name+"/parallel", func(b *testing.B) { benchParallel(b, rdb, impl.decide) })
		}
	}
}

// BenchmarkRateInterleaved is the fair head-to-head: Herald and redis_rate
// take turns call by call (alternating which goes first), so a busy machine
// slows both alike. It reports each one's mean time per decision.
func BenchmarkRateInterleaved(b *testing.B) {
	rdb := srv.Client(b)
	herald := ratelimit.NewRate(rdb)
	ref := redis_rate.NewLimiter(rdb)
	limit := ratelimit.PerSecond(1_000_000)
	refLimit := redis_rate.Limit{Rate: limit.Rate, Period: limit.Period, Burst: limit.Burst}
	pair := func(ctx context.Context, i int, took *[2]atomic.Int64) error {
		for j := range 2 {
			start := time.Now()
			var err error
			if (i+j)%2 == 0 {
				_, err = herald.Allow(ctx, benchKey, limit)
				took[0].Add(int64(time.Since(start)))
			} else {
				_, err = ref.Allow(ctx, benchKey, refLimit)
				took[1].Add(int64(time.Since(start)))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	report := func(b *testing.B, took *[2]atomic.Int64) {
		b.ReportMetric(float64(took[0].Load())/float64(b.N), "herald-ns/op")
		b.ReportMetric(float64(took[1].Load())/float64(b.N), "redis_rate-ns/op")
		b.ReportMetric(float64(took[1].Load())/float64(took[0].Load()), "redis_rate/herald")
	}
	b.Run("serial", func(b *testing.B) {
		ctx := context.Background()
		var took [2]atomic.Int64
		i := 0
		for b.Loop() {
			if err := pair(ctx, i, &took); err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b, &took)
	})
	b.Run("parallel", func(b *testing.B) {
		var took [2]atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			i := 0
			for pb.Next() {
				if err := pair(ctx, i, &took); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		report(b, &took)
	})
}

// BenchmarkWindow: "allowed" adds a start to a log that holds 100 ms of
// them; "denied" meets a full window.
func BenchmarkWindow(b *testing.B) {
	rdb := srv.Client(b)
	w := ratelimit.NewWindow(rdb)
	cases := []struct {
		name   string
		n      int
		period time.Duration
	}{
		{"allowed", 1 << 30, 100 * time.Millisecond},
		{"denied", 1, time.Hour},
	}
	for _, c := range cases {
		decide := func(ctx context.Context, _ int) error {
			_, err := w.Allow(ctx, "easemob:default:push.task", c.n, c.period)
			return err
		}
		b.Run(c.name, func(b *testing.B) { benchSerial(b, rdb, decide) })
		b.Run(c.name+"/parallel", func(b *testing.B) { benchParallel(b, rdb, decide) })
	}
}

// BenchmarkConcurrency: "acquire" is a holder taking (or renewing) a slot;
// "denied" meets a full limit; "hold" is a whole Acquire + Release cycle,
// two round trips.
func BenchmarkConcurrency(b *testing.B) {
	ctx := context.Background()
	rdb := srv.Client(b)
	c := ratelimit.NewConcurrency(rdb)
	const key = "easemob:default:push.task"
	if _, err := c.Acquire(ctx, key+":full", 1, "someone", time.Hour); err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name   string
		decide func(ctx context.Context, g int) error
	}{
		{"acquire", func(ctx context.Context, g int) error {
			_, err := c.Acquire(ctx, key, 1000, holderID(g), time.Minute)
			return err
		}},
		{"denied", func(ctx context.Context, g int) error {
			_, err := c.Acquire(ctx, key+":full", 1, holderID(g), time.Minute)
			return err
		}},
		{"hold", func(ctx context.Context, g int) error {
			id := holderID(g)
			if _, err := c.Acquire(ctx, key, 1000, id, time.Minute); err != nil {
				return err
			}
			return c.Release(ctx, key, id)
		}},
	}
	for _, cs := range cases {
		b.Run(cs.name, func(b *testing.B) { benchSerial(b, rdb, cs.decide) })
		b.Run(cs.name+"/parallel", func(b *testing.B) { benchParallel(b, rdb, cs.decide) })
	}
}

var holderIDs = func() (ids [64]string) {
	for i := range ids {
		ids[i] = fmt.Sprintf("holder-%d", i)
	}
	return ids
}()

func holderID(g int) string { return holderIDs[g%len(holderIDs)] }

// BenchmarkCallsInterleaved sets Calls, which the worker now uses for rates
// and windows, beside the limiters it replaced there (Rate's GCRA, Window's
// log), call by call in turn (rotating which goes first) so a busy machine
// slows all alike. "calls" is one Reserve; "calls+done" the worker's whole
// cost per provider call, Reserve then Done (two round trips); "adaptive"
// a Reserve on a key whose rate a Throttle lowered, which reads the
// adaptive state too. Logs hold 100 ms of calls, as BenchmarkWindow's.
func BenchmarkCallsInterleaved(b *testing.B) {
	ctx := context.Background()
	rdb := srv.Client(b)
	rate, window, calls := ratelimit.NewRate(rdb), ratelimit.NewWindow(rdb), ratelimit.NewCalls(rdb)
	lim := ratelimit.CallLimit{N: 1 << 30, Period: 100 * time.Millisecond}
	adaptive := lim
	adaptive.Adapt = ratelimit.Adapt{Decrease: 0.9, Increase: 0.1, Quiet: time.Hour}
	if _, _, err := calls.Throttle(ctx, benchKey+":adaptive", adaptive); err != nil {
		b.Fatal(err)
	}
	impls := []struct {
		name   string
		decide func(ctx context.Context) error
	}{
		{"rate", func(ctx context.Context) error {
			_, err := rate.Allow(ctx, benchKey, ratelimit.PerSecond(1_000_000))
			return err
		}},
		{"window", func(ctx context.Context) error {
			_, err := window.Allow(ctx, benchKey, 1<<30, 100*time.Millisecond)
			return err
		}},
		{"calls", func(ctx context.Context) error {
			_, _, err := calls.Reserve(ctx, benchKey, lim, time.Millisecond)
			return err
		}},
		{"calls+done", func(ctx context.Context) error {
			c, _, err := calls.Reserve(ctx, benchKey+":done", lim, time.Second)
			if err != nil {
				return err
			}
			return c.Done(ctx)
		}},
		{"adaptive", func(ctx context.Context) error {
			_, _, err := calls.Reserve(ctx, benchKey+":adaptive", adaptive, time.Millisecond)
			return err
		}},
	}
	round := func(ctx context.Context, i int, took []atomic.Int64) error {
		for j := range impls {
			k := (i + j) % len(impls)
			start := time.Now()
			if err := impls[k].decide(ctx); err != nil {
				return err
			}
			took[k].Add(int64(time.Since(start)))
		}
		return nil
	}
	report := func(b *testing.B, took []atomic.Int64) {
		for k, impl := range impls {
			b.ReportMetric(float64(took[k].Load())/float64(b.N), impl.name+"-ns/op")
		}
	}
	b.Run("serial", func(b *testing.B) {
		took := make([]atomic.Int64, len(impls))
		i := 0
		for b.Loop() {
			if err := round(ctx, i, took); err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b, took)
	})
	b.Run("parallel", func(b *testing.B) {
		took := make([]atomic.Int64, len(impls))
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := round(ctx, i, took); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		report(b, took)
	})
}
