package ratelimit

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/pipescript"
)

var (
	//go:embed adapt.lua
	adaptLua string
	//go:embed calls.lua
	callsLua string
	//go:embed settle.lua
	settleLua string
	//go:embed throttle.lua
	throttleLua string
)

// Calls holds calls to a provider to at most N in any rolling Period, as the
// provider counts them when they arrive, however late they arrive.
//
// Rate and Window decide when a call may start; the provider counts when it
// arrives, and on a loaded machine the two can be hundreds of milliseconds
// apart, by different amounts for consecutive calls. No fixed margin covers
// that without wasting most of a slow limit. Calls closes the gap instead:
// each call is counted from its permit (Reserve) as being in flight until
// its answer, then from the answer (Done). The provider saw the call before
// it answered, so a call is never counted as older than it can be, and the
// next one that would make N+1 in a period is held back until the period
// has run from that answer. What this costs is the call's own latency per
// period: a 1/s limit with 20 ms calls runs at 1 call every 1.02 s.
//
// A call that will never reach the provider is given back with Cancel.
//
// Calls also adapts: Throttle, called when the provider refuses a call as
// "too many" although Calls allowed it, lowers the rate in force for every
// caller of the key; it climbs back after a quiet time (see Adapt).
type Calls struct {
	rdb      redis.Scripter
	reserve  *redis.Script
	settle   *redis.Script
	cancel   *redis.Script
	throttle *redis.Script
}

// CallLimit is N calls in any rolling Period, of which at most Burst in any
// Period*Burst/N (0: N, no smoothing), adapted as Adapt says.
type CallLimit struct {
	N      int
	Period time.Duration
	Burst  int
	Adapt  Adapt
}

// Adapt shapes how a Calls limit follows a provider that refuses calls its
// configured rate allows (AIMD, as TCP does with congestion). The zero
// value does not adapt: Throttle then changes nothing.
type Adapt struct {
	// Decrease multiplies the rate in force on each refusal, at most once a
	// period (0.5 halves it). 0 turns adapting off.
	Decrease float64
	// Increase is the share of the configured rate regained after every
	// Quiet without a refusal, up to one step below the rate last refused.
	// It stays there for Probe (0: 10 Quiet); with no refusal by then the
	// provider's limit has gone back up, and it climbs on. 0 never recovers
	// (the state then lapses after 10 periods).
	Increase float64
	Quiet    time.Duration
	Probe    time.Duration
	// Floor is the smallest share of the configured rate it goes down to
	// (0: 0.05).
	Floor float64
}

func (a Adapt) probe() time.Duration {
	if a.Probe <= 0 {
		return 10 * a.Quiet
	}
	return a.Probe
}

func (a Adapt) floor() float64 {
	if a.Decrease <= 0 {
		return 1
	}
	if a.Floor <= 0 {
		return 0.05
	}
	return a.Floor
}

// NewCalls returns a Calls limiter on rdb (any client but a pipeline; see
// NewRate).
func NewCalls(rdb redis.Scripter) *Calls {
	return &Calls{
		rdb:      rdb,
		reserve:  redis.NewScript(adaptLua + callsLua),
		settle:   redis.NewScript(settleLua),
		cancel:   redis.NewScript(releaseLua),
		throttle: redis.NewScript(adaptLua + throttleLua),
	}
}

// Call is one call Reserve admitted, to settle with Done or give back with
// Cancel.
type Call struct {
	c   *Calls
	key string
	id  string
}

// Reserve admits one call under lim, counted as in flight for up to
// inFlight (choose the call's timeout: a call still running after it is
// counted as if answered then). The Call is nil unless the Decision is
// Allowed. A denial's RetryAfter assumes calls in flight are answered now,
// so it is a lower bound while any are: ask again then.
func (c *Calls) Reserve(ctx context.Context, key string, lim CallLimit, inFlight time.Duration) (*Call, Decision, error) {
	if err := checkReserve(key, lim, inFlight); err != nil {
		return nil, Decision{}, err
	}
	id := rand.Text()
	keys, args := lim.reserveArgs(key, id, inFlight)
	v, err := c.reserve.Run(ctx, c.rdb, keys, append(args, 1)...).Int64Slice()
	calls, d, err := c.reserved(key, id, 1, v, err)
	if len(calls) == 0 {
		return nil, d, err
	}
	return calls[0], d, err
}

// ReserveIn is Reserve queued on pipe, to go in one round trip with other
// commands (the decisions for a job's other limits, say); its answer is the
// returned func's once pipe has run.
func (c *Calls) ReserveIn(ctx context.Context, pipe redis.Pipeliner, key string, lim CallLimit, inFlight time.Duration) func() (*Call, Decision, error) {
	many := c.ReserveManyIn(ctx, pipe, key, lim, inFlight, 1)
	return func() (*Call, Decision, error) {
		calls, d, err := many()
		if len(calls) == 0 {
			return nil, d, err
		}
		return calls[0], d, err
	}
}

// ReserveManyIn is ReserveIn for a block of up to want calls at once: as
// many as lim has room for right now, at least one when the Decision is
// Allowed, none otherwise. Remaining counts what is left after the whole
// block. Each call counts from now as in flight for up to inFlight, so a
// caller that hands the calls out over a while must add that while to
// inFlight, and give back with Cancel what it does not use.
//
// A block lets a caller far from its limit pay for one decision per block
// rather than per call; near the limit it should ask for one at a time, so
// that callers elsewhere get their share.
func (c *Calls) ReserveManyIn(ctx context.Context, pipe redis.Pipeliner, key string, lim CallLimit, inFlight time.Duration, want int) func() ([]*Call, Decision, error) {
	if err := checkReserve(key, lim, inFlight); err != nil {
		return func() ([]*Call, Decision, error) { return nil, Decision{}, err }
	}
	if want < 1 {
		return func() ([]*Call, Decision, error) {
			return nil, Decision{}, fmt.Errorf("%w: a block of %d calls", ErrInvalidLimit, want)
		}
	}
	id := rand.Text()
	keys, args := lim.reserveArgs(key, id, inFlight)
	q := pipescript.Queue(ctx, pipe, c.rdb, c.reserve, keys, append(args, want)...)
	return func() ([]*Call, Decision, error) {
		v, err := q.Result(ctx).Int64Slice()
		return c.reserved(key, id, want, v, err)
	}
}

func checkReserve(key string, lim CallLimit, inFlight time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	if inFlight < time.Microsecond {
		return fmt.Errorf("%w: in flight %s", ErrInvalidLimit, inFlight)
	}
	return nil
}

func (lim CallLimit) reserveArgs(key, id string, inFlight time.Duration) ([]string, []any) {
	burst := lim.Burst
	if burst == 0 || burst > lim.N {
		burst = lim.N
	}
	return []string{keyPrefix + key + kindCalls, keyPrefix + key + kindCooldown, keyPrefix + key + kindAdapt},
		[]any{lim.N, lim.Period.Microseconds(), burst, id, inFlight.Microseconds(),
			lim.Adapt.Increase, lim.Adapt.Quiet.Microseconds(), lim.Adapt.floor(), lim.Adapt.probe().Microseconds()}
}

// reserved reads the reserve script's reply: the calls granted, named as
// calls.lua names them.
func (c *Calls) reserved(key, id string, want int, v []int64, err error) ([]*Call, Decision, error) {
	if err != nil {
		return nil, Decision{}, fmt.Errorf("ratelimit: calls %s: %w", key, err)
	}
	if len(v) != 6 {
		return nil, Decision{}, fmt.Errorf("ratelimit: unexpected script reply %v", v)
	}
	d, err := decision(v[:4])
	if err != nil {
		return nil, Decision{}, err
	}
	if v[4] > 0 {
		d.Share = float64(v[4]) / 1e6
	}
	if !d.Allowed {
		return nil, d, nil
	}
	if want == 1 {
		return []*Call{{c: c, key: key, id: id}}, d, nil
	}
	calls := make([]*Call, v[5])
	for i := range calls {
		calls[i] = &Call{c: c, key: key, id: id + "." + strconv.Itoa(i+1)}
	}
	return calls, d, nil
}

// Done marks the call answered: from now on it counts from now.
func (c *Call) Done(ctx context.Context) error {
	if err := c.c.settle.Run(ctx, c.c.rdb, []string{keyPrefix + c.key + kindCalls}, c.id).Err(); err != nil {
		return fmt.Errorf("ratelimit: done %s: %w", c.key, err)
	}
	return nil
}

// DoneIn is Done queued on pipe (see ReserveIn).
func (c *Call) DoneIn(ctx context.Context, pipe redis.Pipeliner) func() error {
	return c.c.SettleIn(ctx, pipe, []*Call{c}, nil)
}

// CancelIn is Cancel queued on pipe (see ReserveIn).
func (c *Call) CancelIn(ctx context.Context, pipe redis.Pipeliner) func() error {
	return c.c.SettleIn(ctx, pipe, nil, []*Call{c})
}

// SettleIn queues on pipe Done for every call in done and Cancel for every
// call in cancel, one script run per key and kind however many calls: the
// way to settle calls in bulk (see ReserveManyIn).
func (c *Calls) SettleIn(ctx context.Context, pipe redis.Pipeliner, done, cancel []*Call) func() error {
	var reads []func() error
	queue := func(calls []*Call, s *redis.Script, op string) {
		byKey := map[string][]any{}
		var order []string
		for _, call := range calls {
			if _, ok := byKey[call.key]; !ok {
				order = append(order, call.key)
			}
			byKey[call.key] = append(byKey[call.key], call.id)
		}
		for _, key := range order {
			q := pipescript.Queue(ctx, pipe, c.rdb, s, []string{keyPrefix + key + kindCalls}, byKey[key]...)
			reads = append(reads, func() error {
				if err := q.Result(ctx).Err(); err != nil {
					return fmt.Errorf("ratelimit: %s %s: %w", op, key, err)
				}
				return nil
			})
		}
	}
	queue(done, c.settle, "done")
	queue(cancel, c.cancel, "cancel")
	return func() error {
		var errs []error
		for _, read := range reads {
			errs = append(errs, read())
		}
		return errors.Join(errs...)
	}
}

// Cancel gives the call's place back, for a call that certainly never
// reached the provider or that the provider certainly did not count.
// Cancelling twice, or after Done, is harmless.
func (c *Call) Cancel(ctx context.Context) error {
	if err := c.c.cancel.Run(ctx, c.c.rdb, []string{keyPrefix + c.key + kindCalls}, c.id).Err(); err != nil {
		return fmt.Errorf("ratelimit: cancel %s: %w", c.key, err)
	}
	return nil
}

// Throttle tells key's limit that the provider refused a call as "too
// many" although lim allowed it; give the refused call back (Cancel) first,
// as providers do not count what they refuse. The share of lim's rate in
// force drops for every caller: by lim.Adapt.Decrease, and at least to one
// step below the share of calls answered in the last period (what the
// provider took before refusing),
// which is where recovery pauses until a probe (see Adapt). It drops at
// most once a period: the refusals that follow at once come from calls
// admitted before the drop. It returns the share now in force and whether
// this call lowered it.
func (c *Calls) Throttle(ctx context.Context, key string, lim CallLimit) (float64, bool, error) {
	if err := checkKey(key); err != nil {
		return 0, false, err
	}
	if err := lim.check(); err != nil {
		return 0, false, err
	}
	if lim.Adapt.Decrease <= 0 {
		return 1, false, nil
	}
	v, err := c.throttle.Run(ctx, c.rdb, []string{keyPrefix + key + kindAdapt, keyPrefix + key + kindCalls},
		lim.N, lim.Period.Microseconds(), lim.Adapt.Decrease, lim.Adapt.Increase,
		lim.Adapt.Quiet.Microseconds(), lim.Adapt.floor(), lim.Adapt.probe().Microseconds()).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("ratelimit: throttle %s: %w", key, err)
	}
	if len(v) != 2 {
		return 0, false, fmt.Errorf("ratelimit: unexpected script reply %v", v)
	}
	return float64(v[0]) / 1e6, v[1] == 1, nil
}

func (l CallLimit) check() error {
	a := l.Adapt
	switch {
	case l.N <= 0 || l.Period < time.Microsecond || l.Burst < 0:
		return fmt.Errorf("%w: %d calls per %s (burst %d)", ErrInvalidLimit, l.N, l.Period, l.Burst)
	case a.Decrease < 0 || a.Decrease >= 1 || a.Increase < 0 || a.Increase > 1 || a.Floor < 0 || a.Floor > 1 || a.Quiet < 0 || a.Probe < 0:
		return fmt.Errorf("%w: adapt %+v", ErrInvalidLimit, a)
	}
	return nil
}
