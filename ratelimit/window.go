package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed window.lua
var windowLua string

// Window admits at most n starts in any rolling period, across every process
// that shares the Redis.
//
// Use it where a provider counts events over a rolling period and refuses the
// excess, such as Easemob's "3 push tasks created per 5 minutes". Unlike a
// fixed window (which resets on the clock and lets 2n through around a
// boundary) or a rate with a burst, a sliding log never admits n+1 starts
// within one period of each other. It keeps one sorted-set member per start,
// so it suits small n; for high rates use Rate.
type Window struct {
	rdb    redis.Scripter
	script *redis.Script
}

// NewWindow returns a rolling-window limiter on rdb (any client but a
// pipeline; see NewRate).
func NewWindow(rdb redis.Scripter) *Window {
	return &Window{rdb: rdb, script: redis.NewScript(windowLua)}
}

// Allow records a start for key if fewer than n starts happened in the last
// period. When the window is full, RetryAfter is the time until the oldest
// start in it leaves.
func (w *Window) Allow(ctx context.Context, key string, n int, period time.Duration) (Decision, error) {
	if err := checkKey(key); err != nil {
		return Decision{}, err
	}
	if n <= 0 || period < time.Microsecond {
		return Decision{}, fmt.Errorf("%w: %d per %s", ErrInvalidLimit, n, period)
	}
	v, err := w.script.Run(ctx, w.rdb, keysFor(key, kindWindow), n, period.Microseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: window %s: %w", key, err)
	}
	return decision(v)
}
