package worker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
)

// buildWorker compiles cmd/worker once for the multi-process tests.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/herald-dispatch/herald/cmd/worker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Four worker processes share one Redis and one Easemob app. Limits hold
// across all of them: push.sync goes out at 1 call a second with no two
// calls inside any second, yet at no less than 90% of that rate; push
// tasks are never created more than 3 per window.
func TestMultiProcessLimitsHoldAcrossReplicas(t *testing.T) {
	bin := buildWorker(t)
	rdb := srv.Client(t)
	const taskWindow = 3 * time.Second
	sim := easemobsim.New(easemobsim.Options{
		TaskWindow: taskWindow, TasksPerWindow: 3, MaxRunningTasks: 3, TaskDuration: 500 * time.Millisecond,
	})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	env := append(os.Environ(),
		"HERALD_REDIS_URL="+srv.URL(),
		"HERALD_ADMIN_ADDR=-",
		"HERALD_POLL_INTERVAL=100ms",
		"HERALD_CONCURRENCY=4",
		"HERALD_RETRY_INITIAL=200ms",
		"HERALD_RETRY_MAX=1s",
		"HERALD_EASEMOB_DEFAULT_BASE_URL="+url,
		"HERALD_EASEMOB_DEFAULT_ORG_NAME="+easemobsim.DefaultOrgName,
		"HERALD_EASEMOB_DEFAULT_APP_NAME="+easemobsim.DefaultAppName,
		"HERALD_EASEMOB_DEFAULT_CLIENT_ID="+easemobsim.DefaultClientID,
		"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET="+easemobsim.DefaultClientSecret,
		// The provider's 5-minute task window, shortened through config.
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_CREATED_JOBS=push.label,push.task",
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_CREATED_WINDOW=3",
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_CREATED_PER="+taskWindow.String(),
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_RUNNING_JOBS=push.label,push.task",
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_RUNNING_CONCURRENT=3",
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_RUNNING_LEASE=1s",
		"HERALD_EASEMOB_DEFAULT_LIMITS_TASKS_RUNNING_HOLD=true",
	)
	type proc struct {
		cmd  *exec.Cmd
		logs *syncBuffer
		done chan error
	}
	var procs []*proc
	for range 4 {
		p := &proc{cmd: exec.Command(bin), logs: &syncBuffer{}, done: make(chan error, 1)}
		p.cmd.Env = env
		p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.done <- p.cmd.Wait() }()
		procs = append(procs, p)
	}
	stopped := false
	stopAll := func() {
		if stopped {
			return
		}
		stopped = true
		for _, p := range procs {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for i, p := range procs {
			select {
			case err := <-p.done:
				if err != nil {
					t.Errorf("worker %d did not exit cleanly on SIGTERM: %v\n%s", i, err, p.logs.String())
				}
			case <-time.After(40 * time.Second):
				_ = p.cmd.Process.Kill()
				t.Errorf("worker %d did not stop after SIGTERM", i)
			}
		}
	}
	defer stopAll()
	defer func() {
		if t.Failed() {
			for i, p := range procs {
				t.Logf("worker %d logs:\n%s", i, p.logs.String())
			}
		}
	}()

	producer := tasks.NewProducer(rdb)
	ctx := context.Background()
	const syncJobs, taskJobs = 12, 9
	var ids []string
	for i := range syncJobs {
		r, err := producer.Enqueue(ctx, &tasks.EasemobPushSync{Target: fmt.Sprintf("user%02d", i), PushMessage: message("sync")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.IDs()...)
	}
	for i := range taskJobs {
		r, err := producer.Enqueue(ctx, &tasks.EasemobPushTask{PushMessage: message(fmt.Sprintf("task %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.IDs()...)
	}

	s := &stack{rdb: rdb, sim: sim, producer: producer, logs: &syncBuffer{}}
	s.waitState(t, "completed", ids...)
	stopAll()

	// push.sync: every job once, no two calls inside any second.
	var syncAt []time.Time
	var targets []string
	var created []time.Time
	for _, r := range sim.Received() {
		switch r.Endpoint {
		case easemobsim.PushSync:
			syncAt = append(syncAt, r.At)
			targets = append(targets, r.Targets...)
		case easemobsim.PushTask:
			created = append(created, r.At)
		}
	}
	slices.Sort(targets)
	if len(targets) != syncJobs || len(slices.Compact(slices.Clone(targets))) != syncJobs {
		t.Fatalf("push.sync targets received %v, want each of %d users once", targets, syncJobs)
	}
	slices.SortFunc(syncAt, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(syncAt); i++ {
		if gap := syncAt[i].Sub(syncAt[i-1]); gap < time.Second {
			t.Errorf("push.sync calls %d and %d only %v apart: two calls inside one second", i-1, i, gap)
		}
	}
	span := syncAt[len(syncAt)-1].Sub(syncAt[0])
	rate := float64(len(syncAt)-1) / span.Seconds()
	t.Logf("push.sync: %d calls over %v = %.3f calls/s (limit 1/s)", len(syncAt), span, rate)
	if rate < 0.9 {
		t.Errorf("achieved %.3f calls/s, want at least 90%% of the 1/s limit", rate)
	}

	// push tasks: never more than 3 created in any rolling window.
	if len(created) != taskJobs {
		t.Fatalf("push tasks created %d, want %d", len(created), taskJobs)
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	for i := 3; i < len(created); i++ {
		if d := created[i].Sub(created[i-3]); d < taskWindow {
			t.Errorf("4 push tasks created within %v (< %v window)", d, taskWindow)
		}
	}
	// And the provider never had to say no.
	for _, c := range sim.Calls() {
		if c.Status == 429 || c.Status == 403 {
			t.Errorf("provider refused a call: %s %d %s", c.Endpoint, c.Status, c.Error)
		}
	}
	for i, p := range procs {
		if !strings.Contains(p.logs.String(), `"message":"worker stopped"`) {
			t.Errorf("worker %d did not log a graceful stop", i)
		}
	}
}
