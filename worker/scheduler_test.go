package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

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
	w, err := worker.New(s.cfg, s.rdb, zerolog.New(s.logs))
	if err != nil {
		t.Fatal(err)
	}
	worker.WithoutScheduler(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

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
