package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// A healthy account's circuit is read once per circuitFresh, not per job;
// a failure of this worker's own, or a circuit another replica opened,
// still stops calls.
func TestCircuitReadOncePerFreshness(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	c := newCircuits(rdb, CircuitConfig{Failures: 3, Probe: Duration(time.Minute)}, nil)
	info := &taskInfo{provider: tasks.Easemob, account: "default", id: "t1", log: zerolog.Nop()}
	// allow asks the circuit as a job does, and says how many commands
	// it queued.
	allow := func() (int, passage, error) {
		pipe := rdb.Pipeline()
		read := c.allow(ctx, pipe, info)
		n := pipe.Len()
		if n > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		p, err := read()
		return n, p, err
	}

	if n, p, err := allow(); n != 1 || !p.clean || err != nil {
		t.Fatalf("first job: %d commands, %+v, %v; want one read, clean", n, p, err)
	}
	if n, p, err := allow(); n != 0 || !p.clean || err != nil {
		t.Fatalf("next job: %d commands, %+v, %v; want none, clean", n, p, err)
	}

	// Another replica opens the circuit: this worker's calls stop within
	// circuitFresh of its last read.
	if err := rdb.HSet(ctx, circuitKey(info.provider, info.account), "state", "open", "probe", time.Now().Add(time.Hour).UnixMicro()).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		_, _, err := allow()
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Code == codeCircuitOpen {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("another replica's open circuit not seen after %v (err %v)", time.Since(start), err)
		}
		time.Sleep(time.Millisecond)
	}
	if took := time.Since(start); took > circuitFresh+time.Second {
		t.Errorf("an open circuit took %v to be seen, want about circuitFresh (%v)", took, circuitFresh)
	}

	// A failure of this worker's own voids a clean reading at once.
	if err := rdb.Del(ctx, circuitKey(info.provider, info.account)).Err(); err != nil {
		t.Fatal(err)
	}
	if n, p, _ := allow(); n != 1 || !p.clean {
		t.Fatalf("closed again: %d commands, %+v; want a read (open was read last) that finds it clean", n, p)
	}
	pipe := rdb.Pipeline()
	record := c.recordIn(ctx, pipe, info, passage{clean: true}, &providers.Error{Class: providers.Transient, Status: 503})
	_, _ = pipe.Exec(ctx)
	_ = record(nil)
	if n, p, _ := allow(); n != 1 || p.clean {
		t.Fatalf("after a failure: %d commands, %+v; want a read that finds a failure counted", n, p)
	}
}
