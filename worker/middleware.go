package worker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// Middleware wraps a Handler, as asynq's ServeMux.Use does.
type Middleware = func(asynq.Handler) asynq.Handler

// chain applies middleware so the first one listed runs first.
func chain(h asynq.Handler, mw ...Middleware) asynq.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// taskInfo is what every later middleware and the dispatcher know about the
// running task, put in the context by withTaskInfo.
type taskInfo struct {
	id       string
	typ      string
	provider tasks.Provider
	account  string
	attempt  int // 0 on the first try
	maxRetry int
	// enqueueID is the task's tasks.HeaderEnqueueID, "" if it has none.
	enqueueID string
	log       zerolog.Logger
	// result is what the provider answered, set by the dispatcher.
	result []byte
	// resultStored: the dispatcher wrote result to the task with the
	// call's other records, in one round trip.
	resultStored bool
	// eventRecorded: the dispatcher recorded the delivered event with the
	// call's other records.
	eventRecorded bool
}

type taskInfoKey struct{}

func taskInfoFrom(ctx context.Context) *taskInfo {
	if ti, ok := ctx.Value(taskInfoKey{}).(*taskInfo); ok {
		return ti
	}
	return &taskInfo{account: tasks.DefaultAccount, log: zerolog.Nop()}
}

// withTaskInfo reads the task's identity, gives it a logger carrying task
// id, job type, provider, account and attempt, and logs how it ended.
// A task of a type no provider owns is archived here with its reason.
// The last attempt's outcome goes to the event stream (events may be nil).
func withTaskInfo(base zerolog.Logger, m *Metrics, events *outcomes) Middleware {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			ti := newTaskInfo(ctx, t, base)
			ctx = context.WithValue(ctx, taskInfoKey{}, ti)
			start := time.Now()
			var err error
			if ti.provider == "" {
				err = permanent(tasks.ErrUnknownType)
			} else {
				err = next.ProcessTask(ctx, t)
			}
			verdict := ti.report(err, time.Since(start), m)
			events.record(ctx, ti, verdict, err)
			return err
		})
	}
}

// newTaskInfo reads the identity of the task t that ctx runs. It is a
// function of its own, as are report and record, so that their locals
// (the logger's builder above all) are not on the stack all through the
// call below (see delivery).
func newTaskInfo(ctx context.Context, t *asynq.Task, base zerolog.Logger) *taskInfo {
	id, _ := asynq.GetTaskID(ctx)
	attempt, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	account := tasks.AccountOf(t.Headers())
	provider, _ := tasks.ProviderOf(t.Type())
	return &taskInfo{
		id: id, typ: t.Type(), provider: provider, account: account,
		attempt: attempt, maxRetry: maxRetry, enqueueID: t.Headers()[tasks.HeaderEnqueueID],
		log: base.With().Str("task_id", id).Str("job_type", t.Type()).
			Str("provider", string(provider)).Str("account", account).
			Int("attempt", attempt+1).Logger(),
	}
}

// report logs the attempt's outcome and counts it, and returns it:
// delivered, archived, paused, rate_limited or retry.
func (ti *taskInfo) report(err error, took time.Duration, m *Metrics) string {
	class := providers.ClassOf(err)
	if errors.Is(err, asynq.SkipRetry) {
		// Archived by the worker itself: bad payload, unknown account.
		class = providers.Permanent
	}
	result := "delivered"
	switch {
	case err == nil:
	// asynq archives a task whose retries are spent even when the error
	// is not a failure, so a rate-limited last attempt is archived too.
	case errors.Is(err, asynq.SkipRetry) || ti.attempt >= ti.maxRetry:
		result = "archived"
	case class == providers.Paused:
		result = "paused"
	case !isFailure(err):
		result = "rate_limited"
	default:
		result = "retry"
	}
	m.observe(ti.provider, ti.typ, result, class, err, took)

	var ev *zerolog.Event
	switch result {
	case "delivered":
		ev = ti.log.Info()
	case "archived":
		ev = ti.log.Error()
	default:
		ev = ti.log.Warn()
	}
	ev = ev.Str("result", result).Dur("took_ms", took)
	if err != nil {
		ev = ev.Err(err).Str("class", class.String())
		var pe *providers.Error
		if errors.As(err, &pe) {
			if pe.Code != "" {
				ev = ev.Str("provider_code", pe.Code)
			}
			if pe.RequestID != "" {
				ev = ev.Str("request_id", pe.RequestID)
			}
		}
	}
	ev.Msg("job " + result)
	return result
}

// notBefore holds a task that asynq started early until the time the
// producer asked for. asynq keeps due times in whole seconds and moves
// scheduled tasks on a poll; without this a job could go out up to a
// second before its time.
func notBefore(now func() time.Time) Middleware {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			if v := t.Headers()[tasks.HeaderNotBefore]; v != "" {
				if err := waitUntil(ctx, v, now); err != nil {
					return err
				}
			}
			return next.ProcessTask(ctx, t)
		})
	}
}

// waitUntil waits until the time in a HeaderNotBefore value, or until ctx
// is done.
func waitUntil(ctx context.Context, notBefore string, now func() time.Time) error {
	ms, err := strconv.ParseInt(notBefore, 10, 64)
	if err != nil {
		return permanent(errors.New("bad " + tasks.HeaderNotBefore + " header: " + notBefore))
	}
	wait := time.UnixMilli(ms).Sub(now())
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
