package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/ratelimit"
)

// A block takes what the limit has room for, up to what was asked, and
// leaves the limit exactly as that many single calls would.
func TestCallsReserveBlock(t *testing.T) {
	tests := []struct {
		name  string
		lim   ratelimit.CallLimit
		taken int // calls reserved one by one before the block
		want  int
		// granted is the block's size, 0 for a denial.
		granted int
	}{
		{"room for all", ratelimit.CallLimit{N: 100, Period: time.Minute}, 0, 32, 32},
		{"room for some", ratelimit.CallLimit{N: 10, Period: time.Minute}, 4, 32, 6},
		{"the burst caps it", ratelimit.CallLimit{N: 100, Period: time.Minute, Burst: 5}, 2, 32, 3},
		{"full", ratelimit.CallLimit{N: 3, Period: time.Minute}, 3, 8, 0},
		{"a block of one", ratelimit.CallLimit{N: 3, Period: time.Minute}, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := srv.Client(t)
			c := ratelimit.NewCalls(rdb)
			for range tt.taken {
				reserve(t, c, "k", tt.lim)
			}
			pipe := rdb.Pipeline()
			read := c.ReserveManyIn(ctx, pipe, "k", tt.lim, 10*time.Second, tt.want)
			_, _ = pipe.Exec(ctx) // errors are each command's
			calls, d, err := read()
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != tt.granted || d.Allowed != (tt.granted > 0) {
				t.Fatalf("granted %d (%+v), want %d", len(calls), d, tt.granted)
			}
			if d.Allowed && d.Remaining != tt.lim.N-tt.taken-tt.granted {
				t.Errorf("remaining %d, want %d", d.Remaining, tt.lim.N-tt.taken-tt.granted)
			}
			stored, err := rdb.ZCard(ctx, "herald:rl:{k}:calls").Result()
			if err != nil || stored != int64(tt.taken+tt.granted) {
				t.Fatalf("stored %d calls (%v), want %d", stored, err, tt.taken+tt.granted)
			}
			if len(calls) == 0 {
				return
			}

			// Settled and given back in bulk: every call is found, and
			// the ones given back make room again.
			half := len(calls) / 2
			pipe = rdb.Pipeline()
			settle := c.SettleIn(ctx, pipe, calls[:half], calls[half:])
			_, _ = pipe.Exec(ctx) // errors are each command's
			if err := settle(); err != nil {
				t.Fatal(err)
			}
			stored, err = rdb.ZCard(ctx, "herald:rl:{k}:calls").Result()
			if err != nil || stored != int64(tt.taken+half) {
				t.Fatalf("after settling %d and giving back %d: %d stored (%v), want %d",
					half, len(calls)-half, stored, err, tt.taken+half)
			}
			// Settled calls count from their answer, the rest from the
			// end of their time in flight.
			answered := strconv.FormatInt(redisNow(t, rdb).Add(time.Second).UnixMicro(), 10)
			settled, err := rdb.ZCount(ctx, "herald:rl:{k}:calls", "-inf", answered).Result()
			if err != nil || settled != int64(half) {
				t.Errorf("%d calls count from their answer (%v), want %d", settled, err, half)
			}
		})
	}
}
