package worker_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// stack is a whole Herald on one test's Redis: a producer, a worker and the
// Easemob simulator, all talking over real TCP.
type stack struct {
	rdb      redis.UniversalClient
	sim      *easemobsim.Server
	producer *tasks.Producer
	cfg      worker.Config
	logs     *syncBuffer
}

// syncBuffer collects the worker's JSON log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// simConfig returns the worker config for an Easemob account on sim.
func simConfig(url string) worker.Config {
	cfg := worker.Defaults()
	cfg.Admin.Addr = "-"
	cfg.PollInterval = worker.Duration(100 * time.Millisecond)
	cfg.Concurrency = 8
	cfg.Retry.Initial = worker.Duration(100 * time.Millisecond)
	cfg.Retry.Max = worker.Duration(300 * time.Millisecond)
	cfg.Easemob = map[string]worker.EasemobAccount{"default": {
		BaseURL: url, OrgName: easemobsim.DefaultOrgName, AppName: easemobsim.DefaultAppName,
		ClientID: easemobsim.DefaultClientID, ClientSecret: easemobsim.DefaultClientSecret,
	}}
	return cfg
}

// newStack starts the simulator and a worker. tune may change the config
// before the worker is built.
func newStack(t *testing.T, simOpts easemobsim.Options, tune func(*worker.Config)) *stack {
	t.Helper()
	s := newIdleStack(t, simOpts, tune)
	s.startWorker(t)
	return s
}

// newIdleStack is newStack without the worker: the test runs its own.
func newIdleStack(t *testing.T, simOpts easemobsim.Options, tune func(*worker.Config)) *stack {
	t.Helper()
	rdb := srv.Client(t)
	sim := easemobsim.New(simOpts)
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	cfg := simConfig(url)
	cfg.Redis.URL = srv.URL()
	if tune != nil {
		tune(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &stack{rdb: rdb, sim: sim, producer: tasks.NewProducer(rdb), cfg: cfg, logs: &syncBuffer{}}
}

// startWorker runs a worker on the stack until the test ends, and returns
// it; before, if any, adjust it first. Its logs are shown if the test
// fails.
func (s *stack) startWorker(t *testing.T, before ...func(*worker.Worker)) *worker.Worker {
	t.Helper()
	w, stop := runWorker(t, s.cfg, s.rdb, s.logs, before...)
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("worker logs:\n%s", s.logs.String())
		}
	})
	return w
}

// runWorker starts a worker with cfg on rdb, after before has adjusted it.
// stop cancels it and waits for Run to return.
func runWorker(t *testing.T, cfg worker.Config, rdb redis.UniversalClient, logs io.Writer, before ...func(*worker.Worker)) (w *worker.Worker, stop func()) {
	t.Helper()
	w, err := worker.New(cfg, rdb, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range before {
		f(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return w, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker.Run: %v", err)
		}
	}
}

// waitState polls until every task reaches state, or fails the test.
func (s *stack) waitState(t *testing.T, state string, ids ...string) []*tasks.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out []*tasks.Status
		for _, id := range ids {
			st, err := s.producer.Status(context.Background(), id)
			if err != nil {
				t.Fatalf("status %s: %v", id, err)
			}
			if st.State == "archived" && state == "completed" {
				t.Fatalf("task %s archived (%s) while waiting for it to complete; worker logs:\n%s", id, st.LastError, s.logs.String())
			}
			if st.State != state {
				break
			}
			out = append(out, st)
		}
		if len(out) == len(ids) {
			return out
		}
		if time.Now().After(deadline) {
			for _, id := range ids {
				st, _ := s.producer.Status(context.Background(), id)
				t.Logf("task %s: %+v", id, st)
			}
			t.Fatalf("tasks not %s in time; worker logs:\n%s", state, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *stack) enqueue(t *testing.T, job tasks.Job, opts ...tasks.Option) *tasks.Receipt {
	t.Helper()
	r, err := s.producer.Enqueue(context.Background(), job, opts...)
	if err != nil {
		t.Fatalf("enqueue %s: %v", job.Type(), err)
	}
	return r
}

func message(title string) tasks.PushMessage {
	return tasks.PushMessage{Title: title, Content: "body of " + title}
}

// awaitCond polls cond until it holds, or fails the test after d.
func awaitCond(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
