package ratelimit

import (
	"context"
	"crypto/rand"
	"time"
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
