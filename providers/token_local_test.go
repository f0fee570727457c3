package providers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
)

// trips counts the commands and pipelines a client sends.
type trips struct{ n atomic.Int64 }

func (c *trips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *trips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *trips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// A token fresh in process memory costs no Redis round trip; it is read
// again once its local life or its time in Redis is over, and an auth
// error's Drop forgets it at once.
func TestTokenFreshInMemorySkipsRedis(t *testing.T) {
	cases := []struct {
		name      string
		localTTL  time.Duration
		expiresIn time.Duration // the token's own life; the margin is off
		wantTrips bool          // does a second Token call reach Redis?
	}{
		{"fresh: no trip", time.Minute, time.Hour, false},
		{"local copy off (the default): a trip each call", 0, time.Hour, true},
		{"local life over: read again", 50 * time.Millisecond, time.Hour, true},
		{"token's Redis life over: read again", time.Minute, 50 * time.Millisecond, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb := srv.Client(t)
			var tr trips
			rdb.AddHook(&tr)
			c := providers.NewTokenCache(rdb)
			c.Margin, c.LocalTTL = -1, tc.localTTL
			fetch := func(context.Context) (providers.Token, error) {
				return providers.Token{Value: "tok", ExpiresAt: time.Now().Add(tc.expiresIn)}, nil
			}
			if _, err := c.Token(t.Context(), testKey, fetch); err != nil {
				t.Fatal(err)
			}
			if tc.localTTL > 0 && tc.localTTL < time.Second || tc.expiresIn < time.Second {
				// Waiting out a life is the point here, not a guess.
				time.Sleep(100 * time.Millisecond)
			}
			before := tr.n.Load()
			if _, err := c.Token(t.Context(), testKey, fetch); err != nil {
				t.Fatal(err)
			}
			if got := tr.n.Load() > before; got != tc.wantTrips {
				t.Errorf("second call reached Redis: %v, want %v", got, tc.wantTrips)
			}
		})
	}
}

func TestTokenDropForgetsLocalCopy(t *testing.T) {
	rdb := srv.Client(t)
	c := providers.NewTokenCache(rdb)
	c.LocalTTL = time.Minute
	var f counter
	if _, err := c.Token(t.Context(), testKey, f.fetch); err != nil {
		t.Fatal(err)
	}
	if err := c.Drop(t.Context(), testKey, "tok-1"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Token(t.Context(), testKey, f.fetch)
	if err != nil {
		t.Fatal(err)
	}
	if got != "tok-2" {
		t.Errorf("after Drop got %q, want a new token tok-2", got)
	}
}
