package worker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// EventsConfig is where the worker records each task's final outcome
// (delivered, archived) for other services: a Redis stream, and for the
// accounts that ask for it, a signed webhook.
type EventsConfig struct {
	// Stream is the stream's key (default herald:events); "-" records no
	// events. Producers that cancel jobs write their cancelled events to
	// it too: give the producer CLI the same HERALD_EVENTS_STREAM.
	Stream string `yaml:"stream"`
	// MaxLen trims the stream to about this many events (default
	// 100000); -1 never trims.
	MaxLen int64 `yaml:"max_len"`
	// Webhooks maps account names to the URL each account's events are
	// POSTed to. An account name names the account in every provider.
	Webhooks map[string]WebhookConfig `yaml:"webhooks"`
	// Webhook tunes how webhooks are sent.
	Webhook WebhookSending `yaml:"webhook"`
}

// WebhookConfig is one account's webhook.
type WebhookConfig struct {
	// URL receives a POST of each event's JSON.
	URL string `yaml:"url"`
	// Secret keys the HMAC in the Herald-Signature header
	// (tasks.VerifyWebhook checks it). In the environment:
	// HERALD_EVENTS_WEBHOOKS_<ACCOUNT>_SECRET or …_SECRET_FILE.
	Secret string `yaml:"secret" secret:"true"`
}

// WebhookSending is how webhooks are sent, for every account.
type WebhookSending struct {
	// Timeout bounds one POST (default 10s).
	Timeout Duration `yaml:"timeout"`
	// Retry spaces the attempts of a POST that failed (no answer, or not
	// 2xx), with the retry section's shape (defaults 1s to 5m, ×2, ±50 %).
	Retry RetryConfig `yaml:"retry"`
	// GiveUpAfter stops retrying an event's POST (default 24h); the event
	// stays in the stream.
	GiveUpAfter Duration `yaml:"give_up_after"`
}

// minWebhookSecret keeps webhook secrets out of reach of guessing.
const minWebhookSecret = 16

// withDefaults fills in what the config left zero.
func (c EventsConfig) withDefaults() EventsConfig {
	w := &c.Webhook
	if w.Timeout == 0 {
		w.Timeout = Duration(10 * time.Second)
	}
	if w.Retry.Initial == 0 {
		w.Retry.Initial = Duration(time.Second)
	}
	if w.Retry.Max == 0 {
		w.Retry.Max = Duration(5 * time.Minute)
	}
	if w.Retry.Multiplier == 0 {
		w.Retry.Multiplier = 2
	}
	if w.Retry.Jitter == 0 {
		w.Retry.Jitter = 0.5
	}
	if w.GiveUpAfter == 0 {
		w.GiveUpAfter = Duration(24 * time.Hour)
	}
	return c
}

// validate returns the rule the events config breaks, naming its key. It
// never quotes a secret.
func (c EventsConfig) validate() error {
	bad := func(key, rule string) error { return &ConfigError{Key: "events." + key, Rule: rule} }
	if strings.ContainsAny(c.Stream, " \t\r\n") {
		return bad("stream", "must be a Redis key without spaces")
	}
	if c.MaxLen < -1 {
		return bad("max_len", "must be -1 (never trim), 0 (default) or positive")
	}
	for _, name := range sortedKeys(c.Webhooks) {
		h := c.Webhooks[name]
		key := "webhooks." + name
		if err := tasks.CheckAccountName(name); err != nil {
			return bad(key, "account name "+err.Error())
		}
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key+".url", "must be an http(s) URL")
		}
		if len(h.Secret) < minWebhookSecret {
			return bad(key+".secret", fmt.Sprintf("required, at least %d characters", minWebhookSecret))
		}
	}
	if len(c.Webhooks) > 0 && c.Stream == "-" {
		return bad("webhooks", `webhooks are sent from the event stream; set events.stream (not "-")`)
	}
	r := c.withDefaults().Webhook.Retry
	if r.Max < r.Initial || r.Multiplier < 1 || r.Jitter < 0 || r.Jitter > 1 {
		return bad("webhook.retry", "needs 0 < initial <= max, multiplier >= 1, jitter 0 to 1")
	}
	return nil
}

// eventLog is the stream the worker records outcomes in. A recorded
// outcome is remembered as long as a delivered-marker, which outlives every
// retry of its task.
func (w *Worker) eventLog() tasks.EventLog {
	return tasks.EventLog{RDB: w.rdb, Stream: w.cfg.Events.Stream, MaxLen: w.cfg.Events.MaxLen, Remember: w.cfg.DeliveredTTL.D()}
}

// outcomes records the final outcome of each attempt that has one.
type outcomes struct {
	log tasks.EventLog
	now func() time.Time
}

// recordTimeout bounds recording one outcome, retries included. The task
// is done by then; the event must not hold its worker slot for long.
const recordTimeout = 5 * time.Second

// record appends the outcome of the attempt that ended with err, when it
// was the last: delivered, or archived (asynq archives on a SkipRetry and
// when the retries are used up, as verdict decided). A failure to record
// is retried briefly and then logged: the task's own outcome stands.
func (o *outcomes) record(ctx context.Context, ti *taskInfo, verdict string, err error) {
	if o == nil || o.log.Off() || ti.typ == dingTalkTrackType || ti.eventRecorded {
		// A DingTalk tracking check is Herald's own follow-up of a send
		// whose outcome (delivered: DingTalk took it) is recorded already;
		// how the send went is in its Status.Tracking.
		return
	}
	// The task's context may be done (a timeout is an outcome too).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if verdict != "delivered" && verdict != "archived" {
		if err := o.log.Rerun(ctx, ti.id, ti.enqueueID, ti.attempt); err != nil {
			ti.log.Warn().Err(err).Msg("could not check the task's earlier outcome event")
		}
		return
	}
	ev := o.event(ctx, ti, tasks.Outcome(verdict))
	if verdict == "delivered" {
		ev.Result = ti.result
	} else {
		ev.Reason, ev.Class = archiveReason(ti, err)
	}
	op := func() error {
		_, err := o.log.Record(ctx, ev, ti.enqueueID, ti.attempt)
		return err
	}
	b := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithInitialInterval(100*time.Millisecond)), ctx)
	if err := backoff.Retry(op, b); err != nil {
		ti.log.Error().Err(err).Str("outcome", verdict).Msg("outcome event not recorded")
	}
}

// deliveredIn queues on pipe the delivered event of the attempt in ti,
// which has its result, with the call's other records. The returned func
// reports, once pipe has run, whether it was recorded (or had been
// before); nil when events are off.
func (o *outcomes) deliveredIn(ctx context.Context, pipe redis.Pipeliner, ti *taskInfo) func() (bool, error) {
	if o == nil || o.log.Off() {
		return nil
	}
	ev := o.event(ctx, ti, tasks.Delivered)
	ev.Result = ti.result
	return o.log.RecordIn(ctx, pipe, ev, ti.enqueueID, ti.attempt)
}

// event is the outcome event of the attempt in ti, without its result or
// reason.
func (o *outcomes) event(ctx context.Context, ti *taskInfo, outcome tasks.Outcome) tasks.Event {
	ev := tasks.Event{
		Outcome: outcome, TaskID: ti.id, Type: ti.typ,
		Account: ti.account, Attempts: ti.attempt + 1, At: o.now(),
	}
	// The queue the task came from: with shards, one of its provider's.
	if q, ok := asynq.GetQueueName(ctx); ok {
		ev.Queue = q
	} else {
		ev.Queue = string(ti.provider)
	}
	return ev
}

// archiveReason words why a task was archived, without asynq's marker.
func archiveReason(ti *taskInfo, err error) (reason, class string) {
	c := providers.ClassOf(err)
	if errors.Is(err, asynq.SkipRetry) {
		c = providers.Permanent
	}
	reason = strings.TrimSuffix(err.Error(), " ("+asynq.SkipRetry.Error()+")")
	if !errors.Is(err, asynq.SkipRetry) {
		reason = fmt.Sprintf("gave up after %d attempts: %s", ti.attempt+1, reason)
	}
	return reason, c.String()
}

// startWebhooks sends webhooks from the event stream when any account has
// one. stop ends that and waits for it.
func (w *Worker) startWebhooks(ctx context.Context) (stop func()) {
	if len(w.cfg.Events.Webhooks) == 0 || w.eventLog().Off() {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	h := newWebhooks(w.rdb, w.cfg.Events, w.log)
	go func() { defer close(done); h.run(ctx) }()
	return func() { cancel(); <-done }
}
