package worker

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/ratelimit"
	"github.com/herald-dispatch/herald/tasks"
)

// LimitConfig is one limit on a provider account, enforced in Redis so it
// holds across every replica. Exactly one of Rate, Window and Concurrent is
// set:
//
//	rate: 1, per: 1s            GCRA: 1 call a second (burst 1 unless set)
//	window: 3, per: 5m          at most 3 starts in any rolling 5 minutes
//	concurrent: 3, lease: 5m    at most 3 at once; a slot frees itself after
//	                            the lease if its holder dies
//
// Jobs names the actions it applies to ("push.sync"); empty means every job
// of the account.
type LimitConfig struct {
	Jobs       []string `yaml:"jobs"`
	Rate       int      `yaml:"rate"`
	Window     int      `yaml:"window"`
	Concurrent int      `yaml:"concurrent"`
	Per        Duration `yaml:"per"`
	Burst      int      `yaml:"burst"`
	Lease      Duration `yaml:"lease"`
	// Hold keeps a concurrency slot for its whole lease after a successful
	// call, for work the provider goes on running after it answered (an
	// Easemob push task).
	Hold bool `yaml:"hold"`
	// Disabled switches off a default limit of the same name.
	Disabled bool `yaml:"disabled"`
}

// LimiterConfig tunes how the worker waits for limits.
type LimiterConfig struct {
	// MaxWait is the longest a job waits inside its handler for a limit,
	// in total. A job that would wait longer is handed back to the queue to
	// run when the limiter says, without counting as a failed attempt.
	MaxWait Duration `yaml:"max_wait"`
	// Headroom stretches every rate and window period by this fraction, so
	// the jitter between our decision and the request's arrival at the
	// provider never puts two calls inside the provider's own window.
	Headroom float64 `yaml:"headroom"`
}

// DefaultLimits are each provider's documented limits (shared/providers.md),
// applied to every account unless its config names a limit of the same name.
func DefaultLimits(p tasks.Provider) map[string]LimitConfig {
	rate := func(job string, n int, per time.Duration) LimitConfig {
		return LimitConfig{Jobs: []string{job}, Rate: n, Per: Duration(per), Burst: 1}
	}
	inFlight := LimitConfig{Concurrent: 10, Lease: Duration(2 * time.Minute)}
	switch p {
	case tasks.Easemob:
		return map[string]LimitConfig{
			"push_sync":   rate("push.sync", 1, time.Second),
			"push_async":  rate("push.async", 100, time.Second), // the REST default
			"push_single": rate("push.single", 10, time.Second),
			"push_label":  rate("push.label", 10, time.Second),
			"push_task":   rate("push.task", 1, time.Second),
			// Label and all-users pushes create push tasks: 3 per 5 minutes,
			// 3 running. When a task finishes is not reported, so a running
			// slot is held for a lease as long as the creation window.
			"tasks_created": {Jobs: []string{"push.label", "push.task"}, Window: 3, Per: Duration(5 * time.Minute)},
			"tasks_running": {Jobs: []string{"push.label", "push.task"}, Concurrent: 3, Lease: Duration(5 * time.Minute), Hold: true},
			"in_flight":     inFlight,
		}
	case tasks.DingTalk:
		// 20 QPS per app per API.
		m := map[string]LimitConfig{"in_flight": inFlight}
		for _, a := range []string{"send", "progress", "result", "status_bar", "recall"} {
			m[a] = rate("work_notice."+a, 20, time.Second)
		}
		return m
	case tasks.Feishu:
		return map[string]LimitConfig{
			"execute_send": rate("execute_send", 10, time.Minute),
			"in_flight":    inFlight,
		}
	case tasks.EnOS:
		// EnOS documents no rate limit; set one per account if the gateway
		// in front of it has one.
		return map[string]LimitConfig{"in_flight": inFlight}
	}
	return nil
}

// resolveLimits lays an account's configured limits over the provider's
// defaults and orders them for admit: rates first, since that is where jobs
// wait; then concurrency slots, taken only once the job is about to go, so a
// waiting job holds none; windows last, because a window's starts are the
// scarcest and must not be spent on a job another limit then turns away.
func resolveLimits(p tasks.Provider, account string, configured map[string]LimitConfig, lc LimiterConfig) []limit {
	merged := DefaultLimits(p)
	for name, c := range configured {
		merged[name] = c
	}
	var out []limit
	for name, c := range merged {
		if c.Disabled {
			continue
		}
		stretch := func(d Duration) time.Duration { return time.Duration(float64(d) * (1 + lc.Headroom)) }
		l := limit{name: name, key: string(p) + ":" + account + ":" + name, jobs: c.Jobs, cfg: c}
		switch {
		case c.Rate > 0:
			l.kind, l.rate = kindRate, ratelimit.Limit{Rate: c.Rate, Period: stretch(c.Per), Burst: max(c.Burst, 1)}
		case c.Concurrent > 0:
			l.kind = kindConcurrent
		default:
			l.kind, l.period = kindWindow, stretch(c.Per)
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind < out[j].kind
		}
		return out[i].name < out[j].name
	})
	return out
}

// checkLimit returns the rule a limit config breaks, or "".
func checkLimit(c LimitConfig) string {
	if c.Disabled {
		return ""
	}
	kinds := 0
	for _, n := range []int{c.Rate, c.Window, c.Concurrent} {
		if n < 0 {
			return "rate, window and concurrent must not be negative"
		}
		if n > 0 {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return "set exactly one of rate, window or concurrent"
	case c.Concurrent > 0 && c.Lease <= 0:
		return "concurrent needs a positive lease"
	case c.Concurrent == 0 && c.Per <= 0:
		return "rate and window need a positive per"
	case c.Burst < 0:
		return "burst must not be negative"
	}
	return ""
}

// limitKind orders limits within admit.
type limitKind int

const (
	kindRate limitKind = iota
	kindConcurrent
	kindWindow
)

// slotPoll is how often a job waiting for a concurrency slot that is
// released after each call looks again. The limiter's RetryAfter for such
// a slot is when the oldest lease would run out, which is only an upper
// bound: holders usually give their slots back long before.
const slotPoll = 100 * time.Millisecond

// limit is one resolved limit of one account.
type limit struct {
	name   string
	key    string // "easemob:default:push_sync": the limiter's Redis key
	jobs   []string
	kind   limitKind
	rate   ratelimit.Limit
	period time.Duration
	cfg    LimitConfig
}

// wait is how long to wait before asking again after a denial, and how
// long to reschedule for when that is too long.
func (l limit) wait(d ratelimit.Decision) (poll, reschedule time.Duration) {
	if l.kind == kindConcurrent && !l.cfg.Hold && !d.Blocked {
		return min(d.RetryAfter, slotPoll), min(d.RetryAfter, time.Second)
	}
	return d.RetryAfter, d.RetryAfter
}

func (l limit) appliesTo(action string) bool {
	return len(l.jobs) == 0 || slices.Contains(l.jobs, action)
}

// limiter holds jobs to their account's limits.
type limiter struct {
	rate    *ratelimit.Rate
	window  *ratelimit.Window
	conc    *ratelimit.Concurrency
	cool    *ratelimit.Cooldown
	maxWait time.Duration
	metrics *Metrics
	sleep   func(context.Context, time.Duration) error
}

func newLimiter(rdb redis.UniversalClient, cfg LimiterConfig, m *Metrics) *limiter {
	return &limiter{
		rate: ratelimit.NewRate(rdb), window: ratelimit.NewWindow(rdb),
		conc: ratelimit.NewConcurrency(rdb), cool: ratelimit.NewCooldown(rdb),
		maxWait: cfg.MaxWait.D(), metrics: m, sleep: sleepCtx,
	}
}

// permit is what admit hands back: the leases it took, to give back after
// the call.
type permit struct {
	leases []*ratelimit.Lease
	hold   []bool
}

// release gives back the slots the call held. A Hold slot stays taken
// until its lease runs out if the provider may have started work that goes
// on (startedRemote); every other slot is released now.
func (p permit) release(ctx context.Context, startedRemote bool) {
	for i, l := range p.leases {
		if p.hold[i] && startedRemote {
			continue
		}
		_ = l.Release(context.WithoutCancel(ctx))
	}
}

// mayHaveStarted reports whether a call that ended with err may have left
// work running at the provider: it succeeded, or its fate is unknown (a
// timeout, a 5xx).
func mayHaveStarted(err error) bool {
	return err == nil || providers.ClassOf(err) == providers.Transient
}

// admit waits for every limit that applies to the job's action, up to
// maxWait in all. When a limit would keep the job longer it returns a
// RateLimited *providers.Error whose RetryAfter is the limiter's, and the
// worker reschedules the job without counting an attempt.
func (l *limiter) admit(ctx context.Context, p tasks.Provider, action string, limits []limit, maxWait time.Duration) (permit, error) {
	var pm permit
	var waited time.Duration
	for _, lim := range limits {
		if !lim.appliesTo(action) {
			continue
		}
		for {
			d, lease, err := l.try(ctx, lim)
			if err != nil {
				pm.release(ctx, false)
				return permit{}, fmt.Errorf("limit %s: %w", lim.name, err)
			}
			if d.Allowed {
				if lease != nil {
					pm.leases = append(pm.leases, lease)
					pm.hold = append(pm.hold, lim.cfg.Hold)
				}
				break
			}
			poll, reschedule := lim.wait(d)
			if waited+poll > maxWait {
				pm.release(ctx, false)
				why := "limit " + lim.name + " reached"
				if d.Blocked {
					why = "provider asked us to slow down (cool-down on " + lim.name + ")"
				}
				return permit{}, &providers.Error{
					Provider: string(p), Op: action, Class: providers.RateLimited,
					Code: "herald_limit", Message: why, RetryAfter: reschedule,
				}
			}
			start := time.Now()
			if err := l.sleep(ctx, poll); err != nil {
				pm.release(ctx, false)
				return permit{}, err
			}
			waited += poll
			l.metrics.limiterWait(p, lim.name, time.Since(start))
		}
	}
	return pm, nil
}

func (l *limiter) try(ctx context.Context, lim limit) (ratelimit.Decision, *ratelimit.Lease, error) {
	switch lim.kind {
	case kindConcurrent:
		lease, d, err := l.conc.Hold(ctx, lim.key, lim.cfg.Concurrent, lim.cfg.Lease.D())
		return d, lease, err
	case kindRate:
		d, err := l.rate.Allow(ctx, lim.key, lim.rate)
		return d, nil, err
	default:
		d, err := l.window.Allow(ctx, lim.key, lim.cfg.Window, lim.period)
		return d, nil, err
	}
}

// coolDown spreads a provider's own "too many requests" to every replica:
// the limits specific to the action are blocked for the provider's
// Retry-After (a second if it gave none); an action with no limit of its
// own blocks the account-wide ones. It returns the cool-down in force.
func (l *limiter) coolDown(ctx context.Context, action string, limits []limit, retryAfter time.Duration) time.Duration {
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	var targets []limit
	for _, lim := range limits {
		if slices.Contains(lim.jobs, action) {
			targets = append(targets, lim)
		}
	}
	if len(targets) == 0 {
		for _, lim := range limits {
			if len(lim.jobs) == 0 {
				targets = append(targets, lim)
			}
		}
	}
	longest := retryAfter
	for _, lim := range targets {
		if d, err := l.cool.Block(ctx, lim.key, retryAfter); err == nil && d > longest {
			longest = d
		}
	}
	return longest
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// actionOf is the part of a task type after the provider: "push.sync".
func actionOf(taskType string) string {
	_, action, _ := strings.Cut(taskType, ":")
	return action
}
