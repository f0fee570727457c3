package tasks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Errors returned by Producer.Status and Producer.Cancel, matched with
// errors.Is.
var (
	// ErrNotFound means no task has the id: it never existed, was
	// cancelled, or completed and outlived its retention.
	ErrNotFound = errors.New("tasks: task not found")
	// ErrNotCancellable means the task is running (active) or done
	// (completed): cancelling can no longer stop the provider call. The
	// error names the state.
	ErrNotCancellable = errors.New("tasks: task cannot be cancelled")
	// ErrAmbiguousID means the id names tasks in more than one provider
	// queue, which happens when one idempotency key was used for jobs of
	// two providers. Status and Cancel refuse to guess.
	ErrAmbiguousID = errors.New("tasks: task id is in more than one queue")
)

// ErrKeyReused is returned by Enqueue when the idempotency key already names
// a task carrying a different job: another type, payload or account. An
// idempotency key stands for one request; reusing it for another would
// silently drop the second job, so Enqueue reports it instead.
var ErrKeyReused = errors.New("tasks: idempotency key already used for a different job")

// ErrNoRedis is returned by a Producer made with NewProducer(nil) for any
// call that needs Redis.
var ErrNoRedis = errors.New("tasks: producer has no Redis client")

// A Producer validates jobs and enqueues them into Redis for Herald's
// workers. It is safe for concurrent use; create one per process and share
// it.
//
//	producer, err := tasks.OpenProducer("redis://localhost:6379/0")
//	...
//	receipt, err := producer.Enqueue(ctx, job,
//		tasks.Account("shop"), tasks.IdempotencyKey("order-1001-shipped"))
//
// Each job becomes one asynq task per provider call, in the provider's
// queue (Provider.Queue), carrying the job's JSON as its payload and the
// account in HeaderAccount (left out for DefaultAccount). Status and Cancel
// take the ids in the Receipt.
//
// Delivery is at least once: a worker that crashes mid-call retries the
// task. Give a job an IdempotencyKey so that your own retries of Enqueue
// (after a timeout, say) do not add a second task; the key stays taken
// while the task is in Redis, including its Retention after it completes.
type Producer struct {
	rdb       redis.UniversalClient
	ownsRDB   bool
	client    *asynq.Client
	inspector *asynq.Inspector

	now       func() time.Time
	zone      *time.Location            // nil: ChinaStandardTime
	zones     map[string]*time.Location // per account
	retention time.Duration
	shards    int                   // queues per provider (WithShards)
	queues    map[Provider][]string // each provider's shard queues
	// queueOpts[prov][i] is asynq.Queue(queues[prov][i]) and retentionOpt
	// asynq.Retention(retention), made once: see enqueue.
	queueOpts    map[Provider][]asynq.Option
	retentionOpt asynq.Option
	events       EventLog // where Cancel and Delete record cancelled outcomes
	err          error    // the first invalid ProducerOption
}

// NewProducer returns a Producer on rdb. The caller owns rdb: Close does not
// close it, so a worker can share one client between its producer, its
// asynq server and its rate limiters.
//
// A nil rdb makes a producer that can only Check jobs, as a dry run does;
// Enqueue, Status and Cancel then return ErrNoRedis.
func NewProducer(rdb redis.UniversalClient, opts ...ProducerOption) *Producer {
	p := &Producer{
		rdb:       rdb,
		now:       time.Now,
		retention: DefaultRetention,
		shards:    1,
		events:    EventLog{RDB: rdb},
	}
	if rdb != nil {
		p.client = asynq.NewClientFromRedisClient(rdb)
		p.inspector = asynq.NewInspectorFromRedisClient(rdb)
	}
	for _, o := range opts {
		if err := o.applyProducer(p); err != nil {
			p.err = err
			break
		}
	}
	p.queues = make(map[Provider][]string, len(Providers()))
	p.queueOpts = make(map[Provider][]asynq.Option, len(Providers()))
	for _, prov := range Providers() {
		p.queues[prov] = prov.Queues(p.shards)
		for _, q := range p.queues[prov] {
			p.queueOpts[prov] = append(p.queueOpts[prov], asynq.Queue(q))
		}
	}
	p.retentionOpt = asynq.Retention(p.retention)
	return p
}

// queueFor is the shard queue of the provider's task with the given id.
func (p *Producer) queueFor(prov Provider, id string) string {
	queues := p.queues[prov]
	return queues[shardOf(id, len(queues))]
}

// OpenProducer connects to the Redis at url and returns a Producer that owns
// the connection: Close closes it. url is a redis:// or rediss:// (TLS) URL
// as go-redis's ParseURL reads it (unix:// works too), with user, password
// and database number:
//
//	rediss://herald:secret@redis.internal:6380/2
//
// The connection is made on first use, so a wrong address shows up as an
// error from the first Enqueue, Status or Cancel.
func OpenProducer(url string, opts ...ProducerOption) (*Producer, error) {
	ropts, err := redis.ParseURL(url)
	if err != nil {
		// net/url quotes the whole URL, password included, in its
		// errors; keep only what went wrong.
		var uerr *neturl.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("tasks: redis URL: %w", err)
	}
	rdb := redis.NewClient(ropts)
	p := NewProducer(rdb, opts...)
	p.ownsRDB = true
	if p.err != nil {
		_ = rdb.Close()
		return nil, p.err
	}
	return p, nil
}

// Close releases the Redis connection if the producer opened it
// (OpenProducer); a client passed to NewProducer stays open.
func (p *Producer) Close() error {
	if p.ownsRDB && p.rdb != nil {
		return p.rdb.Close()
	}
	return nil
}

// Enqueue validates job and enqueues it, returning the ids of its tasks.
//
// Validation comes first: a field that breaks the provider's rules makes
// Enqueue return a *ValidationError naming it (match it with errors.As),
// an invalid option an *OptionError, and in both cases nothing reaches
// Redis. A recipient list longer than one provider call takes is split
// into several tasks, reported together in the receipt.
//
// With an IdempotencyKey, enqueueing the same job again is safe: the receipt
// returns the task already in Redis, marked Duplicate, and no second task is
// added. The same key with a different job is an error (ErrKeyReused).
//
// If Redis fails part-way through a split job, Enqueue returns the receipt
// of the parts it did enqueue together with the error. Retrying with the
// same idempotency key enqueues only the missing parts.
func (p *Producer) Enqueue(ctx context.Context, job Job, opts ...Option) (*Receipt, error) {
	d, parts, payloads, err := p.plan(job, opts)
	if err != nil {
		return nil, err
	}
	if p.client == nil {
		return nil, ErrNoRedis
	}

	// Build every task before the first write, so an error here leaves
	// Redis untouched.
	tasks, err := newTasks(parts, payloads, d)
	if err != nil {
		return nil, err
	}

	provider, _ := ProviderOf(job.Type()) // plan checked it
	r := &Receipt{Tasks: make([]TaskRef, 0, len(tasks))}
	for i, t := range tasks {
		id := p.newTaskID(d.key, i)
		ref, err := p.enqueue(ctx, t, provider, id, d)
		if err != nil {
			if len(r.Tasks) == 0 {
				return nil, err
			}
			return r, err
		}
		r.Tasks = append(r.Tasks, ref)
	}
	return r, nil
}

// newTasks makes the asynq tasks of a job's parts. payloads[i] is part i's
// JSON where validation made it (see prepareEncoded), else nil.
func newTasks(parts []Job, payloads [][]byte, d *delivery) ([]*asynq.Task, error) {
	// asynq.NewTaskWithHeaders copies the map: one serves every part.
	headers := taskHeaders(d)
	tasks := make([]*asynq.Task, len(parts))
	for i, part := range parts {
		payload := payloads[i]
		if payload == nil {
			var err error
			if payload, err = json.Marshal(part); err != nil {
				return nil, fmt.Errorf("tasks: encode %s payload: %w", part.Type(), err)
			}
		}
		tasks[i] = asynq.NewTaskWithHeaders(part.Type(), payload, headers)
	}
	return tasks, nil
}

// taskHeaders returns the headers of a job's tasks: only those that say
// something, since asynq encodes every header of every task. Nil when none
// does: a job of the default account, without an idempotency key, due now.
//
//   - HeaderAccount, unless the account is DefaultAccount, which a task
//     without the header uses (see AccountOf).
//   - HeaderEnqueueID, only with an idempotency key: the key is the task id,
//     and the enqueue id tells this task from an earlier one asynq has
//     forgotten. Without a key the task id is a new UUID, unique already.
//   - HeaderNotBefore, for a job scheduled with DeliverAt.
func taskHeaders(d *delivery) map[string]string {
	if d.account == DefaultAccount && d.key == "" && d.at.IsZero() {
		return nil
	}
	headers := make(map[string]string, 3)
	if d.account != DefaultAccount {
		headers[HeaderAccount] = d.account
	}
	if d.key != "" {
		headers[HeaderEnqueueID] = rand.Text()
	}
	if !d.at.IsZero() {
		headers[HeaderNotBefore] = strconv.FormatInt(d.at.UnixMilli(), 10)
	}
	return headers
}

// AccountOf is the account of a task with the given headers: its
// HeaderAccount, or DefaultAccount for a task without one (the producer
// leaves the header out for the default account). Whatever reads a task's
// account reads it through this.
func AccountOf(headers map[string]string) string {
	if a := headers[HeaderAccount]; a != "" {
		return a
	}
	return DefaultAccount
}

// A PlannedTask is one task Enqueue would add, as Check reports it.
type PlannedTask struct {
	Job Job
	// ID is the task's id when the job's IdempotencyKey sets it; empty
	// when Enqueue makes one (a UUID) as it writes the task.
	ID string
	// Queue is the queue the task would go to. With shards (WithShards)
	// the task id picks it, so it is empty when ID is.
	Queue string
}

// Check does what Enqueue does before it writes to Redis: it applies the
// options, validates the job against the provider's rules as of its
// delivery time, and splits it. It returns the tasks Enqueue would add,
// one per provider call, in order, and the same errors Enqueue would. It
// does not touch Redis, so it works on NewProducer(nil): a dry run, or a
// form that checks input as it is typed.
func (p *Producer) Check(job Job, opts ...Option) ([]PlannedTask, error) {
	d, parts, _, err := p.plan(job, opts)
	if err != nil {
		return nil, err
	}
	provider, _ := ProviderOf(job.Type()) // plan checked it
	planned := make([]PlannedTask, len(parts))
	for i, part := range parts {
		t := PlannedTask{Job: part}
		if d.key != "" {
			t.ID = keyedTaskID(d.key, i)
		}
		if t.ID != "" || p.shards == 1 {
			t.Queue = p.queueFor(provider, t.ID)
		}
		planned[i] = t
	}
	return planned, nil
}

// plan applies the options and validates and splits the job. payloads[i]
// is parts[i]'s JSON where validation made it, else nil (see
// prepareEncoded).
func (p *Producer) plan(job Job, opts []Option) (d *delivery, parts []Job, payloads [][]byte, err error) {
	if p.err != nil {
		return nil, nil, nil, p.err
	}
	if job == nil {
		return nil, nil, nil, errors.New("tasks: Enqueue of a nil Job")
	}
	d = &delivery{now: p.now(), account: DefaultAccount, maxRetry: -1, retention: p.retention}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(d); err != nil {
			return nil, nil, nil, err
		}
	}
	if _, ok := ProviderOf(job.Type()); !ok {
		return nil, nil, nil, fmt.Errorf("%w %q", ErrUnknownType, job.Type())
	}

	// Rules such as "startDate more than an hour ahead" hold for the
	// moment the provider gets the call, which is the delivery time.
	env := Env{Now: d.now, Zone: p.zoneOf(d.account)}
	if d.at.After(env.Now) {
		env.Now = d.at
	}
	parts, payloads, err = prepareEncoded(job, env)
	if err != nil {
		return nil, nil, nil, err
	}
	return d, parts, payloads, nil
}

// newTaskID returns the id of part i (from 0) of a job with the given
// idempotency key (see keyedTaskID). Without a key it is a new UUID, as
// asynq would make, made here because the id picks the task's shard; with
// one shard there is nothing to pick and it is "": asynq makes the UUID
// as it writes the task (it makes one for every task, used or not, so
// making ours too would cost a second).
func (p *Producer) newTaskID(key string, i int) string {
	switch {
	case key != "":
		return keyedTaskID(key, i)
	case p.shards == 1:
		return ""
	}
	return uuid.NewString()
}

// keyedTaskID is the id of part i (from 0) of a job with the given
// idempotency key: key for a single task, and key, key/2, …, key/n for a
// split job. Part one keeps the bare key so that a key always names a
// task, whatever the job's size.
func keyedTaskID(key string, i int) string {
	if i == 0 {
		return key
	}
	return key + "/" + strconv.Itoa(i+1)
}

// enqueue writes one task of the provider's with the given id ("": asynq
// makes one). With an id already taken it returns the task holding it as
// a duplicate, provided it carries the same job.
func (p *Producer) enqueue(ctx context.Context, t *asynq.Task, provider Provider, id string, d *delivery) (TaskRef, error) {
	queues := p.queues[provider]
	shard := shardOf(id, len(queues))
	queue := queues[shard]
	// The options go in an array on the stack (asynq does not keep them),
	// the queue's and the producer's retention made once in NewProducer:
	// an asynq option is an interface, and boxing each anew costs an
	// allocation per option per task.
	var buf [6]asynq.Option
	opts := append(buf[:0], p.queueOpts[provider][shard])
	if d.retention == p.retention {
		opts = append(opts, p.retentionOpt)
	} else {
		opts = append(opts, asynq.Retention(d.retention))
	}
	if id != "" {
		opts = append(opts, asynq.TaskID(id))
	}
	if d.maxRetry >= 0 {
		opts = append(opts, asynq.MaxRetry(d.maxRetry))
	}
	if d.timeout > 0 {
		opts = append(opts, asynq.Timeout(d.timeout))
	}
	if !d.at.IsZero() {
		opts = append(opts, asynq.ProcessAt(ceilToSecond(d.at)))
	}
	// Two rounds: the task holding the id may vanish (cancelled, or its
	// retention ran out) between the conflict and the lookup, and then the
	// id is free again.
	for range 2 {
		info, err := p.client.EnqueueContext(ctx, t, opts...)
		if err == nil {
			p.addDue(ctx, info, d.at)
			return TaskRef{ID: info.ID, Type: info.Type, Queue: info.Queue, ProcessAt: utc(dueAt(info))}, nil
		}
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return TaskRef{}, fmt.Errorf("tasks: enqueue %s: %w", t.Type(), err)
		}
		if id == "" {
			// asynq's own UUID was taken, which only a UUID
			// collision does: no job of ours is there, and the
			// next round makes another.
			continue
		}
		old, err := p.inspector.GetTaskInfo(queue, id)
		if errors.Is(err, asynq.ErrTaskNotFound) {
			continue
		}
		if err != nil {
			return TaskRef{}, fmt.Errorf("tasks: look up task %q: %w", id, err)
		}
		if old.Type != t.Type() || AccountOf(old.Headers) != d.account || !bytes.Equal(old.Payload, t.Payload()) {
			return TaskRef{}, fmt.Errorf("%w: task %q holds another %s job", ErrKeyReused, id, old.Type)
		}
		return TaskRef{ID: old.ID, Type: old.Type, Queue: old.Queue, ProcessAt: utc(dueAt(old)), Duplicate: true}, nil
	}
	return TaskRef{}, fmt.Errorf("tasks: enqueue %s: task id %q keeps changing hands", t.Type(), id)
}

// dueAt is when an existing task is due: to the millisecond for a job
// scheduled with DeliverAt, else asynq's whole-second NextProcessAt.
func dueAt(info *asynq.TaskInfo) time.Time {
	if info.State == asynq.TaskStateScheduled {
		if nb := notBefore(info); !nb.IsZero() {
			return nb
		}
	}
	return info.NextProcessAt
}

func (p *Producer) zoneOf(account string) *time.Location {
	if loc, ok := p.zones[account]; ok {
		return loc
	}
	return p.zone
}

// Status reports the task with the given id: its state, attempts, last
// error and, once completed, the result the worker recorded. It returns an
// error wrapping ErrNotFound when there is no such task.
//
// A task id picks its shard queue but not its provider, so Status asks the
// id's queue of each provider in turn (two Redis round trips per queue),
// then, if none has it, any other queue in Redis: a task in a queue no
// worker serves is reported with a Note saying so. asynq's
// Inspector takes no context: ctx is checked between queues, and each
// round trip is bounded by the Redis client's own timeouts.
func (p *Producer) Status(ctx context.Context, id string) (*Status, error) {
	info, err := p.locate(ctx, id)
	if err != nil {
		return nil, err
	}
	st := statusOf(info)
	if st.Tracking, err = trackingOf(ctx, p.rdb, info); err != nil {
		return nil, fmt.Errorf("tasks: tracking of %q: %w", id, err)
	}
	return st, nil
}

// Cancel deletes the task with the given id so it never runs: a task that
// is pending, scheduled, waiting to retry, or archived (failed) can be
// cancelled. A task that is running or completed cannot; Cancel then
// returns an error wrapping ErrNotCancellable. An unknown id is ErrNotFound.
//
// Cancelling frees the task's idempotency key, and records a cancelled
// outcome event for a task that had no outcome yet.
func (p *Producer) Cancel(ctx context.Context, id string) error {
	return p.remove(ctx, id, false)
}

// locate finds the task with the given id (see FindTask).
func (p *Producer) locate(ctx context.Context, id string) (*asynq.TaskInfo, error) {
	if p.err != nil {
		return nil, p.err
	}
	if id == "" {
		return nil, fmt.Errorf("%w: empty id", ErrNotFound)
	}
	if p.inspector == nil {
		return nil, ErrNoRedis
	}
	return FindTask(ctx, p.inspector, id, p.shards, Providers()...)
}
