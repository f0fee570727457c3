package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

// On shutdown a running job may finish within the shutdown timeout.
func TestShutdownFinishesRunningJob(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, nil)
	s.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Delay: 700 * time.Millisecond, Endpoint: easemobsim.PushAsync, Count: 1})
	_, stop := runWorker(t, s.cfg, s.rdb, s.logs)
	id := s.enqueue(t, asyncJob("slow")).IDs()[0]
	s.waitState(t, "active", id)
	stop()
	if st, _ := s.producer.Status(context.Background(), id); st.State != "completed" {
		t.Fatalf("after a graceful stop the running job is %s, want completed", st.State)
	}
	if n := len(s.sim.Received()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}
}
