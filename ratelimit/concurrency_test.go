package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/ratelimit"
)

const holdersKey = "herald:rl:{easemob:default:push.task}:concurrency"

func TestConcurrencyLimitsHolders(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	c := ratelimit.NewConcurrency(rdb)
	const key, limit, lease = "easemob:default:push.task", 3, time.Minute

	steps := []struct {
		holder    string
		allowed   bool
		remaining int
	}{
		{"a", true, 2},
		{"b", true, 1},
		{"c", true, 0},
		{"d", false, 0},
		{"a", true, 0}, // a holder acquiring again keeps its one slot
		{"d", false, 0},
	}
	for i, s := range steps {
		d, err := c.Acquire(ctx, key, limit, s.holder, lease)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.Blocked {
			t.Fatalf("step %d (%s): got %+v, want allowed=%v remaining=%d", i, s.holder, d, s.allowed, s.remaining)
		}
		if d.Allowed && d.RetryAfter != 0 {
			t.Fatalf("step %d: allowed with RetryAfter %s", i, d.RetryAfter)
		}
		// When full, a slot frees no later than the earliest lease ends.
		if !d.Allowed && (d.RetryAfter <= lease-time.Second || d.RetryAfter > lease) {
			t.Fatalf("step %d: RetryAfter %s, want just under %s", i, d.RetryAfter, lease)
		}
	}
	if n, err := rdb.ZCard(ctx, holdersKey).Result(); err != nil || n != limit {
		t.Fatalf("%d holders stored (%v), want %d", n, err, limit)
	}
	if ttl := pttl(t, rdb, holdersKey); ttl <= lease-time.Second || ttl > lease {
		t.Fatalf("TTL %s, want just under %s", ttl, lease)
	}
}

func TestConcurrencyLeaseExpires(t *testing.T) {
	ctx := context.Background()
	c := ratelimit.NewConcurrency(srv.Client(t))
	const lease = 100 * time.Millisecond

	if d, err := c.Acquire(ctx, "k", 1, "crashed", lease); err != nil || !d.Allowed {
		t.Fatalf("first holder: %+v, %v", d, err)
	}
	d, err := c.Acquire(ctx, "k", 1, "next", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > lease {
		t.Fatalf("while held: got %+v, want denied with RetryAfter in (0, %s]", d, lease)
	}
	// "crashed" never releases; its slot comes back once the lease is over.
	eventually(t, 5*time.Second, "slot freed by lease expiry", func() bool {
		d, err := c.Acquire(ctx, "k", 1, "next", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	})
	if ok, err := c.Extend(ctx, "k", "crashed", time.Minute); err != nil || ok {
		t.Fatalf("Extend of an expired lease: %v, %v; want false", ok, err)
	}
}

func TestConcurrencyReleaseFreesAtOnce(t *testing.T) {
	ctx := context.Background()
	c := ratelimit.NewConcurrency(srv.Client(t))
	if d, err := c.Acquire(ctx, "k", 1, "a", time.Minute); err != nil || !d.Allowed {
		t.Fatalf("a: %+v, %v", d, err)
	}
	if d, err := c.Acquire(ctx, "k", 1, "b", time.Minute); err != nil || d.Allowed {
		t.Fatalf("b while a holds: %+v, %v", d, err)
	}
	if err := c.Release(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Acquire(ctx, "k", 1, "b", time.Minute); err != nil || !d.Allowed {
		t.Fatalf("b after a released: %+v, %v", d, err)
	}
}

func TestConcurrencyReleaseUnknownHolder(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	c := ratelimit.NewConcurrency(rdb)
	// On a key nobody uses, and on one with a holder.
	if err := c.Release(ctx, "easemob:default:push.task", "nobody"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Acquire(ctx, "easemob:default:push.task", 2, "a", time.Minute); err != nil || !d.Allowed {
		t.Fatalf("a: %+v, %v", d, err)
	}
	for range 2 { // twice: releasing is idempotent
		if err := c.Release(ctx, "easemob:default:push.task", "nobody"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rdb.ZCard(ctx, holdersKey).Result(); err != nil || n != 1 {
		t.Fatalf("%d holders after releasing an unknown one (%v), want 1", n, err)
	}
	if ok, err := c.Extend(ctx, "easemob:default:push.task", "nobody", time.Minute); err != nil || ok {
		t.Fatalf("Extend of an unknown holder: %v, %v; want false", ok, err)
	}
}

func TestConcurrencyExtendKeepsSlot(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	c := ratelimit.NewConcurrency(rdb)
	const lease = 150 * time.Millisecond

	start := redisNow(t, rdb)
	if d, err := c.Acquire(ctx, "k", 1, "slow", lease); err != nil || !d.Allowed {
		t.Fatalf("slow: %+v, %v", d, err)
	}
	ok, err := c.Extend(ctx, "k", "slow", time.Minute)
	if err != nil || !ok {
		t.Fatalf("Extend: %v, %v; want true", ok, err)
	}
	// Past the original lease, the slot is still taken, and the key lives
	// as long as the extended lease.
	waitRedisTime(t, rdb, start.Add(2*lease))
	d, err := c.Acquire(ctx, "k", 1, "other", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.RetryAfter < time.Minute-time.Second {
		t.Fatalf("after the original lease: got %+v, want denied for about a minute", d)
	}
	if ttl := pttl(t, rdb, "herald:rl:{k}:concurrency"); ttl < time.Minute-time.Second {
		t.Fatalf("TTL %s after Extend, want about a minute", ttl)
	}
	// Extending to a shorter lease shortens the key's life with it.
	if ok, err := c.Extend(ctx, "k", "slow", 10*time.Second); err != nil || !ok {
		t.Fatalf("Extend shorter: %v, %v", ok, err)
	}
	if ttl := pttl(t, rdb, "herald:rl:{k}:concurrency"); ttl > 10*time.Second {
		t.Fatalf("TTL %s after shortening, want at most 10s", ttl)
	}
}

func TestConcurrencyHold(t *testing.T) {
	ctx := context.Background()
	c := ratelimit.NewConcurrency(srv.Client(t))
	first, d, err := c.Hold(ctx, "k", 1, time.Minute)
	if err != nil || !d.Allowed || first == nil || first.ID() == "" {
		t.Fatalf("first Hold: %v %+v %v", first, d, err)
	}
	second, d, err := c.Hold(ctx, "k", 1, time.Minute)
	if err != nil || d.Allowed || second != nil {
		t.Fatalf("second Hold while full: %v %+v %v; want nil lease, denied", second, d, err)
	}
	if ok, err := first.Extend(ctx, time.Minute); err != nil || !ok {
		t.Fatalf("Extend: %v %v", ok, err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := first.Extend(ctx, time.Minute); err != nil || ok {
		t.Fatalf("Extend after Release: %v %v; want false", ok, err)
	}
	third, d, err := c.Hold(ctx, "k", 1, time.Minute)
	if err != nil || !d.Allowed || third.ID() == first.ID() {
		t.Fatalf("Hold after Release: %v %+v %v", third, d, err)
	}
}

// 50 goroutines compete for 3 slots; inside the critical section a counter
// tracks how many are in at once.
func TestConcurrencyContention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := ratelimit.NewConcurrency(srv.Client(t))
	const limit, workers = 3, 50

	var inside, most, done atomic.Int64
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			id := fmt.Sprintf("worker-%d", i)
			for ctx.Err() == nil {
				d, err := c.Acquire(ctx, "k", limit, id, 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				if !d.Allowed {
					time.Sleep(time.Millisecond) // a worker would reschedule
					continue
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(2 * time.Millisecond) // the guarded work
				inside.Add(-1)
				if err := c.Release(ctx, "k", id); err != nil {
					t.Error(err)
				}
				done.Add(1)
				return
			}
		})
	}
	wg.Wait()
	if done.Load() != workers {
		t.Fatalf("%d of %d workers got through", done.Load(), workers)
	}
	if most.Load() > limit {
		t.Fatalf("%d holders at once, limit %d", most.Load(), limit)
	}
	t.Logf("at most %d at once", most.Load())
}

// Renew extends every live lease in one round trip and reports those that
// had already gone (released, or run out), without reviving them.
func TestConcurrencyRenewMany(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	c := ratelimit.NewConcurrency(rdb)
	const key = "dingtalk:app:in_flight"
	var leases []*ratelimit.Lease
	for range 3 {
		before := time.Now()
		l, d, err := c.Hold(ctx, key, 3, time.Second)
		if err != nil || !d.Allowed {
			t.Fatalf("hold: %v %+v", err, d)
		}
		if u := l.Until(); u.Before(before.Add(time.Second)) || u.After(time.Now().Add(time.Second)) {
			t.Fatalf("a lease of 1s taken at %v holds until %v", before, u)
		}
		leases = append(leases, l)
	}
	if err := leases[1].Release(ctx); err != nil {
		t.Fatal(err)
	}
	held, err := c.Renew(ctx, leases, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true}; fmt.Sprint(held) != fmt.Sprint(want) {
		t.Fatalf("held %v, want %v", held, want)
	}
	// Until follows the renewals that held, and only those.
	for i, l := range leases {
		if renewed := time.Until(l.Until()) > 59*time.Minute; renewed != held[i] {
			t.Errorf("lease %d held %v, holds %v more by Until", i, held[i], time.Until(l.Until()))
		}
	}
	// The renewed leases now run an hour: the earliest frees far beyond
	// the second they were taken for.
	next, err := c.NextFree(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if next < 59*time.Minute {
		t.Fatalf("next free in %v after renewing for an hour", next)
	}
	// The released slot was not revived: one is free.
	if d, err := c.Acquire(ctx, key, 3, "new", time.Second); err != nil || !d.Allowed {
		t.Fatalf("after renew, a new holder got %+v, %v; want the released slot", d, err)
	}
}
