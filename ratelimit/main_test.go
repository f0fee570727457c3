package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

// redisNow reads the server's clock, the one the limiters decide by.
func redisNow(t testing.TB, rdb *redis.Client) time.Time {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatalf("TIME: %v", err)
	}
	return now
}

// waitRedisTime polls the server's clock until it reaches at least until.
func waitRedisTime(t testing.TB, rdb *redis.Client, until time.Time) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := redisNow(t, rdb)
		if !now.Before(until) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis clock did not reach %v (now %v)", until, now)
		}
		time.Sleep(min(until.Sub(now), 10*time.Millisecond))
	}
}

// eventually polls cond every few milliseconds until it holds or timeout
// passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pttl(t testing.TB, rdb *redis.Client, key string) time.Duration {
	t.Helper()
	d, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	return d
}
