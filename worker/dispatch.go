package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
}

// Accounts maps a provider and an account name to the account.
type Accounts map[tasks.Provider]map[string]Account

// lookup finds the account a task names.
func (a Accounts) lookup(p tasks.Provider, name string) (Account, bool) {
	acct, ok := a[p][name]
	return acct, ok
}

// dispatcher is the handler at the end of the middleware chain: it decodes
// the task, checks it again, and hands it to the account's Sender.
type dispatcher struct {
	accounts Accounts
	markers  markers
	limiter  *limiter
}

func (d *dispatcher) ProcessTask(ctx context.Context, t *asynq.Task) error {
	info := taskInfoFrom(ctx)
	acct, ok := d.accounts.lookup(info.provider, info.account)
	if !ok {
		return permanent(fmt.Errorf("no %s account %q in the worker's config", info.provider, info.account))
	}
	job, err := tasks.Parse(t.Type(), t.Payload())
	if err != nil {
		return permanent(err)
	}
	// The producer validated the job when it was enqueued; time has passed
	// since (a startDate window may have closed), so check again rather
	// than let the provider reject it.
	if err := job.Validate(acct.Env); err != nil {
		return permanent(err)
	}
	marker := markerKey(info.id, t.Headers()[tasks.HeaderEnqueueID])
	if res, done, err := d.markers.get(ctx, marker); err != nil {
		return fmt.Errorf("read delivered-marker: %w", err)
	} else if done {
		info.log.Info().Msg("already delivered before a retry; not sending again")
		info.result = res
		writeResult(t, res)
		return nil
	}
	result, err := d.deliver(ctx, info, acct, job)
	if err != nil {
		return outcome(err)
	}
	b, err := json.Marshal(result)
	if err != nil {
		return permanent(fmt.Errorf("encode result: %w", err))
	}
	// The provider has the notification now: from here on, failing to
	// record that must not cause a second send, so marker errors are only
	// logged.
	queue, _ := asynq.GetQueueName(ctx)
	if err := d.markers.set(ctx, marker, b, asynqTaskKey(queue, info.id)); err != nil {
		info.log.Error().Err(err).Msg("delivered but could not write the delivered-marker; a retry could send twice")
	}
	info.result = b
	return nil
}

// deliver takes the job through its account's limits to the provider. What
// the provider answers settles the limits (see limiter.settle): a "too many
// requests" becomes a cool-down every replica honours and a lower rate.
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
func (d *dispatcher) deliver(ctx context.Context, info *taskInfo, acct Account, job tasks.Job) (any, error) {
	action := actionOf(info.typ)
	lastChance := info.attempt >= info.maxRetry
	reauthorized := false
	for {
		maxWait := d.limiter.maxWait
		if deadline, ok := ctx.Deadline(); ok && lastChance {
			maxWait = max(maxWait, time.Until(deadline))
		}
		permit, err := d.limiter.admit(ctx, info.provider, action, acct.limits, maxWait)
		if err != nil {
			return nil, err
		}
		result, err := acct.Sender.Send(ctx, job)
		err = d.limiter.settle(ctx, info, acct, job, permit, err)
		var pe *providers.Error
		if err == nil || !errors.As(err, &pe) {
			return result, err
		}
		switch pe.Class {
		case providers.Unauthorized:
			if reauthorized {
				return nil, err
			}
			reauthorized = true
			info.log.Info().Str("code", pe.Code).Msg("token rejected; calling again with a new token, through the limits")
			continue
		case providers.RateLimited:
		default:
			return result, err
		}
		if deadline, ok := ctx.Deadline(); !lastChance || !ok || time.Until(deadline) < pe.RetryAfter {
			return nil, err
		}
		if err := d.limiter.sleep(ctx, pe.RetryAfter); err != nil {
			return nil, err
		}
	}
}

// writeResult stores the job's result on the task. The job is delivered
// by now: a result that cannot be stored is not worth a resend, so the
// write's error is dropped.
func writeResult(t *asynq.Task, b []byte) {
	if w := t.ResultWriter(); w != nil {
		_, _ = w.Write(b)
	}
}
