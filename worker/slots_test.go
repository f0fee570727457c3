package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/ratelimit"
)

func newSlots(rdb *redis.Client, f *inflight) *slotPools {
	return &slotPools{conc: ratelimit.NewConcurrency(rdb), cool: ratelimit.NewCooldown(rdb), pipes: rdb, inflight: f}
}

func slotLimit(n int, lease time.Duration) limit {
	return limit{name: "c", key: "easemob:app:c", kind: kindConcurrent,
		cfg: LimitConfig{Concurrent: n, Lease: Duration(lease)}}
}

// hold asks ss for a slot under lim as admitAtOnce does, in a pipeline of
// its own. decided reports whether it took a decision in Redis rather than
// a kept slot.
func hold(t *testing.T, ss *slotPools, rdb *redis.Client, lim limit) (lease *ratelimit.Lease, taken time.Time, decided bool) {
	t.Helper()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	read := ss.holdIn(ctx, pipe, lim)
	decided = pipe.Cmds()[0].Name() == "evalsha"
	_, _ = pipe.Exec(ctx)
	lease, taken, ok := read()
	if ok != (lease != nil) {
		t.Fatalf("ok %v with lease %v", ok, lease)
	}
	return lease, taken, decided
}

// Far from the cap, jobs one after another share one slot, asking Redis
// once; it goes back once idle.
func TestSlotPoolsKeepBetweenJobs(t *testing.T) {
	rdb := startRedis(t)
	ss := newSlots(rdb, nil)
	lim := slotLimit(100, time.Minute)
	decisions := 0
	for i := range 50 {
		lease, taken, decided := hold(t, ss, rdb, lim)
		if lease == nil {
			t.Fatalf("job %d: no slot", i)
		}
		if decided {
			decisions++
		}
		if n := counted(t, rdb, lim); n != 1 {
			t.Fatalf("job %d: %d holders, want 1", i, n)
		}
		if !ss.keep(lease, taken) {
			t.Fatalf("job %d: slot not kept far from the cap", i)
		}
	}
	// A loaded machine may pause longer than slotLinger between two jobs,
	// and the slot goes back: some decisions, far from one per job.
	if decisions > 50/4 {
		t.Errorf("50 jobs in a row took %d decisions", decisions)
	}
	awaitCounted(t, rdb, lim, 0)
}

// A slot is not kept near the cap, past slotAge, with too little lease
// left, or when admit waited for it; it is released by the caller then.
func TestSlotPoolsKeepRefused(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		lease time.Duration
		held  int // slots held by others first
		age   time.Duration
		// kept is whether the slot is kept.
		kept bool
	}{
		{"far from the cap", 8, time.Minute, 0, 0, true},
		{"a quarter free", 8, time.Minute, 5, 0, true},
		{"less than a quarter free", 8, time.Minute, 6, 0, false},
		{"too old", 8, time.Minute, 0, 2 * slotAge, false},
		{"too little lease left", 8, slotMinLeft, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := startRedis(t)
			ss := newSlots(rdb, nil)
			lim := slotLimit(tt.limit, tt.lease)
			conc := ratelimit.NewConcurrency(rdb)
			for range tt.held {
				if _, d, err := conc.Hold(context.Background(), lim.key, tt.limit, time.Minute); err != nil || !d.Allowed {
					t.Fatal(d, err)
				}
			}
			lease, taken, _ := hold(t, ss, rdb, lim)
			if lease == nil {
				t.Fatal("no slot")
			}
			if got := ss.keep(lease, taken.Add(-tt.age)); got != tt.kept {
				t.Errorf("kept %v, want %v", got, tt.kept)
			}
			if ss.keep(lease, time.Time{}) {
				t.Error("a slot admit waited for was kept")
			}
		})
	}
}

// A cool-down another replica sets stops kept slots at once: the next job
// asks for a decision, and the kept slot goes back.
func TestSlotPoolsHonourAnotherReplicasCooldown(t *testing.T) {
	rdb := startRedis(t)
	ss := newSlots(rdb, nil)
	lim := slotLimit(100, time.Minute)
	lease, taken, _ := hold(t, ss, rdb, lim)
	if lease == nil || !ss.keep(lease, taken) {
		t.Fatal("slot not kept")
	}
	other := ratelimit.NewCooldown(replica(t, rdb))
	if _, err := other.Block(context.Background(), lim.key, time.Minute); err != nil {
		t.Fatal(err)
	}
	if lease, _, decided := hold(t, ss, rdb, lim); lease != nil || decided {
		t.Fatalf("in a cool-down: slot %v, decided %v; want the kept slot refused", lease, decided)
	}
	if n := counted(t, rdb, lim); n != 0 {
		t.Errorf("%d holders after the cool-down, want the kept slot given back", n)
	}
}

// Replicas keeping slots never have more jobs running between them than
// the cap.
func TestSlotPoolsHoldTheCap(t *testing.T) {
	rdb := startRedis(t)
	const limit = 8
	lim := slotLimit(limit, time.Minute)
	var running, most atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		other := replica(t, rdb)
		ss := newSlots(other, nil)
		for range 6 {
			wg.Go(func() {
				for range 30 {
					lease, taken, _ := hold(t, ss, other, lim)
					if lease == nil {
						continue
					}
					n := running.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(time.Millisecond) // the call
					running.Add(-1)
					if !ss.keep(lease, taken) {
						_ = lease.Release(context.Background())
					}
				}
			})
		}
	}
	wg.Wait()
	if most.Load() > limit || most.Load() == 0 {
		t.Fatalf("%d jobs ran at once under a cap of %d", most.Load(), limit)
	}
	awaitCounted(t, rdb, lim, 0)
}

// A stopping worker waits for its kept slots to go back.
func TestSlotPoolsDrainGivesBack(t *testing.T) {
	rdb := startRedis(t)
	f := newInflight(nil, records{}, zerolog.Nop(), nil)
	ss := newSlots(rdb, f)
	lim := slotLimit(100, time.Minute)
	lease, taken, _ := hold(t, ss, rdb, lim)
	if lease == nil || !ss.keep(lease, taken) {
		t.Fatal("slot not kept")
	}
	if !f.drain(time.Minute) {
		t.Fatal("drain unclean")
	}
	if n := counted(t, rdb, lim); n != 0 {
		t.Errorf("after drain %d holders, want 0", n)
	}
}
