package worker

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/ratelimit"
)

// attemptLease is how long a call's attempt record counts as running
// without a heartbeat. A worker renews it every attemptLease/3, so a
// killed worker's calls are known to be in doubt (not running) within
// this long.
const attemptLease = 15 * time.Second

// call is one provider call this worker has out: the slots it holds and
// its attempt record, renewed together by the heartbeat.
type call struct {
	record recordKey // "": no delivery record
	owner  string
	leases []heldLease
}

type heldLease struct {
	lease *ratelimit.Lease
	d     time.Duration
}

// inflight is this worker's running calls. One heartbeat goroutine renews
// every slot and attempt record they hold, a round trip or two for all of
// them, so leases can be short: a worker that dies stops renewing and its
// slots come back within a lease (15 s for in_flight) rather than after
// the longest call could take.
//
// It also lets a stopping worker finish what it has sent: Run waits for
// calls to end and their records to be written (see drain), whatever
// asynq's shutdown timeout did to their tasks.
type inflight struct {
	conc    *ratelimit.Concurrency
	records records
	log     zerolog.Logger
	metrics *Metrics

	mu    sync.Mutex
	calls map[*call]struct{}
	wg    sync.WaitGroup // calls out, records being written, releases retried
	// n is wg's count, and draining is set when drain starts: from then
	// on nothing new is tracked unless something still is (n > 0), so no
	// call starts after drain and wg.Add never races a Wait at zero.
	n        int
	draining bool

	// stop ends the retries of records and releases: cancelled when the
	// worker stops waiting for them.
	stop     context.Context
	cancel   context.CancelFunc
	beatOnce sync.Once
}

func newInflight(conc *ratelimit.Concurrency, rec records, log zerolog.Logger, m *Metrics) *inflight {
	ctx, cancel := context.WithCancel(context.Background())
	return &inflight{
		conc: conc, records: rec, log: log, metrics: m,
		calls: map[*call]struct{}{}, stop: ctx, cancel: cancel,
	}
}

// add tracks c until remove; the heartbeat starts with the first call.
// It reports false once the worker is draining: asynq has handed the
// task back by then, so a call not yet begun must not go.
func (f *inflight) add(c *call) bool {
	f.beatOnce.Do(func() { go f.beat() })
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining {
		return false
	}
	f.n++
	f.wg.Add(1)
	f.calls[c] = struct{}{}
	return true
}

// hold adds the slots of c's permit to what the heartbeat renews.
func (f *inflight) hold(c *call, pm *permit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range pm.leases {
		c.leases = append(c.leases, heldLease{lease: l, d: pm.lease[i]})
	}
}

func (f *inflight) remove(c *call) {
	f.mu.Lock()
	delete(f.calls, c)
	f.mu.Unlock()
	f.done()
}

// track counts one more thing for drain to wait for, unless drain has
// started and waits for nothing any more.
func (f *inflight) track() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining && f.n == 0 {
		return false
	}
	f.n++
	f.wg.Add(1)
	return true
}

func (f *inflight) done() {
	f.mu.Lock()
	f.n--
	f.mu.Unlock()
	f.wg.Done()
}

// beat renews every held slot and attempt record a third of a lease
// before it would run out.
func (f *inflight) beat() {
	every := attemptLease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop.Done():
			return
		case <-t.C:
		}
		f.renew(f.stop)
	}
}

// renew extends everything the calls hold.
func (f *inflight) renew(ctx context.Context) {
	f.mu.Lock()
	byLease := map[time.Duration][]*ratelimit.Lease{}
	var calls []*call
	for c := range f.calls {
		if c.record != "" {
			calls = append(calls, c)
		}
		for _, l := range c.leases {
			byLease[l.d] = append(byLease[l.d], l.lease)
		}
	}
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, attemptLease/3)
	defer cancel()
	for d, leases := range byLease {
		held, err := f.conc.Renew(ctx, leases, d)
		if err != nil {
			f.log.Warn().Err(err).Int("slots", len(leases)).Msg("heartbeat: could not renew slots; they lapse unless Redis answers within their lease")
			continue
		}
		for i, ok := range held {
			if !ok {
				f.log.Warn().Str("limit", leases[i].Key()).Msg("heartbeat: a slot's lease had run out; the call goes on, counted no longer")
			}
		}
	}
	for _, c := range calls {
		if err := f.records.renew(ctx, c.record, c.owner, attemptLease); err != nil {
			f.log.Warn().Err(err).Msg("heartbeat: could not renew attempt records")
			return
		}
	}
}

// retry runs write until it succeeds or the worker stops waiting,
// backing off from 50 ms to 2 s. It is how a record that must land
// (a delivered-marker, the end of an attempt, a slot's release) outlives
// a Redis that is briefly gone. It reports whether write succeeded.
func (f *inflight) retry(what string, write func(context.Context) error) bool {
	wait := 50 * time.Millisecond
	for n := 0; ; n++ {
		ctx, cancel := context.WithTimeout(f.stop, 5*time.Second)
		err := write(ctx)
		cancel()
		if err == nil {
			if n > 0 {
				f.log.Info().Int("tries", n+1).Str("record", what).Msg("delivery record written after Redis came back")
			}
			return true
		}
		if n == 0 {
			f.log.Warn().Err(err).Str("record", what).Msg("could not write; retrying until Redis answers")
		}
		f.metrics.recordRetry(what)
		select {
		case <-f.stop.Done():
			f.log.Error().Err(err).Str("record", what).Msg("worker stopping before the record could be written")
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// releaseLater gives a slot back in the background, retrying while Redis
// is away, until the lease would have run out by itself.
func (f *inflight) releaseLater(l *ratelimit.Lease, lease time.Duration) {
	if err := l.Release(f.stop); err == nil || !f.track() {
		return
	}
	go func() {
		defer f.done()
		deadline := time.Now().Add(lease)
		wait := 100 * time.Millisecond
		for time.Now().Before(deadline) {
			select {
			case <-f.stop.Done():
				return
			case <-time.After(wait):
			}
			ctx, cancel := context.WithTimeout(f.stop, 2*time.Second)
			err := l.Release(ctx)
			cancel()
			if err == nil {
				return
			}
			wait = min(2*wait, 2*time.Second)
		}
	}()
}

// drain waits up to limit for calls out to end and their records to be
// written, then stops the heartbeat and every retry.
func (f *inflight) drain(limit time.Duration) (clean bool) {
	f.mu.Lock()
	f.draining = true
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
		clean = true
	case <-t.C:
	}
	f.cancel()
	return clean
}
