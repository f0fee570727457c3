package worker_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// effectiveRate reads herald_limit_effective_rate for limit from the
// worker's /metrics; 0 if it is not reported yet.
func effectiveRate(t *testing.T, w *worker.Worker, limit string) float64 {
	t.Helper()
	_, m := get(t, w.AdminHandler(), "/metrics")
	for line := range strings.Lines(m) {
		if strings.HasPrefix(line, "herald_limit_effective_rate{") && strings.Contains(line, `limit="`+limit+`"`) {
			f, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]), 64)
			return f
		}
	}
	return 0
}

// throttledAt lists when sim answered ep with 429.
func throttledAt(sim *easemobsim.Server, ep easemobsim.Endpoint) []time.Time {
	var out []time.Time
	for _, c := range sim.Calls() {
		if c.Endpoint == ep && c.Status == http.StatusTooManyRequests {
			out = append(out, c.At)
		}
	}
	return out
}

// A provider that allows less than Herald's config: push.single is
// configured at 10/s, the app allows 4. After its first 429s, Herald's
// effective rate for every replica drops below 4/s and the 429s stop; when
// the app's limit goes back to 10/s, the effective rate climbs back toward
// the configured 10/s.
func TestLimitAdaptsToProviderLimit(t *testing.T) {
	const (
		quiet = 200 * time.Millisecond
		probe = 2 * time.Second
	)
	s := newIdleStack(t, easemobsim.Options{QPS: map[easemobsim.Endpoint]int{easemobsim.PushSingle: 4}}, func(c *worker.Config) {
		c.Concurrency = 8
		c.Limiter.Adaptive.Quiet = worker.Duration(quiet)
		c.Limiter.Adaptive.Probe = worker.Duration(probe)
	})
	sim := s.sim
	w := s.startWorker(t)

	// A backlog that outlasts both phases.
	began := time.Now()
	for i := range 300 {
		s.enqueue(t, &tasks.EasemobPushSingle{Targets: []string{fmt.Sprintf("u%03d", i)}, PushMessage: message("single")})
	}

	// The effective rate over time, for the log.
	var series []string
	sample := func() {
		if n := int(time.Since(began) / (250 * time.Millisecond)); n >= len(series) {
			series = append(series, fmt.Sprintf("%.1fs:%.1f", time.Since(began).Seconds(), effectiveRate(t, w, "push_single")))
		}
	}
	defer func() { t.Logf("effective push_single rate (time: calls/s): %s", strings.Join(series, " ")) }()

	// Phase 1: converge. Done once no 429 came for 1.5 s.
	var first, last time.Time
	for {
		if time.Since(began) > 20*time.Second {
			t.Fatalf("429s did not stop within 20s: %d so far", len(throttledAt(sim, easemobsim.PushSingle)))
		}
		if at := throttledAt(sim, easemobsim.PushSingle); len(at) > 0 {
			first, last = at[0], at[len(at)-1]
			if time.Since(last) > 1500*time.Millisecond {
				break
			}
		}
		sample()
		time.Sleep(50 * time.Millisecond)
	}
	converged := effectiveRate(t, w, "push_single")
	refused := len(throttledAt(sim, easemobsim.PushSingle))
	t.Logf("provider at 4/s: first 429 %v after start, last %v after the first; %d 429s; effective rate then %.2f/s",
		first.Sub(began).Round(time.Millisecond), last.Sub(first).Round(time.Millisecond), refused, converged)
	if converged <= 0 || converged > 4 {
		t.Errorf("effective rate %.2f/s after the 429s stopped, want at most the provider's 4/s", converged)
	}
	if last.Sub(first) > 10*time.Second {
		t.Errorf("took %v from the first 429 to the last, want under 10s", last.Sub(first))
	}
	var accepted int
	for _, at := range receivedAt(sim, easemobsim.PushSingle) {
		if at.After(last) {
			accepted++
		}
	}
	if accepted == 0 {
		t.Errorf("no calls accepted after the last 429: the rate fell to nothing")
	}

	// Phase 2: the app's limit goes back to 10/s.
	sim.SetLimit(easemobsim.PushSingle, simkit.Limit{N: 10, Per: time.Second})
	before := len(throttledAt(sim, easemobsim.PushSingle))
	raised := time.Now()
	for effectiveRate(t, w, "push_single") < 8 {
		if time.Since(raised) > 20*time.Second {
			t.Fatalf("effective rate %.2f/s 20s after the provider's limit was raised, want back toward 10/s", effectiveRate(t, w, "push_single"))
		}
		sample()
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("provider back at 10/s: effective rate %.2f/s after %v; %d 429s meanwhile",
		effectiveRate(t, w, "push_single"), time.Since(raised).Round(time.Millisecond), len(throttledAt(sim, easemobsim.PushSingle))-before)
}
