package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// longTests, set to 1, runs the long forms of the fault tests: a 25 s
// Redis stop, a 6-hour outage in shortened settings, the full crash test.
const longTests = "HERALD_LONG_TESTS"

func long() bool { return os.Getenv(longTests) == "1" }

// A raw task (a client that bypassed the producer) with a misspelled
// field must not be read as a push without its startDate: an all-users
// push sent at once. The worker decodes as strictly as the producer and
// archives it with the reason.
func TestMisspelledStartDateArchivedNotBroadcast(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	start := time.Now().In(tasks.ChinaStandardTime()).Add(2 * time.Hour).Format(time.DateTime)
	payload := fmt.Sprintf(`{"start_date":%q,"pushMessage":{"title":"t","content":"c"}}`, start)
	c := asynq.NewClientFromRedisClient(s.rdb)
	info, err := c.Enqueue(asynq.NewTask(tasks.TypeEasemobPushTask, []byte(payload)), asynq.Queue(tasks.Easemob.Queue()))
	if err != nil {
		t.Fatal(err)
	}
	st := s.waitState(t, "archived", info.ID)[0]
	if !strings.Contains(st.LastError, "start_date") {
		t.Errorf("archived with %q, want the reason to name the unknown field start_date", st.LastError)
	}
	if n := len(s.sim.Received()); n != 0 {
		t.Fatalf("the simulator received %d pushes from a task with a misspelled field, want 0", n)
	}
}

// A call that got no reply may have been acted on. The retry finds its
// attempt record and follows the job type's policy: hold archives it with
// the evidence until an operator runs it again (then it is sent); resend
// sends again at once.
func TestInDoubtPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy worker.InDoubtPolicy
	}{{worker.Hold}, {worker.Resend}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
				a := c.Easemob["default"]
				a.Timeout = worker.Duration(300 * time.Millisecond)
				c.Easemob["default"] = a
				c.InDoubt = map[string]worker.InDoubtPolicy{tasks.TypeEasemobPushAsync: tc.policy}
			})
			// No reply to the first call: the client times out.
			s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultHang, Endpoint: easemobsim.PushAsync, Count: 1})
			id := s.enqueue(t, asyncJob("doubt")).IDs()[0]
			if tc.policy == worker.Resend {
				st := s.waitState(t, "completed", id)[0]
				if st.Attempts != 2 {
					t.Errorf("attempts %d, want 2 (the call that timed out, then the resend)", st.Attempts)
				}
				if n := len(s.sim.Received()); n != 1 {
					t.Fatalf("received %d, want 1", n)
				}
				if !strings.Contains(s.logs.String(), "resending by policy") {
					t.Errorf("no in-doubt resend logged")
				}
				return
			}
			st := s.waitState(t, "archived", id)[0]
			for _, want := range []string{"in doubt", "got no reply", `"hold"`, "run the task again"} {
				if !strings.Contains(st.LastError, want) {
					t.Errorf("archive reason %q lacks %q", st.LastError, want)
				}
			}
			if n := len(s.sim.Received()); n != 0 {
				t.Fatalf("received %d while held, want 0", n)
			}
			// The operator knows it did not arrive: "run" in asynqmon.
			insp := asynq.NewInspectorFromRedisClient(s.rdb)
			if err := insp.RunTask(tasks.Easemob.Queue(), id); err != nil {
				t.Fatal(err)
			}
			s.waitState(t, "completed", id)
			if n := len(s.sim.Received()); n != 1 {
				t.Fatalf("received %d after the operator ran the held job, want 1", n)
			}
		})
	}
}

// SIGTERM with a shutdown timeout shorter than the calls: asynq hands the
// running jobs back to the queue, but the calls already sent finish and
// their delivered-markers are written before Run returns. The next worker
// finds the markers: 0 doubled, 0 lost.
func TestShutdownShorterThanCallsNeitherDoublesNorLoses(t *testing.T) {
	const jobs = 4
	s := newIdleStack(t, easemobsim.Options{}, nil)
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Delay: 1500 * time.Millisecond, Endpoint: easemobsim.PushAsync, Count: jobs})
	cfg := s.cfg
	cfg.ShutdownTimeout = worker.Duration(200 * time.Millisecond)
	_, stop := runWorker(t, cfg, s.rdb, s.logs)
	var ids []string
	for i := range jobs {
		ids = append(ids, s.enqueue(t, asyncJob(fmt.Sprintf("slow%d", i))).IDs()...)
	}
	// Sent: the simulator holds every slowed call. A call not yet sent
	// when asynq hands its task back is not sent by this worker.
	awaitCond(t, 10*time.Second, "every call at the provider", func() bool { return len(s.sim.Faults()) == 0 })
	stop()
	if n := len(s.sim.Received()); n != jobs {
		t.Fatalf("after the stop the provider has %d, want the %d calls already sent to have finished", n, jobs)
	}
	s.startWorker(t)
	for _, st := range s.waitState(t, "completed", ids...) {
		if st.Attempts != 1 {
			t.Errorf("task %s: %d attempts, want 1: the one handed back at the stop is not counted", st.ID, st.Attempts)
		}
	}
	if n := len(s.sim.Received()); n != jobs {
		t.Fatalf("received %d, want %d: none doubled", n, jobs)
	}
}

// Redis stops answering while calls are out (25 s in the long form): the
// calls finish, their records land once Redis is back, and nothing is sent
// twice or lost.
func TestRedisGoneWhileCallsOut(t *testing.T) {
	const jobs = 4
	pause := 3 * time.Second
	if long() {
		pause = 25 * time.Second
	}
	s := newStack(t, easemobsim.Options{}, nil)
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Delay: time.Second, Endpoint: easemobsim.PushAsync, Count: jobs})
	var ids []string
	for i := range jobs {
		ids = append(ids, s.enqueue(t, asyncJob(fmt.Sprintf("r%d", i))).IDs()...)
	}
	// Every call is out once the simulator has taken each slowed call's
	// fault (an attempt record is not enough: the client may still be
	// reading its token from Redis).
	awaitCond(t, 10*time.Second, "every call at the provider", func() bool { return len(s.sim.Faults()) == 0 })
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = srv.Resume()
		}
	}()
	time.Sleep(pause) // the outage itself
	if n := len(s.sim.Received()); n != jobs {
		t.Errorf("during the outage the provider got %d, want %d", n, jobs)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	back := time.Now()
	// asynq's own 30 s task lease, extended every 5 s, may run out at
	// the very end of a 25 s stop: the task is then retried once, finds
	// its marker and completes. A 3 s stop uses no retry.
	spent := 0
	for _, st := range s.waitState(t, "completed", ids...) {
		spent = max(spent, st.Attempts-1) // the try that delivered is not a retry
	}
	if spent > 0 && !long() {
		t.Errorf("a task used %d retries across a %v stop, want 0", spent, pause)
	}
	n := len(s.sim.Received())
	if n != jobs {
		t.Fatalf("received %d, want %d: none doubled", n, jobs)
	}
	// The records land either way: go-redis (v9.23) holds a pipeline to a
	// stopped server until it answers again rather than failing it at its
	// read timeout (measured: 25 s, then success), and a write that does
	// fail (a server gone, not stopped) is retried until it lands.
	how := "waited for Redis"
	if strings.Contains(s.logs.String(), "delivery record written after Redis came back") {
		how = "retried"
	}
	t.Logf("Redis stopped %v with %d calls out: %d received by the provider, %d completed %v after Redis came back (at most %d retries used, records %s), %d log lines in doubt",
		pause, jobs, n, len(ids), time.Since(back).Round(10*time.Millisecond), spent, how, strings.Count(s.logs.String(), "in doubt"))
}

// An outage of any length loses nothing: after a few failures the
// account's circuit opens, jobs wait for it without spending retries, one
// probe goes through every circuit.probe, and all are delivered once the
// provider answers. Short form: 3 s of 503s with a 100 ms probe (30
// probes; 15 minutes at the default 30 s). Long form: 72 s at 100 ms,
// the 720 probes of a 6-hour outage at the default.
func TestOutageOpensCircuitAndLosesNothing(t *testing.T) {
	outage, probe := 3*time.Second, 100*time.Millisecond
	if long() {
		outage = 72 * time.Second
	}
	const jobs, maxRetry = 6, 3
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.Circuit = worker.CircuitConfig{Failures: 3, Probe: worker.Duration(probe)}
	})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: http.StatusServiceUnavailable, Endpoint: easemobsim.PushAsync})
	var ids []string
	for i := range jobs {
		ids = append(ids, s.enqueue(t, asyncJob(fmt.Sprintf("o%d", i)), tasks.MaxRetry(maxRetry)).IDs()...)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logs.String(), "circuit opened") {
		if time.Now().After(deadline) {
			t.Fatalf("the circuit did not open; logs:\n%s", s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(outage) // the outage itself
	calls := len(s.sim.Calls())
	s.sim.ClearFaults()
	most := 0
	for _, st := range s.waitState(t, "completed", ids...) {
		// The try that delivered is not a retry.
		if st.Attempts-1 >= maxRetry {
			t.Errorf("task %s spent %d of %d retries", st.ID, st.Attempts-1, maxRetry)
		}
		most = max(most, st.Attempts-1)
	}
	if n := len(s.sim.Received()); n != jobs {
		t.Fatalf("received %d, want %d", n, jobs)
	}
	// Without the circuit every job would call about every 300 ms (the
	// test's retry.max): the open circuit lets one probe through per probe
	// interval, for all jobs together.
	if most := 3 + 8 + int(outage/probe) + 5; calls > most {
		t.Errorf("%d calls during a %v outage, want at most %d (one probe per %v)", calls, outage, most, probe)
	}
	if !strings.Contains(s.logs.String(), "circuit closed") {
		t.Errorf("the circuit's closing was not logged")
	}
	t.Logf("outage %v: %d calls reached the provider, %d jobs delivered after it, at most %d of %d retries used", outage, calls, jobs, most, maxRetry)
}

// Any answer from the provider closes an open circuit, a "too many
// requests" included: the provider is up, and its limits (not the
// circuit) pace the jobs from then on.
func TestCircuitClosedByAnyAnswer(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.Circuit = worker.CircuitConfig{Failures: 2, Probe: worker.Duration(100 * time.Millisecond)}
	})
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: http.StatusServiceUnavailable, Endpoint: easemobsim.PushAsync})
	var ids []string
	for i := range 3 {
		ids = append(ids, s.enqueue(t, asyncJob(fmt.Sprintf("a%d", i))).IDs()...)
	}
	key := "herald:circuit:{easemob:default}"
	state := func() string { return s.rdb.HGet(context.Background(), key, "state").Val() }
	awaitCond(t, 10*time.Second, "the circuit open", func() bool { return state() == "open" })
	s.sim.ClearFaults()
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: http.StatusTooManyRequests, Endpoint: easemobsim.PushAsync})
	awaitCond(t, 10*time.Second, "the circuit closed by a 429", func() bool { return state() != "open" })
	if n := len(s.sim.Received()); n != 0 {
		t.Fatalf("received %d while the provider refused every push, want 0", n)
	}
	s.sim.ClearFaults()
	s.waitState(t, "completed", ids...)
	if n := len(s.sim.Received()); n != len(ids) {
		t.Fatalf("received %d, want %d", n, len(ids))
	}
}
