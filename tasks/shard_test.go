package tasks_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/herald-dispatch/herald/tasks"
)

// Every shard count names distinct queues of the provider, its own queue
// among them, and every name reads back as the provider's.
func TestQueues(t *testing.T) {
	for _, prov := range tasks.Providers() {
		for _, n := range []int{1, 2, 3, 8, 16, tasks.MaxShards} {
			queues := prov.Queues(n)
			if len(queues) != n {
				t.Fatalf("%s.Queues(%d) has %d names", prov, n, len(queues))
			}
			if !slices.Contains(queues, prov.Queue()) {
				t.Errorf("%s.Queues(%d) = %v lacks %q", prov, n, queues, prov.Queue())
			}
			seen := map[string]bool{}
			for _, q := range queues {
				if seen[q] {
					t.Errorf("%s.Queues(%d) names %q twice", prov, n, q)
				}
				seen[q] = true
				if got, ok := tasks.ProviderOfQueue(q); !ok || got != prov {
					t.Errorf("ProviderOfQueue(%q) = %q, %v; want %q", q, got, ok, prov)
				}
			}
			if again := prov.Queues(n); !slices.Equal(again, queues) {
				t.Errorf("%s.Queues(%d) changed between calls: %v, %v", prov, n, queues, again)
			}
		}
	}
}

func TestProviderOfQueue(t *testing.T) {
	cases := []struct {
		queue string
		want  tasks.Provider
		ok    bool
	}{
		{"easemob", tasks.Easemob, true},
		{"easemob.7", tasks.Easemob, true},
		{"enos.123", tasks.EnOS, true},
		{"default", "", false},
		{"easemob.", "", false},
		{"easemob.0", "", false},
		{"easemob.07", "", false},
		{"easemob.-1", "", false},
		{"easemob.x", "", false},
		{"easemobs", "", false},
		{"easemob.1.2", "", false},
	}
	for _, c := range cases {
		if got, ok := tasks.ProviderOfQueue(c.queue); got != c.want || ok != c.ok {
			t.Errorf("ProviderOfQueue(%q) = %q, %v; want %q, %v", c.queue, got, ok, c.want, c.ok)
		}
	}
}

// Task ids spread evenly over the shards, and an id always picks the same
// one.
func TestQueueForSpreads(t *testing.T) {
	const shards, ids = 8, 8000
	count := map[string]int{}
	for i := range ids {
		id := fmt.Sprintf("order-%d", i)
		q := tasks.Easemob.QueueFor(id, shards)
		if again := tasks.Easemob.QueueFor(id, shards); again != q {
			t.Fatalf("QueueFor(%q) = %q then %q", id, q, again)
		}
		count[q]++
	}
	if len(count) != shards {
		t.Fatalf("%d ids went to %d queues, want %d: %v", ids, len(count), shards, count)
	}
	for q, n := range count {
		if n < ids/shards*8/10 || n > ids/shards*12/10 {
			t.Errorf("queue %s got %d of %d ids, want within 20%% of %d", q, n, ids, ids/shards)
		}
	}
}

// With shards, a provider's tasks land in several queues, and every way of
// reaching a task by id (Status, Cancel, a second Enqueue of its key) and
// of listing a provider's tasks still works.
func TestProducerShards(t *testing.T) {
	f := newProducerFixture(t, tasks.WithShards(4))
	ctx := context.Background()
	const jobs = 40
	byID := map[string]string{}
	for i := range jobs {
		job := pushSingle(fmt.Sprintf("u%d", i))
		opts := []tasks.Option{tasks.DeliverIn(time.Hour)}
		if i%2 == 0 {
			opts = append(opts, tasks.IdempotencyKey(fmt.Sprintf("k%d", i)))
		}
		r, err := f.p.Enqueue(ctx, job, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ref := r.Tasks[0]
		if want := tasks.Easemob.QueueFor(ref.ID, 4); ref.Queue != want {
			t.Fatalf("task %s in queue %s, want %s", ref.ID, ref.Queue, want)
		}
		byID[ref.ID] = ref.Queue
		if i%2 == 0 {
			again, err := f.p.Enqueue(ctx, job, opts...)
			if err != nil || !again.Duplicate() || again.Tasks[0].ID != ref.ID {
				t.Fatalf("second enqueue of key k%d: %+v, %v; want the first task, duplicate", i, again, err)
			}
		}
	}
	used := map[string]bool{}
	for id, q := range byID {
		used[q] = true
		st, err := f.p.Status(ctx, id)
		if err != nil || st.Queue != q {
			t.Fatalf("Status(%s) = %+v, %v; want the task in %s", id, st, err, q)
		}
	}
	if len(used) < 2 {
		t.Fatalf("%d tasks all went to %v", jobs, used)
	}

	// Pages of 7 across the shards list every task once.
	listed := map[string]bool{}
	for page := 1; ; page++ {
		l, err := f.p.List(ctx, "easemob", "scheduled", page, 7)
		if err != nil {
			t.Fatal(err)
		}
		if l.Total != jobs {
			t.Fatalf("List total %d, want %d", l.Total, jobs)
		}
		if len(l.Tasks) == 0 {
			break
		}
		for _, st := range l.Tasks {
			if listed[st.ID] {
				t.Fatalf("page %d lists %s again", page, st.ID)
			}
			listed[st.ID] = true
		}
	}
	if len(listed) != jobs {
		t.Fatalf("listing found %d of %d tasks", len(listed), jobs)
	}
	for q := range used {
		l, err := f.p.List(ctx, q, "scheduled", 1, tasks.MaxListSize)
		if err != nil || l.Total == 0 || len(l.Tasks) != l.Total {
			t.Fatalf("List(%s) = %+v, %v; want that shard's tasks", q, l, err)
		}
	}

	// A producer with another shard count still finds and cancels them.
	other := tasks.NewProducer(f.rdb)
	for id := range byID {
		if err := other.Cancel(ctx, id); err != nil {
			t.Fatalf("Cancel(%s) by an unsharded producer: %v", id, err)
		}
	}
}

func TestWithShardsBounds(t *testing.T) {
	for _, n := range []int{0, -1, tasks.MaxShards + 1} {
		p := tasks.NewProducer(nil, tasks.WithShards(n))
		if _, err := p.Check(pushSingle("u")); err == nil {
			t.Errorf("WithShards(%d) accepted", n)
		}
	}
}

// Check names a task's id and queue when they are known before Enqueue
// makes the task (an idempotency key, or one shard), and they are where
// Enqueue then puts it.
func TestCheckPlansQueues(t *testing.T) {
	tests := []struct {
		name      string
		shards    int
		opts      []tasks.Option
		wantIDs   []string
		wantQueue bool
	}{
		{"one shard", 1, nil, []string{"", ""}, true},
		{"one shard, keyed", 1, []tasks.Option{tasks.IdempotencyKey("k1")}, []string{"k1", "k1/2"}, true},
		{"eight shards", 8, nil, []string{"", ""}, false},
		{"eight shards, keyed", 8, []tasks.Option{tasks.IdempotencyKey("k8")}, []string{"k8", "k8/2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProducerFixture(t, tasks.WithShards(tt.shards))
			job := pushSingle(users(150)...) // two calls
			planned, err := f.p.Check(job, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			r, err := f.p.Enqueue(context.Background(), job, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(planned) != 2 || len(r.Tasks) != 2 {
				t.Fatalf("Check planned %d tasks, Enqueue added %d; want 2", len(planned), len(r.Tasks))
			}
			for i, pt := range planned {
				if pt.ID != tt.wantIDs[i] {
					t.Errorf("task %d: ID %q, want %q", i, pt.ID, tt.wantIDs[i])
				}
				switch {
				case !tt.wantQueue && pt.Queue != "":
					t.Errorf("task %d: Queue %q, though its id is not made yet", i, pt.Queue)
				case tt.wantQueue && pt.Queue != r.Tasks[i].Queue:
					t.Errorf("task %d: Queue %q, but Enqueue put it in %q", i, pt.Queue, r.Tasks[i].Queue)
				}
				if pt.ID != "" && pt.ID != r.Tasks[i].ID {
					t.Errorf("task %d: ID %q, but Enqueue made %q", i, pt.ID, r.Tasks[i].ID)
				}
			}
		})
	}
}

// A task without an idempotency key gets a new UUID: made by asynq as it
// writes the task when there is one shard, by the producer before the
// write when the id must pick a shard. Either way the receipt's id names
// the task, in the queue the receipt gives, and no two tasks share one.
func TestEnqueueUnkeyedIDs(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			f := newProducerFixture(t, tasks.WithShards(shards))
			seen := map[string]bool{}
			for range 20 {
				r, err := f.p.Enqueue(t.Context(), pushSingle(users(150)...)) // two tasks
				if err != nil {
					t.Fatal(err)
				}
				for _, ref := range r.Tasks {
					if _, err := uuid.Parse(ref.ID); err != nil {
						t.Fatalf("task id %q is not a UUID: %v", ref.ID, err)
					}
					if seen[ref.ID] {
						t.Fatalf("task id %q given twice", ref.ID)
					}
					seen[ref.ID] = true
					if want := tasks.Easemob.QueueFor(ref.ID, shards); ref.Queue != want {
						t.Fatalf("task %s in queue %s, want %s", ref.ID, ref.Queue, want)
					}
					if info := f.task(t, ref.Queue, ref.ID); info.Type != tasks.TypeEasemobPushSingle {
						t.Fatalf("task %s has type %s", ref.ID, info.Type)
					}
				}
			}
		})
	}
}
