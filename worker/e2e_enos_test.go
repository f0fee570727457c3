package worker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// enosStack is a producer, a worker with one EnOS account and the EnOS
// simulator, over real TCP and the test's Redis.
type enosStack struct {
	*stack
	enos *enossim.Server
}

func newEnOSStack(t *testing.T, opts enossim.Options) *enosStack {
	t.Helper()
	sim := enossim.New(opts)
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	// The stack's Easemob simulator runs idle: this worker has no Easemob
	// account.
	s := newIdleStack(t, easemobsim.Options{}, func(cfg *worker.Config) {
		cfg.Easemob = nil
		cfg.EnOS = map[string]worker.EnOSAccount{"default": {
			BaseURL: url, AppKey: enossim.DefaultAppKey, AppSecret: enossim.DefaultAppSecret,
		}}
	})
	s.startWorker(t)
	return &enosStack{stack: s, enos: sim}
}

// enosBatch is n messages, message i to users u<i%7> and u<(i+1)%7>.
func enosBatch(prefix string, n int) *tasks.EnOSNoticeProduce {
	one := 1
	msgs := make([]tasks.EnOSMessage, n)
	for i := range msgs {
		msgs[i] = tasks.EnOSMessage{
			MessageID: fmt.Sprintf("%s-%03d", prefix, i), MessageType: &one, AppID: "herald-demo",
			Header:     &tasks.I18n{DefaultValue: fmt.Sprintf("To-do %d", i)},
			TargetType: &one, Targets: []string{fmt.Sprintf("u%d", i%7), fmt.Sprintf("u%d", (i+1)%7)},
		}
	}
	return &tasks.EnOSNoticeProduce{OrgID: enossim.DefaultOrgID, Messages: msgs}
}

// checkEachUserOnce asserts the simulator pushed exactly the batches'
// messages, each to each of its users once.
func checkEachUserOnce(t *testing.T, sim *enossim.Server, batches ...*tasks.EnOSNoticeProduce) {
	t.Helper()
	want := map[string]map[string]int{}
	for _, b := range batches {
		for _, m := range b.Messages {
			want[m.MessageID] = map[string]int{}
			for _, u := range m.Targets {
				want[m.MessageID][u] = 1
			}
		}
	}
	got := sim.Deliveries()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("simulator pushed %d messages, want %d, each user once:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
}

func produceCalls(sim *enossim.Server) []simkit.Call {
	var out []simkit.Call
	for _, c := range sim.Calls() {
		if c.Endpoint == enossim.Produce {
			out = append(out, c)
		}
	}
	return out
}

// 150 messages reach EnOS as two signed calls (100 and 50), and each user
// gets each message once.
func TestEndToEndEnOSBatch(t *testing.T) {
	s := newEnOSStack(t, enossim.Options{})
	batch := enosBatch("m", 150)
	r := s.enqueue(t, batch)
	if len(r.Tasks) != 2 {
		t.Fatalf("receipt has %d tasks, want 2", len(r.Tasks))
	}
	s.waitState(t, "completed", r.IDs()...)
	checkEachUserOnce(t, s.enos, batch)
	if calls := produceCalls(s.enos); len(calls) != 2 {
		t.Fatalf("%d produce calls, want 2", len(calls))
	}
}

// A call EnOS processed but whose reply was cut is retried whole; the
// messageIds make the resend harmless, so each user still has each
// message once.
func TestEndToEndEnOSCutReplyResent(t *testing.T) {
	s := newEnOSStack(t, enossim.Options{})
	s.enos.Inject(simkit.Fault{Kind: simkit.FaultDropAfter, Endpoint: enossim.Produce, Count: 1})
	batch := enosBatch("cut", 40)
	r := s.enqueue(t, batch)
	s.waitState(t, "completed", r.IDs()...)
	checkEachUserOnce(t, s.enos, batch)
	calls := produceCalls(s.enos)
	if len(calls) != 2 || calls[0].Fault != simkit.FaultDropAfter || calls[0].Status != 0 || calls[1].Status != 200 {
		t.Fatalf("produce calls %+v, want the cut one then one resend", calls)
	}
}

// Eight jobs at once with a token that expires between rounds: token/get
// is called once per expiry, every job is delivered, each user once.
func TestEndToEndEnOSTokenExpiryEightWorkers(t *testing.T) {
	clk := simkit.NewClock(time.Now())
	s := newEnOSStack(t, enossim.Options{Now: clk.Now})
	if s.cfg.Concurrency != 8 {
		t.Fatalf("concurrency %d, want 8", s.cfg.Concurrency)
	}
	var all []*tasks.EnOSNoticeProduce
	for round := range 3 {
		if round > 0 {
			clk.Advance(2*time.Hour + time.Second) // the cached token has expired at EnOS
		}
		var ids []string
		for j := range 8 {
			b := enosBatch(fmt.Sprintf("r%d-j%d", round, j), 3)
			all = append(all, b)
			ids = append(ids, s.enqueue(t, b).IDs()...)
		}
		s.waitState(t, "completed", ids...)
		gets := 0
		for _, c := range s.enos.Calls() {
			if c.Endpoint == enossim.TokenGet {
				gets++
			}
		}
		if gets != round+1 {
			t.Fatalf("after round %d: token/get called %d times, want %d (once per expiry)", round, gets, round+1)
		}
	}
	expired := 0
	for _, c := range produceCalls(s.enos) {
		if c.Error == "1203" {
			expired++
		}
	}
	if expired < 2 {
		t.Fatalf("%d calls refused with 1203, want at least one per expiry: the test did not expire the token", expired)
	}
	checkEachUserOnce(t, s.enos, all...)
}
