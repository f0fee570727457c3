package worker_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// consumer reads the event stream through a consumer group, as a service
// would.
type consumer struct {
	rdb   redis.UniversalClient
	group string
}

func newConsumer(t *testing.T, rdb redis.UniversalClient) *consumer {
	t.Helper()
	c := &consumer{rdb: rdb, group: "test-consumers"}
	if err := rdb.XGroupCreateMkStream(t.Context(), tasks.DefaultEventStream, c.group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

// drain reads every event not yet delivered to the group, acknowledging
// each.
func (c *consumer) drain(t *testing.T) []tasks.Event {
	t.Helper()
	var out []tasks.Event
	for {
		streams, err := c.rdb.XReadGroup(t.Context(), &redis.XReadGroupArgs{
			Group: c.group, Consumer: "c1", Streams: []string{tasks.DefaultEventStream, ">"}, Count: 100, Block: -1,
		}).Result()
		if errors.Is(err, redis.Nil) || (err == nil && len(streams[0].Messages) == 0) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range streams[0].Messages {
			ev, err := tasks.ReadEvent(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
			c.rdb.XAck(t.Context(), tasks.DefaultEventStream, c.group, m.ID)
		}
	}
}

// Every task of a run ends in the stream exactly once, with its provider's
// result or the reason it was archived: delivered at once, delivered after
// retries, split, refused for good, out of retries, undecodable, for an
// account no worker has, cancelled, and delivered before a "crash" (the
// retry finds the delivered-marker and adds no second event).
func TestOutcomeEventsEndToEnd(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, nil)
	c := newConsumer(t, s.rdb)
	// Each fault on its own endpoint, so concurrent tasks take the right one.
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 503, Endpoint: easemobsim.PushAsync, Count: 1})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 400, Endpoint: easemobsim.PushLabel, Count: 1})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 502, Endpoint: easemobsim.PushSync, Count: 2})

	targets := make([]string, 150)
	for i := range targets {
		targets[i] = fmt.Sprintf("u%d", i)
	}
	type want struct {
		outcome  tasks.Outcome
		attempts int
		says     string // in the result or reason
	}
	wants := map[string]want{}
	add := func(r *tasks.Receipt, w want) {
		for _, id := range r.IDs() {
			wants[id] = w
		}
	}
	add(s.enqueue(t, &tasks.EasemobPushSingle{Targets: targets, PushMessage: message("split")}), want{tasks.Delivered, 1, "pushStatus"})
	add(s.enqueue(t, asyncJob("retried")), want{tasks.Delivered, 2, "pushStatus"})
	add(s.enqueue(t, &tasks.EasemobPushLabel{Targets: []string{"vip"}, PushMessage: message("refused")}), want{tasks.Archived, 1, "400"})
	add(s.enqueue(t, &tasks.EasemobPushSync{Target: "out-of-retries", PushMessage: message("x")}, tasks.MaxRetry(1)),
		want{tasks.Archived, 2, "gave up after 2 attempts"})
	add(s.enqueue(t, asyncJob("x"), tasks.Account("shop")), want{tasks.Archived, 1, `no easemob account "shop"`})
	info, err := asynq.NewClientFromRedisClient(s.rdb).Enqueue(
		asynq.NewTask(tasks.TypeEasemobPushSingle, []byte(`{"targets": "not a list"}`)), asynq.Queue("easemob"))
	if err != nil {
		t.Fatal(err)
	}
	wants[info.ID] = want{tasks.Archived, 1, "targets: must be an array"}
	cancelled := s.enqueue(t, asyncJob("later"), tasks.DeliverIn(time.Hour)).IDs()[0]
	wants[cancelled] = want{tasks.Cancelled, 0, ""}
	if err := s.producer.Cancel(t.Context(), cancelled); err != nil {
		t.Fatal(err)
	}

	// A task delivered, with its event recorded, by a worker that died
	// before asynq heard of it: its retry must neither send nor record
	// again.
	crashed := s.enqueue(t, asyncJob("crashed")).IDs()[0]
	ti, err := asynq.NewInspectorFromRedisClient(s.rdb).GetTaskInfo("easemob", crashed)
	if err != nil {
		t.Fatal(err)
	}
	enq := ti.Headers[tasks.HeaderEnqueueID]
	s.rdb.Set(t.Context(), worker.DeliveryRecordKey(crashed, enq), `{"pushStatus":"SUCCESS"}`, time.Hour)
	if _, err := (tasks.EventLog{RDB: s.rdb}).Record(t.Context(), tasks.Event{Outcome: tasks.Delivered, TaskID: crashed,
		Type: tasks.TypeEasemobPushAsync, Queue: "easemob", Account: "default", Attempts: 1, At: time.Now(),
		Result: []byte(`{"pushStatus":"SUCCESS"}`)}, enq, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.producer.Retry(t.Context(), crashed); !errors.Is(err, tasks.ErrNotRunnable) {
		t.Fatalf("Retry of a pending task = %v, want ErrNotRunnable", err)
	}
	wants[crashed] = want{tasks.Delivered, 1, "SUCCESS"}

	s.startWorker(t)
	for id, w := range wants {
		switch w.outcome {
		case tasks.Delivered:
			s.waitState(t, "completed", id)
		case tasks.Archived:
			s.waitState(t, "archived", id)
		}
	}
	seen := map[string]int{}
	for _, ev := range c.drain(t) {
		seen[ev.TaskID]++
		w, ok := wants[ev.TaskID]
		if !ok {
			t.Errorf("event for unknown task %+v", ev)
			continue
		}
		text := string(ev.Result) + ev.Reason
		if ev.Outcome != w.outcome || ev.Attempts != w.attempts || !strings.Contains(text, w.says) || ev.At.IsZero() {
			t.Errorf("task %s: event %+v, want %s after %d attempts saying %q", ev.TaskID, ev, w.outcome, w.attempts, w.says)
		}
		if ev.Outcome == tasks.Archived && (ev.Class != "permanent" && ev.Class != "transient" || strings.Contains(ev.Reason, "skip retry")) {
			t.Errorf("task %s: archived with class %q, reason %q", ev.TaskID, ev.Class, ev.Reason)
		}
		if ev.Queue != "easemob" || ev.Type == "" {
			t.Errorf("task %s: event names queue %q type %q", ev.TaskID, ev.Queue, ev.Type)
		}
	}
	for id := range wants {
		if seen[id] != 1 {
			t.Errorf("task %s: %d events, want exactly 1", id, seen[id])
		}
	}
	for _, rec := range s.sim.Received() {
		if rec.Endpoint == easemobsim.PushAsync && len(rec.Targets) == 1 && rec.Targets[0] == "crashed" {
			t.Error("the task delivered before the crash was sent again")
		}
	}

	// Run the refused task again (the provider's 400 was a one-off): its
	// new outcome is a new event.
	refused := ""
	for id, w := range wants {
		if w.says == "400" {
			refused = id
		}
	}
	if err := s.producer.Retry(t.Context(), refused); err != nil {
		t.Fatal(err)
	}
	s.waitState(t, "completed", refused)
	evs := c.drain(t)
	if len(evs) != 1 || evs[0].TaskID != refused || evs[0].Outcome != tasks.Delivered || evs[0].Attempts != 1 {
		t.Errorf("after running the archived task again: events %+v, want one delivered", evs)
	}
}

// receiver is a webhook endpoint that checks every request's signature.
type receiver struct {
	secret []byte
	mu     sync.Mutex
	events []tasks.Event
	calls  int
	bad    []error
	// reply picks the status of call n (from 1); it may block.
	reply func(n int) int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.calls++
	n := rc.calls
	rc.mu.Unlock()
	if err := tasks.VerifyWebhook(r.Header.Get(tasks.SignatureHeader), body, rc.secret, time.Minute); err != nil {
		rc.mu.Lock()
		rc.bad = append(rc.bad, err)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := http.StatusNoContent
	if rc.reply != nil {
		status = rc.reply(n)
	}
	if status/100 == 2 {
		msg := redis.XMessage{ID: "x", Values: map[string]any{tasks.EventField: string(body)}}
		ev, err := tasks.ReadEvent(msg)
		rc.mu.Lock()
		if err != nil {
			rc.bad = append(rc.bad, err)
		}
		rc.events = append(rc.events, ev)
		rc.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (rc *receiver) got() ([]tasks.Event, int, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]tasks.Event(nil), rc.events...), rc.calls, append([]error(nil), rc.bad...)
}

func webhookConfig(url string, secret []byte) func(*worker.Config) {
	return func(cfg *worker.Config) {
		cfg.Events.Webhooks = map[string]worker.WebhookConfig{"default": {URL: url, Secret: string(secret)}}
		cfg.Events.Webhook.Retry = worker.RetryConfig{Initial: worker.Duration(20 * time.Millisecond),
			Max: worker.Duration(100 * time.Millisecond), Multiplier: 2, Jitter: 0.1}
	}
}

// A webhook receiver gets each event of its account once it answers 2xx,
// signed so it can check the body came from Herald; events of other
// accounts do not go to it.
func TestWebhookSigned(t *testing.T) {
	rc := &receiver{secret: []byte("whsec-test-0123456789")}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	s := newStack(t, easemobsim.Options{}, webhookConfig(hook.URL, rc.secret))
	id := s.enqueue(t, asyncJob("a")).IDs()[0]
	other := s.enqueue(t, asyncJob("b"), tasks.Account("shop")).IDs()[0] // archived: no such account
	s.waitState(t, "completed", id)
	s.waitState(t, "archived", other)
	evs := awaitWebhooks(t, rc, 1)
	if evs[0].TaskID != id || evs[0].Outcome != tasks.Delivered || evs[0].ID == "" || len(evs[0].Result) == 0 {
		t.Errorf("webhook event %+v", evs[0])
	}
	if _, _, bad := rc.got(); len(bad) > 0 {
		t.Errorf("requests that did not verify: %v", bad)
	}
}

// A receiver that hangs and then fails delays no delivery: the job
// completes while the webhook is stuck, and the webhook is retried with
// backoff until the receiver takes it.
func TestWebhookRetriedApartFromDelivery(t *testing.T) {
	release := make(chan struct{})
	rc := &receiver{secret: []byte("whsec-test-0123456789"), reply: func(n int) int {
		if n == 1 {
			<-release
		}
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	s := newStack(t, easemobsim.Options{}, webhookConfig(hook.URL, rc.secret))
	first := s.enqueue(t, asyncJob("a")).IDs()[0]
	s.waitState(t, "completed", first)
	awaitCond(t, 20*time.Second, "the first webhook call to hang", func() bool { _, calls, _ := rc.got(); return calls == 1 })
	// The receiver is stuck on the first event; the next job is delivered
	// all the same.
	second := s.enqueue(t, asyncJob("b")).IDs()[0]
	s.waitState(t, "completed", second)
	close(release)
	evs := awaitWebhooks(t, rc, 2)
	got := map[string]bool{}
	for _, ev := range evs {
		got[ev.TaskID] = true
	}
	if !got[first] || !got[second] {
		t.Errorf("webhooks for %v, want %s and %s", got, first, second)
	}
	if _, calls, bad := rc.got(); calls < 4 || len(bad) > 0 {
		t.Errorf("%d calls (%v), want the failed ones retried", calls, bad)
	}
}

func awaitWebhooks(t *testing.T, rc *receiver, n int) []tasks.Event {
	t.Helper()
	var evs []tasks.Event
	awaitCond(t, 20*time.Second, fmt.Sprintf("%d webhooks", n), func() bool { evs, _, _ = rc.got(); return len(evs) >= n })
	return evs
}
