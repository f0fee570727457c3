package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
)

// The worker's demo mode runs on an embedded miniredis, whose TTLs only run
// down when a test fast-forwards them. This is not a stand-in for Redis in
// the tests above: it checks that the limiters stay correct there too,
// because every decision compares stored times with TIME and expiry only
// cleans up.
func TestEmbeddedRedis(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })

	kinds := []struct {
		name   string
		decide func() (ratelimit.Decision, error)
	}{
		{"rate", func() (ratelimit.Decision, error) {
			return ratelimit.NewRate(rdb).Allow(ctx, "k", ratelimit.Limit{Rate: 1, Period: 50 * time.Millisecond})
		}},
		{"window", func() (ratelimit.Decision, error) {
			return ratelimit.NewWindow(rdb).Allow(ctx, "k", 1, 50*time.Millisecond)
		}},
		{"concurrency", func() (ratelimit.Decision, error) {
			// A new holder each time that never releases: only lease
			// expiry can free the slot.
			return ratelimit.NewConcurrency(rdb).Acquire(ctx, "k", 1, time.Now().String(), 50*time.Millisecond)
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			m.FlushAll()
			if d, err := k.decide(); err != nil || !d.Allowed {
				t.Fatalf("first: %+v, %v", d, err)
			}
			if d, err := k.decide(); err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond {
				t.Fatalf("second: %+v, %v; want denied for at most 50ms", d, err)
			}
			eventually(t, 5*time.Second, "room again", func() bool {
				d, err := k.decide()
				return err == nil && d.Allowed
			})

			if _, err := ratelimit.NewCooldown(rdb).Block(ctx, "k", 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if d, err := k.decide(); err != nil || !d.Blocked {
				t.Fatalf("during cool-down: %+v, %v; want blocked", d, err)
			}
			eventually(t, 5*time.Second, "cool-down lifted", func() bool {
				d, err := k.decide()
				return err == nil && d.Allowed
			})
		})
	}
}
