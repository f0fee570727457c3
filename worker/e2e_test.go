package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// A push.single to 250 users reaches Easemob as three calls of 100, 100
// and 50 users, carrying exactly those users, in order.
func TestEndToEndSplitPushSingle(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	users := make([]string, 250)
	for i := range users {
		users[i] = fmt.Sprintf("u%03d", i)
	}
	r := s.enqueue(t, &tasks.EasemobPushSingle{Targets: users, PushMessage: message("split")})
	if len(r.Tasks) != 3 {
		t.Fatalf("receipt has %d tasks, want 3", len(r.Tasks))
	}
	s.waitState(t, "completed", r.IDs()...)

	got := s.sim.Received()
	if len(got) != 3 {
		t.Fatalf("simulator received %d calls, want 3", len(got))
	}
	var sizes []int
	var all []string
	for _, rec := range got {
		if rec.Endpoint != easemobsim.PushSingle {
			t.Errorf("endpoint %s, want push.single", rec.Endpoint)
		}
		var pm map[string]any
		if err := json.Unmarshal(rec.PushMessage, &pm); err != nil || pm["title"] != "split" {
			t.Errorf("pushMessage = %s", rec.PushMessage)
		}
		sizes = append(sizes, len(rec.Targets))
		all = append(all, rec.Targets...)
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{50, 100, 100}) {
		t.Errorf("call sizes %v, want 100, 100, 50", sizes)
	}
	slices.Sort(all)
	if !slices.Equal(all, users) {
		t.Errorf("the calls did not carry exactly the 250 users")
	}
}

// Enqueueing one idempotency key twice delivers once.
func TestEndToEndIdempotencyKeyDeliversOnce(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	job := &tasks.EasemobPushAsync{Target: "alice", PushMessage: message("once")}
	first := s.enqueue(t, job, tasks.IdempotencyKey("order-1"))
	second := s.enqueue(t, job, tasks.IdempotencyKey("order-1"))
	if !second.Duplicate() || second.IDs()[0] != first.IDs()[0] {
		t.Fatalf("second receipt %+v is not the first task marked duplicate", second)
	}
	s.waitState(t, "completed", "order-1")
	// Once more after delivery: still the same, completed task.
	third := s.enqueue(t, job, tasks.IdempotencyKey("order-1"))
	if !third.Duplicate() {
		t.Fatal("a key enqueued after delivery must still be a duplicate within retention")
	}
	if n := len(s.sim.Received()); n != 1 {
		t.Fatalf("simulator received %d notifications, want 1", n)
	}
}

// Every Easemob job reaches the simulator as documented, and its result is
// stored on the task.
func TestEndToEndEveryEasemobJob(t *testing.T) {
	s := newStack(t, easemobsim.Options{NoBinding: []string{"nobind"}}, nil)
	startDate := tasks.EasemobStartDate(time.Now().Add(2*time.Hour), nil)
	jobs := []tasks.Job{
		&tasks.EasemobPushSync{Target: "alice", PushMessage: message("sync")},
		&tasks.EasemobPushSync{Target: "nobind", PushMessage: message("sync-fail")},
		&tasks.EasemobPushAsync{Target: "bob", PushMessage: message("async")},
		&tasks.EasemobPushSingle{Targets: []string{"c", "d"}, PushMessage: message("single")},
		&tasks.EasemobPushLabel{Targets: []string{"vip"}, StartDate: startDate, PushMessage: message("label")},
		&tasks.EasemobPushTask{PushMessage: message("task")},
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, s.enqueue(t, j).IDs()...)
	}
	sts := s.waitState(t, "completed", ids...)

	byTitle := map[string]easemobsim.Record{}
	for _, rec := range s.sim.Received() {
		var pm struct{ Title string }
		_ = json.Unmarshal(rec.PushMessage, &pm)
		byTitle[pm.Title] = rec
	}
	for _, want := range []struct {
		title    string
		endpoint easemobsim.Endpoint
		targets  []string
	}{
		{"sync", easemobsim.PushSync, []string{"alice"}},
		{"sync-fail", easemobsim.PushSync, []string{"nobind"}},
		{"async", easemobsim.PushAsync, []string{"bob"}},
		{"single", easemobsim.PushSingle, []string{"c", "d"}},
		{"label", easemobsim.PushLabel, []string{"vip"}},
		{"task", easemobsim.PushTask, nil},
	} {
		rec, ok := byTitle[want.title]
		if !ok {
			t.Errorf("%s: not received", want.title)
			continue
		}
		if rec.Endpoint != want.endpoint || !slices.Equal(rec.Targets, want.targets) {
			t.Errorf("%s: got %s %v, want %s %v", want.title, rec.Endpoint, rec.Targets, want.endpoint, want.targets)
		}
	}
	if byTitle["label"].StartDate != startDate {
		t.Errorf("label startDate = %q, want %q passed through", byTitle["label"].StartDate, startDate)
	}
	// A FAIL pushStatus arrives as HTTP 200: the job completes and its
	// result says the target was not reached.
	if res := string(sts[1].Result); !strings.Contains(res, `"FAIL"`) || !strings.Contains(res, "no push binding") {
		t.Errorf("result of the push to an unbound user = %s, want the FAIL reported", res)
	}
	if res := string(sts[5].Result); !strings.Contains(res, byTitle["task"].TaskID) {
		t.Errorf("push.task result %s does not carry the task id %s", res, byTitle["task"].TaskID)
	}
}

// A job the provider refuses for good is archived at once with the
// provider's reason, and nothing is retried.
func TestEndToEndPermanentErrorArchivesWithReason(t *testing.T) {
	s := newStack(t, easemobsim.Options{PushDisabled: true}, nil)
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("x")}).IDs()[0]
	st := s.waitState(t, "archived", id)[0]
	if !strings.Contains(st.LastError, "ServiceNotOpenException") {
		t.Errorf("archived with %q, want the provider's code", st.LastError)
	}
	if st.Attempts != 1 {
		t.Errorf("attempts = %d, want 1: a permanent error is not retried", st.Attempts)
	}
}

// 5xx and dropped connections are retried with backoff until delivered.
// A dropped connection leaves the call in doubt: with push.async's policy
// set to resend it is retried (the default, hold, archives it: see
// TestInDoubtPolicies).
func TestEndToEndTransientErrorsRetried(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.InDoubt = map[string]worker.InDoubtPolicy{tasks.TypeEasemobPushAsync: worker.Resend}
	})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 503, Endpoint: easemobsim.PushAsync, Count: 1})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultDrop, Endpoint: easemobsim.PushAsync, Count: 1})
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("x")}).IDs()[0]
	st := s.waitState(t, "completed", id)[0]
	if st.Attempts != 3 {
		t.Errorf("attempts = %d, want 3: 2 failed, then the one that delivered", st.Attempts)
	}
	if n := len(s.sim.Received()); n != 1 {
		t.Errorf("received %d, want 1", n)
	}
}

// The provider's 429 is not a failure: the task is rescheduled without
// spending a retry, and every replica backs off.
func TestEndToEndProviderRateLimitIsNotAFailure(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 429, Endpoint: easemobsim.PushAsync, Count: 2})
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("x")}, tasks.MaxRetry(1)).IDs()[0]
	st := s.waitState(t, "completed", id)[0]
	if st.Attempts != 1 {
		t.Errorf("attempts = %d, want 1: rate limiting must not use up retries", st.Attempts)
	}
	var limited int
	for _, c := range s.sim.Calls() {
		if c.Endpoint == easemobsim.PushAsync && c.Status == 429 {
			limited++
		}
	}
	if limited != 2 {
		t.Errorf("429s answered = %d, want the 2 injected", limited)
	}
}

// A task no handler can make sense of is archived with its reason; the
// worker carries on with the next job.
func TestEndToEndMalformedTasksArchived(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	client := asynq.NewClientFromRedisClient(s.rdb)
	bad := []struct {
		task   *asynq.Task
		reason string
	}{
		{asynq.NewTask(tasks.TypeEasemobPushSingle, []byte(`{"targets": "not a list"`)), "decode"},
		{asynq.NewTask("easemob:push.nonsense", []byte(`{}`)), "unknown job type"},
		{asynq.NewTask("sms:send", []byte(`{}`)), "unknown job type"},
		{asynq.NewTask(tasks.TypeEasemobPushSingle, []byte(`{"targets":[""],"pushMessage":{"title":"t","content":"c"}}`)), "empty user id"},
		{asynq.NewTaskWithHeaders(tasks.TypeEasemobPushAsync, []byte(`{"target":"a","pushMessage":{"title":"t","content":"c"}}`),
			map[string]string{tasks.HeaderAccount: "nosuch"}), `no easemob account "nosuch"`},
	}
	var ids []string
	for _, b := range bad {
		info, err := client.Enqueue(b.task, asynq.Queue("easemob"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	good := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("after")}).IDs()[0]
	sts := s.waitState(t, "archived", ids...)
	for i, st := range sts {
		if !strings.Contains(st.LastError, bad[i].reason) {
			t.Errorf("task %d archived with %q, want it to say %q", i, st.LastError, bad[i].reason)
		}
	}
	s.waitState(t, "completed", good)
}

// A task whose delivered-marker is set (the provider confirmed it before a
// crash) is not sent again on retry.
func TestEndToEndDeliveredMarkerPreventsResend(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	ctx := context.Background()
	insp := asynq.NewInspectorFromRedisClient(s.rdb)
	s.enqueue(t, asyncJob("a"), tasks.IdempotencyKey("k1"), tasks.DeliverIn(time.Second))
	info, err := insp.GetTaskInfo("easemob", "k1")
	if err != nil {
		t.Fatal(err)
	}
	marker := "herald:delivered:{k1}:" + info.Headers[tasks.HeaderEnqueueID]
	if err := s.rdb.Set(ctx, marker, `{"already":true}`, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	st := s.waitState(t, "completed", "k1")[0]
	if string(st.Result) != `{"already":true}` {
		t.Errorf("result = %s, want the stored one", st.Result)
	}
	if n := len(s.sim.Received()); n != 0 {
		t.Fatalf("simulator received %d, want 0", n)
	}

	// Once asynq has forgotten the task (its retention is over), the same
	// key is a new job: the old marker must not swallow it.
	if err := insp.DeleteTask("easemob", "k1"); err != nil {
		t.Fatal(err)
	}
	s.enqueue(t, asyncJob("a"), tasks.IdempotencyKey("k1"))
	s.waitState(t, "completed", "k1")
	if n := len(s.sim.Received()); n != 1 {
		t.Fatalf("simulator received %d after the key was enqueued again, want 1", n)
	}
	keys, _ := s.rdb.Keys(ctx, "herald:delivered:{k1}:*").Result()
	if len(keys) != 2 {
		t.Fatalf("markers %v, want the old one and the new delivery's", keys)
	}
	for _, k := range keys {
		if ttl := s.rdb.TTL(ctx, k).Val(); ttl <= 0 || (k != marker && ttl > s.cfg.DeliveredTTL.D()) {
			t.Errorf("marker %s TTL = %v", k, ttl)
		}
	}
}

// A job delivered at a time is never delivered before it.
func TestEndToEndDeliverAtNeverEarly(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	at := time.Now().Add(1500 * time.Millisecond)
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("x")}, tasks.DeliverAt(at)).IDs()[0]
	if st, _ := s.producer.Status(context.Background(), id); st.State != "scheduled" {
		t.Fatalf("state = %s, want scheduled", st.State)
	}
	s.waitState(t, "completed", id)
	got := s.sim.Received()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	if got[0].At.Before(at) {
		t.Errorf("delivered at %v, %v before the time asked for", got[0].At, at.Sub(got[0].At))
	}
}

// A scheduled job cancelled before it is due never reaches the provider.
func TestEndToEndCancelScheduled(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	ctx := context.Background()
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("x")}, tasks.DeliverIn(time.Second)).IDs()[0]
	if err := s.producer.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	marker := s.enqueue(t, &tasks.EasemobPushAsync{Target: "b", PushMessage: message("y")}, tasks.DeliverIn(1500*time.Millisecond)).IDs()[0]
	s.waitState(t, "completed", marker)
	for _, r := range s.sim.Received() {
		if slices.Contains(r.Targets, "a") {
			t.Fatal("the cancelled job was delivered")
		}
	}
}

// The worker's logs are JSON with the task's identity and never carry
// the app's secret or token.
func TestEndToEndLogsCarryIdentityNotSecrets(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {})
	id := s.enqueue(t, &tasks.EasemobPushAsync{Target: "a", PushMessage: message("x")}, tasks.Account("default")).IDs()[0]
	s.waitState(t, "completed", id)
	logs := s.logs.String()
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if m["task_id"] == id {
			found = true
			for _, k := range []string{"job_type", "provider", "account", "attempt"} {
				if _, ok := m[k]; !ok {
					t.Errorf("log line lacks %s: %s", k, line)
				}
			}
		}
	}
	if !found {
		t.Fatalf("no log line for task %s", id)
	}
	if strings.Contains(logs, easemobsim.DefaultClientSecret) {
		t.Fatal("logs contain the client secret")
	}
	tok, _ := s.rdb.Keys(context.Background(), "herald:token:*").Result()
	for _, k := range tok {
		if v := s.rdb.Get(context.Background(), k).Val(); v != "" && strings.Contains(logs, v) {
			t.Fatal("logs contain the app token")
		}
	}
}

// A worker takes jobs only for providers it has accounts for: others stay
// pending for a replica that can deliver them, rather than being archived.
func TestEndToEndUnconfiguredProviderLeftPending(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	ctx := context.Background()
	r, err := s.producer.Enqueue(ctx, &tasks.DingTalkRecall{MsgTaskID: 42})
	if err != nil {
		t.Fatal(err)
	}
	marker := s.enqueue(t, asyncJob("after")).IDs()[0]
	s.waitState(t, "completed", marker)
	st, err := s.producer.Status(ctx, r.IDs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "pending" {
		t.Fatalf("dingtalk job is %s, want it left pending", st.State)
	}
}
