package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// Limits with long periods, so the keys they leave in Redis outlive the
// test and can be checked after the jobs are done.
const (
	syncRateKey     = "herald:rl:{easemob:herald#demo:push_sync}:calls"
	singleWindowKey = "herald:rl:{easemob:herald#demo:single_window}:calls"
)

// A whole Herald (producer, worker, Easemob simulator) works on Redis
// behind a Sentinel and on a Redis Cluster, each reached the way an
// operator configures it: worker.RedisConfig and worker.NewRedisClient. A
// push.single to 150 users goes out as 100 + 50 (one call failing once and
// retried), a push.sync with an idempotency key goes out once, every task
// completes, and the limits, delivered-markers and admin endpoints work on
// the topology.
func TestTopologies(t *testing.T) {
	cases := []struct {
		name string
		// start brings the topology up, flushed, and returns how the
		// worker is configured to reach it plus a check of where Herald's
		// keys ended up.
		start func(t *testing.T) (worker.RedisConfig, func(t *testing.T, keys []string))
		// client is the concrete client NewRedisClient must build.
		client string
	}{
		{"sentinel", startSentinel, "*redis.Client"},
		{"cluster", startCluster, "*redis.ClusterClient"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, located := tc.start(t)
			rdb, err := worker.NewRedisClient(rc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			if got := fmt.Sprintf("%T", rdb); got != tc.client {
				t.Fatalf("NewRedisClient(%+v) built a %s, want a %s", rc, got, tc.client)
			}
			s, w := startWorker(t, rc, rdb)

			// One push.single call fails with a 500, so a task also goes
			// through asynq's retry set and back on the topology.
			s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Endpoint: easemobsim.PushSingle, Status: http.StatusInternalServerError, Count: 1})
			users := make([]string, 150)
			for i := range users {
				users[i] = fmt.Sprintf("u%03d", i)
			}
			single := s.enqueue(t, &tasks.EasemobPushSingle{Targets: users, PushMessage: message("single")})
			if len(single.Tasks) != 2 {
				t.Fatalf("push.single of 150 split into %d tasks, want 2", len(single.Tasks))
			}
			syncJob := &tasks.EasemobPushSync{Target: "alice", PushMessage: message("sync")}
			first := s.enqueue(t, syncJob, tasks.IdempotencyKey("sync-1"))
			if again := s.enqueue(t, syncJob, tasks.IdempotencyKey("sync-1")); !again.Duplicate() || again.IDs()[0] != first.IDs()[0] {
				t.Fatalf("second enqueue of the key: %+v, want the first task marked duplicate", again)
			}
			// A scheduled job goes through Herald's scheduler script,
			// which must find its keys in one slot on a Cluster. It is
			// due 100 ms past a whole second, so the scheduler, woken by
			// the announcement, moves it most of a second before asynq's
			// forwarder could (at the next whole second).
			due := time.Now().Add(1400 * time.Millisecond).Truncate(time.Second).Add(100 * time.Millisecond)
			later := s.enqueue(t, &tasks.EasemobPushAsync{Target: "bob", PushMessage: message("later")}, tasks.DeliverAt(due))
			ids := append(append(single.IDs(), first.IDs()...), later.IDs()...)
			sts := s.waitState(t, "completed", ids...)
			retried := 0
			for _, st := range sts {
				if len(st.Result) == 0 {
					t.Errorf("task %s completed with no result", st.ID)
				}
				retried += st.Attempts - 1 // the tries before the one that delivered
			}
			if retried != 1 {
				t.Errorf("%d failed attempts in all, want the 1 injected 500", retried)
			}

			// The simulator saw exactly 100 + 50 users and one sync.
			var sizes []int
			var singles, syncs []string
			for _, rec := range s.sim.Received() {
				switch rec.Endpoint {
				case easemobsim.PushSingle:
					sizes = append(sizes, len(rec.Targets))
					singles = append(singles, rec.Targets...)
				case easemobsim.PushSync:
					syncs = append(syncs, rec.Targets...)
				case easemobsim.PushAsync:
					if rec.At.Before(due) {
						t.Errorf("scheduled push.async arrived %v early", due.Sub(rec.At))
					}
					if second := due.Truncate(time.Second).Add(time.Second); !rec.At.Before(second) {
						t.Errorf("scheduled push.async arrived at %v, not before %v: asynq's forwarder moved it, Herald's scheduler was not woken", rec.At, second)
					}
				default:
					t.Errorf("unexpected call to %s", rec.Endpoint)
				}
			}
			slices.Sort(sizes)
			slices.Sort(singles)
			if !slices.Equal(sizes, []int{50, 100}) || !slices.Equal(singles, users) {
				t.Errorf("push.single calls of %v users, want 100 and 50 carrying the 150 users once", sizes)
			}
			if !slices.Equal(syncs, []string{"alice"}) {
				t.Errorf("push.sync reached %v, want alice once", syncs)
			}

			// The limits counted on the topology, and every delivery left
			// its marker.
			ctx := context.Background()
			if n, err := rdb.ZCard(ctx, tasks.DueKey("easemob")).Result(); err != nil || n != 0 {
				t.Errorf("due set holds %d entries (%v) after the scheduled job ran", n, err)
			}
			if n, err := rdb.ZCard(ctx, singleWindowKey).Result(); err != nil || n != 3 {
				t.Errorf("ZCARD %s = %d, %v; want the 3 push.single calls (a window counts the failed one too)", singleWindowKey, n, err)
			}
			if ttl, err := rdb.PTTL(ctx, syncRateKey).Result(); err != nil || ttl < 50*time.Minute {
				t.Errorf("PTTL %s = %s, %v; want the hour the one sync call took", syncRateKey, ttl, err)
			}
			keys := []string{syncRateKey, singleWindowKey}
			insp := asynq.NewInspectorFromRedisClient(rdb)
			for _, id := range ids {
				info, err := insp.GetTaskInfo("easemob", id)
				if err != nil {
					t.Fatal(err)
				}
				marker := worker.DeliveryRecordKey(id, info.Headers[tasks.HeaderEnqueueID])
				if n, err := rdb.Exists(ctx, marker).Result(); err != nil || n != 1 {
					t.Errorf("delivered-marker %s missing (%v)", marker, err)
				}
				keys = append(keys, marker)
			}
			located(t, keys)

			// Each master the worker writes to reports its memory: the
			// Sentinel's master by name, every Cluster master by address.
			masters := []string{rc.MasterName}
			if rc.Cluster {
				masters = rc.Addrs
			}
			checkAdmin(t, w, len(ids), masters)
		})
	}
}

// startSentinel starts a master behind a Sentinel. Herald's keys must be on
// that master: the worker found it through the Sentinel.
func startSentinel(t *testing.T) (worker.RedisConfig, func(*testing.T, []string)) {
	sen, err := redistest.StartSentinel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sen.Stop)
	sen.Client(t) // flush
	return worker.RedisConfig{Addrs: sen.SentinelAddrs, MasterName: sen.MasterName},
		func(t *testing.T, keys []string) {
			direct := redis.NewClient(&redis.Options{Addr: sen.MasterAddr})
			defer direct.Close()
			if n, err := direct.Exists(context.Background(), keys...).Result(); err != nil || n != int64(len(keys)) {
				t.Errorf("%d of %d keys on the master %s (%v)", n, len(keys), sen.MasterAddr, err)
			}
		}
}

// startCluster starts a cluster of three masters. Herald's keys must be
// spread over more than one of them, so the run really crossed nodes.
func startCluster(t *testing.T) (worker.RedisConfig, func(*testing.T, []string)) {
	cl, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	rc := cl.Client(t) // flush
	return worker.RedisConfig{Addrs: cl.Addrs, Cluster: true},
		func(t *testing.T, keys []string) {
			ctx := context.Background()
			// asynq's keys for the easemob queue share one hash tag.
			keys = append(keys, "asynq:{easemob}:pending")
			nodes := map[string]bool{}
			for _, k := range keys {
				m, err := rc.MasterForKey(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				nodes[m.Options().Addr] = true
			}
			var used atomic.Int64 // ForEachMaster runs fn on every master at once
			err := rc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
				n, err := m.DBSize(ctx).Result()
				if n > 0 {
					used.Add(1)
				}
				return err
			})
			if err != nil || len(nodes) < 2 || used.Load() < 2 {
				t.Errorf("Herald's keys hash to %d masters and %d masters hold keys (%v); want at least 2", len(nodes), used.Load(), err)
			}
		}
}

// startWorker runs a worker on rdb against a fresh simulator, with two
// limits whose state lasts an hour, and returns the stack.
func startWorker(t *testing.T, rc worker.RedisConfig, rdb redis.UniversalClient) (*stack, *worker.Worker) {
	t.Helper()
	sim := easemobsim.New(easemobsim.Options{})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	cfg := simConfig(url)
	cfg.Redis = rc
	acct := cfg.Easemob["default"]
	acct.Limits = map[string]worker.LimitConfig{
		"push_sync":     {Jobs: []string{"push.sync"}, Rate: 1, Per: worker.Duration(time.Hour), Burst: 1},
		"single_window": {Jobs: []string{"push.single"}, Window: 10, Per: worker.Duration(time.Hour)},
	}
	cfg.Easemob["default"] = acct
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &stack{rdb: rdb, sim: sim, producer: tasks.NewProducer(rdb), cfg: cfg, logs: &syncBuffer{}}
	// The scheduler would sleep an hour: only the producer's announcement
	// of a job due soon (a PUBLISH, which a Cluster carries to every node)
	// wakes it.
	return s, s.startWorker(t, func(w *worker.Worker) { worker.SetSchedulerIdle(w, time.Hour) })
}

// checkAdmin reads the operator endpoints that query Redis: readiness, the
// queue and memory metrics, and asynqmon's queue, server and Redis pages.
func checkAdmin(t *testing.T, w *worker.Worker, completed int, masters []string) {
	t.Helper()
	h := w.AdminHandler()
	get := func(path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, rec.Code, body)
		}
		return string(body)
	}
	get("/readyz")
	m := get("/metrics")
	if !strings.Contains(m, fmt.Sprintf(`herald_queue_tasks{queue="easemob",state="completed"} %d`, completed)) {
		t.Errorf("/metrics does not count %d completed easemob tasks:\n%s", completed, grep(m, "herald_queue_tasks"))
	}
	if got := strings.Count(m, "herald_redis_memory_used_bytes{"); got != len(masters) {
		t.Errorf("/metrics has %d memory series, want one per master %v:\n%s", got, masters, grep(m, "herald_redis_memory"))
	}
	for _, node := range masters {
		if !strings.Contains(m, fmt.Sprintf(`herald_redis_maxmemory_policy{node=%q,policy="noeviction"} 1`, node)) {
			t.Errorf("/metrics lacks master %s's memory policy:\n%s", node, grep(m, "herald_redis_m"))
		}
	}
	var queues struct {
		Queues []struct {
			Queue     string `json:"queue"`
			Completed int    `json:"completed"`
		} `json:"queues"`
	}
	if err := json.Unmarshal([]byte(get(worker.MonitoringPath+"/api/queues")), &queues); err != nil {
		t.Errorf("asynqmon queues: %v", err)
	}
	i := slices.IndexFunc(queues.Queues, func(q struct {
		Queue     string `json:"queue"`
		Completed int    `json:"completed"`
	}) bool {
		return q.Queue == "easemob"
	})
	if i < 0 || queues.Queues[i].Completed != completed {
		t.Errorf("asynqmon queues = %+v, want easemob with %d completed", queues.Queues, completed)
	}
	var servers struct {
		Servers []struct {
			Status string `json:"status"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(get(worker.MonitoringPath+"/api/servers")), &servers); err != nil || len(servers.Servers) != 1 {
		t.Errorf("asynqmon servers = %+v, %v; want this worker", servers, err)
	}
	get(worker.MonitoringPath + "/api/redis_info")
}

// grep keeps the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
