// Package simtest holds what the tests of every simulator, and of the
// clients that run against them, share: starting a simulator for a test,
// waiting for what happens after a reply, and the checks every simulator
// must pass. It is apart from simkit so that the simulators' binary does
// not link package testing.
package simtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// Start serves k on a free local port until tb's test ends, and returns
// its base URL. A Kit that cannot listen fails tb.
func Start[R any](tb testing.TB, k *simkit.Kit[R]) string {
	tb.Helper()
	url, err := k.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return url
}

// WaitUntil polls cond until it holds, failing tb after 5 seconds with
// what it waited for. Tests need it wherever what they check happens after
// the call they made returns, or in another goroutine: a Kit records a
// call after its reply is written, and a held or dropped call gets no
// reply to wait for.
func WaitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Fetch makes req with http.DefaultClient and returns the reply, its body
// read whole and closed, failing tb if no reply arrives or its body cannot
// be read. Simulator tests build their calls by hand, apart from Herald's
// clients, so that a client's bug cannot hide a simulator's.
func Fetch(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, raw
}

// CheckShutdownReleases sends req, which the Kit must hold with the one
// fault injected (a hang, or a long latency), waits until the call has
// taken it, then shuts the Kit down and fails tb unless the call ends
// within Shutdown's 5 seconds: a held call must not keep a simulator, or
// the test run, from stopping.
func CheckShutdownReleases[R any](tb testing.TB, k *simkit.Kit[R], req *http.Request) {
	tb.Helper()
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	WaitUntil(tb, "the call to take the fault", func() bool { return len(k.Faults()) == 0 })
	ctx, cancel := context.WithTimeout(tb.Context(), 5*time.Second)
	defer cancel()
	if err := k.Shutdown(ctx); err != nil {
		tb.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-errc:
	case <-ctx.Done():
		tb.Fatal("the held call outlived Shutdown")
	}
}

// CheckRecords fails tb unless the simulator at base, having accepted one
// notification, serves it at GET /_sim/records as one object with
// snake_case keys, keys among them (see CheckSnakeCase), and unless
// Control.Records decodes what it serves back to want unchanged. Every
// simulator's records are read by tools outside Go (the demo, curl) as
// well as by Control, so they are named one way, like Call's.
func CheckRecords[R any](tb testing.TB, base string, want []R, keys ...string) {
	tb.Helper()
	CheckSnakeCase(tb, base+simkit.ControlPrefix+"records", keys...)
	var got []R
	if err := (&simkit.Control{URL: base}).Records(tb.Context(), &got); err != nil {
		tb.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	if again, _ := json.Marshal(got); string(again) != string(wantJSON) {
		tb.Fatalf("round trip through /_sim/records:\n got %s\nwant %s", again, wantJSON)
	}
}

// CheckSnakeCase fetches url, which must serve a JSON array of exactly one
// object, and fails tb unless every key of that object is snake_case and
// each of keys is among them.
func CheckSnakeCase(tb testing.TB, url string, keys ...string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	_, raw := Fetch(tb, req)
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil || len(objs) != 1 {
		tb.Fatalf("%s: %s (%v)", url, raw, err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for k := range objs[0] {
		if !snake.MatchString(k) {
			tb.Errorf("%s: key %q is not snake_case: %s", url, k, raw)
		}
	}
	for _, k := range keys {
		if _, ok := objs[0][k]; !ok {
			tb.Errorf("%s: no %q in %s", url, k, raw)
		}
	}
}
