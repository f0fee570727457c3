package worker_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
)

// A worker process is SIGKILLed with 10 calls out at a slowed provider
// and 20 jobs waiting; a new worker is started. The dead worker's
// in_flight slots come back within their 15 s lease (no one renews them),
// so the 20 untouched jobs are delivered well within asynq's own lease
// recovery of the 10 (about 65 s), not after 120 s. The long form then
// waits for those 10: their attempt records show calls that got no reply,
// so by push.async's policy (hold) they are archived as in doubt, with
// the evidence, and not sent again.
func TestCrashKilledWorkerMidCall(t *testing.T) {
	const total, inFlight = 30, 10
	bin := buildWorker(t)
	rdb := srv.Client(t)
	sim := easemobsim.New(easemobsim.Options{})
	var arrived atomic.Int64 // pushes that reached the provider, counted on arrival
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/push/") {
			arrived.Add(1)
		}
		sim.ServeHTTP(w, r)
	})}
	go func() { _ = hs.Serve(l) }()
	defer hs.Close()
	url := "http://" + l.Addr().String()
	sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Delay: 5 * time.Second, Endpoint: easemobsim.PushAsync, Count: inFlight})
	var env []string
	for _, kv := range os.Environ() {
		// The worker refuses HERALD_ variables it does not know.
		if !strings.HasPrefix(kv, longTests+"=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HERALD_REDIS_URL="+srv.URL(),
		"HERALD_ADMIN_ADDR=-",
		"HERALD_POLL_INTERVAL=100ms",
		fmt.Sprintf("HERALD_CONCURRENCY=%d", inFlight),
		"HERALD_RETRY_INITIAL=200ms",
		"HERALD_RETRY_MAX=1s",
		"HERALD_EASEMOB_DEFAULT_BASE_URL="+url,
		"HERALD_EASEMOB_DEFAULT_ORG_NAME="+easemobsim.DefaultOrgName,
		"HERALD_EASEMOB_DEFAULT_APP_NAME="+easemobsim.DefaultAppName,
		"HERALD_EASEMOB_DEFAULT_CLIENT_ID="+easemobsim.DefaultClientID,
		"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET="+easemobsim.DefaultClientSecret,
	)
	start := func(name string) (*exec.Cmd, *syncBuffer) {
		logs := &syncBuffer{}
		cmd := exec.Command(bin)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s logs:\n%s", name, logs.String())
			}
		})
		return cmd, logs
	}

	producer := tasks.NewProducer(rdb)
	ctx := context.Background()
	var ids []string
	for i := range total {
		r, err := producer.Enqueue(ctx, asyncJob(fmt.Sprintf("c%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.IDs()...)
	}
	first, _ := start("killed worker")
	insp := asynq.NewInspectorFromRedisClient(rdb)
	queue := tasks.Easemob.Queue()
	var active []*asynq.TaskInfo
	awaitCond(t, 20*time.Second, "10 calls in flight", func() bool {
		active, _ = insp.ListActiveTasks(queue)
		return len(active) == inFlight && arrived.Load() == inFlight
	})
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killed := time.Now()
	held := map[string]bool{}
	for _, a := range active {
		held[a.ID] = true
	}
	var untouched []string
	for _, id := range ids {
		if !held[id] {
			untouched = append(untouched, id)
		}
	}
	start("new worker")
	awaitCond(t, 60*time.Second, "the untouched jobs delivered", func() bool {
		return countState(t, producer, untouched, "completed") == len(untouched)
	})
	tookUntouched := time.Since(killed)
	t.Logf("%d untouched jobs delivered %v after the kill", len(untouched), tookUntouched.Round(100*time.Millisecond))
	if tookUntouched > 45*time.Second {
		t.Errorf("untouched jobs took %v after the kill, want them well within asynq's lease recovery (~65 s)", tookUntouched)
	}
	if !long() {
		return
	}
	var inDoubt []string
	for id := range held {
		inDoubt = append(inDoubt, id)
	}
	awaitCond(t, 3*time.Minute, "the in-flight jobs settled by policy", func() bool {
		return countState(t, producer, inDoubt, "archived")+countState(t, producer, inDoubt, "completed") == len(inDoubt)
	})
	archived := 0
	for _, id := range inDoubt {
		st, err := producer.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == "archived" {
			archived++
			if !strings.Contains(st.LastError, "in doubt") {
				t.Errorf("task %s archived with %q, want in doubt", id, st.LastError)
			}
		}
	}
	received := len(sim.Received())
	perTarget := map[string]int{}
	for _, r := range sim.Received() {
		for _, tg := range r.Targets {
			perTarget[tg]++
		}
	}
	for tg, n := range perTarget {
		if n > 1 {
			t.Errorf("%s received %d times", tg, n)
		}
	}
	// The simulator drops a slowed call whose client went away, so the
	// killed worker's calls did not land: the held jobs are for an
	// operator to run (they would have doubled had they landed and been resent).
	t.Logf("after %v: %d delivered by the new worker, %d in doubt archived (hold), provider received %d",
		time.Since(killed).Round(time.Second), len(untouched), archived, received)
	if archived != inFlight || received < len(untouched) || received > total {
		t.Errorf("archived in doubt %d, want %d; provider received %d, want %d to %d", archived, inFlight, received, len(untouched), total)
	}
}

func countState(t *testing.T, p *tasks.Producer, ids []string, state string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		st, err := p.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == state {
			n++
		}
	}
	return n
}
