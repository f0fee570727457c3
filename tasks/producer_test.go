package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/tasks"
)

// producerFixture is a Producer on a flushed Redis, plus the raw views the
// tests check it against.
type producerFixture struct {
	p   *tasks.Producer
	rdb *redis.Client
	in  *asynq.Inspector
}

func newProducerFixture(t *testing.T, opts ...tasks.ProducerOption) producerFixture {
	t.Helper()
	rdb := redisSrv.Client(t)
	p := tasks.NewProducer(rdb, opts...)
	t.Cleanup(func() { p.Close() })
	return producerFixture{p: p, rdb: rdb, in: asynq.NewInspectorFromRedisClient(rdb)}
}

// task reads a task straight from asynq, bypassing the Producer.
func (f producerFixture) task(t *testing.T, queue, id string) *asynq.TaskInfo {
	t.Helper()
	info, err := f.in.GetTaskInfo(queue, id)
	if err != nil {
		t.Fatalf("asynq GetTaskInfo(%s, %s): %v", queue, id, err)
	}
	return info
}

// keys counts every key in Redis: zero means nothing was enqueued.
func (f producerFixture) keys(t *testing.T) int64 {
	t.Helper()
	n, err := f.rdb.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// queued counts the tasks in a queue, in any state.
func (f producerFixture) queued(t *testing.T, queue string) int {
	t.Helper()
	q, err := f.in.GetQueueInfo(queue)
	if err != nil {
		t.Fatalf("GetQueueInfo(%s): %v", queue, err)
	}
	return q.Size + q.Completed
}

func pushSingle(targets ...string) *tasks.EasemobPushSingle {
	return &tasks.EasemobPushSingle{
		Targets:     targets,
		PushMessage: tasks.PushMessage{Title: "Parcel", Content: "Your parcel has shipped"},
	}
}

func pushAsync(target string) *tasks.EasemobPushAsync {
	return &tasks.EasemobPushAsync{
		Target:      target,
		PushMessage: tasks.PushMessage{Title: "Parcel", Content: "Your parcel has shipped"},
	}
}

func users(n int) []string {
	u := make([]string, n)
	for i := range u {
		u[i] = "user" + strconv.Itoa(i)
	}
	return u
}

func TestEnqueueWritesTask(t *testing.T) {
	f := newProducerFixture(t)
	job := pushSingle("u1", "u2")
	r, err := f.p.Enqueue(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tasks) != 1 {
		t.Fatalf("receipt has %d tasks, want 1", len(r.Tasks))
	}
	ref := r.Tasks[0]
	if ref.ID == "" || ref.Type != tasks.TypeEasemobPushSingle || ref.Queue != "easemob" || ref.Duplicate {
		t.Fatalf("receipt task = %+v", ref)
	}
	info := f.task(t, "easemob", ref.ID)
	want, _ := json.Marshal(job)
	if string(info.Payload) != string(want) {
		t.Errorf("payload = %s, want %s", info.Payload, want)
	}
	if info.State != asynq.TaskStatePending {
		t.Errorf("state = %v, want pending", info.State)
	}
	if info.Retention != tasks.DefaultRetention {
		t.Errorf("retention = %v, want %v", info.Retention, tasks.DefaultRetention)
	}
	if _, ok := info.Headers[tasks.HeaderNotBefore]; ok {
		t.Errorf("an immediate job carries %s", tasks.HeaderNotBefore)
	}
	// The payload is what Parse reads back on the worker.
	back, err := tasks.Parse(info.Type, info.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.(*tasks.EasemobPushSingle).Targets; !slices.Equal(got, job.Targets) {
		t.Errorf("parsed targets = %v, want %v", got, job.Targets)
	}
}

// A task carries only the headers that say something: the account unless
// it is the default one, an enqueue id only when an idempotency key chose
// the task id, and the due time only for a scheduled job. Status reads a
// task without the account header as the default account's.
func TestEnqueueHeaders(t *testing.T) {
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(250 * time.Millisecond)
	notBefore := strconv.FormatInt(at.UnixMilli(), 10)
	const fresh = "<fresh>" // an enqueue id: present, its value new
	tests := []struct {
		name    string
		job     tasks.Job
		opts    []tasks.Option
		want    map[string]string // every header of every task
		account string            // Status().Account
	}{
		{"default", pushSingle("u1"), nil, map[string]string{}, tasks.DefaultAccount},
		{"default named", pushSingle("u1"), []tasks.Option{tasks.Account(tasks.DefaultAccount)},
			map[string]string{}, tasks.DefaultAccount},
		{"named", pushSingle("u1"), []tasks.Option{tasks.Account("shop-cn")},
			map[string]string{tasks.HeaderAccount: "shop-cn"}, "shop-cn"},
		{"last account wins", pushSingle("u1"), []tasks.Option{tasks.Account("a"), tasks.Account("b")},
			map[string]string{tasks.HeaderAccount: "b"}, "b"},
		{"key", pushSingle("u1"), []tasks.Option{tasks.IdempotencyKey("k")},
			map[string]string{tasks.HeaderEnqueueID: fresh}, tasks.DefaultAccount},
		{"named, key", pushSingle("u1"), []tasks.Option{tasks.Account("shop"), tasks.IdempotencyKey("k")},
			map[string]string{tasks.HeaderAccount: "shop", tasks.HeaderEnqueueID: fresh}, "shop"},
		{"scheduled", pushSingle("u1"), []tasks.Option{tasks.DeliverAt(at)},
			map[string]string{tasks.HeaderNotBefore: notBefore}, tasks.DefaultAccount},
		{"scheduled, named, key", pushSingle("u1"), []tasks.Option{tasks.DeliverAt(at), tasks.Account("shop"), tasks.IdempotencyKey("k")},
			map[string]string{tasks.HeaderNotBefore: notBefore, tasks.HeaderAccount: "shop", tasks.HeaderEnqueueID: fresh}, "shop"},
		{"split", pushSingle(users(150)...), nil, map[string]string{}, tasks.DefaultAccount},
		{"split, key", pushSingle(users(150)...), []tasks.Option{tasks.IdempotencyKey("k")},
			map[string]string{tasks.HeaderEnqueueID: fresh}, tasks.DefaultAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t)
			r, err := f.p.Enqueue(t.Context(), tt.job, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			enqueueIDs := map[string]bool{}
			for _, ref := range r.Tasks {
				info := f.task(t, "easemob", ref.ID)
				if len(info.Headers) != len(tt.want) {
					t.Errorf("task %s headers = %v, want %v", ref.ID, info.Headers, tt.want)
				}
				for k, want := range tt.want {
					got, ok := info.Headers[k]
					if !ok || (want == fresh && got == "") || (want != fresh && got != want) {
						t.Errorf("task %s header %s = %q (present %v), want %q", ref.ID, k, got, ok, want)
					}
				}
				if id, ok := info.Headers[tasks.HeaderEnqueueID]; ok {
					enqueueIDs[id] = true
				}
				st, err := f.p.Status(t.Context(), ref.ID)
				if err != nil {
					t.Fatal(err)
				}
				if st.Account != tt.account {
					t.Errorf("task %s Status().Account = %q, want %q", ref.ID, st.Account, tt.account)
				}
			}
			// One enqueue, one enqueue id, whatever the parts.
			if len(enqueueIDs) > 1 {
				t.Errorf("the parts of one enqueue carry %d enqueue ids: %v", len(enqueueIDs), enqueueIDs)
			}
		})
	}
}

// An idempotency key enqueued again after its task is gone (here deleted;
// in production, past its retention) gets a new enqueue id: that is what
// tells the worker's records of the two tasks apart.
func TestEnqueueIDNewPerEnqueue(t *testing.T) {
	f := newProducerFixture(t)
	var ids []string
	for range 2 {
		if _, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.IdempotencyKey("k")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.task(t, "easemob", "k").Headers[tasks.HeaderEnqueueID])
		if err := f.p.Delete(t.Context(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if ids[0] == "" || ids[0] == ids[1] {
		t.Errorf("enqueue ids %q, want two different ones", ids)
	}
}

// The duplicate check compares accounts, reading a task without the account
// header as the default account's, and one an older producer wrote with
// the header set to "default" the same way.
func TestEnqueueDuplicateAccount(t *testing.T) {
	job := pushSingle("u1", "u2")
	payload, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	// older writes the task the way producers did before the default
	// account's header was left out.
	older := func(t *testing.T, f producerFixture) {
		task := asynq.NewTaskWithHeaders(job.Type(), payload,
			map[string]string{tasks.HeaderAccount: tasks.DefaultAccount, tasks.HeaderEnqueueID: "older"})
		c := asynq.NewClientFromRedisClient(f.rdb)
		if _, err := c.EnqueueContext(t.Context(), task, asynq.Queue("easemob"), asynq.TaskID("k")); err != nil {
			t.Fatal(err)
		}
	}
	with := func(opts ...tasks.Option) func(*testing.T, producerFixture) {
		return func(t *testing.T, f producerFixture) {
			if _, err := f.p.Enqueue(t.Context(), job, append(opts, tasks.IdempotencyKey("k"))...); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name      string
		first     func(*testing.T, producerFixture)
		again     []tasks.Option
		duplicate bool   // else ErrKeyReused
		account   string // Status().Account of the first task
	}{
		{"default, default", with(), nil, true, tasks.DefaultAccount},
		{"default, default named", with(), []tasks.Option{tasks.Account(tasks.DefaultAccount)}, true, tasks.DefaultAccount},
		{"default named, default", with(tasks.Account(tasks.DefaultAccount)), nil, true, tasks.DefaultAccount},
		{"default, named", with(), []tasks.Option{tasks.Account("shop")}, false, tasks.DefaultAccount},
		{"named, default", with(tasks.Account("shop")), nil, false, "shop"},
		{"named, same named", with(tasks.Account("shop")), []tasks.Option{tasks.Account("shop")}, true, "shop"},
		{"older default header, default", older, nil, true, tasks.DefaultAccount},
		{"older default header, named", older, []tasks.Option{tasks.Account("shop")}, false, tasks.DefaultAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t)
			tt.first(t, f)
			r, err := f.p.Enqueue(t.Context(), pushSingle("u1", "u2"), append(tt.again, tasks.IdempotencyKey("k"))...)
			switch {
			case tt.duplicate && (err != nil || !r.Tasks[0].Duplicate || r.Tasks[0].ID != "k"):
				t.Errorf("Enqueue() = %+v, %v; want task k as a duplicate", r, err)
			case !tt.duplicate && !errors.Is(err, tasks.ErrKeyReused):
				t.Errorf("Enqueue() = %+v, %v; want ErrKeyReused", r, err)
			}
			if n := f.queued(t, "easemob"); n != 1 {
				t.Errorf("queue holds %d tasks, want 1", n)
			}
			st, err := f.p.Status(t.Context(), "k")
			if err != nil {
				t.Fatal(err)
			}
			if st.Account != tt.account {
				t.Errorf("Status().Account = %q, want %q", st.Account, tt.account)
			}
		})
	}
}

func TestEnqueueTaskOptions(t *testing.T) {
	tests := []struct {
		name          string
		opts          []tasks.Option
		producer      []tasks.ProducerOption
		wantMaxRetry  int
		wantTimeout   time.Duration
		wantRetention time.Duration
	}{
		{"asynq defaults", nil, nil, 25, 30 * time.Minute, tasks.DefaultRetention},
		{"set", []tasks.Option{tasks.MaxRetry(3), tasks.Timeout(10 * time.Second), tasks.Retention(time.Hour)}, nil,
			3, 10 * time.Second, time.Hour},
		{"one attempt", []tasks.Option{tasks.MaxRetry(0)}, nil, 0, 30 * time.Minute, tasks.DefaultRetention},
		{"rounded up to seconds", []tasks.Option{tasks.Timeout(1500 * time.Millisecond), tasks.Retention(100 * time.Millisecond)}, nil,
			25, 2 * time.Second, time.Second},
		{"producer retention", nil, []tasks.ProducerOption{tasks.WithDefaultRetention(2 * time.Hour)},
			25, 30 * time.Minute, 2 * time.Hour},
		{"job beats producer", []tasks.Option{tasks.Retention(time.Minute)}, []tasks.ProducerOption{tasks.WithDefaultRetention(2 * time.Hour)},
			25, 30 * time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t, tt.producer...)
			r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			info := f.task(t, "easemob", r.Tasks[0].ID)
			if info.MaxRetry != tt.wantMaxRetry || info.Timeout != tt.wantTimeout || info.Retention != tt.wantRetention {
				t.Errorf("MaxRetry, Timeout, Retention = %d, %v, %v; want %d, %v, %v",
					info.MaxRetry, info.Timeout, info.Retention, tt.wantMaxRetry, tt.wantTimeout, tt.wantRetention)
			}
		})
	}
}

func TestEnqueueInvalidOption(t *testing.T) {
	tests := []struct {
		opt  tasks.Option
		name string // OptionError.Option
	}{
		{tasks.DeliverIn(-time.Second), "DeliverIn"},
		{tasks.DeliverAt(time.Time{}), "DeliverAt"},
		{tasks.IdempotencyKey(""), "IdempotencyKey"},
		{tasks.IdempotencyKey("order 42"), "IdempotencyKey"},
		{tasks.IdempotencyKey("order\n42"), "IdempotencyKey"},
		{tasks.IdempotencyKey(strings.Repeat("k", 201)), "IdempotencyKey"},
		{tasks.Account(""), "Account"},
		{tasks.Account("shop:cn"), "Account"},
		{tasks.Account("{shop}"), "Account"},
		{tasks.Account(strings.Repeat("a", 65)), "Account"},
		{tasks.MaxRetry(-1), "MaxRetry"},
		{tasks.Timeout(0), "Timeout"},
		{tasks.Timeout(999 * time.Millisecond), "Timeout"},
		{tasks.Retention(-time.Second), "Retention"},
		// asynq keeps MaxRetry in 32 bits: these wrapped to -2147483648
		// and 0, archiving the job on its first failure.
		{tasks.MaxRetry(math.MaxInt32 + 1), "MaxRetry"},
		{tasks.MaxRetry(1 << 32), "MaxRetry"},
		{tasks.Timeout(math.MaxInt64), "Timeout"},
		{tasks.Retention(math.MaxInt64), "Retention"},
		{tasks.DeliverAt(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "DeliverAt"},
	}
	f := newProducerFixture(t)
	for _, tt := range tests {
		t.Run(tt.opt.String(), func(t *testing.T) {
			r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.MaxRetry(1), tt.opt)
			var oerr *tasks.OptionError
			if !errors.As(err, &oerr) {
				t.Fatalf("Enqueue(%v) = %v, %v; want an *OptionError", tt.opt, r, err)
			}
			if oerr.Option != tt.name || oerr.Rule == "" || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error = %+v (%q), want it to name option %s and a rule", oerr, err, tt.name)
			}
		})
	}
	if n := f.keys(t); n != 0 {
		t.Errorf("Redis holds %d keys after failed enqueues, want 0", n)
	}
}

// The largest values the options take reach asynq unchanged.
func TestEnqueueOptionBounds(t *testing.T) {
	f := newProducerFixture(t)
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.MaxRetry(math.MaxInt32),
		tasks.Timeout(100*365*24*time.Hour), tasks.Retention(100*365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	info := f.task(t, "easemob", r.Tasks[0].ID)
	if info.MaxRetry != math.MaxInt32 || info.Timeout != 100*365*24*time.Hour || info.Retention != 100*365*24*time.Hour {
		t.Errorf("MaxRetry, Timeout, Retention = %d, %v, %v", info.MaxRetry, info.Timeout, info.Retention)
	}
}

func TestEnqueueValidationErrorWritesNothing(t *testing.T) {
	f := newProducerFixture(t)
	tests := []struct {
		job   tasks.Job
		field string
	}{
		{pushSingle("u1", "", "u3"), "targets[1]"},
		{&tasks.EasemobPushSingle{Targets: []string{"u1"}}, "pushMessage.title"},
		// Validated as a whole before splitting: the index is in the
		// caller's list, not in one of the parts.
		{pushSingle(append(users(203), "")...), "targets[203]"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := f.p.Enqueue(t.Context(), tt.job, tasks.IdempotencyKey("k-"+tt.field))
			var verr *tasks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Enqueue() = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.field || verr.Job != tasks.TypeEasemobPushSingle {
				t.Errorf("ValidationError = %+v, want field %s", verr, tt.field)
			}
		})
	}
	if n := f.keys(t); n != 0 {
		t.Errorf("Redis holds %d keys after invalid jobs, want 0", n)
	}
}

func TestEnqueueIdempotencyKey(t *testing.T) {
	f := newProducerFixture(t)
	job := pushSingle("u1", "u2")
	first, err := f.p.Enqueue(t.Context(), job, tasks.IdempotencyKey("order-42"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Tasks[0].ID != "order-42" || first.Tasks[0].Duplicate {
		t.Fatalf("first receipt = %+v, want id order-42, not a duplicate", first.Tasks[0])
	}
	// A fresh but equal job, as a retrying caller would build it.
	second, err := f.p.Enqueue(t.Context(), pushSingle("u1", "u2"), tasks.IdempotencyKey("order-42"))
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Tasks) != 1 || second.Tasks[0].ID != "order-42" || !second.Tasks[0].Duplicate || !second.Duplicate() {
		t.Fatalf("second receipt = %+v, want the same id marked duplicate", second.Tasks)
	}
	if n := f.queued(t, "easemob"); n != 1 {
		t.Fatalf("queue holds %d tasks, want 1", n)
	}
}

func TestEnqueueIdempotencyKeyScheduled(t *testing.T) {
	f := newProducerFixture(t)
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(123 * time.Millisecond)
	first, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.IdempotencyKey("k"), tasks.DeliverAt(at))
	if err != nil {
		t.Fatal(err)
	}
	// A retry computing its own time: still the same job.
	second, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.IdempotencyKey("k"), tasks.DeliverIn(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Tasks[0].Duplicate {
		t.Fatalf("second receipt = %+v, want a duplicate", second.Tasks[0])
	}
	// The duplicate reports the original due time to the millisecond, not
	// asynq's whole second.
	if !second.Tasks[0].ProcessAt.Equal(first.Tasks[0].ProcessAt) || !second.Tasks[0].ProcessAt.Equal(at) {
		t.Errorf("ProcessAt: first %v, duplicate %v, want %v", first.Tasks[0].ProcessAt, second.Tasks[0].ProcessAt, at)
	}
}

func TestEnqueueKeyReused(t *testing.T) {
	tests := []struct {
		name string
		job  tasks.Job
		opts []tasks.Option
	}{
		{"other payload", pushSingle("u1", "u3"), nil},
		{"other account", pushSingle("u1", "u2"), []tasks.Option{tasks.Account("other")}},
		{"other type", &tasks.EasemobPushAsync{Target: "u1", PushMessage: tasks.PushMessage{Title: "t", Content: "c"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t)
			if _, err := f.p.Enqueue(t.Context(), pushSingle("u1", "u2"), tasks.IdempotencyKey("k")); err != nil {
				t.Fatal(err)
			}
			r, err := f.p.Enqueue(t.Context(), tt.job, append(tt.opts, tasks.IdempotencyKey("k"))...)
			if !errors.Is(err, tasks.ErrKeyReused) {
				t.Fatalf("Enqueue() = %+v, %v; want ErrKeyReused", r, err)
			}
			info := f.task(t, "easemob", "k")
			if want, _ := json.Marshal(pushSingle("u1", "u2")); string(info.Payload) != string(want) {
				t.Errorf("the first job was replaced: payload %s", info.Payload)
			}
			if n := f.queued(t, "easemob"); n != 1 {
				t.Errorf("queue holds %d tasks, want 1", n)
			}
		})
	}
}

func TestEnqueueScheduled(t *testing.T) {
	f := newProducerFixture(t)
	at := time.Now().Add(time.Hour).Truncate(time.Second).Add(250 * time.Millisecond)
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.DeliverAt(at))
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Tasks[0]
	if !ref.ProcessAt.Equal(at) {
		t.Errorf("receipt ProcessAt = %v, want %v", ref.ProcessAt, at)
	}
	info := f.task(t, "easemob", ref.ID)
	if info.State != asynq.TaskStateScheduled {
		t.Fatalf("state = %v, want scheduled", info.State)
	}
	// asynq keeps whole seconds: it is given the next one, so its own
	// forwarder never runs the job early; the exact time is in the header
	// and in the due set the workers' scheduler polls.
	if want := at.Truncate(time.Second).Add(time.Second); !info.NextProcessAt.Equal(want) {
		t.Errorf("NextProcessAt = %v, want %v", info.NextProcessAt, want)
	}
	if ms, err := f.rdb.ZScore(t.Context(), tasks.DueKey("easemob"), ref.ID).Result(); err != nil || int64(ms) != at.UnixMilli() {
		t.Errorf("due set score = %v (%v), want %d", ms, err, at.UnixMilli())
	}
	if got, want := info.Headers[tasks.HeaderNotBefore], strconv.FormatInt(at.UnixMilli(), 10); got != want {
		t.Errorf("header %s = %q, want %q", tasks.HeaderNotBefore, got, want)
	}
	st, err := f.p.Status(t.Context(), ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "scheduled" || !st.NotBefore.Equal(at) {
		t.Errorf("Status = %s not before %v, want scheduled not before %v", st.State, st.NotBefore, at)
	}
}

func TestEnqueueDeliverIn(t *testing.T) {
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	f := newProducerFixture(t, tasks.WithClock(func() time.Time { return now }))
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.DeliverIn(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(90 * time.Second)
	info := f.task(t, "easemob", r.Tasks[0].ID)
	if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(want) {
		t.Errorf("task %v at %v, want scheduled at %v", info.State, info.NextProcessAt, want)
	}
	if got := info.Headers[tasks.HeaderNotBefore]; got != strconv.FormatInt(want.UnixMilli(), 10) {
		t.Errorf("header %s = %q, want %d", tasks.HeaderNotBefore, got, want.UnixMilli())
	}
}

func TestEnqueueDeliverAtPastIsImmediate(t *testing.T) {
	f := newProducerFixture(t)
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.DeliverAt(time.Now().Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if info := f.task(t, "easemob", r.Tasks[0].ID); info.State != asynq.TaskStatePending {
		t.Errorf("state = %v, want pending", info.State)
	}
}

// Easemob's startDate window (more than 1 h, less than 30 days ahead) is
// read in the account's zone and measured from the delivery time.
func TestEnqueueValidationEnv(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// 08:30 in UTC+8 is 00:30 UTC: only 30 minutes ahead of now.
	// 08:30 in UTC is 8.5 h ahead.
	job := func() tasks.Job {
		return &tasks.EasemobPushTask{StartDate: "2030-01-01 08:30:00", PushMessage: tasks.PushMessage{Title: "t", Content: "c"}}
	}
	f := newProducerFixture(t,
		tasks.WithClock(func() time.Time { return now }),
		tasks.WithAccountZone("eu", time.UTC),
	)
	tests := []struct {
		name    string
		opts    []tasks.Option
		wantErr bool
	}{
		{"default zone CST", nil, true},
		{"account zone UTC", []tasks.Option{tasks.Account("eu")}, false},
		{"delivered too late for startDate", []tasks.Option{tasks.Account("eu"), tasks.DeliverAt(now.Add(8 * time.Hour))}, true},
		{"delivered in time for startDate", []tasks.Option{tasks.Account("eu"), tasks.DeliverAt(now.Add(7 * time.Hour))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.p.Enqueue(t.Context(), job(), tt.opts...)
			var verr *tasks.ValidationError
			if tt.wantErr != (err != nil) || (err != nil && (!errors.As(err, &verr) || verr.Field != "startDate")) {
				t.Fatalf("Enqueue() = %v, want error on startDate: %v", err, tt.wantErr)
			}
		})
	}
}

func TestEnqueueSplitsLongTargetLists(t *testing.T) {
	targets := users(250)
	wantParts := [][]string{targets[:100], targets[100:200], targets[200:]}
	tests := []struct {
		name    string
		opts    []tasks.Option
		wantIDs []string // nil: generated
	}{
		{"with key", []tasks.Option{tasks.IdempotencyKey("batch-7")}, []string{"batch-7", "batch-7/2", "batch-7/3"}},
		{"without key", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t)
			r, err := f.p.Enqueue(t.Context(), pushSingle(targets...), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Tasks) != len(wantParts) {
				t.Fatalf("receipt has %d tasks, want %d", len(r.Tasks), len(wantParts))
			}
			if tt.wantIDs != nil && !slices.Equal(r.IDs(), tt.wantIDs) {
				t.Errorf("ids = %v, want %v", r.IDs(), tt.wantIDs)
			}
			if ids := slices.Compact(slices.Sorted(slices.Values(r.IDs()))); len(ids) != len(wantParts) {
				t.Errorf("ids %v are not distinct", r.IDs())
			}
			for i, ref := range r.Tasks {
				info := f.task(t, "easemob", ref.ID)
				job, err := tasks.Parse(info.Type, info.Payload)
				if err != nil {
					t.Fatal(err)
				}
				part := job.(*tasks.EasemobPushSingle)
				if !slices.Equal(part.Targets, wantParts[i]) {
					t.Errorf("part %d targets = %d users from %s, want %d from %s",
						i, len(part.Targets), part.Targets[0], len(wantParts[i]), wantParts[i][0])
				}
				if part.PushMessage.Title != "Parcel" {
					t.Errorf("part %d lost the message: %+v", i, part.PushMessage)
				}
			}
			if n := f.queued(t, "easemob"); n != len(wantParts) {
				t.Errorf("queue holds %d tasks, want %d", n, len(wantParts))
			}
		})
	}
}

// A DingTalk send to 250 users becomes three tasks in the dingtalk queue,
// reported in one receipt; the departments go with the first.
func TestEnqueueSplitsDingTalkUsers(t *testing.T) {
	f := newProducerFixture(t)
	list := users(250)
	job := &tasks.DingTalkSend{UseridList: strings.Join(list, ","), DeptIDList: "42",
		Msg: tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"hi"}`)}}
	r, err := f.p.Enqueue(t.Context(), job, tasks.IdempotencyKey("dt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dt", "dt/2", "dt/3"}; !slices.Equal(r.IDs(), want) {
		t.Fatalf("ids = %v, want %v", r.IDs(), want)
	}
	wantUsers := [][]string{list[:100], list[100:200], list[200:]}
	wantDepts := []string{"42", "", ""}
	for i, ref := range r.Tasks {
		if ref.Queue != "dingtalk" || ref.Type != tasks.TypeDingTalkSend {
			t.Errorf("task %d = %+v", i, ref)
		}
		info := f.task(t, "dingtalk", ref.ID)
		got, err := tasks.Parse(info.Type, info.Payload)
		if err != nil {
			t.Fatal(err)
		}
		part := got.(*tasks.DingTalkSend)
		if part.UseridList != strings.Join(wantUsers[i], ",") || part.DeptIDList != wantDepts[i] {
			t.Errorf("part %d: %d users, departments %q; want %d, %q",
				i, len(strings.Split(part.UseridList, ",")), part.DeptIDList, len(wantUsers[i]), wantDepts[i])
		}
		if err := part.Validate(tasks.Env{}); err != nil {
			t.Errorf("part %d does not validate as one call: %v", i, err)
		}
	}
}

// A retry after a partial failure enqueues only the parts that are
// missing.
func TestEnqueueSplitRetryFillsGaps(t *testing.T) {
	f := newProducerFixture(t)
	job := pushSingle(users(250)...)
	if _, err := f.p.Enqueue(t.Context(), job, tasks.IdempotencyKey("b")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Cancel(t.Context(), "b/2"); err != nil { // as if part 2 never made it
		t.Fatal(err)
	}
	r, err := f.p.Enqueue(t.Context(), pushSingle(users(250)...), tasks.IdempotencyKey("b"))
	if err != nil {
		t.Fatal(err)
	}
	var dup []bool
	for _, ref := range r.Tasks {
		dup = append(dup, ref.Duplicate)
	}
	if want := []bool{true, false, true}; !slices.Equal(dup, want) {
		t.Errorf("duplicates = %v, want %v", dup, want)
	}
	if n := f.queued(t, "easemob"); n != 3 {
		t.Errorf("queue holds %d tasks, want 3", n)
	}
}

func TestEnqueueUnknownType(t *testing.T) {
	f := newProducerFixture(t)
	_, err := f.p.Enqueue(t.Context(), fakeJob{})
	if !errors.Is(err, tasks.ErrUnknownType) {
		t.Fatalf("Enqueue() = %v, want ErrUnknownType", err)
	}
}

type fakeJob struct{}

func (fakeJob) Type() string             { return "carrier-pigeon:send" }
func (fakeJob) Validate(tasks.Env) error { return nil }

func TestCancel(t *testing.T) {
	tests := []struct {
		name  string
		opts  []tasks.Option
		setup func(t *testing.T, f producerFixture, id string)
	}{
		{name: "pending"},
		{name: "scheduled", opts: []tasks.Option{tasks.DeliverIn(time.Hour)}},
		{name: "archived", setup: func(t *testing.T, f producerFixture, id string) {
			if err := f.in.ArchiveTask("easemob", id); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t)
			r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), append(tt.opts, tasks.IdempotencyKey("c"))...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, f, "c")
			}
			if err := f.p.Cancel(t.Context(), r.Tasks[0].ID); err != nil {
				t.Fatalf("Cancel() = %v", err)
			}
			if _, err := f.in.GetTaskInfo("easemob", "c"); !errors.Is(err, asynq.ErrTaskNotFound) {
				t.Fatalf("task still in asynq after Cancel: %v", err)
			}
			if _, err := f.p.Status(t.Context(), "c"); !errors.Is(err, tasks.ErrNotFound) {
				t.Errorf("Status() after Cancel = %v, want ErrNotFound", err)
			}
			if err := f.p.Cancel(t.Context(), "c"); !errors.Is(err, tasks.ErrNotFound) {
				t.Errorf("second Cancel() = %v, want ErrNotFound", err)
			}
			// Cancelling frees the key.
			again, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.IdempotencyKey("c"))
			if err != nil || again.Tasks[0].Duplicate {
				t.Errorf("Enqueue after Cancel = %+v, %v; want a new task", again, err)
			}
		})
	}
}

func TestCancelRetryTask(t *testing.T) {
	f := newProducerFixture(t)
	srv := startWorker(t, f.rdb, func(ctx context.Context, task *asynq.Task) error {
		return errors.New("provider said 503")
	})
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.MaxRetry(5))
	if err != nil {
		t.Fatal(err)
	}
	id := r.Tasks[0].ID
	st := awaitState(t, f.p, id, "retry")
	srv.Shutdown()
	if st.Attempts != 1 || st.LastError != "provider said 503" || st.LastFailedAt.IsZero() || st.MaxRetry != 5 {
		t.Errorf("Status = %+v, want 1 attempt failed with the handler's error", st)
	}
	if err := f.p.Cancel(t.Context(), id); err != nil {
		t.Fatalf("Cancel() = %v", err)
	}
	if _, err := f.p.Status(t.Context(), id); !errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("Status() after Cancel = %v, want ErrNotFound", err)
	}
}

func TestNotFound(t *testing.T) {
	f := newProducerFixture(t)
	// One known task, so the queue exists and the lookup gets that far.
	if _, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.IdempotencyKey("known")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"unknown", ""} {
		if _, err := f.p.Status(t.Context(), id); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("Status(%q) = %v, want ErrNotFound", id, err)
		}
		if err := f.p.Cancel(t.Context(), id); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("Cancel(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestAmbiguousID(t *testing.T) {
	f := newProducerFixture(t)
	if _, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.IdempotencyKey("same")); err != nil {
		t.Fatal(err)
	}
	// The same id in another provider's queue: asynq's ids are per queue.
	c := asynq.NewClientFromRedisClient(f.rdb)
	if _, err := c.Enqueue(asynq.NewTask(tasks.TypeFeishuExecuteSend, []byte(`{}`)), asynq.Queue("feishu"), asynq.TaskID("same")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Status(t.Context(), "same"); !errors.Is(err, tasks.ErrAmbiguousID) {
		t.Errorf("Status() = %v, want ErrAmbiguousID", err)
	}
	if err := f.p.Cancel(t.Context(), "same"); !errors.Is(err, tasks.ErrAmbiguousID) {
		t.Errorf("Cancel() = %v, want ErrAmbiguousID", err)
	}
	if f.queued(t, "easemob") != 1 || f.queued(t, "feishu") != 1 {
		t.Error("a refused Cancel deleted a task")
	}
}

// TestStatusAfterProcessing runs a real asynq server over the queue so that
// tasks reach the states only a worker can put them in.
// A raw asynq client that names no queue puts its task in "default",
// where no Herald worker looks. Status and Cancel still find it, and
// Status says why it will not run.
func TestStatusUnservedQueue(t *testing.T) {
	f := newProducerFixture(t)
	client := asynq.NewClientFromRedisClient(f.rdb)
	payload := []byte(`{"target":"u1","pushMessage":{"title":"t","content":"c"}}`)
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeEasemobPushSync, payload), asynq.TaskID("raw-1")); err != nil {
		t.Fatal(err)
	}
	st, err := f.p.Status(t.Context(), "raw-1")
	if err != nil {
		t.Fatalf("Status = %v, want the task in queue default", err)
	}
	if st.Queue != "default" || st.State != "pending" || !strings.Contains(st.Note, `no Herald worker serves queue "default"`) {
		t.Errorf("Status = %+v", st)
	}
	if err := f.p.Cancel(t.Context(), "raw-1"); err != nil {
		t.Errorf("Cancel = %v", err)
	}
	if _, err := f.p.Status(t.Context(), "raw-1"); !errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("Status after Cancel = %v, want ErrNotFound", err)
	}
}

func TestStatusAfterProcessing(t *testing.T) {
	f := newProducerFixture(t)
	release := make(chan struct{})
	startWorker(t, f.rdb, func(ctx context.Context, task *asynq.Task) error {
		job, err := tasks.Parse(task.Type(), task.Payload())
		if err != nil {
			return err
		}
		switch job.(*tasks.EasemobPushSingle).Targets[0] {
		case "fail":
			return fmt.Errorf("easemob push.single: permanent (HTTP 400): illegal_argument: %w", asynq.SkipRetry)
		case "hold":
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err = task.ResultWriter().Write([]byte(`{"pushStatus":"ASYNC_SUCCESS"}`))
		return err
	})

	t.Run("archived", func(t *testing.T) {
		r, err := f.p.Enqueue(t.Context(), pushSingle("fail"), tasks.Account("shop"))
		if err != nil {
			t.Fatal(err)
		}
		st := awaitState(t, f.p, r.Tasks[0].ID, "archived")
		if !strings.Contains(st.LastError, "illegal_argument") || st.LastFailedAt.IsZero() ||
			st.Account != "shop" || st.Type != tasks.TypeEasemobPushSingle || st.Queue != "easemob" {
			t.Errorf("Status = %+v", st)
		}
		if !strings.Contains(string(st.Payload), `"fail"`) {
			t.Errorf("Status.Payload = %s", st.Payload)
		}
		// An archived task can still be cancelled (deleted).
		if err := f.p.Cancel(t.Context(), st.ID); err != nil {
			t.Errorf("Cancel(archived) = %v", err)
		}
	})
	t.Run("active", func(t *testing.T) {
		r, err := f.p.Enqueue(t.Context(), pushSingle("hold"))
		if err != nil {
			t.Fatal(err)
		}
		id := r.Tasks[0].ID
		awaitState(t, f.p, id, "active")
		err = f.p.Cancel(t.Context(), id)
		if !errors.Is(err, tasks.ErrNotCancellable) || !strings.Contains(err.Error(), "active") {
			t.Errorf("Cancel(active) = %v, want ErrNotCancellable naming the state", err)
		}
		close(release)
		awaitState(t, f.p, id, "completed")
	})
	t.Run("completed", func(t *testing.T) {
		r, err := f.p.Enqueue(t.Context(), pushSingle("ok"))
		if err != nil {
			t.Fatal(err)
		}
		st := awaitState(t, f.p, r.Tasks[0].ID, "completed")
		if string(st.Result) != `{"pushStatus":"ASYNC_SUCCESS"}` || st.CompletedAt.IsZero() || st.LastError != "" {
			t.Errorf("Status = %+v", st)
		}
		err = f.p.Cancel(t.Context(), st.ID)
		if !errors.Is(err, tasks.ErrNotCancellable) || !strings.Contains(err.Error(), "completed") {
			t.Errorf("Cancel(completed) = %v, want ErrNotCancellable naming the state", err)
		}
		if _, err := f.p.Status(t.Context(), st.ID); err != nil {
			t.Errorf("a refused Cancel removed the task: %v", err)
		}
	})
}

// startWorker runs an asynq server on the easemob queue until the test
// ends.
func startWorker(t *testing.T, rdb redis.UniversalClient, h asynq.HandlerFunc) *asynq.Server {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       2,
		Queues:            map[string]int{tasks.Easemob.Queue(): 1},
		LogLevel:          asynq.FatalLevel,
		ShutdownTimeout:   time.Second,
		TaskCheckInterval: 10 * time.Millisecond,
	})
	if err := srv.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// awaitState polls Status until the task is in state, for up to 10 s.
func awaitState(t *testing.T, p *tasks.Producer, id, state string) *tasks.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := p.Status(t.Context(), id)
		if err == nil && st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s did not become %s: last status %+v, err %v", id, state, st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStatusResultNotJSON(t *testing.T) {
	f := newProducerFixture(t)
	startWorker(t, f.rdb, func(ctx context.Context, task *asynq.Task) error {
		_, err := task.ResultWriter().Write([]byte("sent, no details"))
		return err
	})
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"))
	if err != nil {
		t.Fatal(err)
	}
	st := awaitState(t, f.p, r.Tasks[0].ID, "completed")
	if _, err := json.Marshal(st); err != nil {
		t.Fatalf("Status does not marshal: %v", err)
	}
	if string(st.Result) != `"sent, no details"` {
		t.Errorf("Result = %s, want the text as a JSON string", st.Result)
	}
}

func TestProducerOptionErrors(t *testing.T) {
	tests := []struct {
		opt  tasks.ProducerOption
		name string
	}{
		{tasks.WithClock(nil), "WithClock"},
		{tasks.WithZone(nil), "WithZone"},
		{tasks.WithAccountZone("eu", nil), "WithAccountZone"},
		{tasks.WithAccountZone("e:u", time.UTC), "WithAccountZone"},
		{tasks.WithDefaultRetention(-time.Second), "WithDefaultRetention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t, tt.opt)
			_, err := f.p.Enqueue(t.Context(), pushSingle("u1"))
			var oerr *tasks.OptionError
			if !errors.As(err, &oerr) || oerr.Option != tt.name {
				t.Errorf("Enqueue() = %v, want an *OptionError for %s", err, tt.name)
			}
			if _, err := f.p.Status(t.Context(), "x"); !errors.As(err, &oerr) {
				t.Errorf("Status() = %v, want the *OptionError", err)
			}
			if p, err := tasks.OpenProducer(redisSrv.URL(), tt.opt); !errors.As(err, &oerr) {
				t.Errorf("OpenProducer() = %v, %v; want the *OptionError", p, err)
			}
			if n := f.keys(t); n != 0 {
				t.Errorf("Redis holds %d keys, want 0", n)
			}
		})
	}
}

func TestOpenProducer(t *testing.T) {
	rdb := redisSrv.Client(t)
	p, err := tasks.OpenProducer(redisSrv.URL() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Enqueue(t.Context(), pushSingle("u1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo("easemob", r.Tasks[0].ID); err != nil {
		t.Errorf("task not in Redis: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Enqueue(t.Context(), pushSingle("u1")); err == nil {
		t.Error("Enqueue after Close succeeded; Close did not close the owned client")
	}
}

func TestOpenProducerBadURL(t *testing.T) {
	for _, url := range []string{"", "http://localhost:6379", "redis://:hunter2@host:port/x"} {
		p, err := tasks.OpenProducer(url)
		if err == nil {
			p.Close()
			t.Errorf("OpenProducer(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestCloseKeepsCallersClient(t *testing.T) {
	rdb := redisSrv.Client(t)
	p := tasks.NewProducer(rdb)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Errorf("caller's client closed by Producer.Close: %v", err)
	}
}

func TestEnqueueRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	p := tasks.NewProducer(rdb)
	if _, err := p.Enqueue(t.Context(), pushSingle("u1")); err == nil {
		t.Error("Enqueue with Redis down succeeded")
	}
	if _, err := p.Status(t.Context(), "x"); err == nil || errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("Status with Redis down = %v, want a Redis error, not ErrNotFound", err)
	}
}

func TestReceiptJSON(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	r := tasks.Receipt{Tasks: []tasks.TaskRef{{ID: "k", Type: tasks.TypeEasemobPushSingle, Queue: "easemob", ProcessAt: at, Duplicate: true}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"tasks":[{"id":"k","type":"easemob:push.single","queue":"easemob","process_at":"2030-01-02T03:04:05Z","duplicate":true}]}`
	if string(b) != want {
		t.Errorf("receipt JSON = %s\nwant %s", b, want)
	}
}

func BenchmarkEnqueue(b *testing.B) {
	tests := []struct {
		name string
		job  func() tasks.Job
		opts func(i int) []tasks.Option
	}{
		{"single", func() tasks.Job { return pushSingle("u1", "u2") }, func(int) []tasks.Option { return nil }},
		{"keyed", func() tasks.Job { return pushSingle("u1", "u2") },
			func(i int) []tasks.Option { return []tasks.Option{tasks.IdempotencyKey("k" + strconv.Itoa(i))} }},
		{"duplicate", func() tasks.Job { return pushSingle("u1", "u2") },
			func(int) []tasks.Option { return []tasks.Option{tasks.IdempotencyKey("same")} }},
		{"split 1000 targets", func() tasks.Job { return pushSingle(users(1000)...) }, func(int) []tasks.Option { return nil }},
		// What cmd/bench enqueues (its "enqueue" row), to set beside
		// asynq.Client push.async below.
		{"push.async", func() tasks.Job { return pushAsync("u1") }, func(int) []tasks.Option { return nil }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			p := tasks.NewProducer(redisSrv.Client(b))
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := p.Enqueue(ctx, tt.job(), tt.opts(i)...); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	// What a user would pick instead: asynq's own client adding the same
	// payload, unchecked, to the same queue.
	b.Run("asynq.Client", func(b *testing.B) {
		c := asynq.NewClientFromRedisClient(redisSrv.Client(b))
		payload, err := json.Marshal(pushSingle("u1", "u2"))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for b.Loop() {
			if _, err := c.EnqueueContext(ctx, asynq.NewTask(tasks.TypeEasemobPushSingle, payload), asynq.Queue("easemob")); err != nil {
				b.Fatal(err)
			}
		}
	})
	// cmd/bench's bare variant: it encodes each job itself, as a user of
	// asynq alone must, so the encoding is timed on both sides.
	bare := func(ctx context.Context, c *asynq.Client) error {
		payload, err := json.Marshal(pushAsync("u1"))
		if err != nil {
			return err
		}
		_, err = c.EnqueueContext(ctx, asynq.NewTask(tasks.TypeEasemobPushAsync, payload), asynq.Queue("easemob"))
		return err
	}
	b.Run("asynq.Client push.async", func(b *testing.B) {
		c := asynq.NewClientFromRedisClient(redisSrv.Client(b))
		for b.Loop() {
			if err := bare(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The two above, one enqueue each in turn, the order swapped every
	// iteration: whatever the machine does meanwhile, and whichever runs
	// first in a process, falls on both alike. ns/op is the pair's; the
	// metrics are each side's and their ratio.
	b.Run("push.async beside asynq.Client", func(b *testing.B) {
		rdb := redisSrv.Client(b)
		p, c := tasks.NewProducer(rdb), asynq.NewClientFromRedisClient(rdb)
		ctx := b.Context()
		herald := func() error { _, err := p.Enqueue(ctx, pushAsync("u1")); return err }
		asynqc := func() error { return bare(ctx, c) }
		var took [2]time.Duration // herald, asynq.Client
		i := 0
		for b.Loop() {
			order := [2]int{0, 1}
			if i%2 == 1 {
				order = [2]int{1, 0}
			}
			for _, k := range order {
				start := time.Now()
				err := [2]func() error{herald, asynqc}[k]()
				took[k] += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
			}
			i++
		}
		b.ReportMetric(float64(took[0].Nanoseconds())/float64(i), "producer-ns/job")
		b.ReportMetric(float64(took[1].Nanoseconds())/float64(i), "asynq-ns/job")
		b.ReportMetric(float64(took[1])/float64(took[0]), "speed-ratio")
	})
}

func BenchmarkStatus(b *testing.B) {
	p := tasks.NewProducer(redisSrv.Client(b))
	ctx := context.Background()
	if _, err := p.Enqueue(ctx, pushSingle("u1"), tasks.IdempotencyKey("k")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.Status(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}
