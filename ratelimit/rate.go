package ratelimit

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/redis/go-redis/v9"
)

//go:embed rate.lua
var rateLua string

// Rate limits how often something happens: Limit.Rate events per
// Limit.Period, bursting up to Limit.Burst, measured across every process
// that shares the Redis.
//
// It implements GCRA, which keeps a single timestamp per key (the earliest
// time the next event would be on schedule), so a decision is one GET and at
// most one SET inside one script, whatever the rate.
type Rate struct {
	rdb    redis.Scripter
	script *redis.Script
}

// NewRate returns a rate limiter on rdb: a *redis.Client, a Sentinel
// failover client, a *redis.ClusterClient or a redis.UniversalClient (not a
// pipeline: a decision needs its reply).
func NewRate(rdb redis.Scripter) *Rate {
	return &Rate{rdb: rdb, script: redis.NewScript(rateLua)}
}

// Allow takes one event from key's budget under limit, if one is left.
func (r *Rate) Allow(ctx context.Context, key string, limit Limit) (Decision, error) {
	return r.AllowN(ctx, key, limit, 1)
}

// AllowN takes n events at once, or none: either all n fit now, or the
// decision says how long until they will. n = 0 peeks at Remaining without
// taking anything. n larger than the burst could never be admitted and
// returns ErrInvalidLimit.
func (r *Rate) AllowN(ctx context.Context, key string, limit Limit, n int) (Decision, error) {
	if err := checkKey(key); err != nil {
		return Decision{}, err
	}
	burst, err := limit.check(n)
	if err != nil {
		return Decision{}, err
	}
	v, err := r.script.Run(ctx, r.rdb, keysFor(key, kindRate),
		limit.Period.Microseconds(), limit.Rate, burst, n).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: rate %s: %w", key, err)
	}
	return decision(v)
}
