package worker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// The scheduler's script moves a task only once it is due by Redis' clock,
// moves it to exactly the state asynq's forwarder would, and skips a task
// cancelled meanwhile.
func TestSchedulerMovesDueTasksOnly(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	p := tasks.NewProducer(rdb)
	q := tasks.Easemob.Queue()
	job := func(target string) tasks.Job {
		return &tasks.EasemobPushAsync{Target: target, PushMessage: message(target)}
	}

	cases := []struct {
		name      string
		cancel    bool
		wantMoved int64
		wantState string
	}{
		{name: "due task moved to pending", wantMoved: 1, wantState: "pending"},
		{name: "cancelled task skipped", cancel: true, wantMoved: 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			due := time.Now().Add(300 * time.Millisecond)
			r, err := p.Enqueue(ctx, job(fmt.Sprintf("user%d", i)), tasks.DeliverAt(due))
			if err != nil {
				t.Fatal(err)
			}
			id := r.IDs()[0]
			if tc.cancel {
				if err := p.Cancel(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				popped, moved, err := worker.MoveDue(ctx, rdb, q)
				if err != nil {
					t.Fatal(err)
				}
				if popped > 0 {
					// Both clocks are this machine's: Redis TIME and ours.
					if now := time.Now(); now.Before(due) {
						t.Fatalf("popped %v before the due time", due.Sub(now))
					}
					if moved != tc.wantMoved {
						t.Fatalf("moved %d, want %d", moved, tc.wantMoved)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the due entry was never popped")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if n := rdb.ZCard(ctx, tasks.DueKey(q)).Val(); n != 0 {
				t.Errorf("due set still holds %d entries", n)
			}
			if tc.wantState == "" {
				return
			}
			st, err := p.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tc.wantState {
				t.Errorf("state = %s, want %s", st.State, tc.wantState)
			}
			if n := rdb.ZCard(ctx, "asynq:{"+q+"}:scheduled").Val(); n != 0 {
				t.Errorf("asynq's scheduled set still holds %d tasks", n)
			}
			// A second run finds nothing: a task is moved once.
			if popped, _, _ := worker.MoveDue(ctx, rdb, q); popped != 0 {
				t.Errorf("second run popped %d", popped)
			}
		})
	}
}

// Jobs scheduled at odd milliseconds over a couple of seconds all arrive at
// the provider, none before its time. How late they are is the benchmark's
// business (cmd/bench), not a unit test's.
func TestSchedulerManyJobsNeverEarly(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) { c.PollInterval = worker.Duration(time.Second) })
	const n = 40
	start := time.Now()
	due := map[string]time.Time{}
	var ids []string
	for i := range n {
		at := start.Add(300*time.Millisecond + time.Duration(i)*47*time.Millisecond)
		target := fmt.Sprintf("u%02d", i)
		due[target] = at
		ids = append(ids, s.enqueue(t, &tasks.EasemobPushAsync{Target: target, PushMessage: message(target)}, tasks.DeliverAt(at)).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	got := s.sim.Received()
	if len(got) != n {
		t.Fatalf("received %d, want %d", len(got), n)
	}
	for _, r := range got {
		if at := due[r.Targets[0]]; r.At.Before(at) {
			t.Errorf("%s arrived %v early", r.Targets[0], at.Sub(r.At))
		}
	}
}

// With no Herald scheduler running, asynq's own forwarder still delivers a
// scheduled job, at the whole second after its due time: never early,
// never lost.
func TestSchedulerDeadStillDeliversViaAsynq(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, nil)
	s.startWorker(t, worker.WithoutScheduler)

	due := time.Now().Add(400 * time.Millisecond)
	if due.Truncate(time.Second).Equal(due) {
		due = due.Add(time.Millisecond)
	}
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "late", PushMessage: message("late")}, tasks.DeliverAt(due)).IDs()[0]
	s.waitState(t, "completed", id)
	got := s.sim.Received()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	// asynq was asked for the next whole second; only it moved the task.
	if second := due.Truncate(time.Second).Add(time.Second); got[0].At.Before(second) {
		t.Errorf("arrived %v before the whole second asynq was given: something other than asynq moved it", second.Sub(got[0].At))
	}
}

// The script tells how long until the next job left in the due set is due,
// by Redis' clock, so the scheduler can sleep until then.
func TestSchedulerScriptReportsNextDue(t *testing.T) {
	ctx := context.Background()
	rdb := srv.Client(t)
	p := tasks.NewProducer(rdb)
	q := tasks.Easemob.Queue()
	enqueue := func(target string, in time.Duration) {
		t.Helper()
		job := &tasks.EasemobPushAsync{Target: target, PushMessage: message(target)}
		if _, err := p.Enqueue(ctx, job, tasks.DeliverIn(in)); err != nil {
			t.Fatal(err)
		}
	}
	next := func() time.Duration {
		t.Helper()
		_, _, next, err := worker.MoveDueNext(ctx, rdb, q)
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	if got := next(); got != -1 {
		t.Fatalf("empty due set: next %v, want -1 (none)", got)
	}
	enqueue("later", time.Hour)
	enqueue("sooner", time.Minute)
	// Both clocks are this machine's; a few seconds cover a slow run, and
	// the due time is rounded up to the millisecond.
	if got := next(); got <= 55*time.Second || got > time.Minute+time.Second {
		t.Errorf("next %v, want the sooner job's minute", got)
	}
}

// countScript counts the pipelines (and single commands) that run one
// script by its SHA1.
type countScript struct {
	sha string
	n   *atomic.Int64
}

func (c countScript) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c countScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (c countScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.count(cmds)
		return next(ctx, cmds)
	}
}

func (c countScript) count(cmds []redis.Cmder) {
	for _, cmd := range cmds {
		if a := cmd.Args(); len(a) > 1 && a[1] == c.sha {
			c.n.Add(1)
			return
		}
	}
}

// A worker with nothing scheduled soon looks at its due sets about once a
// second (schedulerIdle), not every tick: idle replicas cost Redis little.
func TestSchedulerIdleLooksSeldom(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, nil)
	var rounds atomic.Int64
	s.rdb.AddHook(countScript{sha: worker.MoveDueScriptHash(), n: &rounds})
	s.startWorker(t)
	awaitCond(t, 20*time.Second, "the scheduler's first round", func() bool { return rounds.Load() > 0 })
	// A window of 2 s: at every tick (20 ms) it would be about 100 rounds.
	from := rounds.Load()
	time.Sleep(2 * time.Second)
	if n := rounds.Load() - from; n > 4 {
		t.Errorf("%d scheduler rounds in 2 s while idle, want about 2", n)
	}
}

// A job due sooner than the scheduler's next look is announced by the
// producer and wakes it. With the scheduler asleep for an hour and asynq's
// forwarder polling hourly, only that announcement can deliver the job.
func TestSchedulerWokenForJobDueSoon(t *testing.T) {
	s := newSleepyScheduler(t)

	due := time.Now().Add(300 * time.Millisecond)
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "soon", PushMessage: message("soon")}, tasks.DeliverAt(due)).IDs()[0]
	s.waitState(t, "completed", id)
	got := s.sim.Received()
	if len(got) != 1 || got[0].At.Before(due) {
		t.Fatalf("received %v, want one push, not before %v", got, due)
	}
}

// An announcement can be missed while the scheduler's subscription is down
// (and before it first takes). When go-redis subscribes again, the
// confirmation wakes the scheduler, whose round finds what was added
// meanwhile. Here the job is due too late to be announced at all, the
// subscription is cut, and the scheduler sleeps an hour and asynq's
// forwarder polls hourly: only the round the new subscription brings can
// deliver the job.
func TestSchedulerLooksAgainWhenResubscribed(t *testing.T) {
	s := newSleepyScheduler(t)
	ctx := context.Background()

	due := time.Now().Add(tasks.DueWakeHorizon + 500*time.Millisecond)
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "unannounced", PushMessage: message("unannounced")}, tasks.DeliverAt(due)).IDs()[0]
	if err := s.rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	s.waitState(t, "completed", id)
	if got := s.sim.Received(); len(got) != 1 || got[0].At.Before(due) {
		t.Fatalf("received %v, want one push, not before %v", got, due)
	}
}

// newSleepyScheduler runs a worker whose scheduler, with nothing due, sleeps
// an hour, and whose asynq forwarder polls hourly: a scheduled job goes out
// in the test's time only if something wakes the scheduler. It returns once
// the scheduler has subscribed to announcements.
func newSleepyScheduler(t *testing.T) *stack {
	t.Helper()
	s := newIdleStack(t, easemobsim.Options{}, func(c *worker.Config) { c.PollInterval = worker.Duration(time.Hour) })
	s.startWorker(t, func(w *worker.Worker) { worker.SetSchedulerIdle(w, time.Hour) })
	awaitCond(t, 20*time.Second, "the scheduler's subscription", func() bool {
		return s.rdb.PubSubNumSub(context.Background(), tasks.DueChannel).Val()[tasks.DueChannel] > 0
	})
	return s
}
