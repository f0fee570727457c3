package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/ratelimit"
	"github.com/herald-dispatch/herald/tasks"
)

// A rate far from its limit costs a job a decision in Redis all the same:
// the calls script is the dearest part of a job's Redis time. So a worker
// takes a rate's calls in blocks and hands them to its jobs for a short
// while (blockLife), asking Redis per job only whether a cool-down has
// started since (one EXISTS). The job that takes a block's middle call asks
// for the next block in the same pipeline, so jobs rarely find the pool
// empty.
//
// What holds: every call in a block is counted in Redis from the moment
// the block is granted, in flight until the block's life and the call's
// own time in flight have both run out, so no replica can put more calls
// into a provider's period than the limit allows, whoever uses them. A
// call not used within blockLife is given back. What it costs: calls
// handed out but unused sit counted for up to blockLife, so a replica can
// keep another waiting that long; near the limit, blocks shrink to one
// call (see callPool.take), and each job asks Redis as before.
const (
	blockLife = 200 * time.Millisecond
	// minBlock and maxBlock bound a block's size: the size doubles when
	// half a block goes in less than half its life, and halves when calls
	// are left over.
	minBlock = 2
	maxBlock = 64
)

// callPools is a worker's blocks of calls, one pool per rate limit key.
type callPools struct {
	calls *ratelimit.Calls
	cool  *ratelimit.Cooldown
	pipes interface{ Pipeline() redis.Pipeliner }
	// inflight makes drain wait for blocks to be used or given back; nil
	// gives them back without being waited for.
	inflight *inflight

	mu    sync.Mutex
	pools map[string]*callPool

	// answered calls wait in pending to be settled together (see
	// answered). marking is held while calls taken out of pending are
	// being marked, so that markAnswered returns only once every earlier
	// answer is in Redis.
	settling sync.Mutex
	pending  []*ratelimit.Call
	flushing bool
	marking  sync.Mutex
}

// callPool is one rate limit key's calls on hand.
type callPool struct {
	mu sync.Mutex
	// blocks are handed out oldest first; an expired block leaves the
	// list, and its timer gives back what is left of it.
	blocks []*callBlock
	// size is the next block's; remaining is the room the last decision
	// left, which caps it so that a replica near the limit leaves the rest
	// to others.
	size      int
	remaining int
	// refilling is set while a block is being asked for: meanwhile jobs
	// that find the pool empty ask for one call each.
	refilling bool
}

// callBlock is calls granted together, to use before expires.
type callBlock struct {
	calls   []*ratelimit.Call
	granted time.Time // before it was asked for
	expires time.Time
}

func (ps *callPools) pool(key string) *callPool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.pools == nil {
		ps.pools = map[string]*callPool{}
	}
	p := ps.pools[key]
	if p == nil {
		p = &callPool{size: minBlock, remaining: maxBlock}
		ps.pools[key] = p
	}
	return p
}

// take hands out a call on hand, if any, and says how many calls to ask
// Redis for besides: with a call, a block once the calls on hand are
// down to half a block (0 otherwise); without one, a block unless one is
// being asked for already, else one call for the job itself.
func (p *callPool) take(now time.Time) (call *ratelimit.Call, want int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocks = slices.DeleteFunc(p.blocks, func(b *callBlock) bool { return !now.Before(b.expires) || len(b.calls) == 0 })
	left := 0
	for _, b := range p.blocks {
		left += len(b.calls)
	}
	if left > 0 {
		b := p.blocks[0]
		n := len(b.calls)
		call, b.calls = b.calls[n-1], b.calls[:n-1]
		left--
		if p.refilling || 2*left >= p.size {
			return call, 0
		}
		if now.Sub(b.granted) < blockLife/2 {
			p.size = min(2*p.size, maxBlock) // half gone in under half its life
		}
	} else if p.refilling {
		return nil, 1
	}
	want = min(p.size, max(1, p.remaining/4))
	if call != nil && want == 1 {
		return call, 0 // near the limit: no block to ask for
	}
	p.refilling = want > 1
	return call, want
}

// reserveIn queues on pipe what lets a job call under lim: a check for a
// cool-down when the pool has a call on hand, a decision when it has none,
// and a request for the next block when the pool runs low. The returned
// func adds the call to pm once pipe has run, and reports false, having
// given back any call on hand, when there is none or a cool-down may be in
// force (admit then asks Redis for a decision, which says how long to
// wait).
func (ps *callPools) reserveIn(ctx context.Context, pipe redis.Pipeliner, lim limit, m *Metrics, prov tasks.Provider) func(*permit) bool {
	p := ps.pool(lim.key)
	start := time.Now()
	call, want := p.take(start)
	var active func() (bool, error)
	if call != nil {
		active = ps.cool.ActiveIn(ctx, pipe, lim.key)
	}
	reserve := func() ([]*ratelimit.Call, ratelimit.Decision, error) { return nil, ratelimit.Decision{}, nil }
	if want > 0 {
		inFlight := lim.inFlight
		if want > 1 {
			inFlight += blockLife
		}
		reserve = ps.calls.ReserveManyIn(ctx, pipe, lim.key, lim.calls, inFlight, want)
	}
	return func(pm *permit) bool {
		calls, d, err := reserve()
		if want > 0 {
			if err == nil && !d.Blocked {
				m.effectiveRate(prov, lim, d.Share)
			}
			if call == nil && len(calls) > 0 {
				call, calls = calls[0], calls[1:]
			}
			ps.refilled(p, calls, d, err, start, want > 1)
		}
		if call == nil {
			return false
		}
		if active != nil {
			if cooling, aerr := active(); aerr != nil || cooling {
				ps.giveBack(append(p.drop(), call))
				return false
			}
		} else if err != nil {
			ps.giveBack([]*ratelimit.Call{call})
			return false
		}
		pm.addCall(call, false)
		return true
	}
}

// refilled notes the room a decision left and, for a block, puts its
// calls on hand (but the asking job's, taken out before) until
// start+blockLife: start is before the block was asked for, so every call
// handed out is used within the time in flight Redis counts it for.
func (ps *callPools) refilled(p *callPool, calls []*ratelimit.Call, d ratelimit.Decision, err error, start time.Time, block bool) {
	p.mu.Lock()
	if block {
		p.refilling = false
	}
	if err == nil {
		p.remaining = d.Remaining
	}
	if len(calls) == 0 {
		p.mu.Unlock()
		return
	}
	if ps.inflight != nil && !ps.inflight.track() {
		p.mu.Unlock()
		ps.giveBack(calls) // the worker is stopping
		return
	}
	b := &callBlock{calls: calls, granted: start, expires: start.Add(blockLife)}
	p.blocks = append(p.blocks, b)
	p.mu.Unlock()
	time.AfterFunc(time.Until(b.expires), func() { ps.expire(p, b) })
}

// expire gives back what is left of b once its life is over.
func (ps *callPools) expire(p *callPool, b *callBlock) {
	p.mu.Lock()
	left := b.calls
	b.calls = nil
	p.blocks = slices.DeleteFunc(p.blocks, func(x *callBlock) bool { return x == b })
	if len(left) > 0 {
		p.size = max(p.size/2, minBlock)
	}
	p.mu.Unlock()
	ps.giveBack(left)
	if ps.inflight != nil {
		ps.inflight.done()
	}
}

// drop takes every call on hand out of the pool, for giving back: a
// cool-down makes them useless for its duration, and another replica may
// need the room after it.
func (p *callPool) drop() []*ratelimit.Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var left []*ratelimit.Call
	for _, b := range p.blocks {
		left = append(left, b.calls...)
		b.calls = nil
	}
	p.blocks = nil
	return left
}

// dropAll gives back every call on hand under the keys of limits: a
// provider's "too many" for them just came in.
func (ps *callPools) dropAll(limits []limit) {
	var left []*ratelimit.Call
	for _, lim := range limits {
		if lim.kind == kindRate {
			left = append(left, ps.pool(lim.key).drop()...)
		}
	}
	ps.giveBack(left)
}

// giveBack cancels calls.
func (ps *callPools) giveBack(calls []*ratelimit.Call) { ps.settle(nil, calls) }

// settle marks done answered and gives cancel back, in one round trip.
// One that fails leaves the calls counted until their time in flight runs
// out, which errs on the safe side.
func (ps *callPools) settle(done, cancel []*ratelimit.Call) {
	if len(done)+len(cancel) == 0 {
		return
	}
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	pipe := ps.pipes.Pipeline()
	read := ps.calls.SettleIn(ctx, pipe, done, cancel)
	_, _ = pipe.Exec(ctx)
	_ = read()
}

// settleDelay is how long a call's answer waits to be marked in Redis with
// other calls': long enough to gather the calls of many jobs into one
// script run, short beside any provider's period.
const settleDelay = 5 * time.Millisecond

// answered marks calls answered (ratelimit.Call.Done) with other jobs'
// answers, in one script run per limit key every settleDelay, rather than
// one per job. Marked later, a call counts from a later time than its
// answer, which errs on the safe side. What must see every answer so far
// (Throttle, which reads the calls the provider took) calls markAnswered
// first. A nil ps marks nothing.
func (ps *callPools) answered(calls []*ratelimit.Call) {
	if ps == nil || len(calls) == 0 {
		return
	}
	ps.settling.Lock()
	ps.pending = append(ps.pending, calls...)
	if ps.flushing {
		ps.settling.Unlock()
		return
	}
	if ps.inflight != nil && !ps.inflight.track() {
		// The worker is stopping and waits for nothing more: mark them now.
		calls, ps.pending = ps.pending, nil
		ps.settling.Unlock()
		ps.settle(calls, nil)
		return
	}
	ps.flushing = true
	ps.settling.Unlock()
	time.AfterFunc(settleDelay, ps.flush)
}

// flush marks the calls answered so far, and comes again while more come.
func (ps *callPools) flush() {
	ps.marking.Lock()
	ps.settling.Lock()
	calls := ps.pending
	ps.pending = nil
	ps.flushing = len(calls) > 0
	ps.settling.Unlock()
	ps.settle(calls, nil)
	ps.marking.Unlock()
	if len(calls) == 0 {
		if ps.inflight != nil {
			ps.inflight.done()
		}
		return
	}
	time.AfterFunc(settleDelay, ps.flush)
}

// markAnswered marks in Redis, before it returns, every answer this
// worker has had so far. Answers on other replicas may be up to
// settleDelay behind.
func (ps *callPools) markAnswered() {
	ps.marking.Lock()
	defer ps.marking.Unlock()
	ps.settling.Lock()
	calls := ps.pending
	ps.pending = nil
	ps.settling.Unlock()
	ps.settle(calls, nil)
}
