package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

func asyncJob(target string) *tasks.EasemobPushAsync {
	return &tasks.EasemobPushAsync{Target: target, PushMessage: message(target)}
}

// receivedAt returns when the simulator accepted each notification to
// endpoint, in order.
func receivedAt(sim *easemobsim.Server, ep easemobsim.Endpoint) []time.Time {
	var out []time.Time
	for _, r := range sim.Received() {
		if r.Endpoint == ep {
			out = append(out, r.At)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// limitAsync sets the push.async limit, with burst 1: calls one period
// apart, each counted from its answer.
func limitAsync(rate int, per time.Duration) func(*worker.Config) {
	return func(c *worker.Config) {
		a := c.Easemob["default"]
		a.Limits = map[string]worker.LimitConfig{
			"push_async": {Jobs: []string{"push.async"}, Rate: rate, Per: worker.Duration(per), Burst: 1},
		}
		c.Easemob["default"] = a
	}
}

// A wait shorter than limiter.max_wait happens inside the handler: the job
// is delivered on its first attempt without going back to the queue.
func TestLimitShortWaitInHandler(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		limitAsync(1, 300*time.Millisecond)(c)
		c.Limiter.MaxWait = worker.Duration(2 * time.Second)
	})
	var ids []string
	for _, u := range []string{"a", "b", "c"} {
		ids = append(ids, s.enqueue(t, asyncJob(u)).IDs()...)
	}
	for _, st := range s.waitState(t, "completed", ids...) {
		if st.LastError != "" {
			t.Errorf("task %s went back to the queue (%q); a short wait belongs in the handler", st.ID, st.LastError)
		}
	}
	at := receivedAt(s.sim, easemobsim.PushAsync)
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 300*time.Millisecond {
			t.Errorf("calls %v apart, limit is 1 per 300ms", gap)
		}
	}
}

// A wait longer than limiter.max_wait hands the job back to the queue to
// run when the limiter says, without spending an attempt.
func TestLimitLongWaitReschedules(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		limitAsync(1, 2*time.Second)(c)
		c.Limiter.MaxWait = worker.Duration(50 * time.Millisecond)
	})
	first := s.enqueue(t, asyncJob("a")).IDs()[0]
	s.waitState(t, "completed", first)
	second := s.enqueue(t, asyncJob("b")).IDs()[0]
	st := s.waitState(t, "retry", second)[0]
	if !strings.Contains(st.LastError, "limit push_async") {
		t.Errorf("rescheduled with %q, want the limit named", st.LastError)
	}
	if st.Attempts != 0 {
		t.Errorf("attempts = %d: waiting for a limit must not count as a failed attempt", st.Attempts)
	}
	st = s.waitState(t, "completed", second)[0]
	if st.Attempts != 1 {
		t.Errorf("attempts = %d after delivery, want 1", st.Attempts)
	}
	at := receivedAt(s.sim, easemobsim.PushAsync)
	if len(at) != 2 || at[1].Sub(at[0]) < 2*time.Second {
		t.Fatalf("deliveries at %v: want two, at least 2s apart", at)
	}
}

// A provider's 429 with Retry-After sets a cool-down that every replica
// honours: after it, neither worker calls that endpoint until it ends.
func TestLimitProviderCooldownSharedByReplicas(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.Limiter.MaxWait = worker.Duration(50 * time.Millisecond)
	})
	w1 := s.startWorker(t)
	// A second replica on the same Redis and simulator.
	w2, err := worker.New(s.cfg, s.rdb, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w2.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const cool = 2 * time.Second
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: http.StatusTooManyRequests,
		Endpoint: easemobsim.PushAsync, Count: 1, Header: http.Header{"Retry-After": {"2"}}})
	first := s.enqueue(t, asyncJob("first")).IDs()[0]
	// Wait until the replica that got the 429 has published the cool-down;
	// calls already on their way cannot be recalled, so jobs are enqueued
	// only from then on.
	key := "herald:rl:{easemob:herald#demo:push_async}:cooldown"
	deadline := time.Now().Add(10 * time.Second)
	for s.rdb.Exists(context.Background(), key).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no cool-down published at %s", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ids := []string{first}
	for _, u := range []string{"a", "b", "c"} {
		ids = append(ids, s.enqueue(t, asyncJob(u)).IDs()...)
	}
	s.waitState(t, "completed", ids...)

	var limitedAt time.Time
	var after []time.Time
	for _, c := range s.sim.Calls() {
		if c.Endpoint != easemobsim.PushAsync {
			continue
		}
		if c.Status == http.StatusTooManyRequests {
			limitedAt = c.At
		} else if !limitedAt.IsZero() {
			after = append(after, c.At)
		}
	}
	if limitedAt.IsZero() {
		t.Fatal("the injected 429 was never answered")
	}
	if len(after) != 4 {
		t.Fatalf("%d calls after the 429, want the 4 jobs", len(after))
	}
	// The cool-down starts when the worker reads the 429, a moment after
	// the simulator wrote it; allow that moment.
	for _, at := range after {
		if d := at.Sub(limitedAt); d < cool-100*time.Millisecond {
			t.Errorf("a replica called %v after the 429, inside the %v cool-down", d, cool)
		}
	}
	// Whichever replica met the 429 counted it.
	want := `herald_provider_throttled_total{job_type="easemob:push.async",provider="easemob"} 1`
	_, m1 := get(t, w1.AdminHandler(), "/metrics")
	_, m2 := get(t, w2.AdminHandler(), "/metrics")
	if strings.Contains(m1, want) == strings.Contains(m2, want) {
		t.Errorf("want exactly one replica to report %s", want)
	}
}

// Limits in the config are checked at start: a broken one names its key.
func TestLimitConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		limit worker.LimitConfig
		key   string
	}{
		{"two kinds", worker.LimitConfig{Rate: 1, Window: 1, Per: worker.Duration(time.Second)}, "easemob.default.limits.x"},
		{"no per", worker.LimitConfig{Rate: 1}, "easemob.default.limits.x"},
		{"no lease", worker.LimitConfig{Concurrent: 2}, "easemob.default.limits.x"},
		{"unknown job", worker.LimitConfig{Jobs: []string{"push.nope"}, Rate: 1, Per: worker.Duration(time.Second)}, "easemob.default.limits.x.jobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := simConfig("http://127.0.0.1:1")
			a := cfg.Easemob["default"]
			a.Limits = map[string]worker.LimitConfig{"x": tt.limit}
			cfg.Easemob["default"] = a
			err := cfg.Validate()
			var ce *worker.ConfigError
			if !errorsAs(err, &ce) || ce.Key != tt.key {
				t.Fatalf("err = %v, want a ConfigError for %s", err, tt.key)
			}
		})
	}
}

// A job with no retries left cannot go back to the queue (asynq would
// archive it), so it waits out limits and the provider's cool-down in the
// handler and is delivered.
func TestLimitLastAttemptWaitsInHandler(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		limitAsync(1, time.Second)(c)
		c.Limiter.MaxWait = worker.Duration(50 * time.Millisecond)
	})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: http.StatusTooManyRequests,
		Endpoint: easemobsim.PushAsync, Count: 1, Header: http.Header{"Retry-After": {"1"}}})
	var ids []string
	for _, u := range []string{"a", "b"} {
		ids = append(ids, s.enqueue(t, asyncJob(u), tasks.MaxRetry(0)).IDs()...)
	}
	for _, st := range s.waitState(t, "completed", ids...) {
		if st.Attempts != 1 {
			t.Errorf("task %s: attempts %d, want 1", st.ID, st.Attempts)
		}
	}
	if n := len(receivedAt(s.sim, easemobsim.PushAsync)); n != 2 {
		t.Fatalf("delivered %d, want 2", n)
	}
}

// A Hold slot (an Easemob push task still running at the provider) stays
// taken after the call until its lease ends.
func TestLimitHoldKeepsSlotForLease(t *testing.T) {
	const lease = 1500 * time.Millisecond
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.Limiter.MaxWait = worker.Duration(50 * time.Millisecond)
		a := c.Easemob["default"]
		a.Limits = map[string]worker.LimitConfig{
			"tasks_created": {Disabled: true},
			"tasks_running": {Jobs: []string{"push.task"}, Concurrent: 1, Lease: worker.Duration(lease), Hold: true},
		}
		c.Easemob["default"] = a
	})
	var ids []string
	for _, title := range []string{"one", "two"} {
		ids = append(ids, s.enqueue(t, &tasks.EasemobPushTask{PushMessage: message(title)}).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	at := receivedAt(s.sim, easemobsim.PushTask)
	if len(at) != 2 {
		t.Fatalf("push tasks created %d, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < lease-100*time.Millisecond {
		t.Errorf("second push task created %v after the first; the held slot should block it for %v", gap, lease)
	}
}

// taskLimits shortens Easemob's push-task caps for a test: 3 created per
// window, 3 running, each held for run after its start.
func taskLimits(window, run time.Duration) func(*worker.Config) {
	return func(c *worker.Config) {
		// Long enough to wait out push.task's own 1/s in the handler.
		c.Limiter.MaxWait = worker.Duration(1500 * time.Millisecond)
		a := c.Easemob["default"]
		a.Limits = map[string]worker.LimitConfig{
			"tasks_created": {Jobs: []string{"push.label", "push.task"}, Window: 3, Per: worker.Duration(window)},
			"tasks_running": {Jobs: []string{"push.label", "push.task"}, Concurrent: 3, Lease: worker.Duration(run), Hold: true},
		}
		c.Easemob["default"] = a
	}
}

// Easemob counts a scheduled push task as running from its creation until
// its startDate plus its run time. After three tasks scheduled 2 h ahead,
// a fourth is held back by Herald's own model until a slot frees then: it
// is rescheduled for that time without spending a retry, and the provider
// never has to refuse it.
func TestLimitScheduledTasksHoldSlotsUntilStart(t *testing.T) {
	const run = time.Second
	s := newStack(t, easemobsim.Options{TaskWindow: 500 * time.Millisecond}, taskLimits(500*time.Millisecond, run))
	start := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	var ids []string
	for _, title := range []string{"one", "two", "three"} {
		job := &tasks.EasemobPushTask{PushMessage: message(title), StartDate: tasks.EasemobStartDate(start, nil)}
		ids = append(ids, s.enqueue(t, job).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	fourth := s.enqueue(t, &tasks.EasemobPushTask{PushMessage: message("four")}).IDs()[0]
	st := s.waitState(t, "retry", fourth)[0]
	if st.Attempts != 0 || !strings.Contains(st.LastError, "limit tasks_running") {
		t.Errorf("fourth task: attempts %d, last error %q; want rescheduled by tasks_running, no attempt spent", st.Attempts, st.LastError)
	}
	// The model frees the first slot at the startDate plus the run time.
	if want := start.Add(run); st.NextProcessAt.Before(want.Add(-2*time.Second)) || st.NextProcessAt.After(want.Add(2*time.Second)) {
		t.Errorf("fourth task rescheduled for %v, want about %v (startDate + run time)", st.NextProcessAt, want)
	}
	if n := len(receivedAt(s.sim, easemobsim.PushTask)); n != 3 {
		t.Errorf("push tasks created %d, want the 3 scheduled ones only", n)
	}
	for _, c := range s.sim.Calls() {
		if c.Status == http.StatusForbidden {
			t.Errorf("the provider refused a call: %s %s", c.Endpoint, c.Error)
		}
	}
}

// When the provider refuses a task as over its caps although Herald's model
// had room (here the provider allows one running task and Herald thinks
// three), the job is rescheduled for when the model frees a slot, counting
// the unknown task as holding one for a run time. The refused create gives
// its window start back, spends no retry, and sets no cool-down: a
// push.sync goes out meanwhile.
func TestLimitTaskCapRefusalReschedulesByModel(t *testing.T) {
	const run = 3 * time.Second
	s := newStack(t, easemobsim.Options{MaxRunningTasks: 1, TaskDuration: 2 * time.Second}, taskLimits(time.Hour, run))
	first := s.enqueue(t, &tasks.EasemobPushTask{PushMessage: message("one")}).IDs()[0]
	s.waitState(t, "completed", first)
	second := s.enqueue(t, &tasks.EasemobPushTask{PushMessage: message("two")}).IDs()[0]
	st := s.waitState(t, "retry", second)[0]
	refused := time.Now()
	if st.Attempts != 0 || !strings.Contains(st.LastError, "LimitException") {
		t.Errorf("refused task: attempts %d, last error %q; want rescheduled, no attempt spent", st.Attempts, st.LastError)
	}
	// The first task's slot (run) and the stand-in (run from the refusal)
	// are the model's holders: the earlier frees first.
	if d := time.Until(st.NextProcessAt); d > run || d < 0 {
		t.Errorf("rescheduled %v ahead, want within the %v run time (not the provider's blind 100 s)", d, run)
	}
	created, err := s.rdb.ZCard(context.Background(), "herald:rl:{easemob:herald#demo:tasks_created}:calls").Result()
	if err != nil || created != 1 {
		t.Errorf("tasks_created holds %d starts (%v), want 1: the refused create gives its start back", created, err)
	}
	if n, _ := s.rdb.Keys(context.Background(), "herald:rl:*:cooldown").Result(); len(n) != 0 {
		t.Errorf("cool-downs set %v: a task cap must not slow other jobs", n)
	}
	syncID := s.enqueue(t, &tasks.EasemobPushSync{Target: "bob", PushMessage: message("sync")}).IDs()[0]
	s.waitState(t, "completed", syncID)
	if time.Since(refused) > run {
		t.Errorf("push.sync waited %v behind a task cap", time.Since(refused))
	}
	st = s.waitState(t, "completed", second)[0]
	if st.Attempts != 1 {
		t.Errorf("delivered after %d attempts, want 1: the refusals spent none", st.Attempts)
	}
}

// Two Herald accounts on one Easemob app share its limits: push.sync jobs
// split over both still reach the app one a second.
func TestLimitSharedByAccountsOnOneApp(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.Easemob["other"] = c.Easemob["default"]
	})
	var ids []string
	for i, acct := range []string{"default", "other", "default", "other"} {
		job := &tasks.EasemobPushSync{Target: fmt.Sprintf("user%d", i), PushMessage: message("sync")}
		ids = append(ids, s.enqueue(t, job, tasks.Account(acct)).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	at := receivedAt(s.sim, easemobsim.PushSync)
	if len(at) != len(ids) {
		t.Fatalf("delivered %d, want %d", len(at), len(ids))
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < time.Second {
			t.Errorf("push.sync calls %v apart from two accounts on one app, limit 1/s", gap)
		}
	}
	for _, c := range s.sim.Calls() {
		if c.Status == http.StatusTooManyRequests {
			t.Errorf("the app refused a call as too many")
		}
	}
}
