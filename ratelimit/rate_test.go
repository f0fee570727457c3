package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/ratelimit"
)

func TestRateBurstThenDeny(t *testing.T) {
	// Intervals long enough that the burst cannot refill while the test
	// makes its calls, so Remaining is exact.
	tests := []struct {
		name  string
		limit ratelimit.Limit
	}{
		{"1/s burst 1", ratelimit.PerSecond(1)},
		{"10/min", ratelimit.PerMinute(10)},
		{"20/h", ratelimit.PerHour(20)},
		{"4/s burst 2", ratelimit.Limit{Rate: 4, Period: time.Second, Burst: 2}},
		{"zero burst means 1", ratelimit.Limit{Rate: 2, Period: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			rl := ratelimit.NewRate(srv.Client(t))
			burst := max(tt.limit.Burst, 1)
			interval := tt.limit.Interval()
			for i := range burst {
				d, err := rl.Allow(ctx, "k", tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if !d.Allowed || d.Remaining != burst-1-i || d.RetryAfter != 0 || d.Blocked {
					t.Fatalf("call %d: got %+v, want allowed with %d remaining", i, d, burst-1-i)
				}
				if d.ResetAfter <= time.Duration(i)*interval || d.ResetAfter > time.Duration(i+1)*interval {
					t.Errorf("call %d: ResetAfter %s, want in (%s, %s]", i, d.ResetAfter, time.Duration(i)*interval, time.Duration(i+1)*interval)
				}
			}
			d, err := rl.Allow(ctx, "k", tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed || d.Blocked || d.Remaining != 0 {
				t.Fatalf("after burst: got %+v, want denied", d)
			}
			// The next slot opens one emission interval after the first
			// call, less the little time the calls took.
			if d.RetryAfter <= 0 || d.RetryAfter > interval || d.RetryAfter < interval-time.Second/2 {
				t.Errorf("RetryAfter %s, want about %s", d.RetryAfter, interval)
			}
			if d.ResetAfter < d.RetryAfter || d.ResetAfter > time.Duration(burst)*interval {
				t.Errorf("ResetAfter %s, want in [%s, %s]", d.ResetAfter, d.RetryAfter, time.Duration(burst)*interval)
			}
		})
	}
}

func TestRateAllowedAgainAfterRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		limit ratelimit.Limit
	}{
		{"10/100ms burst 1", ratelimit.Limit{Rate: 10, Period: 100 * time.Millisecond, Burst: 1}},
		{"10/100ms burst 3", ratelimit.Limit{Rate: 10, Period: 100 * time.Millisecond, Burst: 3}},
		{"5/s burst 1", ratelimit.Limit{Rate: 5, Period: time.Second, Burst: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			rl := ratelimit.NewRate(srv.Client(t))
			var denied ratelimit.Decision
			eventually(t, 5*time.Second, "a denial", func() bool {
				d, err := rl.Allow(ctx, "k", tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				denied = d
				return !d.Allowed
			})
			if denied.RetryAfter <= 0 || denied.RetryAfter > tt.limit.Interval() {
				t.Fatalf("RetryAfter %s, want in (0, %s]", denied.RetryAfter, tt.limit.Interval())
			}
			// Waiting exactly what the limiter asked must be enough: the
			// first attempt after it is admitted.
			time.Sleep(denied.RetryAfter)
			d, err := rl.Allow(ctx, "k", tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Allowed {
				t.Fatalf("after waiting RetryAfter %s: got %+v, want allowed", denied.RetryAfter, d)
			}
		})
	}
}

func TestRateAllowN(t *testing.T) {
	ctx := context.Background()
	rl := ratelimit.NewRate(srv.Client(t))
	limit := ratelimit.Limit{Rate: 5, Period: 5 * time.Second, Burst: 5} // 1 s apart

	steps := []struct {
		n         int
		allowed   bool
		remaining int
	}{
		{0, true, 5}, // a peek takes nothing
		{3, true, 2},
		{0, true, 2},
		{3, false, 2}, // all or nothing: 2 left is not 3
		{2, true, 0},
		{1, false, 0},
	}
	for i, s := range steps {
		d, err := rl.AllowN(ctx, "k", limit, s.n)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != s.allowed || d.Remaining != s.remaining {
			t.Fatalf("step %d AllowN(%d): got %+v, want allowed=%v remaining=%d", i, s.n, d, s.allowed, s.remaining)
		}
		if !d.Allowed && (d.RetryAfter <= 0 || d.RetryAfter > time.Second) {
			t.Fatalf("step %d: RetryAfter %s, want in (0, 1s]", i, d.RetryAfter)
		}
	}
}

func TestRateKeysIndependent(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	rl := ratelimit.NewRate(rdb)
	limit := ratelimit.PerMinute(1)

	for _, key := range []string{"easemob:default:push.sync", "easemob:other:push.sync", "easemob:default:push.single"} {
		if d, err := rl.Allow(ctx, key, limit); err != nil || !d.Allowed {
			t.Fatalf("%s first: %+v, %v", key, d, err)
		}
		if d, err := rl.Allow(ctx, key, limit); err != nil || d.Allowed {
			t.Fatalf("%s second: %+v, %v", key, d, err)
		}
	}
	// Other kinds on the same caller key keep their own state.
	if d, err := ratelimit.NewWindow(rdb).Allow(ctx, "easemob:default:push.sync", 1, time.Minute); err != nil || !d.Allowed {
		t.Fatalf("window on a rate-limited key: %+v, %v", d, err)
	}
	if d, err := ratelimit.NewConcurrency(rdb).Acquire(ctx, "easemob:default:push.sync", 1, "h", time.Minute); err != nil || !d.Allowed {
		t.Fatalf("concurrency on a rate-limited key: %+v, %v", d, err)
	}
}

func TestRateKeyHasTTL(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	rl := ratelimit.NewRate(rdb)
	limit := ratelimit.Limit{Rate: 3, Period: 3 * time.Second, Burst: 2}
	for range 2 {
		if _, err := rl.Allow(ctx, "easemob:default:push.sync", limit); err != nil {
			t.Fatal(err)
		}
	}
	// Two events one second apart each: the state is worth keeping for at
	// most two seconds, then it is the same as no state.
	ttl := pttl(t, rdb, "herald:rl:{easemob:default:push.sync}:rate")
	if ttl <= time.Second || ttl > 2*time.Second {
		t.Fatalf("TTL %s, want in (1s, 2s]", ttl)
	}
}

// 50 goroutines share one limit; whatever the interleaving, the count
// admitted never exceeds the burst plus what the rate refilled meanwhile.
func TestRateContention(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	rl := ratelimit.NewRate(rdb)
	limit := ratelimit.Limit{Rate: 10, Period: 100 * time.Millisecond, Burst: 5}

	start := redisNow(t, rdb)
	stop := time.Now().Add(400 * time.Millisecond)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				d, err := rl.Allow(ctx, "k", limit)
				if err != nil {
					errs <- err
					return
				}
				if d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	end := redisNow(t, rdb)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	elapsed := end.Sub(start)
	bound := int64(limit.Burst) + int64(elapsed/limit.Interval()) + 1
	got := admitted.Load()
	t.Logf("admitted %d in %s (bound %d)", got, elapsed, bound)
	if got > bound {
		t.Fatalf("admitted %d in %s, more than burst %d + rate allows (%d)", got, elapsed, limit.Burst, bound)
	}
	if got < int64(limit.Burst) {
		t.Fatalf("admitted only %d, want at least the burst %d", got, limit.Burst)
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	rate, window, conc, cool := ratelimit.NewRate(rdb), ratelimit.NewWindow(rdb), ratelimit.NewConcurrency(rdb), ratelimit.NewCooldown(rdb)
	ok := ratelimit.PerSecond(1)

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"empty key", func() error { _, err := rate.Allow(ctx, "", ok); return err }, ratelimit.ErrInvalidKey},
		{"open brace", func() error { _, err := window.Allow(ctx, "a{b", 1, time.Second); return err }, ratelimit.ErrInvalidKey},
		{"close brace", func() error { _, err := conc.Acquire(ctx, "}a", 1, "h", time.Second); return err }, ratelimit.ErrInvalidKey},
		{"cooldown key", func() error { _, err := cool.Block(ctx, "a}", time.Second); return err }, ratelimit.ErrInvalidKey},
		{"release key", func() error { return conc.Release(ctx, "", "h") }, ratelimit.ErrInvalidKey},
		{"zero limit", func() error { _, err := rate.Allow(ctx, "k", ratelimit.Limit{}); return err }, ratelimit.ErrInvalidLimit},
		{"zero period", func() error { _, err := rate.Allow(ctx, "k", ratelimit.Limit{Rate: 1}); return err }, ratelimit.ErrInvalidLimit},
		{"negative burst", func() error {
			_, err := rate.Allow(ctx, "k", ratelimit.Limit{Rate: 1, Period: time.Second, Burst: -1})
			return err
		}, ratelimit.ErrInvalidLimit},
		{"cost over burst", func() error { _, err := rate.AllowN(ctx, "k", ok, 2); return err }, ratelimit.ErrInvalidLimit},
		{"negative cost", func() error { _, err := rate.AllowN(ctx, "k", ok, -1); return err }, ratelimit.ErrInvalidLimit},
		{"window n 0", func() error { _, err := window.Allow(ctx, "k", 0, time.Second); return err }, ratelimit.ErrInvalidLimit},
		{"window period 0", func() error { _, err := window.Allow(ctx, "k", 1, 0); return err }, ratelimit.ErrInvalidLimit},
		{"concurrency limit 0", func() error { _, err := conc.Acquire(ctx, "k", 0, "h", time.Second); return err }, ratelimit.ErrInvalidLimit},
		{"empty holder", func() error { _, err := conc.Acquire(ctx, "k", 1, "", time.Second); return err }, ratelimit.ErrInvalidLimit},
		{"zero lease", func() error { _, err := conc.Extend(ctx, "k", "h", 0); return err }, ratelimit.ErrInvalidLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("invalid calls wrote %d keys (%v), want none", n, err)
	}
}
