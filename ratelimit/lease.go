package ratelimit

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/pipescript"
)

// Lease is a slot held from a Concurrency limiter under a random holder id,
// for callers that have no natural id of their own.
type Lease struct {
	c   *Concurrency
	key string
	id  string
	// until is a time the lease holds to at least, by this process's
	// clock (see Until).
	until atomic.Pointer[time.Time]
}

// newLease is a lease asked for at sent, to run for d.
func (c *Concurrency) newLease(key, id string, sent time.Time, d time.Duration) *Lease {
	l := &Lease{c: c, key: key, id: id}
	l.heldFrom(sent, d)
	return l
}

// heldFrom notes that the lease was granted or renewed, by a request sent
// at sent, to run for d: Redis reckons d from when it ran the request,
// which is no earlier.
func (l *Lease) heldFrom(sent time.Time, d time.Duration) {
	until := sent.Add(d)
	l.until.Store(&until)
}

// Until is a time, on this process's monotonic clock, the lease is sure
// to hold to unless it is released: its grant or latest renewal through
// this Lease (Extend, Renew) plus the lease asked for. A caller that
// keeps a slot between pieces of work can tell from it whether the slot
// is still its own without asking Redis.
func (l *Lease) Until() time.Time { return *l.until.Load() }

// Hold is Acquire under a fresh random holder id. The Lease is nil unless
// the Decision is Allowed.
func (c *Concurrency) Hold(ctx context.Context, key string, limit int, lease time.Duration) (*Lease, Decision, error) {
	id := rand.Text()
	sent := time.Now()
	d, err := c.Acquire(ctx, key, limit, id, lease)
	if err != nil || !d.Allowed {
		return nil, d, err
	}
	return c.newLease(key, id, sent, lease), d, nil
}

// HoldIn is Hold queued on pipe, to go in one round trip with other
// commands; its answer is the returned func's once pipe has run.
func (c *Concurrency) HoldIn(ctx context.Context, pipe redis.Pipeliner, key string, limit int, lease time.Duration) func() (*Lease, Decision, error) {
	id := rand.Text()
	if err := checkHolder(key, id, lease); err != nil {
		return func() (*Lease, Decision, error) { return nil, Decision{}, err }
	}
	if limit <= 0 {
		return func() (*Lease, Decision, error) {
			return nil, Decision{}, fmt.Errorf("%w: %d holders", ErrInvalidLimit, limit)
		}
	}
	sent := time.Now()
	q := pipescript.Queue(ctx, pipe, c.rdb, c.acquire, keysFor(key, kindConcurrency), limit, id, lease.Microseconds())
	return func() (*Lease, Decision, error) {
		v, err := q.Result(ctx).Int64Slice()
		if err != nil {
			return nil, Decision{}, fmt.Errorf("ratelimit: acquire %s: %w", key, err)
		}
		d, err := decision(v)
		if err != nil || !d.Allowed {
			return nil, d, err
		}
		return c.newLease(key, id, sent, lease), d, nil
	}
}

// ReleaseIn is Release queued on pipe (see HoldIn).
func (l *Lease) ReleaseIn(ctx context.Context, pipe redis.Pipeliner) func() error {
	q := pipescript.Queue(ctx, pipe, l.c.rdb, l.c.release, []string{keyPrefix + l.key + kindConcurrency}, l.id)
	return func() error {
		if err := q.Result(ctx).Err(); err != nil {
			return fmt.Errorf("ratelimit: release %s: %w", l.key, err)
		}
		return nil
	}
}

// ID is the holder id the slot is held under.
func (l *Lease) ID() string { return l.id }

// Release gives the slot back. Releasing twice is harmless.
func (l *Lease) Release(ctx context.Context) error { return l.c.Release(ctx, l.key, l.id) }

// Extend renews the lease to run for d from now; false means it had already
// run out (see Concurrency.Extend).
func (l *Lease) Extend(ctx context.Context, d time.Duration) (bool, error) {
	sent := time.Now()
	held, err := l.c.Extend(ctx, l.key, l.id, d)
	if held {
		l.heldFrom(sent, d)
	}
	return held, err
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
	sent := time.Now()
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
		if held[i] {
			leases[i].heldFrom(sent, d)
		}
	}
	return held, nil
}
