package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/autopipe"
	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/ratelimit"
	"github.com/herald-dispatch/herald/tasks"
)

// LimitConfig is one limit on a provider app, enforced in Redis so it holds
// across every replica and every account on the same app. Exactly one of
// Rate, Window and Concurrent is set:
//
//	rate: 1, per: 1s            at most 1 call in any rolling second
//	window: 3, per: 5m          at most 3 starts in any rolling 5 minutes
//	concurrent: 3, lease: 5m    at most 3 at once; a slot frees itself after
//	                            the lease if its holder dies
//
// Rates and windows count a call from its permit until its answer, and
// from the answer on: the provider saw the call somewhere in between, so no
// delay between permit and arrival (a loaded machine easily adds 200 ms)
// can put more calls into one of the provider's periods than it allows.
// What that costs is each call's latency once per period, plus
// limiter.headroom and limiter.margin: 1/s with 20 ms calls and the default
// 10 ms margin runs at one call every 1.03 s (97 % of the limit); 10/s
// lets 10 calls through every 1.03 s.
//
// Jobs names the actions it applies to ("push.sync"); empty means every job
// of the account.
type LimitConfig struct {
	Jobs       []string `yaml:"jobs"`
	Rate       int      `yaml:"rate"`
	Window     int      `yaml:"window"`
	Concurrent int      `yaml:"concurrent"`
	Per        Duration `yaml:"per"`
	// Burst smooths a rate: at most burst of its calls in any
	// per*burst/rate. Zero lets all rate calls go at once, which is what
	// a provider counting calls per rolling period allows.
	Burst int      `yaml:"burst"`
	Lease Duration `yaml:"lease"`
	// Hold keeps a concurrency slot after a call that may have started
	// work the provider goes on running after it answered (an Easemob push
	// task): until the job's own start (an Easemob startDate) plus lease,
	// the estimated run time.
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
	// Headroom stretches every rate and window period by this fraction,
	// and Margin adds a fixed time to it. Neither is needed to keep calls
	// apart at the provider despite scheduling jitter (see LimitConfig):
	// they cover what Herald cannot see, such as a provider that rounds its
	// clock. Each costs throughput in proportion: a 1/s limit runs at most
	// at 1/(1+headroom+margin/1s) of it.
	Headroom float64  `yaml:"headroom"`
	Margin   Duration `yaml:"margin"`
	// Adaptive lowers a rate when the provider says "too many" although
	// the rate allowed the call, for every replica, and restores it after
	// quiet times.
	Adaptive AdaptiveConfig `yaml:"adaptive"`
}

// AdaptiveConfig is AIMD on rates: each "too many" from a provider the
// limiter let through multiplies the rate in force by Decrease (at most
// once a period). After every Quiet without one it climbs back by Increase
// of the configured rate, up to one step below the rate that was refused;
// it stays there for Probe, and if the provider refuses nothing by then
// (its limit went back up) climbs on to the configured rate. While the
// provider's limit stays low, each probe costs a refusal or two.
type AdaptiveConfig struct {
	Disabled bool     `yaml:"disabled"`
	Decrease float64  `yaml:"decrease"` // default 0.5
	Increase float64  `yaml:"increase"` // default 0.1
	Quiet    Duration `yaml:"quiet"`    // default 30s
	Probe    Duration `yaml:"probe"`    // default 5m
	// Floor is the lowest share of the configured rate (default 0.05).
	Floor float64 `yaml:"floor"`
}

func (a AdaptiveConfig) adapt() ratelimit.Adapt {
	if a.Disabled {
		return ratelimit.Adapt{}
	}
	return ratelimit.Adapt{Decrease: a.Decrease, Increase: a.Increase, Quiet: a.Quiet.D(), Probe: a.Probe.D(), Floor: a.Floor}
}

// DefaultLimits are each provider's documented limits (shared/providers.md),
// applied to every account unless its config names a limit of the same name.
func DefaultLimits(p tasks.Provider) map[string]LimitConfig {
	rate := func(job string, n int, per time.Duration) LimitConfig {
		return LimitConfig{Jobs: []string{job}, Rate: n, Per: Duration(per)}
	}
	// The in_flight lease is renewed by the worker's heartbeat while the
	// call runs, so it only needs to outlast a missed beat or two: a
	// killed worker's slots come back within it.
	inFlight := LimitConfig{Concurrent: 10, Lease: Duration(attemptLease)}
	switch p {
	case tasks.Easemob:
		return map[string]LimitConfig{
			"push_sync":   rate("push.sync", 1, time.Second),
			"push_async":  rate("push.async", 100, time.Second), // the REST default
			"push_single": rate("push.single", 10, time.Second),
			"push_label":  rate("push.label", 10, time.Second),
			"push_task":   rate("push.task", 1, time.Second),
			// Label and all-users pushes create push tasks: 3 per 5 minutes,
			// 3 running. A task counts as running from its creation until
			// its startDate (or creation) plus its run time, which Easemob
			// does not report: the lease is that estimate.
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
		// in front of it has one. It then adapts to the gateway's 429s.
		return map[string]LimitConfig{"in_flight": inFlight}
	}
	return nil
}

// LimitScope names what a provider limits, the part of every limit key
// between the provider and the limit's name: the app, not the Herald
// account, so two accounts on one app share its limits. Account builders
// pass the app's identity: Easemob's org and app names, DingTalk's app key,
// Feishu's app id, EnOS's app key:
//
//	LimitScope(a.OrgName, a.AppName)   // easemob: "herald#demo", the AppKey
//	LimitScope(a.AppKey)               // dingtalk, enos
//	LimitScope(a.AppID)                // feishu
//
// Accounts on one app should configure the same limits: each decision uses
// its own account's numbers on the shared state.
func LimitScope(ids ...string) string { return strings.Join(ids, "#") }

// checkScope rejects a scope that would break a limit key's Redis Cluster
// hash tag.
func checkScope(scope string) error {
	if scope == "" || strings.ContainsAny(scope, "{}") {
		return fmt.Errorf("limit scope %q must be non-empty and free of '{' and '}'", scope)
	}
	return nil
}

// resolveLimits lays an account's configured limits over the provider's
// defaults and orders them for admit: rates first, since that is where jobs
// wait; then concurrency slots, taken only once the job is about to go, so a
// waiting job holds none; windows last, because a window's starts are the
// scarcest and must not be spent on a job another limit then turns away.
// scope is the app's LimitScope; callTimeout bounds one call, the longest
// a call counts as in flight.
func resolveLimits(p tasks.Provider, scope string, configured map[string]LimitConfig, lc LimiterConfig, callTimeout time.Duration) []limit {
	merged := DefaultLimits(p)
	for name, c := range configured {
		merged[name] = c
	}
	var out []limit
	for name, c := range merged {
		if c.Disabled {
			continue
		}
		stretch := func(d Duration) time.Duration {
			return time.Duration(float64(d)*(1+lc.Headroom)) + lc.Margin.D()
		}
		l := limit{
			name: name, scope: scope, key: string(p) + ":" + scope + ":" + name, jobs: c.Jobs, cfg: c,
			inFlight: callTimeout + time.Second,
		}
		switch {
		case c.Rate > 0:
			l.kind = kindRate
			l.calls = ratelimit.CallLimit{N: c.Rate, Period: stretch(c.Per), Burst: c.Burst, Adapt: lc.Adaptive.adapt()}
		case c.Concurrent > 0:
			l.kind = kindConcurrent
		default:
			l.kind = kindWindow
			l.calls = ratelimit.CallLimit{N: c.Window, Period: stretch(c.Per)}
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
	name  string
	scope string // the app's LimitScope
	key   string // "easemob:herald#demo:push_sync": the limiter's Redis key
	jobs  []string
	kind  limitKind
	calls ratelimit.CallLimit // rates and windows
	cfg   LimitConfig
	// inFlight is the longest a call counts as unanswered: the call's
	// timeout and a second.
	inFlight time.Duration
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
	// pipes carries a job's decisions and settles, with its records, in
	// pipelines shared with other jobs' (see admitAtOnce, permit.settle).
	pipes   *autopipe.Batcher
	pools   *callPools
	slots   *slotPools
	calls   *ratelimit.Calls
	conc    *ratelimit.Concurrency
	cool    *ratelimit.Cooldown
	maxWait time.Duration
	metrics *Metrics
	sleep   func(context.Context, time.Duration) error
	// inflight retries a release that failed (Redis away) in the
	// background; nil releases once.
	inflight *inflight
}

func newLimiter(rdb redis.UniversalClient, cfg LimiterConfig, m *Metrics, f *inflight) *limiter {
	l := &limiter{
		pipes: autopipe.New(rdb),
		calls: ratelimit.NewCalls(rdb), conc: ratelimit.NewConcurrency(rdb), cool: ratelimit.NewCooldown(rdb),
		maxWait: cfg.MaxWait.D(), metrics: m, sleep: sleepCtx, inflight: f,
	}
	l.pools = &callPools{calls: l.calls, cool: l.cool, pipes: l.pipes, inflight: f}
	l.slots = &slotPools{conc: l.conc, cool: l.cool, pipes: l.pipes, inflight: f}
	return l
}

// permit is what admit hands back: the calls it counted and the slots it
// took, to settle after the call.
type permit struct {
	calls []*ratelimit.Call
	// giveBack marks window starts, which are given back when the call
	// certainly started nothing: the provider counts what it created.
	giveBack []bool
	leases   []*ratelimit.Lease
	// run is each Hold slot's estimated run time after the job's start;
	// 0 for a slot released after the call.
	run []time.Duration
	// lease is each slot's lease, renewed by the heartbeat during the call.
	lease []time.Duration
	// taken is when each slot was taken from Redis, zero where admit
	// waited for it: a slot released after the call may be kept for the
	// next job (see slotPools).
	taken    []time.Time
	slots    *slotPools
	inflight *inflight
}

// releaseLease gives slot i back, retrying in the background if Redis does
// not answer.
func (p *permit) releaseLease(ctx context.Context, i int) {
	if p.inflight != nil {
		p.inflight.releaseLater(p.leases[i], p.lease[i])
		return
	}
	_ = p.leases[i].Release(ctx)
}

// release gives everything back: the call was never made.
func (p *permit) release(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, c := range p.calls {
		_ = c.Cancel(ctx)
	}
	for i := range p.leases {
		if p.run[i] == 0 && p.slots.keep(p.leases[i], p.taken[i]) {
			continue
		}
		p.releaseLease(ctx, i)
	}
}

// callOutcome is what a call's result means for the limits it held.
type callOutcome struct {
	// answered: a reply came back, so the provider has seen the call by
	// now. Unanswered calls count as in flight until their time runs out.
	answered bool
	// started: the provider may have started work (success, or a fate
	// unknown such as a timeout or a 5xx).
	started bool
	// refused: the provider refused the call as too many. Providers count
	// what they serve, so the call is given back (one that counts refusals
	// shows it with more 429s, and the rate adapts). A call turned away
	// for its token still counts: its retry is a call of its own.
	refused bool
	// keepHeld keeps Hold slots taken until start plus their run time:
	// for work started, or as a stand-in for a task the provider says
	// occupies a slot Herald thought free.
	keepHeld bool
	// start is when the job's work starts at the provider (an Easemob
	// startDate); zero means now.
	start time.Time
}

// settle settles every call and gives back (or keeps held) every slot in
// one round trip on pipe, but for the calls answered, which go to pools to
// be marked so with other jobs' (see callPools.answered). A release that
// fails is retried in the background (see releaseLease); a lost Done or
// Cancel leaves the call counted until its time in flight runs out, which
// errs on the safe side.
func (p *permit) settle(ctx context.Context, pipe redis.Pipeliner, o callOutcome, pools *callPools) {
	ctx = context.WithoutCancel(ctx)
	var settled []func() error // read even when ignored: a NOSCRIPT runs again then
	var answered []*ratelimit.Call
	for i, c := range p.calls {
		switch {
		case o.refused, p.giveBack[i] && !o.started:
			settled = append(settled, c.CancelIn(ctx, pipe))
		case o.answered:
			answered = append(answered, c)
		}
	}
	pools.answered(answered)
	released := make([]func() error, len(p.leases))
	kept := make([]bool, len(p.leases))
	for i, l := range p.leases {
		if p.run[i] > 0 && o.keepHeld {
			continue
		}
		if p.run[i] == 0 && p.slots.keep(l, p.taken[i]) {
			kept[i] = true
			continue
		}
		released[i] = l.ReleaseIn(ctx, pipe)
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx) // each command's error is read below
	}
	for _, read := range settled {
		_ = read()
	}
	for i, l := range p.leases {
		if kept[i] {
			continue
		}
		if released[i] == nil {
			_, _ = l.Extend(ctx, max(time.Until(o.start), 0)+p.run[i])
			continue
		}
		if err := released[i](); err != nil {
			p.releaseLease(ctx, i)
		}
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
			d, err := l.try(ctx, p, lim, &pm)
			if err != nil {
				pm.release(ctx)
				return permit{}, fmt.Errorf("limit %s: %w", lim.name, err)
			}
			if d.Allowed {
				break
			}
			poll, reschedule := lim.wait(d)
			if waited+poll > maxWait {
				pm.release(ctx)
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
				pm.release(ctx)
				return permit{}, err
			}
			waited += poll
			l.metrics.limiterWait(p, lim.name, time.Since(start))
		}
	}
	return pm, nil
}

// admitAtOnce queues on pipe a decision from every limit on action, to go
// in one round trip with the job's other checks, which is all a job pays
// while its limits are not binding. The decisions are independent (each
// limit its own key and hash slot; on Cluster one trip per node). The
// returned func, called once pipe has run, reports false, having given
// back what it took, when a limit said no or Redis failed: admit then asks
// one limit at a time, in order, waiting where it must. Windows are never
// asked here: their starts are the scarcest, and must not be taken
// (however briefly) for a job another limit turns away.
func (l *limiter) admitAtOnce(ctx context.Context, pipe redis.Pipeliner, p tasks.Provider, action string, limits []limit) func() (permit, bool) {
	for _, lim := range limits {
		if lim.kind == kindWindow && lim.appliesTo(action) {
			return func() (permit, bool) { return permit{}, false }
		}
	}
	var reads []func(*permit) bool
	// By index: a closure below keeps its limit, and a range variable it
	// captured would be a heap copy of every limit, on every job.
	for i := range limits {
		if !limits[i].appliesTo(action) {
			continue
		}
		switch lim := &limits[i]; lim.kind {
		case kindConcurrent:
			hold := l.slots.holdIn(ctx, pipe, *lim)
			reads = append(reads, func(pm *permit) bool {
				lease, taken, ok := hold()
				if lease != nil {
					l.addLease(pm, *lim, lease, taken)
				}
				return ok
			})
		default:
			reads = append(reads, l.pools.reserveIn(ctx, pipe, *lim, l.metrics, p))
		}
	}
	return func() (permit, bool) {
		var pm permit
		ok := true
		for _, read := range reads {
			ok = read(&pm) && ok
		}
		if !ok {
			pm.release(ctx)
		}
		return pm, ok
	}
}

// addLease adds a slot lim granted to pm, taken from Redis at taken.
func (l *limiter) addLease(pm *permit, lim limit, lease *ratelimit.Lease, taken time.Time) {
	var run time.Duration
	if lim.cfg.Hold {
		run = lim.cfg.Lease.D()
	}
	pm.leases = append(pm.leases, lease)
	pm.run = append(pm.run, run)
	pm.lease = append(pm.lease, lim.cfg.Lease.D())
	pm.taken = append(pm.taken, taken)
	pm.slots = l.slots
	pm.inflight = l.inflight
}

// try asks lim once and adds what it grants to pm.
func (l *limiter) try(ctx context.Context, p tasks.Provider, lim limit, pm *permit) (ratelimit.Decision, error) {
	if lim.kind == kindConcurrent {
		lease, d, err := l.conc.Hold(ctx, lim.key, lim.cfg.Concurrent, lim.cfg.Lease.D())
		if lease != nil {
			l.addLease(pm, lim, lease, time.Time{})
		}
		return d, err
	}
	call, d, err := l.calls.Reserve(ctx, lim.key, lim.calls, lim.inFlight)
	if err != nil {
		return d, err
	}
	if lim.kind == kindRate && !d.Blocked {
		l.metrics.effectiveRate(p, lim, d.Share)
	}
	if call != nil {
		pm.addCall(call, lim.kind == kindWindow)
	}
	return d, nil
}

// addCall adds a call a limit granted to pm; giveBack marks a window start.
func (pm *permit) addCall(c *ratelimit.Call, giveBack bool) {
	pm.calls = append(pm.calls, c)
	pm.giveBack = append(pm.giveBack, giveBack)
}

// settle ends a call's permit by what its result says, and teaches the
// limits what a refusal means. It returns err, whose RetryAfter it may set:
//
//   - A refusal because the provider's task slots are full (Easemob's 403
//     LimitException) means the model of running tasks missed one: the
//     job's own slot stays taken for a run time as a stand-in, the job's
//     window start is given back (nothing was created), and the job is
//     rescheduled for when the model next frees a slot. No cool-down: other
//     jobs of the provider are not affected.
//   - "Too many requests" sets a cool-down every replica honours and lowers
//     the rates the call passed (see AdaptiveConfig).
//
// The settles go on pipe, with whatever the caller queued there (the
// delivery record), in one round trip.
func (l *limiter) settle(ctx context.Context, pipe redis.Pipeliner, info *taskInfo, acct *Account, job tasks.Job, pm *permit, err error) error {
	var pe *providers.Error
	isPE := errors.As(err, &pe)
	capped := isPE && capRefusal(info.provider, pe)
	o := callOutcome{
		answered: err == nil || (isPE && pe.Status != 0),
		started:  mayHaveStarted(err),
		start:    jobStart(job, acct.Env.Zone),
	}
	o.keepHeld = o.started || capped
	o.refused = isPE && !capped && pe.Class == providers.RateLimited
	action := actionOf(info.typ)
	if o.refused {
		// The cool-down goes up before the refused call's place is given
		// back: the other way round, another replica could take that place
		// in between and call inside the cool-down.
		l.metrics.throttled(info.provider, info.typ)
		pe.RetryAfter = l.block(ctx, action, acct.limits, pe.RetryAfter)
		l.pools.dropAll(coolTargets(action, acct.limits))
		l.slots.dropAll(coolTargets(action, acct.limits))
		pm.settle(ctx, pipe, o, l.pools)
		// The rates drop once the refused call is given back and the calls
		// answered before are marked so: Throttle bounds the provider's
		// limit by them (see ratelimit.Calls.Throttle).
		l.pools.markAnswered()
		l.throttle(ctx, info.provider, action, acct.limits)
		return err
	}
	pm.settle(ctx, pipe, o, l.pools)
	if capped {
		if d := l.nextSlot(ctx, action, acct.limits); d > 0 {
			pe.RetryAfter = d
		}
	}
	return err
}

// capRefusal recognises a provider's "your tasks are at their cap", which
// Herald models with Hold slots and windows rather than a rate: Easemob's
// 403 LimitException.
func capRefusal(p tasks.Provider, pe *providers.Error) bool {
	return p == tasks.Easemob && pe.Status == http.StatusForbidden && pe.Code == "LimitException"
}

// nextSlot is how long until every Hold limit on action has a slot free by
// the model (the earliest lease among its holders runs out); 0 if there is
// none.
func (l *limiter) nextSlot(ctx context.Context, action string, limits []limit) time.Duration {
	var longest time.Duration
	for _, lim := range limits {
		if lim.kind != kindConcurrent || !lim.cfg.Hold || !lim.appliesTo(action) {
			continue
		}
		if d, err := l.conc.NextFree(ctx, lim.key); err == nil && d > longest {
			longest = d
		}
	}
	return longest
}

// jobStart is when a job's work starts at the provider: an Easemob push
// task's startDate, read in the account's zone; zero (now) otherwise.
func jobStart(job tasks.Job, zone *time.Location) time.Time {
	var s string
	switch j := job.(type) {
	case *tasks.EasemobPushTask:
		s = j.StartDate
	case *tasks.EasemobPushLabel:
		s = j.StartDate
	}
	if s == "" {
		return time.Time{}
	}
	if zone == nil {
		zone = tasks.ChinaStandardTime()
	}
	t, err := time.ParseInLocation(time.DateTime, s, zone)
	if err != nil {
		return time.Time{} // validated before the call; cannot happen
	}
	return t
}

// coolTargets are the limits a provider's own "too many requests" for
// action cools down: the limits specific to the action, or the account-wide
// ones if it has none of its own.
func coolTargets(action string, limits []limit) []limit {
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
	return targets
}

// block spreads a provider's own "too many requests" to every replica:
// the action's coolTargets are blocked for the provider's Retry-After (a
// second if it gave none). It returns the cool-down in force.
func (l *limiter) block(ctx context.Context, action string, limits []limit, retryAfter time.Duration) time.Duration {
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	longest := retryAfter
	for _, lim := range coolTargets(action, limits) {
		if d, err := l.cool.Block(ctx, lim.key, retryAfter); err == nil && d > longest {
			longest = d
		}
	}
	return longest
}

// throttle lowers the rates among the action's coolTargets (see
// AdaptiveConfig), once the refused call has been given back.
func (l *limiter) throttle(ctx context.Context, p tasks.Provider, action string, limits []limit) {
	for _, lim := range coolTargets(action, limits) {
		if lim.kind != kindRate {
			continue
		}
		if share, _, err := l.calls.Throttle(ctx, lim.key, lim.calls); err == nil {
			l.metrics.effectiveRate(p, lim, share)
		}
	}
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
