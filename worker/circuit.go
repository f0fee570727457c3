package worker

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/pipescript"
	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

//go:embed circuit.lua
var circuitLua string

// CircuitConfig shapes the circuit breaker every account has. After
// Failures transient failures in a row (5xx, timeouts, connection errors,
// a token that cannot be had) the account's circuit opens for all
// replicas: no job is sent to it, and jobs that meet the open circuit are
// rescheduled without using up a retry, so an outage of any length
// archives nothing. Every Probe one job goes through; the first answer
// closes the circuit again.
type CircuitConfig struct {
	Disabled bool     `yaml:"disabled"`
	Failures int      `yaml:"failures"` // default 5
	Probe    Duration `yaml:"probe"`    // default 30s
}

func (c CircuitConfig) check() error {
	if c.Disabled {
		return nil
	}
	if c.Failures < 1 {
		return &ConfigError{Key: "circuit.failures", Rule: "must be at least 1"}
	}
	if c.Probe < Duration(10*time.Millisecond) {
		return &ConfigError{Key: "circuit.probe", Rule: "must be at least 10ms"}
	}
	return nil
}

// circuits are the accounts' breakers, kept in Redis under
// herald:circuit:{provider:account}.
type circuits struct {
	rdb     redis.Scripter
	script  *redis.Script
	cfg     CircuitConfig
	metrics *Metrics

	mu    sync.Mutex
	reads map[string]circuitRead
}

// circuitRead is what this worker last learnt of a circuit: when it read
// it closed with no failure counted (for circuitFresh after that, jobs go
// without reading it again), and when a call of its own last failed
// (which voids any reading sent before).
type circuitRead struct{ clean, failed time.Time }

// circuitFresh is how long a circuit read closed and clean is taken to be
// so without asking Redis: a circuit another replica opens stops this
// one's calls this much later at most, while a busy account's jobs save a
// read each. A failure of this worker's own forgets the reading at once.
const circuitFresh = 50 * time.Millisecond

func newCircuits(rdb redis.Scripter, cfg CircuitConfig, m *Metrics) *circuits {
	return &circuits{rdb: rdb, script: redis.NewScript(circuitLua), cfg: cfg, metrics: m, reads: map[string]circuitRead{}}
}

// cleanSince reports whether key was read closed and clean within
// circuitFresh of now, and no call failed since.
func (c *circuits) cleanSince(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads[key]
	return r.clean.After(r.failed) && now.Sub(r.clean) < circuitFresh
}

// read records what a read of key sent at found.
func (c *circuits) read(key string, at time.Time, clean bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads[key]
	if !clean {
		r.clean = time.Time{}
	} else if at.After(r.failed) {
		r.clean = at
	}
	c.reads[key] = r
}

// failed records that a call to key's account failed now.
func (c *circuits) failed(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads[key]
	r.failed = time.Now()
	c.reads[key] = r
}

func circuitKey(p tasks.Provider, account string) string {
	return "herald:circuit:{" + string(p) + ":" + account + "}"
}

func (c *circuits) run(ctx context.Context, info *taskInfo, op string) ([]int64, error) {
	return c.script.Run(ctx, c.rdb, []string{circuitKey(info.provider, info.account)},
		op, c.cfg.Failures, c.cfg.Probe.D().Microseconds()).Int64Slice()
}

// errCircuitOpen is the error of a job that met an open circuit: not a
// failure (it uses up no retry), rescheduled for the next probe.
func errCircuitOpen(info *taskInfo, wait time.Duration) error {
	return &providers.Error{
		Provider: string(info.provider), Op: actionOf(info.typ), Class: providers.RateLimited,
		Code: codeCircuitOpen, Message: "circuit open: the account's calls keep failing; waiting for a probe to succeed",
		RetryAfter: wait,
	}
}

const codeCircuitOpen = "herald_circuit_open"

// passage is what the circuit said before a call.
type passage struct {
	// probe: the circuit is open and this call is the one let through to
	// test it.
	probe bool
	// clean: the circuit was closed with no failures counted, so a success
	// has nothing to reset (see recordIn).
	clean bool
}

// allow asks the account's circuit before a call, queued on pipe with the
// job's limit decisions; the answer is the returned func's once pipe has
// run. A closed circuit is read with a plain HMGET, and one found closed
// and clean is not read again for circuitFresh (see circuitRead): that is
// all a healthy account's jobs pay. Only an open one runs the script, which
// elects the probe. An error from Redis lets the call go: the breaker
// protects the provider, and the limits still hold.
func (c *circuits) allow(ctx context.Context, pipe redis.Pipeliner, info *taskInfo) func() (passage, error) {
	if c == nil || c.cfg.Disabled {
		return func() (passage, error) { return passage{clean: true}, nil }
	}
	key := circuitKey(info.provider, info.account)
	now := time.Now()
	if c.cleanSince(key, now) {
		return func() (passage, error) { return passage{clean: true}, nil }
	}
	state := pipe.HMGet(ctx, key, "state", "fails")
	return func() (passage, error) {
		v, err := state.Result()
		if err != nil || len(v) < 2 {
			return passage{}, nil
		}
		if v[0] != "open" {
			c.read(key, now, v[1] == nil)
			return passage{clean: v[1] == nil}, nil
		}
		c.read(key, now, false)
		w, err := c.run(ctx, info, "check")
		if err != nil || len(w) == 0 {
			return passage{}, nil
		}
		switch w[0] {
		case 1:
			info.log.Info().Msg("circuit open: probing the account with this job")
			return passage{probe: true}, nil
		case 2:
			wait := time.Duration(w[1]) * time.Microsecond
			c.metrics.circuit(info.provider, info.account, true)
			return passage{}, errCircuitOpen(info, wait+time.Duration(len(info.id)%10)*time.Millisecond)
		}
		return passage{}, nil
	}
}

// recordIn tells the circuit how a call went, and turns the transient
// failure of a probe (or of the call that opened the circuit) into
// errCircuitOpen so the job keeps its retries. It is queued on pipe, to go
// with the call's settles; the returned func takes the call's error as the
// limits left it.
//
// A success on a clean circuit writes nothing: there is no streak to end.
// A failure another replica counts between this call's check and its
// answer then stays counted, so a streak may span a success that started
// before it; in an outage that is the right call anyway.
func (c *circuits) recordIn(ctx context.Context, pipe redis.Pipeliner, info *taskInfo, pass passage, callErr error) func(error) error {
	op := circuitOp(callErr)
	if c == nil || c.cfg.Disabled || op == "" || (op == "ok" && pass.clean) {
		return func(err error) error { return err }
	}
	key := circuitKey(info.provider, info.account)
	if op == "fail" {
		c.failed(key)
	}
	q := pipescript.Queue(context.WithoutCancel(ctx), pipe, c.rdb, c.script, []string{key},
		op, c.cfg.Failures, c.cfg.Probe.D().Microseconds())
	return func(callErr error) error {
		v, err := q.Result(context.WithoutCancel(ctx)).Int64Slice()
		return c.recorded(info, op, callErr, v, err)
	}
}

// circuitOp is what a call's outcome tells the circuit: "ok" (the provider
// answered), "fail", or "" (nothing).
func circuitOp(callErr error) string {
	if callErr == nil {
		return "ok"
	}
	var pe *providers.Error
	switch providers.ClassOf(callErr) {
	case providers.Transient:
		// Only what the provider's HTTP said (a 5xx, a transport error);
		// Herald's own transient waits (a DingTalk send not yet sent) are
		// no sign of an outage.
		if errors.As(callErr, &pe) && pe.Status == 0 && pe.Err == nil {
			return ""
		}
		return "fail"
	case providers.Permanent:
		return "ok" // the provider answered
	default:
		// A 429, a 401: the provider answered too, so it is up. Herald's
		// own "not now" (no HTTP status) says nothing either way.
		if errors.As(callErr, &pe) && pe.Status != 0 {
			return "ok"
		}
	}
	return ""
}

// recorded reads the circuit script's answer to op.
func (c *circuits) recorded(info *taskInfo, op string, callErr error, v []int64, err error) error {
	if err != nil || len(v) < 2 {
		return callErr
	}
	open, changed := v[0] == 1, v[1] == 1
	if changed {
		c.metrics.circuit(info.provider, info.account, open)
		if open {
			info.log.Error().Err(callErr).Int("failures", c.cfg.Failures).Dur("probe_every", c.cfg.Probe.D()).
				Msg("circuit opened: the account's calls keep failing; jobs wait without using retries")
		} else {
			info.log.Info().Msg("circuit closed: the account answers again")
		}
	}
	if open && op == "fail" {
		return fmt.Errorf("%w (%w)", errCircuitOpen(info, c.cfg.Probe.D()), callErr)
	}
	return callErr
}
