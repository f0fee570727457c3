package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the benchmark's child
// process, which RSS is measured on.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The quick mode runs end to end, so the benchmark cannot rot: every
// variant delivers every job, and every row of the table is printed with
// figures that make sense. No figure is held to a speed.
func TestQuickRun(t *testing.T) {
	o := defaults(true)
	o.jobs, o.enqueue, o.schedJobs, o.rssJobs = 60, 60, 30, 30
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"dispatch jobs/s", "ratio to bare", "Redis round trips / job", "Redis server CPU", "enqueue/s", "herald (DeliverAt)", "RSS of a worker process", "masters' shares"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table has no %q row", want)
		}
	}
}

// Lateness is measured against the due time each push carries, early and
// late alike.
func TestMeasureLateness(t *testing.T) {
	due := time.UnixMilli(1_700_000_000_000)
	at := func(d time.Duration) arrival {
		return arrival{target: fmt.Sprintf("d%d", due.UnixMilli()+int64(d/time.Millisecond)), at: due.Add(d).Add(d)}
	}
	got := []arrival{
		{target: "d1700000000000", at: due.Add(-30 * time.Millisecond)}, // 30 ms early
		{target: "d1700000000000", at: due},                             // a duplicate
		at(10 * time.Millisecond),                                       // due +10, arrives +20: 10 late
		at(20 * time.Millisecond),                                       // 20 late
		{target: "x", at: due},
	}
	l := measureLateness(got)
	if l.n != 3 || l.early != 1 || l.maxEarly != 30*time.Millisecond || l.dupes != 1 || l.unknownDues != 1 {
		t.Errorf("got %+v", l)
	}
	if l.maxLate != 20*time.Millisecond || l.p50 != 10*time.Millisecond {
		t.Errorf("p50 %v max %v, want 10ms 20ms", l.p50, l.maxLate)
	}
}

// -scripts tells the scripts of a run apart: with limits on, Herald's
// worker runs more kinds of script per job than asynq's two, each seen on
// (about) every job.
func TestScriptCosts(t *testing.T) {
	e, err := startEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const jobs = 50
	count := func(v variant) int {
		t.Helper()
		res, err := dispatch(ctx, e, v, jobs, 5, true)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		printScripts(&out, v.name, jobs, res.scripts)
		t.Log("\n" + out.String())
		n := 0
		for name, s := range res.scripts {
			if strings.HasPrefix(name, "evalsha ") && s.calls >= jobs/2 {
				n++
			}
		}
		return n
	}
	if n := count(bare); n != 2 {
		t.Errorf("bare asynq ran %d kinds of script on most jobs, want 2 (dequeue and done)", n)
	}
	if n := count(heraldLimits); n <= 2 {
		t.Errorf("herald with limits ran %d kinds of script on most jobs, want more than asynq's 2", n)
	}
}
