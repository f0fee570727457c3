package ratelimit_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
)

func TestWindowAdmitsN(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		period time.Duration
	}{
		{"easemob 3 per 5 min", 3, 5 * time.Minute},
		{"1 per minute", 1, time.Minute},
		{"10 per hour", 10, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := srv.Client(t)
			w := ratelimit.NewWindow(rdb)
			for i := range tt.n {
				d, err := w.Allow(ctx, "easemob:default:push.task", tt.n, tt.period)
				if err != nil {
					t.Fatal(err)
				}
				if !d.Allowed || d.Remaining != tt.n-1-i || d.RetryAfter != 0 || d.ResetAfter != tt.period {
					t.Fatalf("start %d: got %+v, want allowed with %d remaining", i, d, tt.n-1-i)
				}
			}
			d, err := w.Allow(ctx, "easemob:default:push.task", tt.n, tt.period)
			if err != nil {
				t.Fatal(err)
			}
			// Room comes back when the first start leaves: one period after
			// it, less the moment the calls took.
			if d.Allowed || d.Blocked || d.Remaining != 0 {
				t.Fatalf("start %d: got %+v, want denied", tt.n, d)
			}
			if d.RetryAfter <= tt.period-time.Second || d.RetryAfter > tt.period {
				t.Errorf("RetryAfter %s, want just under %s", d.RetryAfter, tt.period)
			}
			if d.ResetAfter < d.RetryAfter || d.ResetAfter > tt.period {
				t.Errorf("ResetAfter %s, want in [%s, %s]", d.ResetAfter, d.RetryAfter, tt.period)
			}
			if n, err := rdb.ZCard(ctx, "herald:rl:{easemob:default:push.task}:window").Result(); err != nil || n != int64(tt.n) {
				t.Errorf("stored %d starts (%v), want %d: a denial must not be recorded", n, err, tt.n)
			}
			if ttl := pttl(t, rdb, "herald:rl:{easemob:default:push.task}:window"); ttl <= tt.period-time.Second || ttl > tt.period {
				t.Errorf("TTL %s, want just under %s", ttl, tt.period)
			}
		})
	}
}

func TestWindowAllowedAgainAfterRetryAfter(t *testing.T) {
	ctx := context.Background()
	w := ratelimit.NewWindow(srv.Client(t))
	const n, period = 2, 200 * time.Millisecond
	var denied ratelimit.Decision
	eventually(t, 5*time.Second, "a denial", func() bool {
		d, err := w.Allow(ctx, "k", n, period)
		if err != nil {
			t.Fatal(err)
		}
		denied = d
		return !d.Allowed
	})
	if denied.RetryAfter <= 0 || denied.RetryAfter > period {
		t.Fatalf("RetryAfter %s, want in (0, %s]", denied.RetryAfter, period)
	}
	time.Sleep(denied.RetryAfter)
	d, err := w.Allow(ctx, "k", n, period)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed {
		t.Fatalf("after waiting RetryAfter %s: got %+v, want allowed", denied.RetryAfter, d)
	}
}

// windowLog records, for a window test, every start the limiter admitted
// (read back from Redis, so with the server's own timestamps) and every
// denial with the server-time bounds of the call that got it.
type windowLog struct {
	mu      sync.Mutex
	starts  map[string]time.Time
	denials [][2]time.Time // [before, after] the denied call
}

func (l *windowLog) allow(t *testing.T, rdb *redis.Client, w *ratelimit.Window, key string, n int, period time.Duration) ratelimit.Decision {
	t.Helper()
	ctx := context.Background()
	before := redisNow(t, rdb)
	d, err := w.Allow(ctx, key, n, period)
	if err != nil {
		t.Error(err)
		return d
	}
	after := redisNow(t, rdb)
	if !d.Allowed {
		l.mu.Lock()
		l.denials = append(l.denials, [2]time.Time{before, after})
		l.mu.Unlock()
		return d
	}
	// The start is in the set for a whole period after it was admitted.
	zs, err := rdb.ZRangeWithScores(ctx, "herald:rl:{"+key+"}:window", 0, -1).Result()
	if err != nil {
		t.Error(err)
		return d
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, z := range zs {
		l.starts[z.Member.(string)] = time.UnixMicro(int64(z.Score))
	}
	return d
}

// check asserts the window's two promises over the whole log: never more
// than n starts within any period, and never a denial while there was room.
func (l *windowLog) check(t *testing.T, n int, period time.Duration) {
	t.Helper()
	var ts []time.Time
	for m, s := range l.starts {
		if want := strconv.FormatInt(s.UnixMicro(), 10); m[:len(want)] != want {
			t.Errorf("member %q does not name its start %s", m, want)
		}
		ts = append(ts, s)
	}
	slices.SortFunc(ts, time.Time.Compare)
	for i := range ts {
		in := 0
		for j := i; j < len(ts) && ts[j].Sub(ts[i]) < period; j++ {
			in++
		}
		if in > n {
			t.Fatalf("%d starts within %s from %s, want at most %d: %v", in, period, ts[i].Format("15:04:05.000000"), n, ts[i:i+in])
		}
	}
	// A call denied at some instant τ in [before, after] saw at least n
	// starts in (τ-period, τ], all of which lie in (before-period, after].
	for _, d := range l.denials {
		in := 0
		for _, s := range ts {
			if s.After(d[0].Add(-period)) && !s.After(d[1]) {
				in++
			}
		}
		if in < n {
			t.Fatalf("denied between %s and %s with only %d starts in the window, want %d", d[0], d[1], in, n)
		}
	}
}

// The scenario from the design: 3 per period; one start at 0, two more at a
// quarter period, then a rush just past one period after the first. Only
// the first start has left, so only one more may start; a fixed window
// would let three through.
func TestWindowNoDoubleBurstAtBoundary(t *testing.T) {
	rdb := srv.Client(t)
	w := ratelimit.NewWindow(rdb)
	const n, period = 3, 300 * time.Millisecond
	log := &windowLog{starts: map[string]time.Time{}}

	if d := log.allow(t, rdb, w, "k", n, period); !d.Allowed {
		t.Fatalf("first start denied: %+v", d)
	}
	var first time.Time
	for _, s := range log.starts {
		first = s
	}
	waitRedisTime(t, rdb, first.Add(period/4))
	for range 2 {
		log.allow(t, rdb, w, "k", n, period)
	}
	waitRedisTime(t, rdb, first.Add(period+5*time.Millisecond))
	admitted := 0
	for range 3 {
		if log.allow(t, rdb, w, "k", n, period).Allowed {
			admitted++
		}
	}
	if admitted == 0 {
		t.Fatal("nothing admitted after the first start left the window")
	}
	t.Logf("admitted %d just past one period", admitted)
	log.check(t, n, period)
}

// Eight callers hammer a small window for a few periods.
func TestWindowContention(t *testing.T) {
	rdb := srv.Client(t)
	w := ratelimit.NewWindow(rdb)
	const n, period = 3, 150 * time.Millisecond
	log := &windowLog{starts: map[string]time.Time{}}

	stop := time.Now().Add(4 * period)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				log.allow(t, rdb, w, "k", n, period)
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if len(log.starts) < 2*n {
		t.Fatalf("only %d starts over 4 periods, want at least %d", len(log.starts), 2*n)
	}
	t.Logf("%d starts, %d denials", len(log.starts), len(log.denials))
	log.check(t, n, period)
}
