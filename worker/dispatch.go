package worker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// A Sender delivers jobs to one provider account. Each provider's client
// implements it; the result is stored as the task's result, visible in
// asynqmon and through the producer's Status.
type Sender interface {
	Send(ctx context.Context, job tasks.Job) (any, error)
}

// Account is one configured provider account as the worker uses it.
type Account struct {
	Sender Sender
	// Env is what the account's jobs are validated against at delivery
	// (the provider's time zone).
	Env tasks.Env
	// limits are the account's limits, resolved from config and defaults.
	limits []limit
	// timeout bounds one call; a stopping worker waits this long for calls
	// out (see inflight.drain).
	timeout time.Duration
}

// Accounts maps a provider and an account name to the account. Jobs get
// a pointer to it, not a copy, down their chain of calls.
type Accounts map[tasks.Provider]map[string]*Account

// lookup finds the account a task names.
func (a Accounts) lookup(p tasks.Provider, name string) (*Account, bool) {
	acct, ok := a[p][name]
	return acct, ok
}

// dispatcher is the handler at the end of the middleware chain: it decodes
// the task, checks it again, and hands it to the account's Sender.
type dispatcher struct {
	accounts Accounts
	records  records
	limiter  *limiter
	circuits *circuits
	inflight *inflight
	policy   func(typ string) InDoubtPolicy
	// worker names this process in attempt records: host and pid.
	worker  string
	metrics *Metrics
	// events records a delivery's outcome event with its other records
	// (nil: the middleware records every outcome).
	events *outcomes
}

func (d *dispatcher) ProcessTask(ctx context.Context, t *asynq.Task) error {
	info := taskInfoFrom(ctx)
	acct, job, err := d.decode(info, t)
	if err != nil {
		return permanent(err)
	}
	// A task delivered before a retry is found by the attempt record's
	// begin (see try), which reads the delivered-marker, and not sent again.
	record := keyOf(info.id, t.Headers()[tasks.HeaderEnqueueID])
	_, result, err := d.deliver(ctx, info, acct, job, record)
	if err != nil {
		return outcome(err)
	}
	info.result = result
	if !info.resultStored {
		writeResult(t, result)
	}
	return nil
}

// decode finds the account the task names and decodes and checks its job.
// Its locals are off the stack while the job is delivered (see delivery).
func (d *dispatcher) decode(info *taskInfo, t *asynq.Task) (*Account, tasks.Job, error) {
	acct, ok := d.accounts.lookup(info.provider, info.account)
	if !ok {
		return nil, nil, fmt.Errorf("no %s account %q in the worker's config", info.provider, info.account)
	}
	job, err := tasks.Parse(t.Type(), t.Payload())
	if err != nil {
		return nil, nil, err
	}
	// The producer validated the job when it was enqueued; time has passed
	// since (a startDate window may have closed), so check again rather
	// than let the provider reject it.
	if err := job.Validate(acct.Env); err != nil {
		return nil, nil, err
	}
	return acct, job, nil
}

// deliver takes the job through its account's circuit and limits to the
// provider, and records what happened (see call). What the provider
// answers settles the limits (see limiter.settle): a "too many requests"
// becomes a cool-down every replica honours and a lower rate.
//
// Every call to the provider passes the limiter, retries included: a
// client's Send makes one HTTP call, so when a token is rejected
// (Unauthorized; the client has dropped it) the call is made once more here
// with a new permit, and the client fetches a new token for it. Retrying on
// the old permit would put two calls inside one rate period.
//
// A job told "not now" is normally handed back to the queue, but asynq
// archives a task whose retries are spent even when its error is not a
// failure. So a job on its last attempt waits in the handler instead, for
// as long as its deadline allows.
//
// record names the task's delivery record, kept around each call (see
// try); "" keeps none, for calls that are harmless to repeat and whose result
// the caller records (DingTalk's tracking reads).
func (d *dispatcher) deliver(ctx context.Context, info *taskInfo, acct *Account, job tasks.Job, record recordKey) (any, []byte, error) {
	dl := &delivery{
		info: info, acct: acct, job: job, record: record,
		owner: rand.Text(), lastChance: info.attempt >= info.maxRetry,
	}
	reauthorized := false
	for {
		result, encoded, err := d.try(ctx, dl)
		var pe *providers.Error
		if err == nil || !errors.As(err, &pe) {
			return result, encoded, err
		}
		switch pe.Class {
		case providers.Unauthorized:
			if reauthorized {
				return nil, nil, err
			}
			reauthorized = true
			info.log.Info().Str("code", pe.Code).Msg("token rejected; calling again with a new token, through the limits")
			continue
		case providers.RateLimited:
		default:
			return result, encoded, err
		}
		if deadline, ok := ctx.Deadline(); !dl.lastChance || !ok || time.Until(deadline) < pe.RetryAfter {
			return nil, nil, err
		}
		if err := d.limiter.sleep(ctx, pe.RetryAfter); err != nil {
			return nil, nil, err
		}
	}
}

// delivery is what every call of one task's delivery needs, passed down
// by pointer so that the frames between asynq and the provider's reply
// stay small: a goroutine's stack grows by copying every frame on it, and
// a handler's stack is deepest while the client decodes the reply (see
// "Not reached" in the README's Performance).
type delivery struct {
	info *taskInfo
	acct *Account
	job  tasks.Job
	// record names the task's delivery record ("": none, see deliver).
	record recordKey
	// owner names this delivery's calls in the attempt record.
	owner string
	// lastChance: the task's retries are spent, so a "not now" waits in
	// the handler (see deliver).
	lastChance bool
}

// try makes one call: circuit, limits, attempt record, the call, and its
// records. The result is the provider's, encoded, and is what the
// delivered-marker holds.
//
// A job whose limits are not binding costs two pipelines besides asynq's:
// one before the call (circuit, limits and attempt record, see prepare)
// and one after it (delivery record, result, settles and, when delivered,
// the outcome event, see record). Both go through the limiter's
// autopipe.Batcher, so under load the pipelines of several jobs share one
// round trip.
//
// The two halves are functions of their own, so their locals are not on
// the stack of the goroutines parked in the call (try's frame went from
// 1.5 KB to 0.5 KB).
func (d *dispatcher) try(ctx context.Context, dl *delivery) (any, []byte, error) {
	// Tracked before its attempt record is written, so a stopping worker
	// either waits for the call or refuses it before it begins.
	c := &call{record: dl.record, owner: dl.owner}
	if !d.inflight.add(c) {
		return nil, nil, fmt.Errorf("worker stopping; call not made: %w", context.Canceled)
	}
	defer d.inflight.remove(c)

	p, result, err := d.prepare(ctx, dl)
	if err != nil || p == nil {
		return nil, result, err
	}
	d.inflight.hold(c, &p.permit)
	// The task's context ends when asynq hands the task back (shutdown
	// timeout, lost lease): from then on another worker may run it, so a
	// call not yet sent is not sent.
	if err := ctx.Err(); err != nil {
		p.clear()
		p.permit.release(ctx)
		return nil, nil, fmt.Errorf("task handed back before the call; not sent: %w", err)
	}

	// Once sent, a call runs to its own timeout and is recorded whatever
	// happens to the task meanwhile: asynq cancels a task's context when
	// its shutdown timeout ends or its lease is lost, and a call cut off
	// then would be in doubt for nothing.
	res, callErr := dl.acct.Sender.Send(context.WithoutCancel(ctx), dl.job)
	return d.record(ctx, dl, p, res, callErr)
}

// prepared is a call let go by prepare.
type prepared struct {
	pass   passage
	permit permit
	// clear ends the attempt record, for a call that is not made after all.
	clear func()
}

// prepare asks the circuit, the limits and the attempt record whether a
// call may go, in one pipeline, and waits for the limits when they say
// not yet. A nil prepared with a nil error is a task delivered before (its
// result is returned).
func (d *dispatcher) prepare(ctx context.Context, dl *delivery) (*prepared, []byte, error) {
	info, acct, record, owner := dl.info, dl.acct, dl.record, dl.owner
	pipe := d.limiter.pipes.Pipeline()
	allowed := d.circuits.allow(ctx, pipe, info)
	atOnce := d.limiter.admitAtOnce(ctx, pipe, info.provider, actionOf(info.typ), acct.limits)
	begin := func() (begun, error) { return begun{}, nil }
	if record != "" {
		begin = d.records.beginIn(ctx, pipe, record, owner, d.worker, info.attempt, attemptLease, d.policy(info.typ))
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx) // each answer's error is read below
	}
	pass, circuitErr := allowed()
	permit, admitted := atOnce()
	b, err := d.begun(info, begin)
	if err == nil {
		err = circuitErr
	}
	// clear ends the attempt record this call began without calling: the
	// provider was not asked. A begin that failed may still run when Redis
	// catches up, so it is cleared too.
	beganErr := err != nil
	clear := func() {
		if record != "" && (b.owns() || beganErr && b.status == beginFirst) {
			d.inflight.retry("attempt_clear", func(ctx context.Context) error { return d.records.end(ctx, record, owner, "clear") })
		}
	}
	if err != nil || !b.owns() {
		if admitted {
			permit.release(ctx)
		}
		clear()
		return nil, b.result, err
	}
	if !admitted {
		maxWait := d.limiter.maxWait
		if deadline, ok := ctx.Deadline(); ok && dl.lastChance {
			maxWait = max(maxWait, time.Until(deadline))
		}
		if permit, err = d.limiter.admit(ctx, info.provider, actionOf(info.typ), acct.limits, maxWait); err != nil {
			clear()
			return nil, nil, err
		}
	}
	return &prepared{pass: pass, permit: permit, clear: clear}, nil, nil
}

// record writes what a call did, in one pipeline: the delivery record, the
// task's result, the circuit, the limits' settles and, when delivered, the
// outcome event. A delivery record that fails there is written again until
// Redis answers.
func (d *dispatcher) record(ctx context.Context, dl *delivery, p *prepared, res any, callErr error) (any, []byte, error) {
	info, record, owner := dl.info, dl.record, dl.owner
	var out []byte
	var recorded func() error
	var event func() (bool, error)
	pipe := d.limiter.pipes.Pipeline()
	if callErr == nil {
		var merr error
		if out, merr = json.Marshal(res); merr != nil {
			out = []byte(`null`)
		}
		if record != "" {
			recorded = d.records.doneIn(context.WithoutCancel(ctx), pipe, record, out).Err
			// The task's result too (what asynq's ResultWriter writes),
			// while the task is ours.
			if q, ok := asynq.GetQueueName(ctx); ok {
				pipe.HSet(context.WithoutCancel(ctx), asynqTaskKeyPrefix(q)+info.id, "result", out)
				info.resultStored = true
			}
			info.result = out
			event = d.events.deliveredIn(context.WithoutCancel(ctx), pipe, info)
		}
	}
	op := "clear"
	if !answered(callErr) {
		op = "doubt"
	}
	if callErr != nil && record != "" {
		recorded = d.records.endIn(context.WithoutCancel(ctx), pipe, record, owner, op)
	}
	circuit := d.circuits.recordIn(ctx, pipe, info, p.pass, callErr)
	err := d.limiter.settle(ctx, pipe, info, dl.acct, dl.job, &p.permit, callErr)
	err = circuit(err)
	if callErr == nil {
		// The provider has the notification: the marker must land, or a
		// retry would find the call in doubt.
		if record != "" && recorded() != nil && !d.inflight.retry("delivered", func(ctx context.Context) error { return d.records.done(ctx, record, out) }) {
			info.log.Error().Msg("delivered, but the delivered-marker could not be written before the worker stopped: a retry finds this call in doubt")
		}
		if event != nil {
			// One that failed is recorded again, with retries, as the
			// task's outcome (see outcomes.record).
			_, eerr := event()
			info.eventRecorded = eerr == nil
		}
		if p.pass.probe {
			info.log.Info().Msg("probe delivered")
		}
		return res, out, nil
	}
	if record != "" && recorded() != nil {
		d.inflight.retry("attempt_"+op, func(ctx context.Context) error { return d.records.end(ctx, record, owner, op) })
	}
	return nil, nil, err
}

// begun reads the attempt record's begin and deals with what an earlier
// call left: delivered (return its result), a running call elsewhere
// (wait), one in doubt (the policy), one held and run again by an operator
// (go). It returns an error for every status but those that go (see
// begun.owns) and delivered.
func (d *dispatcher) begun(info *taskInfo, begin func() (begun, error)) (begun, error) {
	b, err := begin()
	if err != nil {
		return b, err
	}
	evidence := func(ev *zerolog.Event) *zerolog.Event {
		return ev.Time("doubt_started", b.started).Str("doubt_worker", b.worker).Str("doubt_attempt", b.attempt)
	}
	switch b.status {
	case beginDelivered:
		info.log.Info().Msg("already delivered before a retry; not sending again")
	case beginBusy:
		return b, &providers.Error{
			Provider: string(info.provider), Op: actionOf(info.typ), Class: providers.RateLimited,
			Code: "herald_call_running", Message: "a call of this task is still running on another worker",
			RetryAfter: b.wait + time.Second,
		}
	case beginHeld:
		d.metrics.doubted(info.provider, info.typ, string(Hold))
		evidence(info.log.Error()).Msg("in doubt: an earlier call got no reply and the provider may have acted; held for an operator")
		return b, permanent(fmt.Errorf("in doubt: a call started %s on worker %s (attempt %s) got no reply, so the provider may have sent it; "+
			"held by policy %q: run the task again to resend it, or delete it", b.started.Format(time.RFC3339Nano), b.worker, b.attempt, Hold))
	case beginReleased:
		d.metrics.doubted(info.provider, info.typ, "released")
		evidence(info.log.Warn()).Msg("in doubt and held, now run again by an operator: sending")
	case beginResend:
		d.metrics.doubted(info.provider, info.typ, string(Resend))
		evidence(info.log.Warn()).Msg("in doubt: an earlier call got no reply; resending by policy")
	}
	return b, nil
}

// answered reports whether a failed call certainly did not deliver: the
// provider replied (with an error), the client refused before calling (a
// paused account, a bad config: no transport error), or the connection was
// never made. A call that went out and got no reply may have been acted on.
func answered(err error) bool {
	var pe *providers.Error
	if errors.As(err, &pe) && (pe.Status != 0 || pe.Err == nil) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// writeResult stores the job's result on the task. The job is delivered
// by now: a result that cannot be stored is not worth a resend, so the
// write's error is dropped.
func writeResult(t *asynq.Task, b []byte) {
	if w := t.ResultWriter(); w != nil {
		_, _ = w.Write(b)
	}
}
