package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/ratelimit"
)

// TestPipelined holds the In forms to their direct twins: a rate decision
// and a slot taken in one round trip, then the call settled and the slot
// given back in another, also after the server lost its script cache
// (a NOSCRIPT reply means the script did not run, so it runs again).
func TestPipelined(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(map[bool]string{false: "cached", true: "script cache flushed"}[flush], func(t *testing.T) {
			ctx := context.Background()
			rdb := srv.Client(t)
			calls, conc := ratelimit.NewCalls(rdb), ratelimit.NewConcurrency(rdb)
			lim := ratelimit.CallLimit{N: 1, Period: time.Minute}
			// Load the scripts once, so the flush has something to lose.
			if c, _, err := calls.Reserve(ctx, "warm", lim, time.Second); err != nil || c == nil {
				t.Fatalf("warm up: %v", err)
			}
			if flush {
				if err := rdb.ScriptFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			pipe := rdb.Pipeline()
			reserve := calls.ReserveIn(ctx, pipe, "k", lim, time.Second)
			hold := conc.HoldIn(ctx, pipe, "k", 1, time.Minute)
			_, _ = pipe.Exec(ctx) // errors are each command's
			call, d, err := reserve()
			if err != nil || call == nil || !d.Allowed {
				t.Fatalf("ReserveIn = %v, %+v, %v; want a call", call, d, err)
			}
			lease, d, err := hold()
			if err != nil || lease == nil || !d.Allowed {
				t.Fatalf("HoldIn = %v, %+v, %v; want a lease", lease, d, err)
			}
			// Both counted: the limits are full.
			if _, d, _ := calls.Reserve(ctx, "k", lim, time.Second); d.Allowed {
				t.Fatal("a second call within the minute was allowed")
			}
			if _, d, _ := conc.Hold(ctx, "k", 1, time.Minute); d.Allowed {
				t.Fatal("a second slot of one was given")
			}
			if flush {
				_ = rdb.ScriptFlush(ctx).Err()
			}
			pipe = rdb.Pipeline()
			cancel, release := call.CancelIn(ctx, pipe), lease.ReleaseIn(ctx, pipe)
			_, _ = pipe.Exec(ctx)
			if err := cancel(); err != nil {
				t.Fatalf("CancelIn: %v", err)
			}
			if err := release(); err != nil {
				t.Fatalf("ReleaseIn: %v", err)
			}
			// Both given back.
			if c, d, err := calls.Reserve(ctx, "k", lim, time.Second); err != nil || !d.Allowed {
				t.Fatalf("after CancelIn: %+v, %v; want allowed", d, err)
			} else {
				pipe = rdb.Pipeline()
				done := c.DoneIn(ctx, pipe)
				_, _ = pipe.Exec(ctx)
				if err := done(); err != nil {
					t.Fatalf("DoneIn: %v", err)
				}
			}
			if _, d, err := conc.Hold(ctx, "k", 1, time.Minute); err != nil || !d.Allowed {
				t.Fatalf("after ReleaseIn: %+v, %v; want allowed", d, err)
			}
		})
	}
}
