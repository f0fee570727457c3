package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

// childEnv names the variant a child process of the benchmark runs. RSS
// is measured on a process of its own, from /proc, so the benchmark's
// Redis client, simulator and bookkeeping are not in the figure.
const childEnv = "HERALD_BENCH_CHILD"

// runChild is the child's side: run the variant named in the environment
// against the Redis and simulator named there, say "ready", and stop when
// stdin closes.
func runChild() error {
	var v variant
	switch os.Getenv(childEnv) {
	case "bare":
		v = bare
	case "herald":
		v = heraldLimits
	default:
		return fmt.Errorf("%s=%q: want bare or herald", childEnv, os.Getenv(childEnv))
	}
	conc, err := strconv.Atoi(os.Getenv("HERALD_BENCH_CONCURRENCY"))
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("HERALD_BENCH_REDIS"), PoolSize: conc + 10})
	defer rdb.Close()
	stop, err := v.start(rdb, os.Getenv("HERALD_BENCH_SIM"), conc)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	return nil
}

// rssResult is a child's resident set, idle and with jobs in flight.
type rssResult struct {
	idle, busy int64 // bytes
	inFlight   int64 // pushes the simulator held at once when busy was read
}

// measureRSS starts the variant as a child process with concurrency n,
// reads its RSS after a second idle, then holds n jobs in flight at the
// simulator (each push held for hold) and reads it again.
func measureRSS(ctx context.Context, e *env, v variant, child string, n int, hold time.Duration) (rssResult, error) {
	if err := e.reset(ctx); err != nil {
		return rssResult{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return rssResult{}, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+child, "HERALD_BENCH_REDIS="+e.redis.Addr,
		"HERALD_BENCH_SIM="+e.url, "HERALD_BENCH_CONCURRENCY="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return rssResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return rssResult{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return rssResult{}, err
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return rssResult{}, fmt.Errorf("%s child did not start: %q %v", child, line, err)
	}
	var r rssResult
	// Idle is a state, not an event to await: give the child a second.
	time.Sleep(time.Second)
	if r.idle, err = vmRSS(cmd.Process.Pid); err != nil {
		return r, err
	}
	e.sim.Inject(easemobsim.Fault{Kind: easemobsim.FaultLatency, Endpoint: easemobsim.PushAsync, Delay: hold})
	defer e.sim.ClearFaults()
	rdb, _ := e.client(16)
	defer rdb.Close()
	if err := enqueueAll(ctx, v.enqueuer(rdb), n, 8, func(i int) (string, time.Time) { return "r" + strconv.Itoa(i), time.Time{} }); err != nil {
		return r, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.rec.inFlight.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r.inFlight = e.rec.inFlight.Load()
	if r.busy, err = vmRSS(cmd.Process.Pid); err != nil {
		return r, err
	}
	if r.inFlight < int64(n) {
		return r, fmt.Errorf("%s: only %d of %d pushes in flight at once", child, r.inFlight, n)
	}
	return r, e.rec.wait(ctx, n, 30*time.Second)
}

// vmRSS reads a process's resident set size from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("RSS is read from /proc (Linux only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
