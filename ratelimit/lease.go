package ratelimit

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a slot held from a Concurrency limiter under a random holder id,
// for callers that have no natural id of their own.
type Lease struct {
	c   *Concurrency
	key string
	id  string
}

// Hold is Acquire under a fresh random holder id. The Lease is nil unless
// the Decision is Allowed.
func (c *Concurrency) Hold(ctx context.Context, key string, limit int, lease time.Duration) (*Lease, Decision, error) {
	id := rand.Text()
	d, err := c.Acquire(ctx, key, limit, id, lease)
	if err != nil || !d.Allowed {
		return nil, d, err
	}
	return &Lease{c: c, key: key, id: id}, d, nil
}

// ID is the holder id the slot is held under.
func (l *Lease) ID() string { return l.id }

// Release gives the slot back. Releasing twice is harmless.
func (l *Lease) Release(ctx context.Context) error { return l.c.Release(ctx, l.key, l.id) }

// Extend renews the lease to run for d from now; false means it had already
// run out (see Concurrency.Extend).
func (l *Lease) Extend(ctx context.Context, d time.Duration) (bool, error) {
	return l.c.Extend(ctx, l.key, l.id, d)
}

// Key is the limiter key the slot is held on.
func (l *Lease) Key() string { return l.key }

// Renew extends every lease to run for d from now, in one round trip (a
// pipeline; on Redis Cluster one per node). held[i] reports whether
// leases[i] was still held: false means it had run out and its slot may be
// someone else's. A worker renews all the slots its running calls hold this
// way, every few seconds, so leases can be short: a worker that dies stops
// renewing and its slots come back within one lease.
func (c *Concurrency) Renew(ctx context.Context, leases []*Lease, d time.Duration) (held []bool, err error) {
	if len(leases) == 0 {
		return nil, nil
	}
	p, ok := c.rdb.(interface{ Pipeline() redis.Pipeliner })
	if !ok {
		return nil, fmt.Errorf("ratelimit: renew: %T cannot pipeline", c.rdb)
	}
	run := func(useSha bool) ([]*redis.Cmd, error) {
		pipe := p.Pipeline()
		cmds := make([]*redis.Cmd, len(leases))
		for i, l := range leases {
			keys := []string{keyPrefix + l.key + kindConcurrency}
			if useSha {
				cmds[i] = c.extend.EvalSha(ctx, pipe, keys, l.id, d.Microseconds())
			} else {
				cmds[i] = c.extend.Eval(ctx, pipe, keys, l.id, d.Microseconds())
			}
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := run(true)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmds, err = run(false)
	}
	if err != nil {
		return nil, fmt.Errorf("ratelimit: renew %d leases: %w", len(leases), err)
	}
	held = make([]bool, len(leases))
	for i, cmd := range cmds {
		n, _ := cmd.Int64()
		held[i] = n == 1
	}
	return held, nil
}
