package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed block.lua
	blockLua string
	//go:embed cooldown_remaining.lua
	cooldownRemainingLua string
)

// Cooldown carries a provider's "slow down" to every replica.
//
// When a provider answers 429 (or its own rate-limit code), the replica that
// saw it calls Block, and from then on every Rate, Window, Calls and Concurrency
// decision for the same key is denied with Blocked set and RetryAfter equal
// to what is left of the cool-down, until it expires by itself. The check
// costs nothing extra: each limiter's script reads the cool-down in the same
// round trip as its own decision (the cool-down key shares the limiter's hash
// tag, so this holds on Redis Cluster too).
type Cooldown struct {
	rdb       redis.Scripter
	block     *redis.Script
	remaining *redis.Script
	clear     *redis.Script
}

// NewCooldown returns a Cooldown on rdb (any client but a pipeline; see
// NewRate).
func NewCooldown(rdb redis.Scripter) *Cooldown {
	return &Cooldown{
		rdb:       rdb,
		block:     redis.NewScript(blockLua),
		remaining: redis.NewScript(cooldownRemainingLua),
		clear:     redis.NewScript(`return redis.call('DEL', KEYS[1])`),
	}
}

// Block denies key for d from now, unless a longer cool-down is already in
// force. It returns the cool-down now in force, which is the delay to give
// work that has to wait it out. The end is reckoned on the Redis server's
// clock, to the microsecond; d <= 0 sets nothing and reports the current
// cool-down.
func (c *Cooldown) Block(ctx context.Context, key string, d time.Duration) (time.Duration, error) {
	if d <= 0 {
		return c.Remaining(ctx, key)
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	us := (d + time.Microsecond - 1) / time.Microsecond
	v, err := c.block.Run(ctx, c.rdb, []string{keyPrefix + key + kindCooldown}, int64(us)).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: block %s: %w", key, err)
	}
	return time.Duration(v) * time.Microsecond, nil
}

// Remaining is what is left of key's cool-down, 0 if none.
func (c *Cooldown) Remaining(ctx context.Context, key string) (time.Duration, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	v, err := c.remaining.Run(ctx, c.rdb, []string{keyPrefix + key + kindCooldown}).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: cooldown %s: %w", key, err)
	}
	return time.Duration(v) * time.Microsecond, nil
}

// ActiveIn queues on pipe a check for a cool-down on key, true while one
// may be in force: one EXISTS, far cheaper than a decision, for a caller
// holding calls granted earlier (see Calls.ReserveManyIn) that must not
// spend them in a cool-down another replica set since. It never misses a
// cool-down in force, as the key outlives its end; it may report one just
// ended (the key expires up to a millisecond late, or never on a Redis
// whose TTLs do not run down), which only sends the caller to ask for a
// decision.
func (c *Cooldown) ActiveIn(ctx context.Context, pipe redis.Pipeliner, key string) func() (bool, error) {
	if err := checkKey(key); err != nil {
		return func() (bool, error) { return false, err }
	}
	exists := pipe.Exists(ctx, keyPrefix+key+kindCooldown)
	return func() (bool, error) {
		n, err := exists.Result()
		if err != nil {
			return false, fmt.Errorf("ratelimit: cooldown %s: %w", key, err)
		}
		return n > 0, nil
	}
}

// Clear lifts key's cool-down early, for an operator who knows better.
func (c *Cooldown) Clear(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := c.clear.Run(ctx, c.rdb, []string{keyPrefix + key + kindCooldown}).Err(); err != nil {
		return fmt.Errorf("ratelimit: clear cooldown %s: %w", key, err)
	}
	return nil
}
