package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
)

// reserve is Calls.Reserve that fails the test on an error.
func reserve(t *testing.T, c *ratelimit.Calls, key string, lim ratelimit.CallLimit) (*ratelimit.Call, ratelimit.Decision) {
	t.Helper()
	call, d, err := c.Reserve(context.Background(), key, lim, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if (call != nil) != d.Allowed {
		t.Fatalf("call %v with decision %+v", call, d)
	}
	return call, d
}

func TestCallsAdmitsN(t *testing.T) {
	tests := []struct {
		name string
		lim  ratelimit.CallLimit
		// admitted is how many go at once; then a denial.
		admitted int
	}{
		{"1 per second", ratelimit.CallLimit{N: 1, Period: time.Second}, 1},
		{"10 per second, all at once", ratelimit.CallLimit{N: 10, Period: time.Second}, 10},
		{"10 per second, burst 2", ratelimit.CallLimit{N: 10, Period: time.Second, Burst: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ratelimit.NewCalls(srv.Client(t))
			for i := range tt.admitted {
				if _, d := reserve(t, c, "k", tt.lim); !d.Allowed || d.Remaining != tt.lim.N-1-i || d.Share != 1 {
					t.Fatalf("call %d: %+v, want allowed, %d remaining, share 1", i, d, tt.lim.N-1-i)
				}
			}
			_, d := reserve(t, c, "k", tt.lim)
			// The calls are in flight: room comes back one window after
			// they are answered, which is no sooner than now.
			window := tt.lim.Period
			if tt.lim.Burst > 0 {
				window = tt.lim.Period * time.Duration(tt.lim.Burst) / time.Duration(tt.lim.N)
			}
			if d.Allowed || d.RetryAfter != window {
				t.Fatalf("call %d: %+v, want denied for %s", tt.admitted, d, window)
			}
		})
	}
}

// The guarantee: a call counts from its answer, so however long it took
// between permit and arrival, the next call waits a full period after it.
func TestCallsCountFromTheAnswer(t *testing.T) {
	rdb := srv.Client(t)
	c := ratelimit.NewCalls(rdb)
	lim := ratelimit.CallLimit{N: 1, Period: 300 * time.Millisecond}
	call, _ := reserve(t, c, "k", lim)
	// A slow call: still unanswered after the period.
	time.Sleep(400 * time.Millisecond)
	if _, d := reserve(t, c, "k", lim); d.Allowed {
		t.Fatal("a call was allowed while the previous one was still in flight")
	}
	if err := call.Done(context.Background()); err != nil {
		t.Fatal(err)
	}
	answered := redisNow(t, rdb)
	_, d := reserve(t, c, "k", lim)
	if d.Allowed || d.RetryAfter > lim.Period || d.RetryAfter < lim.Period-50*time.Millisecond {
		t.Fatalf("right after the answer: %+v, want denied for about %s", d, lim.Period)
	}
	waitRedisTime(t, rdb, answered.Add(lim.Period))
	if _, d := reserve(t, c, "k", lim); !d.Allowed {
		t.Fatalf("a period after the answer: %+v, want allowed", d)
	}
}

// Cancel gives the place back at once; a call in flight past its in-flight
// time counts as answered then.
func TestCallsCancelAndInFlight(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	c := ratelimit.NewCalls(rdb)
	lim := ratelimit.CallLimit{N: 1, Period: time.Hour}
	call, _ := reserve(t, c, "k", lim)
	if err := call.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := call.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, d := reserve(t, c, "k", lim); !d.Allowed {
		t.Fatalf("after Cancel: %+v, want allowed", d)
	}
	n, err := rdb.ZCard(ctx, "herald:rl:{k}:calls").Result()
	if err != nil || n != 1 {
		t.Fatalf("stored %d calls (%v), want 1", n, err)
	}
	if ttl := pttl(t, rdb, "herald:rl:{k}:calls"); ttl < time.Hour || ttl > time.Hour+10*time.Second {
		t.Errorf("TTL %s, want in flight (10s) plus the period", ttl)
	}
}

// Throttle lowers the rate in force for every caller, once per period, and
// it climbs back after quiet times to a step below where the provider
// refused, stays there for a probe time, then climbs on.
func TestCallsThrottleAdapts(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	c := ratelimit.NewCalls(rdb)
	const quiet = 300 * time.Millisecond
	lim := ratelimit.CallLimit{N: 10, Period: 100 * time.Millisecond,
		Adapt: ratelimit.Adapt{Decrease: 0.5, Increase: 0.1, Quiet: quiet, Probe: time.Second}}
	// The provider refuses after a full window of calls: it allows the
	// configured rate, so the decrease alone decides.
	for range lim.N {
		call, _ := reserve(t, c, "k", lim)
		if err := call.Done(ctx); err != nil {
			t.Fatal(err)
		}
	}
	share, lowered, err := c.Throttle(ctx, "k", lim)
	if err != nil || share != 0.5 || !lowered {
		t.Fatalf("first throttle: %v %v %v, want 0.5 lowered", share, lowered, err)
	}
	// Refusals right after come from calls admitted before the drop.
	if share, lowered, _ := c.Throttle(ctx, "k", lim); share != 0.5 || lowered {
		t.Fatalf("second throttle at once: %v %v, want 0.5 unchanged", share, lowered)
	}
	if ttl := pttl(t, rdb, "herald:rl:{k}:adapt"); ttl < 4*quiet+time.Second {
		t.Errorf("adaptive state expires in %s, before it has recovered", ttl)
	}
	start := redisNow(t, rdb)
	_, d := reserve(t, c, "k", lim)
	if d.Share != 0.5 {
		t.Fatalf("decision share %v, want 0.5", d.Share)
	}
	// Every caller sees it: another limiter on the same key.
	if _, d := reserve(t, ratelimit.NewCalls(rdb), "k", lim); d.Share != 0.5 {
		t.Fatalf("another replica's share %v, want 0.5", d.Share)
	}
	// 0.5 -> 0.9 in four quiet times (one step below the refused 1.0),
	// held for the probe time, then on to 1.
	for _, tt := range []struct {
		after time.Duration
		share float64
	}{
		{quiet + 10*time.Millisecond, 0.6},
		{4*quiet + 10*time.Millisecond, 0.9},
		{4*quiet + 900*time.Millisecond, 0.9},
		{4*quiet + time.Second + 10*time.Millisecond, 1},
	} {
		waitRedisTime(t, rdb, start.Add(tt.after))
		if _, d := reserve(t, c, "k2", lim); d.Share != 1 {
			t.Fatalf("an unthrottled key's share %v", d.Share)
		}
		_, d := reserve(t, c, "k", lim)
		if d.Share < tt.share-1e-6 || d.Share > tt.share+1e-6 {
			t.Fatalf("after %s: share %v, want %v", tt.after, d.Share, tt.share)
		}
	}
}

// A lowered share lets fewer calls through per period, as a provider
// counting calls per period would, and below one call stretches the period:
// a refusal after one call of 2 per 200ms leaves 0.4 of it in force (one
// step below the half the provider took), one call per 250ms.
func TestCallsThrottleSpacesCalls(t *testing.T) {
	ctx := context.Background()
	c := ratelimit.NewCalls(srv.Client(t))
	lim := ratelimit.CallLimit{N: 2, Period: 200 * time.Millisecond,
		Adapt: ratelimit.Adapt{Decrease: 0.5, Increase: 0.1, Quiet: time.Hour}}
	if _, _, err := c.Throttle(ctx, "k", lim); err != nil {
		t.Fatal(err)
	}
	call, d := reserve(t, c, "k", lim)
	if !d.Allowed || d.Share != 0.4 {
		t.Fatalf("%+v, want allowed at share 0.4", d)
	}
	if err := call.Done(ctx); err != nil {
		t.Fatal(err)
	}
	if _, d := reserve(t, c, "k", lim); d.Allowed || d.RetryAfter < 240*time.Millisecond || d.RetryAfter > 250*time.Millisecond {
		t.Fatalf("second call: %+v, want denied for about 250ms", d)
	}
}

// A refusal says where the provider's limit is: the calls answered in the
// last period. The share drops to a step below that, or by the decrease,
// whichever is lower.
func TestCallsThrottleBoundBySeen(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		seen  int
		share float64
	}{
		{"4 of 10 taken: one step below 0.4", 10, 4, 0.3},
		{"8 of 10 taken: halved", 10, 8, 0.5},
		{"1 of 1 taken: halved", 1, 1, 0.5},
		{"none logged: the refused call counts", 1, 0, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ratelimit.NewCalls(srv.Client(t))
			lim := ratelimit.CallLimit{N: tt.n, Period: time.Second,
				Adapt: ratelimit.Adapt{Decrease: 0.5, Increase: 0.1, Quiet: time.Hour}}
			for range tt.seen {
				call, _ := reserve(t, c, "k", lim)
				if err := call.Done(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			// Calls still in flight may be refused too: they say nothing.
			reserve(t, c, "k2", lim)
			if tt.seen < tt.n {
				reserve(t, c, "k", lim)
			}
			share, _, err := c.Throttle(context.Background(), "k", lim)
			if err != nil || share < tt.share-1e-6 || share > tt.share+1e-6 {
				t.Fatalf("share %v (%v), want %v", share, err, tt.share)
			}
		})
	}
}

func TestCallsInvalid(t *testing.T) {
	c := ratelimit.NewCalls(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}))
	for _, lim := range []ratelimit.CallLimit{
		{N: 0, Period: time.Second},
		{N: 1},
		{N: 1, Period: time.Second, Adapt: ratelimit.Adapt{Decrease: 1}},
	} {
		if _, _, err := c.Reserve(context.Background(), "k", lim, time.Second); err == nil {
			t.Errorf("%+v: no error", lim)
		}
	}
	if _, _, err := c.Reserve(context.Background(), "a{b}", ratelimit.CallLimit{N: 1, Period: time.Second}, time.Second); err == nil {
		t.Error("braces in key: no error")
	}
}
