package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed acquire.lua
	acquireLua string
	//go:embed extend.lua
	extendLua string
	//go:embed release.lua
	releaseLua string
	//go:embed nextfree.lua
	nextFreeLua string
)

// Concurrency caps how many holders run at once for a key, across every
// process that shares the Redis: Easemob's "3 push tasks running", or the
// in-flight HTTP calls to one provider.
//
// Each holder takes a lease that runs out on its own. A worker that crashes
// mid-call never releases, but its slot comes back when the lease expires;
// a holder that needs longer renews with Extend. Choose a lease comfortably
// longer than the work (say, the HTTP timeout plus a margin): too short and
// a slow holder loses its slot while still running.
type Concurrency struct {
	rdb      redis.Scripter
	acquire  *redis.Script
	extend   *redis.Script
	release  *redis.Script
	nextFree *redis.Script
}

// NewConcurrency returns a concurrency limiter on rdb (any client but a
// pipeline; see NewRate).
func NewConcurrency(rdb redis.Scripter) *Concurrency {
	return &Concurrency{
		rdb:      rdb,
		acquire:  redis.NewScript(acquireLua),
		extend:   redis.NewScript(extendLua),
		release:  redis.NewScript(releaseLua),
		nextFree: redis.NewScript(nextFreeLua),
	}
}

// Acquire takes one of limit slots for holderID, held for lease unless
// released or extended. A holder that already holds a slot keeps it and gets
// a fresh lease; it never counts twice.
//
// When all slots are taken, RetryAfter is the time until the earliest lease
// runs out. That is an upper bound only while nobody extends: a Release
// frees a slot sooner, an Extend pushes the expiry later (the caller then
// tries again and gets a new RetryAfter).
func (c *Concurrency) Acquire(ctx context.Context, key string, limit int, holderID string, lease time.Duration) (Decision, error) {
	if err := checkHolder(key, holderID, lease); err != nil {
		return Decision{}, err
	}
	if limit <= 0 {
		return Decision{}, fmt.Errorf("%w: %d holders", ErrInvalidLimit, limit)
	}
	v, err := c.acquire.Run(ctx, c.rdb, keysFor(key, kindConcurrency), limit, holderID, lease.Microseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: acquire %s: %w", key, err)
	}
	return decision(v)
}

// Release gives holderID's slot back at once. Releasing a holder that does
// not hold a slot (never acquired, already released, lease expired) is
// harmless.
func (c *Concurrency) Release(ctx context.Context, key, holderID string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := c.release.Run(ctx, c.rdb, []string{keyPrefix + key + kindConcurrency}, holderID).Err()
	if err != nil {
		return fmt.Errorf("ratelimit: release %s: %w", key, err)
	}
	return nil
}

// Extend renews holderID's lease to run for lease from now. It reports false
// if the holder no longer holds a slot because the lease already ran out (or
// was released): the work it guards is no longer counted, and the holder
// should stop or Acquire again.
func (c *Concurrency) Extend(ctx context.Context, key, holderID string, lease time.Duration) (bool, error) {
	if err := checkHolder(key, holderID, lease); err != nil {
		return false, err
	}
	n, err := c.extend.Run(ctx, c.rdb, []string{keyPrefix + key + kindConcurrency}, holderID, lease.Microseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("ratelimit: extend %s: %w", key, err)
	}
	return n == 1, nil
}

func checkHolder(key, holderID string, lease time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if holderID == "" {
		return fmt.Errorf("%w: empty holder id", ErrInvalidLimit)
	}
	if lease < time.Microsecond {
		return fmt.Errorf("%w: lease %s", ErrInvalidLimit, lease)
	}
	return nil
}

// NextFree is how long until the earliest of key's leases runs out, 0 if
// nobody holds one: when a full limit next frees a slot unless a holder
// releases or extends first.
func (c *Concurrency) NextFree(ctx context.Context, key string) (time.Duration, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	v, err := c.nextFree.Run(ctx, c.rdb, []string{keyPrefix + key + kindConcurrency}).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: next free %s: %w", key, err)
	}
	return time.Duration(v) * time.Microsecond, nil
}
