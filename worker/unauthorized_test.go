package worker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// A call answered 401 is made again with a new token, and that second call
// passes the limiter like any other: with push.sync at 1/s and the
// provider revoking its tokens mid-run, no two push.sync calls arrive
// within one second, and every job is delivered once. (The retry used to
// happen inside the client, on the first call's permit, a few
// milliseconds later.)
func TestUnauthorizedRetryPassesTheLimiter(t *testing.T) {
	// push.sync: 1/s, Herald's default and the simulator's. The headroom is
	// raised from 5 % so that the jitter between a permit and the call's
	// arrival (a token fetch sits in between after every revocation; issue
	// 9 item 2, not what this test is about) cannot close a gap.
	s := newStack(t, easemobsim.Options{}, func(c *worker.Config) { c.Limiter.Headroom = 0.25 })
	const jobs = 4
	// Revoke every token once the 1st and the 3rd notification are in, so
	// the next call of each pair is answered 401.
	revokeAfter := []int{1, 3}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	revoked := make(chan int, len(revokeAfter))
	go func() {
		for _, n := range revokeAfter {
			for len(s.sim.Received()) < n {
				select {
				case <-ctx.Done():
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
			s.sim.RevokeTokens()
			revoked <- n
		}
	}()

	var ids []string
	for i := range jobs {
		ids = append(ids, s.enqueue(t, &tasks.EasemobPushSync{Target: "user" + string(rune('a'+i)), PushMessage: message("sync")}).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	if len(revoked) != len(revokeAfter) {
		t.Fatalf("tokens revoked %d times, want %d", len(revoked), len(revokeAfter))
	}

	var at []time.Time
	unauthorized := 0
	for _, c := range s.sim.Calls() {
		if c.Endpoint != easemobsim.PushSync {
			continue
		}
		at = append(at, c.At)
		if c.Status == 401 {
			unauthorized++
		}
	}
	if unauthorized != len(revokeAfter) {
		t.Fatalf("%d push.sync calls answered 401, want %d (one after each revocation)", unauthorized, len(revokeAfter))
	}
	if len(at) != jobs+unauthorized {
		t.Fatalf("%d push.sync calls, want %d: one per job plus one per 401", len(at), jobs+unauthorized)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < time.Second {
			t.Errorf("push.sync calls %d and %d arrived %v apart: two calls inside one second", i-1, i, gap)
		}
	}

	var targets []string
	for _, r := range s.sim.Received() {
		if r.Endpoint == easemobsim.PushSync {
			targets = append(targets, r.Targets...)
		}
	}
	slices.Sort(targets)
	if len(targets) != jobs || len(slices.Compact(slices.Clone(targets))) != jobs {
		t.Fatalf("push.sync delivered to %v, want each of %d users once", targets, jobs)
	}
	if n := s.sim.TokensIssued(); n != 1+len(revokeAfter) {
		t.Errorf("%d tokens fetched, want %d (one, then one per revocation)", n, 1+len(revokeAfter))
	}
}
