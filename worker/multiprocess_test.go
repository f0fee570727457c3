package worker_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
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

// burnEnv, set to a duration, turns TestCPUBurnerProcess into a process
// that keeps every core busy for that long.
const burnEnv = "BURN_CPU_FOR"

// TestCPUBurnerProcess is not a test: run as a subprocess with burnEnv set
// (see startBurner), it spins a goroutine per core and a few more, so the
// machine's cores stay busy and the workers are scheduled late, as on a
// loaded host. Without burnEnv it returns at once.
func TestCPUBurnerProcess(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(burnEnv))
	if err != nil {
		return
	}
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 2 * runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for time.Now().Before(stop) {
				for range 1 << 16 {
					x++
				}
			}
			_ = x
		}()
	}
	wg.Wait()
}

// startBurner runs TestCPUBurnerProcess in a subprocess for at most d; it
// is killed when the test ends.
func startBurner(t *testing.T, d time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCPUBurnerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), burnEnv+"="+d.String())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
}

// arrival is one call as it reached the provider: when its handler began,
// and what it was answered.
type arrival struct {
	at     time.Time
	path   string
	status int
}

// arrivals serves the simulator and notes every call's arrival before the
// simulator sees it: an independent record to compute the provider's
// windows from.
type arrivals struct {
	sim  http.Handler
	mu   sync.Mutex
	list []arrival
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	a.sim.ServeHTTP(sw, r)
	a.mu.Lock()
	a.list = append(a.list, arrival{at: at, path: r.URL.Path, status: sw.status})
	a.mu.Unlock()
}

// calls returns, oldest first, the arrival times of the calls whose path
// contains part and that the app may count: every call but those it
// refused as too many (those are counted apart). A call answered 401 is
// one Herald counts too, since its retry is a call of its own.
func (a *arrivals) calls(part string) (at []time.Time, served, tooMany int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.list {
		switch {
		case !strings.Contains(c.path, part):
		case c.status == http.StatusTooManyRequests:
			tooMany++
		default:
			at = append(at, c.at)
			if c.status == http.StatusOK {
				served++
			}
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	return at, served, tooMany
}

// violations counts the windows in which more than n of the calls at
// arrived within per of each other: at[i+n] - at[i] < per.
func violations(at []time.Time, n int, per time.Duration) int {
	bad := 0
	for i := 0; i+n < len(at); i++ {
		if at[i+n].Sub(at[i]) < per {
			bad++
		}
	}
	return bad
}

// used is the share of a limit of n per per that the calls at used while
// a backlog waited: per against the mean time n calls took (at[i] -
// at[i-n]), which is per when every window is full.
func used(at []time.Time, n int, per time.Duration) float64 {
	if len(at) <= n {
		return 0
	}
	var sum time.Duration
	for i := n; i < len(at); i++ {
		sum += at[i].Sub(at[i-n])
	}
	return per.Seconds() / (sum.Seconds() / float64(len(at)-n))
}

// longEnv, set, runs the long form of the multi-process test: five times
// the jobs. (Not HERALD_: the workers inherit the environment and refuse
// HERALD_ variables they do not know.)
const longEnv = "LONG_MULTIPROCESS"

// Four worker processes share one Redis and one Easemob app while another
// process keeps every core busy, and the app's tokens are revoked mid-run.
// Limits hold across all of them, computed exactly from when calls reached
// the app: never 2 push.sync in one second nor 11 push.single, yet at no
// less than 90% of either limit while a backlog waits; push tasks never
// more than 3 created per window.
func TestMultiProcessLimitsHoldAcrossReplicas(t *testing.T) {
	bin := buildWorker(t)
	rdb := srv.Client(t)
	scale := 1
	if os.Getenv(longEnv) != "" {
		scale = 5
	}
	const taskWindow = 3 * time.Second
	sim := easemobsim.New(easemobsim.Options{
		TaskWindow: taskWindow, TasksPerWindow: 3, MaxRunningTasks: 3, TaskDuration: 500 * time.Millisecond,
	})
	rec := &arrivals{sim: sim}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	defer hs.Close()
	url := "http://" + l.Addr().String()

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
	syncJobs, singleJobs, taskJobs := 12*scale, 100*scale, 9*scale
	startBurner(t, time.Duration(30*scale)*time.Second)

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
	// Each phase is one backlog, so a job the limiter hands back to the
	// queue does not wait behind another limit's backlog. Mid-phase the
	// app's tokens are revoked: every worker meets a 401 and fetches a new
	// token, and the calls after still keep the limits.
	phase := func(jobs ...tasks.Job) {
		var ids []string
		for _, job := range jobs {
			r, err := producer.Enqueue(ctx, job)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.IDs()...)
		}
		time.Sleep(4 * time.Second)
		sim.RevokeTokens()
		// A phase takes about a second per push.sync job.
		deadline := time.Now().Add(time.Duration(30*scale) * time.Second)
		for _, id := range ids {
			for {
				st, err := producer.Status(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if st.State == "completed" {
					break
				}
				if st.State == "archived" || time.Now().After(deadline) {
					t.Fatalf("task %s %s (%s), want completed", id, st.State, st.LastError)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	var jobs []tasks.Job
	for i := range syncJobs {
		jobs = append(jobs, &tasks.EasemobPushSync{Target: fmt.Sprintf("user%03d", i), PushMessage: message("sync")})
	}
	for i := range taskJobs {
		jobs = append(jobs, &tasks.EasemobPushTask{PushMessage: message(fmt.Sprintf("task %d", i))})
	}
	phase(jobs...)
	jobs = nil
	for i := range singleJobs {
		jobs = append(jobs, &tasks.EasemobPushSingle{Targets: []string{fmt.Sprintf("user%03d", i)}, PushMessage: message("single")})
	}
	phase(jobs...)
	stopAll()

	for _, ep := range []struct {
		part string
		jobs int
		n    int
	}{
		{"/push/sync/", syncJobs, 1},
		{"/push/single", singleJobs, 10},
	} {
		at, served, refused := rec.calls(ep.part)
		if served != ep.jobs {
			t.Errorf("%s: %d calls served, want %d", ep.part, served, ep.jobs)
		}
		bad := violations(at, ep.n, time.Second)
		use := used(at, ep.n, time.Second)
		t.Logf("%s: %d calls (%d served) over %v, %d windows over %d/s, %d answered 429, %.1f%% of the limit used",
			ep.part, len(at), served, at[len(at)-1].Sub(at[0]).Round(time.Millisecond), bad, ep.n, refused, 100*use)
		if bad > 0 || refused > 0 {
			t.Errorf("%s: %d windows with more than %d calls in a second, %d refused by the app", ep.part, bad, ep.n, refused)
		}
		if use < 0.9 {
			var gaps []string
			for i := 1; i < len(at); i++ {
				gaps = append(gaps, at[i].Sub(at[i-1]).Round(time.Millisecond).String())
			}
			t.Logf("%s: gaps %s", ep.part, strings.Join(gaps, " "))
			t.Errorf("%s: used %.1f%% of the limit under a backlog, want at least 90%%", ep.part, 100*use)
		}
	}
	unauthorized := 0
	for _, c := range sim.Calls() {
		if c.Status == http.StatusUnauthorized {
			unauthorized++
		}
	}
	if unauthorized == 0 || sim.TokensIssued() < 2 {
		t.Errorf("revoking the tokens mid-run caused %d 401s and %d tokens issued in all; want some, and a new token", unauthorized, sim.TokensIssued())
	}

	// push tasks: never more than 3 created in any rolling window.
	var created []time.Time
	for _, r := range sim.Received() {
		if r.Endpoint == easemobsim.PushTask {
			created = append(created, r.At)
		}
	}
	if len(created) != taskJobs {
		t.Fatalf("push tasks created %d, want %d", len(created), taskJobs)
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	if bad := violations(created, 3, taskWindow); bad > 0 {
		t.Errorf("%d times 4 push tasks created within %v", bad, taskWindow)
	}
	for _, c := range sim.Calls() {
		if c.Status == http.StatusForbidden {
			t.Errorf("provider refused a call: %s %d %s", c.Endpoint, c.Status, c.Error)
		}
	}
	for i, p := range procs {
		if !strings.Contains(p.logs.String(), `"message":"worker stopped"`) {
			t.Errorf("worker %d did not log a graceful stop", i)
		}
	}
}
