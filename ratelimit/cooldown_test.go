package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/ratelimit"
)

// Every kind of decision for a key honours that key's cool-down, in the same
// call, and records nothing while denied.
func TestCooldownBlocksEveryKind(t *testing.T) {
	rdb := srv.Client(t)
	rate, window, conc := ratelimit.NewRate(rdb), ratelimit.NewWindow(rdb), ratelimit.NewConcurrency(rdb)
	kinds := []struct {
		name   string
		decide func(ctx context.Context, key string) (ratelimit.Decision, error)
	}{
		{"rate", func(ctx context.Context, key string) (ratelimit.Decision, error) {
			return rate.Allow(ctx, key, ratelimit.PerSecond(100))
		}},
		{"window", func(ctx context.Context, key string) (ratelimit.Decision, error) {
			return window.Allow(ctx, key, 100, time.Second)
		}},
		{"concurrency", func(ctx context.Context, key string) (ratelimit.Decision, error) {
			return conc.Acquire(ctx, key, 100, "h", time.Second)
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := srv.Client(t)
			cool := ratelimit.NewCooldown(rdb)
			const d = 300 * time.Millisecond

			got, err := cool.Block(ctx, "easemob:default:push.sync", d)
			if err != nil || got != d {
				t.Fatalf("Block: %s, %v; want %s", got, err, d)
			}
			dec, err := k.decide(ctx, "easemob:default:push.sync")
			if err != nil {
				t.Fatal(err)
			}
			if dec.Allowed || !dec.Blocked || dec.RetryAfter <= 0 || dec.RetryAfter > d || dec.Remaining != 0 {
				t.Fatalf("during cool-down: got %+v, want blocked with RetryAfter in (0, %s]", dec, d)
			}
			if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 1 {
				t.Fatalf("%d keys during cool-down (%v), want only the cool-down", n, err)
			}
			// Another key is not affected.
			if dec, err := k.decide(ctx, "easemob:default:push.single"); err != nil || !dec.Allowed {
				t.Fatalf("other key: %+v, %v", dec, err)
			}
			// The cool-down ends by itself.
			eventually(t, 5*time.Second, "cool-down expiry", func() bool {
				dec, err := k.decide(ctx, "easemob:default:push.sync")
				if err != nil {
					t.Fatal(err)
				}
				return dec.Allowed
			})
			if left, err := cool.Remaining(ctx, "easemob:default:push.sync"); err != nil || left != 0 {
				t.Fatalf("Remaining after expiry: %s, %v", left, err)
			}
		})
	}
}

func TestCooldownKeepsTheLater(t *testing.T) {
	ctx := context.Background()
	cool := ratelimit.NewCooldown(srv.Client(t))
	steps := []struct {
		name     string
		block    time.Duration
		min, max time.Duration // the cool-down in force afterwards
	}{
		{"first", 10 * time.Second, 10 * time.Second, 10 * time.Second},
		{"shorter is ignored", time.Second, 9 * time.Second, 10 * time.Second},
		{"longer wins", time.Minute, time.Minute, time.Minute},
		{"zero sets nothing", 0, 59 * time.Second, time.Minute},
		{"a microsecond is shorter", time.Microsecond, 59 * time.Second, time.Minute},
	}
	for _, s := range steps {
		got, err := cool.Block(ctx, "k", s.block)
		if err != nil {
			t.Fatal(err)
		}
		if got < s.min || got > s.max {
			t.Fatalf("%s: Block(%s) = %s, want in [%s, %s]", s.name, s.block, got, s.min, s.max)
		}
		left, err := cool.Remaining(ctx, "k")
		if err != nil || left < s.min-time.Second || left > got {
			t.Fatalf("%s: Remaining %s, %v; want about %s", s.name, left, err, got)
		}
	}
}

func TestCooldownClear(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	cool, rate := ratelimit.NewCooldown(rdb), ratelimit.NewRate(rdb)
	if _, err := cool.Block(ctx, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	if d, err := rate.Allow(ctx, "k", ratelimit.PerSecond(1)); err != nil || !d.Blocked {
		t.Fatalf("blocked: %+v, %v", d, err)
	}
	if err := cool.Clear(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d, err := rate.Allow(ctx, "k", ratelimit.PerSecond(1)); err != nil || !d.Allowed {
		t.Fatalf("after Clear: %+v, %v", d, err)
	}
	if left, err := cool.Remaining(ctx, "never-blocked"); err != nil || left != 0 {
		t.Fatalf("Remaining on an unknown key: %s, %v", left, err)
	}
}

// ActiveIn sees a cool-down while it is in force, and none once it has
// ended or been cleared.
func TestCooldownActiveIn(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	cool := ratelimit.NewCooldown(rdb)
	active := func(key string) bool {
		t.Helper()
		pipe := rdb.Pipeline()
		read := cool.ActiveIn(ctx, pipe, key)
		_, _ = pipe.Exec(ctx)
		on, err := read()
		if err != nil {
			t.Fatal(err)
		}
		return on
	}
	if active("k") {
		t.Fatal("active before any Block")
	}
	if _, err := cool.Block(ctx, "k", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	set := redisNow(t, rdb) // no earlier than the Block
	if _, err := cool.Block(ctx, "long", time.Hour); err != nil {
		t.Fatal(err)
	}
	if !active("k") || !active("long") {
		t.Fatal("a cool-down in force not seen")
	}
	// The key expires within a millisecond after the end.
	waitRedisTime(t, rdb, set.Add(52*time.Millisecond))
	if active("k") {
		t.Error("a cool-down seen after its end")
	}
	if err := cool.Clear(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	if active("long") {
		t.Error("a cleared cool-down seen")
	}
}
