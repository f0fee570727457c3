package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/tasks"
)

// streamEvents reads the whole stream.
func streamEvents(t *testing.T, rdb redis.UniversalClient, stream string) []tasks.Event {
	t.Helper()
	msgs, err := rdb.XRange(t.Context(), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]tasks.Event, 0, len(msgs))
	for _, m := range msgs {
		ev, err := tasks.ReadEvent(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// Record adds one event per task outcome: a repeat (a retry that finds the
// delivered-marker, a crash after the event) adds nothing; an archived
// task run again gets its new outcome; a cancel after an archive leaves
// the archive as the outcome.
func TestEventLogOncePerOutcome(t *testing.T) {
	type step struct {
		outcome tasks.Outcome
		attempt int
		rerun   bool // Rerun(attempt) before the record: a failed try of a rerun
		added   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"delivered twice", []step{{tasks.Delivered, 0, false, true}, {tasks.Delivered, 1, false, false}}},
		{"archived, crash, retried and archived again", []step{{tasks.Archived, 0, false, true}, {tasks.Archived, 1, false, false}}},
		{"archived, run again, delivered", []step{{tasks.Archived, 3, false, true}, {tasks.Delivered, 3, false, true}}},
		{"archived, run again, archived", []step{{tasks.Archived, 3, false, true}, {tasks.Archived, 3, false, true}}},
		{"archived at 0, rerun fails and retries, archived at 2", []step{{tasks.Archived, 0, false, true}, {tasks.Archived, 2, true, true}}},
		{"archived, crash, a later try failed: still one archive", []step{{tasks.Archived, 0, false, true}, {tasks.Archived, 2, false, false}}},
		{"archived then cancelled", []step{{tasks.Archived, 0, false, true}, {tasks.Cancelled, 0, false, false}}},
		{"delivered then archived", []step{{tasks.Delivered, 0, false, true}, {tasks.Archived, 0, false, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := redisSrv.Client(t)
			l := tasks.EventLog{RDB: rdb}
			want := 0
			for i, s := range tt.steps {
				if s.rerun {
					if err := l.Rerun(t.Context(), "t1", "e1", 0); err != nil {
						t.Fatal(err)
					}
				}
				added, err := l.Record(t.Context(), tasks.Event{Outcome: s.outcome, TaskID: "t1", Type: tasks.TypeEasemobPushSync, At: time.Now()}, "e1", s.attempt)
				if err != nil {
					t.Fatal(err)
				}
				if added != s.added {
					t.Errorf("step %d (%s at %d): added = %v, want %v", i, s.outcome, s.attempt, added, s.added)
				}
				if added {
					want++
				}
			}
			if got := streamEvents(t, rdb, tasks.DefaultEventStream); len(got) != want {
				t.Errorf("stream holds %d events, want %d", len(got), want)
			}
			// Another enqueue of the same id is another task.
			if added, err := l.Record(t.Context(), tasks.Event{Outcome: tasks.Delivered, TaskID: "t1"}, "e2", 0); err != nil || !added {
				t.Errorf("same id, new enqueue id: added %v, %v", added, err)
			}
		})
	}
}

// Events are JSON in UTC, the stream is trimmed, "-" turns them off, and
// the once-key shares the stream's hash slot (so Record is one script on
// Redis Cluster).
func TestEventLogStream(t *testing.T) {
	rdb := redisSrv.Client(t)
	l := tasks.EventLog{RDB: rdb, Stream: "app:{herald}:events", MaxLen: 10}
	for i := range 500 {
		if _, err := l.Record(t.Context(), tasks.Event{Outcome: tasks.Delivered, TaskID: fmt.Sprint(i),
			At: time.Date(2030, 1, 2, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := rdb.XLen(t.Context(), l.Stream).Result()
	if n >= 500 || n < 10 {
		t.Errorf("stream length %d after 500 events with MaxLen 10, want trimmed to about 10", n)
	}
	msgs, _ := rdb.XRevRangeN(t.Context(), l.Stream, "+", "-", 1).Result()
	if raw := msgs[0].Values[tasks.EventField].(string); !strings.Contains(raw, `"at":"2030-01-02T01:00:00Z"`) {
		t.Errorf("event %s: want the time in UTC with a Z", raw)
	}
	keys, _ := rdb.Keys(t.Context(), "*outcome*").Result()
	for _, k := range keys {
		if !strings.HasPrefix(k, "app:{herald}:events:outcome:") {
			t.Errorf("once key %q is not in the stream's hash slot", k)
		}
	}
	off := tasks.EventLog{RDB: rdb, Stream: "-"}
	if added, err := off.Record(t.Context(), tasks.Event{Outcome: tasks.Delivered, TaskID: "x"}, "", 0); added || err != nil {
		t.Errorf("events off: added %v, %v", added, err)
	}
}

// Cancel and Delete record a cancelled outcome for a task that had none,
// and none for a task already archived or completed.
func TestCancelRecordsEvent(t *testing.T) {
	f := newProducerFixture(t)
	r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.DeliverIn(time.Hour), tasks.Account("shop"))
	if err != nil {
		t.Fatal(err)
	}
	id := r.Tasks[0].ID
	if err := f.p.Cancel(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	evs := streamEvents(t, f.rdb, tasks.DefaultEventStream)
	if len(evs) != 1 || evs[0].Outcome != tasks.Cancelled || evs[0].TaskID != id || evs[0].Account != "shop" ||
		evs[0].Queue != "easemob" || evs[0].Attempts != 0 || evs[0].At.Location() != time.UTC {
		t.Fatalf("events after cancel = %+v", evs)
	}

	// An archived task's outcome stands when it is deleted.
	startWorker(t, f.rdb, func(context.Context, *asynq.Task) error { return errors.New("provider said no") })
	r, err = f.p.Enqueue(t.Context(), pushSingle("u2"), tasks.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	id2 := r.Tasks[0].ID
	awaitState(t, f.p, id2, "archived")
	info := f.task(t, "easemob", id2)
	// What the worker would have recorded when it archived the task.
	if _, err := (tasks.EventLog{RDB: f.rdb}).Record(t.Context(), tasks.Event{Outcome: tasks.Archived, TaskID: id2}, info.Headers[tasks.HeaderEnqueueID], 0); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Delete(t.Context(), id2); err != nil {
		t.Fatal(err)
	}
	evs = streamEvents(t, f.rdb, tasks.DefaultEventStream)
	if len(evs) != 2 || evs[1].Outcome != tasks.Archived {
		t.Errorf("events after deleting an archived task = %+v, want its archive only", evs)
	}
}

// A producer told the workers' stream writes there; "-" writes nothing.
func TestWithEvents(t *testing.T) {
	for _, stream := range []string{"ops:outcomes", "-"} {
		f := newProducerFixture(t, tasks.WithEvents(stream))
		r, err := f.p.Enqueue(t.Context(), pushSingle("u1"), tasks.DeliverIn(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.p.Cancel(t.Context(), r.Tasks[0].ID); err != nil {
			t.Fatal(err)
		}
		n := f.rdb.Exists(t.Context(), tasks.DefaultEventStream).Val()
		m := f.rdb.XLen(t.Context(), stream).Val()
		if n != 0 || (stream == "-") != (m == 0) {
			t.Errorf("stream %q: default stream exists %d, %d events in %q", stream, n, m, stream)
		}
	}
}

// A receiver checks a webhook with VerifyWebhook before it trusts the
// body.
func ExampleVerifyWebhook() {
	secret := []byte("whsec-0123456789abcdef")
	body := []byte(`{"id":"1700000000000-0","outcome":"delivered","task_id":"order-42"}`)
	// What Herald's worker sends: the body and its signature header.
	header := tasks.SignWebhook(body, time.Now(), secret)

	// In the receiver's http.Handler: read the body whole, verify, then
	// decode.
	//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	//	err := tasks.VerifyWebhook(r.Header.Get(tasks.SignatureHeader), body, secret, 5*time.Minute)
	err := tasks.VerifyWebhook(header, body, secret, 5*time.Minute)
	fmt.Println("genuine:", err == nil)

	tampered := []byte(strings.Replace(string(body), "delivered", "archived", 1))
	err = tasks.VerifyWebhook(header, tampered, secret, 5*time.Minute)
	fmt.Println("tampered:", errors.Is(err, tasks.ErrBadSignature))
	// Output:
	// genuine: true
	// tampered: true
}

func TestVerifyWebhook(t *testing.T) {
	secret, other := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	body := []byte(`{"outcome":"delivered"}`)
	now := time.Now()
	tests := []struct {
		name   string
		header string
		body   []byte
		ok     bool
	}{
		{"signed", tasks.SignWebhook(body, now, secret), body, true},
		{"rotation: either secret", tasks.SignWebhook(body, now, other, secret), body, true},
		{"other secret", tasks.SignWebhook(body, now, other), body, false},
		{"body changed", tasks.SignWebhook(body, now, secret), []byte(`{"outcome":"archived"}`), false},
		{"too old", tasks.SignWebhook(body, now.Add(-10*time.Minute), secret), body, false},
		{"from the future", tasks.SignWebhook(body, now.Add(10*time.Minute), secret), body, false},
		{"timestamp changed", strings.Replace(tasks.SignWebhook(body, now, secret), "t=", "t=1", 1), body, false},
		{"no signature", "t=" + fmt.Sprint(now.Unix()), body, false},
		{"empty", "", body, false},
	}
	for _, tt := range tests {
		err := tasks.VerifyWebhook(tt.header, tt.body, secret, 5*time.Minute)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, tasks.ErrBadSignature)) {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// A service reads outcomes with a consumer group: each event goes to one
// consumer of the group, and stays pending until acknowledged.
func ExampleReadEvent() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	const group = "billing"
	// Create the group once; "$" starts it at new events, "0" at the oldest kept.
	if err := rdb.XGroupCreateMkStream(ctx, tasks.DefaultEventStream, group, "$").Err(); err != nil &&
		!strings.HasPrefix(err.Error(), "BUSYGROUP") {
		log.Fatal(err)
	}
	for {
		streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: "billing-1", Streams: []string{tasks.DefaultEventStream, ">"},
			Count: 100, Block: 5 * time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, msg := range streams[0].Messages {
			ev, err := tasks.ReadEvent(msg)
			if err != nil {
				log.Print(err)
			} else {
				switch ev.Outcome {
				case tasks.Delivered:
					fmt.Println(ev.TaskID, "delivered:", string(ev.Result))
				case tasks.Archived:
					fmt.Println(ev.TaskID, "failed:", ev.Reason)
				case tasks.Cancelled:
					fmt.Println(ev.TaskID, "cancelled")
				}
			}
			rdb.XAck(ctx, tasks.DefaultEventStream, group, msg.ID)
		}
	}
}
