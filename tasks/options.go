package tasks

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// An Option changes how Enqueue delivers a job: for which account, when,
// how often it may be retried. Options are plain values, so a set of them
// can be kept and reused:
//
//	urgent := []tasks.Option{tasks.MaxRetry(3), tasks.Timeout(10 * time.Second)}
//	receipt, err := producer.Enqueue(ctx, job, append(urgent, tasks.Account("shop"))...)
//
// An option's value is checked when Enqueue runs; a value it cannot take
// (a negative delay, an empty key) makes Enqueue return an *OptionError
// naming the option, before anything reaches Redis. When two options set
// the same thing (DeliverAt and DeliverIn), the last one wins.
type Option interface {
	// String shows the option as it was written, e.g. `DeliverIn(1m30s)`.
	String() string
	apply(*delivery) error
}

// delivery is what a job's options add up to.
type delivery struct {
	now       time.Time // the producer's clock when Enqueue started
	account   string
	at        time.Time // zero: deliver now
	key       string
	maxRetry  int // -1: asynq's default (25)
	timeout   time.Duration
	retention time.Duration
}

// OptionError reports an option value that Enqueue (or NewProducer) cannot
// take. Callers match it with errors.As:
//
//	var oerr *tasks.OptionError
//	if errors.As(err, &oerr) {
//		log.Printf("option %s: %s", oerr.Option, oerr.Rule)
//	}
type OptionError struct {
	// Option is the option's name, e.g. "DeliverIn".
	Option string
	// Value is the value it was given, as Go would print it.
	Value string
	// Rule says what the value must be.
	Rule string
}

// Error reads `tasks: option DeliverIn(-1s): must not be negative`.
func (e *OptionError) Error() string {
	return "tasks: option " + e.Option + "(" + e.Value + "): " + e.Rule
}

func optionError(name string, value any, rule string) *OptionError {
	v := fmt.Sprintf("%v", value)
	if s, ok := value.(string); ok {
		const max = 40 // an option value is not worth a screenful of error
		if utf8.RuneCountInString(s) > max {
			s = string([]rune(s)[:max]) + "…"
		}
		v = fmt.Sprintf("%q", s)
	}
	return &OptionError{Option: name, Value: v, Rule: rule}
}

// Account names the worker-side account whose credentials, limits and time
// zone the job uses. Without it a job uses DefaultAccount. A name is 1 to
// 64 lower-case letters, digits, '_' or '-' (see CheckAccountName).
func Account(name string) Option { return accountOption(name) }

type accountOption string

func (o accountOption) String() string { return fmt.Sprintf("Account(%q)", string(o)) }

func (o accountOption) apply(d *delivery) error {
	if err := CheckAccountName(string(o)); err != nil {
		return optionError("Account", string(o), err.Error())
	}
	d.account = string(o)
	return nil
}

const maxAccountLen = 64

// CheckAccountName returns an error saying which rule an account name
// breaks, or nil. Producers and the worker's config share this rule. A name
// becomes part of Redis keys (limiters, token cache), where ':' and braces
// have meaning, and of environment variable names
// (HERALD_EASEMOB_<ACCOUNT>_CLIENT_SECRET), which is why it is lower case
// with no '.'.
func CheckAccountName(name string) error {
	if name == "" || len(name) > maxAccountLen {
		return fmt.Errorf("must be 1 to %d characters", maxAccountLen)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return errors.New("may hold only lower-case letters, digits, '_' and '-'")
		}
	}
	return nil
}

// DeliverAt holds the job until t. The task waits in asynq's scheduled set
// (visible in asynqmon) and can be cancelled until then. asynq keeps due
// times in whole seconds, so it is given the next whole second at or after
// t, and t itself goes, to the millisecond, into Herald's due set (DueKey),
// from which the workers move the task to its queue within tens of
// milliseconds of t. If no worker's scheduler is running, asynq still
// moves it at the whole second. The task also carries t (HeaderNotBefore)
// as a last guard: a job is never delivered early. A t in the past
// delivers now.
//
// Rules measured from "now" (Easemob's startDate must be more than an hour
// ahead) are measured from t, since that is when the provider gets the call.
func DeliverAt(t time.Time) Option { return deliverAtOption(t) }

type deliverAtOption time.Time

func (o deliverAtOption) String() string {
	return "DeliverAt(" + time.Time(o).Format(time.RFC3339Nano) + ")"
}

// lastDeliverAt bounds DeliverAt: past it, a due time no longer fits the
// millisecond header or asynq's score.
var lastDeliverAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)

func (o deliverAtOption) apply(d *delivery) error {
	if time.Time(o).IsZero() {
		return optionError("DeliverAt", "0001-01-01T00:00:00Z", "must not be the zero time")
	}
	if !time.Time(o).Before(lastDeliverAt) {
		return optionError("DeliverAt", time.Time(o).UTC().Format(time.RFC3339), "must be before the year 10000")
	}
	d.at = ceilToMilli(time.Time(o))
	return nil
}

// DeliverIn holds the job for duration dur, measured from the producer's
// clock when Enqueue is called. It is DeliverAt(now + dur).
func DeliverIn(dur time.Duration) Option { return deliverInOption(dur) }

type deliverInOption time.Duration

func (o deliverInOption) String() string { return "DeliverIn(" + time.Duration(o).String() + ")" }

func (o deliverInOption) apply(d *delivery) error {
	if o < 0 {
		return optionError("DeliverIn", time.Duration(o), "must not be negative")
	}
	if at := d.now.Add(time.Duration(o)); !at.Before(lastDeliverAt) {
		return optionError("DeliverIn", time.Duration(o), "must end before the year 10000")
	}
	d.at = ceilToMilli(d.now.Add(time.Duration(o)))
	return nil
}

// IdempotencyKey makes enqueueing the job at most once: the key becomes
// the asynq task id, and enqueueing the same key again returns the task
// already there, marked Duplicate in the receipt, instead of adding a
// second one. The key stays taken while the task exists: until it is
// cancelled, or its retention runs out after it completes (see Retention).
//
// A job split into n tasks uses the ids key, key+"/2", …, key+"/n", so a
// retry after a partial failure enqueues just the missing parts. Reusing a
// key for a different job is an error (ErrKeyReused). asynq scopes ids by
// queue, so the same key on jobs of two providers makes two tasks, which
// Status and Cancel then refuse as ErrAmbiguousID: use a key for one job
// only. A key is 1 to 200 bytes with no spaces or control characters.
func IdempotencyKey(key string) Option { return keyOption(key) }

type keyOption string

func (o keyOption) String() string { return fmt.Sprintf("IdempotencyKey(%q)", string(o)) }

const maxKeyLen = 200

func (o keyOption) apply(d *delivery) error {
	k := string(o)
	switch {
	case k == "":
		return optionError("IdempotencyKey", k, "must not be empty")
	case len(k) > maxKeyLen:
		return optionError("IdempotencyKey", k, fmt.Sprintf("must be at most %d bytes", maxKeyLen))
	case !utf8.ValidString(k):
		return optionError("IdempotencyKey", k, "must be valid UTF-8")
	case strings.ContainsFunc(k, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return optionError("IdempotencyKey", k, "must not contain spaces or control characters")
	}
	d.key = k
	return nil
}

// MaxRetry caps how many times a failed task is retried before it is
// archived. Without it asynq's default (25) applies. MaxRetry(0) means one
// attempt only. Being rate limited does not use up a retry: a job with
// retries left goes back to the queue until the limit allows it, and one
// on its last attempt waits for it in the worker, up to its Timeout.
func MaxRetry(n int) Option { return maxRetryOption(n) }

type maxRetryOption int

func (o maxRetryOption) String() string { return fmt.Sprintf("MaxRetry(%d)", int(o)) }

// maxMaxRetry is the most retries asynq can keep: it stores the count in
// 32 bits, so 2147483648 would wrap to a negative number and archive the
// job on its first failure.
const maxMaxRetry = math.MaxInt32

func (o maxRetryOption) apply(d *delivery) error {
	if o < 0 {
		return optionError("MaxRetry", int(o), "must not be negative")
	}
	if o > maxMaxRetry {
		return optionError("MaxRetry", int(o), fmt.Sprintf("must be 0 to %d", maxMaxRetry))
	}
	d.maxRetry = int(o)
	return nil
}

// Timeout bounds one attempt: a handler still running after dur is
// cancelled and the attempt counts as failed. Without it asynq's default
// (30 minutes) applies. asynq keeps whole seconds, so dur is rounded up to
// the next second; it must be at least one second.
func Timeout(dur time.Duration) Option { return timeoutOption(dur) }

type timeoutOption time.Duration

func (o timeoutOption) String() string { return "Timeout(" + time.Duration(o).String() + ")" }

func (o timeoutOption) apply(d *delivery) error {
	if o < timeoutOption(time.Second) {
		return optionError("Timeout", time.Duration(o), "must be at least 1s")
	}
	if o > timeoutOption(maxDuration) {
		return optionError("Timeout", time.Duration(o), "must be at most "+maxDuration.String())
	}
	d.timeout = ceilSecond(time.Duration(o))
	return nil
}

// Retention keeps a completed task (and its result) in Redis for dur, so
// Status can still report it and its idempotency key stays taken. The
// default is DefaultRetention, or the producer's own (see
// WithDefaultRetention). Retention(0) deletes the task as soon as it
// completes, which also frees its key. dur is rounded up to whole seconds.
func Retention(dur time.Duration) Option { return retentionOption(dur) }

type retentionOption time.Duration

func (o retentionOption) String() string { return "Retention(" + time.Duration(o).String() + ")" }

func (o retentionOption) apply(d *delivery) error {
	if o < 0 || o > retentionOption(maxDuration) {
		return optionError("Retention", time.Duration(o), "must be 0 to "+maxDuration.String())
	}
	d.retention = ceilSecond(time.Duration(o))
	return nil
}

// DefaultRetention is how long completed tasks are kept when neither the
// job nor the producer says otherwise: long enough for a caller's retries
// of the same request to find the first task.
const DefaultRetention = 24 * time.Hour

// maxDuration bounds Timeout and Retention: a century is more than any
// job needs, and the bound keeps rounding up to whole seconds (and asynq's
// arithmetic on deadlines) far from overflowing time.Duration.
const maxDuration = 100 * 365 * 24 * time.Hour

func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}

// A ProducerOption configures a Producer. An invalid one does not make
// NewProducer fail (it has no error to return); instead every call on the
// producer returns the *OptionError, and OpenProducer returns it at once.
type ProducerOption interface {
	applyProducer(*Producer) error
}

type producerOption func(*Producer) error

func (f producerOption) applyProducer(p *Producer) error { return f(p) }

// WithClock sets the producer's notion of now, from which DeliverIn and
// time rules such as Easemob's "startDate more than an hour ahead" are
// measured. Tests use it to validate against a fixed instant. It does not
// change when asynq runs a task: that follows Redis and the worker's clock.
func WithClock(now func() time.Time) ProducerOption {
	return producerOption(func(p *Producer) error {
		if now == nil {
			return optionError("WithClock", "nil", "must not be nil")
		}
		p.now = now
		return nil
	})
}

// WithZone sets the provider time zone for accounts without one of their
// own (see WithAccountZone). Easemob reads startDate in its server's zone;
// the default is ChinaStandardTime.
func WithZone(loc *time.Location) ProducerOption {
	return producerOption(func(p *Producer) error {
		if loc == nil {
			return optionError("WithZone", "nil", "must not be nil")
		}
		p.zone = loc
		return nil
	})
}

// WithAccountZone sets the provider time zone for one account, matching the
// worker's account config: an Easemob app hosted outside China reads
// startDate in its own server's zone.
func WithAccountZone(account string, loc *time.Location) ProducerOption {
	return producerOption(func(p *Producer) error {
		if err := CheckAccountName(account); err != nil {
			return optionError("WithAccountZone", account, "account "+err.Error())
		}
		if loc == nil {
			return optionError("WithAccountZone", account, "location must not be nil")
		}
		if p.zones == nil {
			p.zones = make(map[string]*time.Location)
		}
		p.zones[account] = loc
		return nil
	})
}

// WithDefaultRetention sets the retention of jobs enqueued without a
// Retention option. It replaces DefaultRetention.
func WithDefaultRetention(dur time.Duration) ProducerOption {
	return producerOption(func(p *Producer) error {
		if dur < 0 || dur > maxDuration {
			return optionError("WithDefaultRetention", dur, "must be 0 to "+maxDuration.String())
		}
		p.retention = ceilSecond(dur)
		return nil
	})
}
