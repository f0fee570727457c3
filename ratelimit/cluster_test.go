package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/ratelimit"
)

// On a Redis Cluster every limiter decides for keys served by different
// masters, each key's state stays on the master that owns its hash tag, and
// a cool-down blocks the limiters of its own key on that same master while
// leaving keys on other masters alone.
func TestOnCluster(t *testing.T) {
	cluster, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	keys := keysOnEveryMaster(t, cluster.Client(t), len(cluster.Addrs))

	// Each kind admits up to its limit and then denies, on every master.
	kinds := []struct {
		name   string
		decide func(rc *redis.ClusterClient) func(ctx context.Context, key string, attempt int) (ratelimit.Decision, error)
		stored string // the kind's state key suffix
	}{
		{"rate", func(rc *redis.ClusterClient) func(context.Context, string, int) (ratelimit.Decision, error) {
			r := ratelimit.NewRate(rc)
			return func(ctx context.Context, key string, _ int) (ratelimit.Decision, error) {
				return r.Allow(ctx, key, ratelimit.Limit{Rate: 2, Period: time.Minute, Burst: 2})
			}
		}, "rate"},
		{"window", func(rc *redis.ClusterClient) func(context.Context, string, int) (ratelimit.Decision, error) {
			w := ratelimit.NewWindow(rc)
			return func(ctx context.Context, key string, _ int) (ratelimit.Decision, error) {
				return w.Allow(ctx, key, 2, time.Minute)
			}
		}, "window"},
		{"concurrency", func(rc *redis.ClusterClient) func(context.Context, string, int) (ratelimit.Decision, error) {
			c := ratelimit.NewConcurrency(rc)
			return func(ctx context.Context, key string, attempt int) (ratelimit.Decision, error) {
				return c.Acquire(ctx, key, 2, fmt.Sprintf("holder-%d", attempt), time.Minute)
			}
		}, "concurrency"},
		{"calls", func(rc *redis.ClusterClient) func(context.Context, string, int) (ratelimit.Decision, error) {
			c := ratelimit.NewCalls(rc)
			lim := ratelimit.CallLimit{N: 2, Period: time.Minute, Adapt: ratelimit.Adapt{Decrease: 0.5, Increase: 0.1, Quiet: time.Minute}}
			return func(ctx context.Context, key string, _ int) (ratelimit.Decision, error) {
				_, d, err := c.Reserve(ctx, key, lim, time.Second)
				return d, err
			}
		}, "calls"},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ctx := context.Background()
			rc := cluster.Client(t)
			decide := k.decide(rc)
			for _, key := range keys {
				for attempt, want := range []bool{true, true, false} {
					d, err := decide(ctx, key, attempt)
					if err != nil {
						t.Fatalf("%s attempt %d: %v", key, attempt, err)
					}
					if d.Allowed != want || d.Blocked || (!want && d.RetryAfter <= 0) {
						t.Fatalf("%s attempt %d: %+v, want allowed=%v", key, attempt, d, want)
					}
				}
			}
			// Each master holds exactly the state of the key it owns.
			for _, key := range keys {
				m := master(t, rc, key)
				stateKey := "herald:rl:{" + key + "}:" + k.stored
				if n, err := m.Exists(ctx, stateKey).Result(); err != nil || n != 1 {
					t.Errorf("%s: %s not on its master %s (%d, %v)", key, stateKey, m.Options().Addr, n, err)
				}
				if n, err := m.DBSize(ctx).Result(); err != nil || n != 1 {
					t.Errorf("master %s holds %d keys (%v), want 1", m.Options().Addr, n, err)
				}
			}
		})
	}

	t.Run("concurrency release", func(t *testing.T) {
		ctx := context.Background()
		c := ratelimit.NewConcurrency(cluster.Client(t))
		for _, key := range keys {
			steps := []struct {
				op, holder string
				allowed    bool
			}{
				{"acquire", "a", true},
				{"acquire", "b", false},
				{"release", "a", false},
				{"acquire", "b", true},
			}
			for i, s := range steps {
				if s.op == "release" {
					if err := c.Release(ctx, key, s.holder); err != nil {
						t.Fatalf("%s step %d: %v", key, i, err)
					}
					continue
				}
				d, err := c.Acquire(ctx, key, 1, s.holder, time.Minute)
				if err != nil || d.Allowed != s.allowed {
					t.Fatalf("%s step %d (%s %s): %+v, %v; want allowed=%v", key, i, s.op, s.holder, d, err, s.allowed)
				}
			}
		}
	})

	// Calls settles, gives back and adapts with scripts over the same hash
	// tag: no CROSSSLOT, and the decrease reaches the decision.
	t.Run("calls settle and adapt", func(t *testing.T) {
		ctx := context.Background()
		c := ratelimit.NewCalls(cluster.Client(t))
		lim := ratelimit.CallLimit{N: 10, Period: time.Minute, Adapt: ratelimit.Adapt{Decrease: 0.5, Increase: 0.1, Quiet: time.Minute}}
		for _, key := range keys {
			for i := range 10 {
				call, _, err := c.Reserve(ctx, key+":adapt", lim, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					err = call.Cancel(ctx)
				} else {
					err = call.Done(ctx)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if share, lowered, err := c.Throttle(ctx, key+":adapt", lim); err != nil || !lowered || share != 0.5 {
				t.Fatalf("%s: throttle %v %v %v, want lowered to 0.5", key, share, lowered, err)
			}
			if _, d, err := c.Reserve(ctx, key+":adapt", lim, time.Second); err != nil || d.Share != 0.5 {
				t.Fatalf("%s: after throttle %+v %v, want share 0.5", key, d, err)
			}
		}
	})

	t.Run("cooldown", func(t *testing.T) {
		ctx := context.Background()
		rc := cluster.Client(t)
		rate, window, conc := ratelimit.NewRate(rc), ratelimit.NewWindow(rc), ratelimit.NewConcurrency(rc)
		cool := ratelimit.NewCooldown(rc)
		decisions := []struct {
			name   string
			decide func(key string) (ratelimit.Decision, error)
		}{
			{"rate", func(key string) (ratelimit.Decision, error) { return rate.Allow(ctx, key, ratelimit.PerSecond(100)) }},
			{"window", func(key string) (ratelimit.Decision, error) { return window.Allow(ctx, key, 100, time.Minute) }},
			{"concurrency", func(key string) (ratelimit.Decision, error) {
				return conc.Acquire(ctx, key, 100, "h", time.Minute)
			}},
		}
		blocked, others := keys[0], keys[1:]
		const d = time.Minute
		if got, err := cool.Block(ctx, blocked, d); err != nil || got != d {
			t.Fatalf("Block: %s, %v; want %s", got, err, d)
		}
		for _, dec := range decisions {
			got, err := dec.decide(blocked)
			if err != nil {
				t.Fatalf("%s on %s: %v", dec.name, blocked, err)
			}
			if got.Allowed || !got.Blocked || got.RetryAfter <= d-5*time.Second || got.RetryAfter > d {
				t.Errorf("%s on the blocked key: %+v, want blocked for about %s", dec.name, got, d)
			}
			for _, key := range others {
				if got, err := dec.decide(key); err != nil || !got.Allowed {
					t.Errorf("%s on %s (another master): %+v, %v; want allowed", dec.name, key, got, err)
				}
			}
		}
		// The cool-down lives on the master that owns the blocked key,
		// alone: the denied decisions stored nothing beside it.
		m := master(t, rc, blocked)
		if n, err := m.Exists(ctx, "herald:rl:{"+blocked+"}:cooldown").Result(); err != nil || n != 1 {
			t.Fatalf("cool-down key not on %s (%d, %v)", m.Options().Addr, n, err)
		}
		if n, err := m.DBSize(ctx).Result(); err != nil || n != 1 {
			t.Fatalf("blocked key's master holds %d keys (%v), want the cool-down only", n, err)
		}
		for _, key := range others {
			if left, err := cool.Remaining(ctx, key); err != nil || left != 0 {
				t.Errorf("Remaining(%s) = %s, %v; want 0", key, left, err)
			}
		}
		if err := cool.Clear(ctx, blocked); err != nil {
			t.Fatal(err)
		}
		for _, dec := range decisions {
			if got, err := dec.decide(blocked); err != nil || !got.Allowed {
				t.Errorf("%s after Clear: %+v, %v; want allowed", dec.name, got, err)
			}
		}
	})
}

// keysOnEveryMaster picks one limiter key per master, checking on the way
// that every key a limiter stores for a caller's key (state and cool-down)
// hashes to the caller key's slot.
func keysOnEveryMaster(t *testing.T, rc *redis.ClusterClient, masters int) []string {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	var keys []string
	for i := 0; len(keys) < masters; i++ {
		if i == 1000 {
			t.Fatalf("1000 keys did not cover %d masters: %v", masters, seen)
		}
		key := fmt.Sprintf("easemob:acct%d:push.sync", i)
		slot, err := rc.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"rate", "window", "concurrency", "cooldown"} {
			stored := "herald:rl:{" + key + "}:" + kind
			if s, err := rc.ClusterKeySlot(ctx, stored).Result(); err != nil || s != slot {
				t.Fatalf("CLUSTER KEYSLOT %s = %d, %v; want %d, the slot of %s", stored, s, err, slot, key)
			}
		}
		addr := master(t, rc, key).Options().Addr
		if !seen[addr] {
			seen[addr] = true
			keys = append(keys, key)
		}
	}
	return keys
}

// master is the client of the master serving key's hash tag.
func master(t *testing.T, rc *redis.ClusterClient, key string) *redis.Client {
	t.Helper()
	m, err := rc.MasterForKey(context.Background(), "herald:rl:{"+key+"}:rate")
	if err != nil {
		t.Fatalf("master for %s: %v", key, err)
	}
	return m
}
