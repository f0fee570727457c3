package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
)

// Between two jobs, a concurrency slot would go back to Redis and be taken
// again: a release and an acquire, the dearest script of a job's limits.
// Far from the cap, a worker keeps a slot its job is done with for the
// next job instead, idle for at most slotLinger, and the next job asks
// Redis only whether a cool-down has started since (one EXISTS).
//
// What holds: a kept slot stays counted in Redis all along, so the cap
// holds across replicas; it is kept only while its lease surely outlasts
// the next heartbeat (see ratelimit.Lease.Until), which renews it once a
// call holds it again. What it costs: an idle kept slot is one another
// replica cannot take, for up to slotLinger. So that a replica with a
// backlog cannot keep slots from others, a slot goes back to Redis at the
// latest slotAge after it was taken from there, and the decision taking it
// again says how near the cap is: with less than a quarter of the cap free,
// slots go back at once.
const (
	slotLinger = 20 * time.Millisecond
	slotAge    = time.Second
	// slotMinLeft is the least lease a kept slot must have left: more than
	// the heartbeat's period, with a margin.
	slotMinLeft = attemptLease/3 + time.Second
)

// slotPools is a worker's kept slots, one pool per concurrency limit key.
type slotPools struct {
	conc  *ratelimit.Concurrency
	cool  *ratelimit.Cooldown
	pipes interface{ Pipeline() redis.Pipeliner }
	// inflight makes drain wait for kept slots to go back; nil lets them
	// go back unwaited for.
	inflight *inflight

	mu    sync.Mutex
	pools map[string]*slotPool
}

// slotPool is one concurrency limit's kept slots.
type slotPool struct {
	mu   sync.Mutex
	idle []keptSlot
	// free and limit are the last decision's room and the cap.
	free, limit int
	sweeping    bool
}

// keptSlot is a slot between jobs.
type keptSlot struct {
	lease *ratelimit.Lease
	taken time.Time // from Redis
	idle  time.Time // since
}

func (ss *slotPools) pool(key string) *slotPool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.pools == nil {
		ss.pools = map[string]*slotPool{}
	}
	p := ss.pools[key]
	if p == nil {
		p = &slotPool{}
		ss.pools[key] = p
	}
	return p
}

// holdIn queues on pipe what gets a job a slot under lim: a check for a
// cool-down when a slot is kept, else a decision. The returned func, once
// pipe has run, returns the slot and when it was taken from Redis, or
// reports false, having given back a kept slot, when there is none or a
// cool-down may be in force (admit then asks Redis, which says how long to
// wait).
func (ss *slotPools) holdIn(ctx context.Context, pipe redis.Pipeliner, lim limit) func() (*ratelimit.Lease, time.Time, bool) {
	p := ss.pool(lim.key)
	now := time.Now()
	if s, ok := p.take(now); ok {
		active := ss.cool.ActiveIn(ctx, pipe, lim.key)
		return func() (*ratelimit.Lease, time.Time, bool) {
			if cooling, err := active(); err != nil || cooling {
				ss.release(append(p.drop(), s))
				return nil, time.Time{}, false
			}
			return s.lease, s.taken, true
		}
	}
	hold := ss.conc.HoldIn(ctx, pipe, lim.key, lim.cfg.Concurrent, lim.cfg.Lease.D())
	return func() (*ratelimit.Lease, time.Time, bool) {
		lease, d, err := hold()
		if err == nil {
			p.mu.Lock()
			p.free, p.limit = d.Remaining, lim.cfg.Concurrent
			p.mu.Unlock()
		}
		return lease, now, lease != nil && err == nil
	}
}

// take hands out the slot kept last, if one is still surely held.
func (p *slotPool) take(now time.Time) (keptSlot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.idle) - 1; i >= 0; i-- {
		if s := p.idle[i]; s.lease.Until().Sub(now) > slotMinLeft {
			p.idle = slices.Delete(p.idle, i, i+1)
			return s, true
		}
	}
	return keptSlot{}, false
}

// keep keeps a slot a job is done with for the next, and reports whether
// it did; one it does not keep the caller releases. taken is when the slot
// was taken from Redis, zero if not through holdIn.
func (ss *slotPools) keep(l *ratelimit.Lease, taken time.Time) bool {
	if ss == nil || taken.IsZero() {
		return false
	}
	p := ss.pool(l.Key())
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(taken) > slotAge || p.limit == 0 || 4*p.free < p.limit || l.Until().Sub(now) <= slotMinLeft {
		return false
	}
	if !p.sweeping {
		if ss.inflight != nil && !ss.inflight.track() {
			return false // the worker is stopping
		}
		p.sweeping = true
		time.AfterFunc(slotLinger, func() { ss.sweep(p) })
	}
	p.idle = append(p.idle, keptSlot{lease: l, taken: taken, idle: now})
	return true
}

// sweep gives back the slots idle for slotLinger, and comes again while
// any are left.
func (ss *slotPools) sweep(p *slotPool) {
	now := time.Now()
	p.mu.Lock()
	var old []keptSlot
	p.idle = slices.DeleteFunc(p.idle, func(s keptSlot) bool {
		if now.Sub(s.idle) >= slotLinger || s.lease.Until().Sub(now) <= slotMinLeft {
			old = append(old, s)
			return true
		}
		return false
	})
	p.sweeping = len(p.idle) > 0
	if p.sweeping {
		time.AfterFunc(slotLinger-now.Sub(p.idle[0].idle), func() { ss.sweep(p) })
	}
	done := !p.sweeping
	p.mu.Unlock()
	ss.release(old)
	if done && ss.inflight != nil {
		ss.inflight.done()
	}
}

// drop takes every kept slot out of the pool, for giving back: a cool-down
// makes them useless for its duration, and another replica may need them
// after it.
func (p *slotPool) drop() []keptSlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	idle := p.idle
	p.idle = nil
	return idle
}

// dropAll gives back every kept slot under the keys of limits: a
// provider's "too many" for them just came in.
func (ss *slotPools) dropAll(limits []limit) {
	var idle []keptSlot
	for _, lim := range limits {
		if lim.kind == kindConcurrent {
			idle = append(idle, ss.pool(lim.key).drop()...)
		}
	}
	ss.release(idle)
}

// release gives slots back in one round trip. One that fails is counted
// until its lease runs out, which errs on the safe side.
func (ss *slotPools) release(slots []keptSlot) {
	if len(slots) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := ss.pipes.Pipeline()
	reads := make([]func() error, len(slots))
	for i, s := range slots {
		reads[i] = s.lease.ReleaseIn(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx)
	for _, read := range reads {
		_ = read()
	}
}
