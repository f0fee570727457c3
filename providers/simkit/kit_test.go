package simkit_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

func startToy(t *testing.T, now func() time.Time) (*toy, string, string) {
	t.Helper()
	s := newToy(now)
	base := simtest.Start(t, s.Kit)
	tok, _ := s.IssueToken("app", 0)
	return s, base, tok
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault simkit.Fault
		// timeout is the client's.
		timeout    time.Duration
		wantStatus int // 0: no reply
		wantBody   string
		wantHeader string // Retry-After
		wantCode   string // Call.Error
		wantRecord bool
	}{
		{name: "status, documented body", fault: simkit.Fault{Kind: simkit.FaultStatus, Status: 401},
			wantStatus: 401, wantBody: `{"code":"fault"}`, wantCode: "fault"},
		{name: "status, raw body and header", fault: simkit.Fault{
			Kind: simkit.FaultStatus, Status: 429, Body: `{"code":"slow_down"}`, Header: http.Header{"Retry-After": {"3"}}},
			wantStatus: 429, wantBody: `{"code":"slow_down"}`, wantHeader: "3"},
		{name: "status defaults to 500", fault: simkit.Fault{Kind: simkit.FaultStatus},
			wantStatus: 500, wantBody: `{"code":"fault"}`, wantCode: "fault"},
		{name: "latency then handled", fault: simkit.Fault{Kind: simkit.FaultLatency, Delay: 30 * time.Millisecond},
			wantStatus: 200, wantBody: `{"code":"ok"}`, wantRecord: true},
		{name: "latency longer than the client waits", fault: simkit.Fault{Kind: simkit.FaultLatency, Delay: time.Minute},
			timeout: 100 * time.Millisecond},
		{name: "hang", fault: simkit.Fault{Kind: simkit.FaultHang}, timeout: 100 * time.Millisecond},
		{name: "drop", fault: simkit.Fault{Kind: simkit.FaultDrop}},
		{name: "drop after processing", fault: simkit.Fault{Kind: simkit.FaultDropAfter}, wantRecord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base, tok := startToy(t, nil)
			tt.fault.Endpoint, tt.fault.Count = "send", 1
			s.Inject(tt.fault)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/send", strings.NewReader(`{"to":"ann","text":"hi"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			began := time.Now()
			resp, err := http.DefaultClient.Do(req)
			switch {
			case tt.wantStatus == 0 && err == nil:
				resp.Body.Close()
				t.Fatalf("got HTTP %d, want no reply", resp.StatusCode)
			case tt.wantStatus != 0 && err != nil:
				t.Fatalf("no reply: %v", err)
			case err == nil:
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus || strings.TrimSpace(string(b)) != tt.wantBody || resp.Header.Get("Retry-After") != tt.wantHeader {
					t.Fatalf("got HTTP %d %s Retry-After %q", resp.StatusCode, b, resp.Header.Get("Retry-After"))
				}
			}
			if tt.fault.Kind == simkit.FaultLatency && tt.wantStatus != 0 && time.Since(began) < tt.fault.Delay {
				t.Fatalf("answered after %v, before the fault's delay", time.Since(began))
			}
			simtest.WaitUntil(t, "the call to be recorded", func() bool { return len(s.Calls()) == 1 })
			c := s.Calls()[0]
			if c.Endpoint != "send" || c.Status != tt.wantStatus || c.Fault != tt.fault.Kind || c.Error != tt.wantCode || c.At.IsZero() {
				t.Fatalf("call recorded as %+v", c)
			}
			if got := len(s.Records()); got != map[bool]int{true: 1}[tt.wantRecord] {
				t.Fatalf("%d records, want handled=%v", got, tt.wantRecord)
			}
			// The fault was used up: the next call is served.
			if st, _ := post(base+"/send", tok, `{"to":"bob","text":"hi"}`); st != 200 {
				t.Fatalf("after the fault: HTTP %d", st)
			}
		})
	}
}

func TestFaultsMatchEndpointAndCount(t *testing.T) {
	var fs simkit.Faults
	fs.Inject(simkit.Fault{Kind: simkit.FaultDrop, Endpoint: "send", Count: 2})
	fs.Inject(simkit.Fault{Kind: simkit.FaultHang}) // any endpoint, forever
	steps := []struct {
		ep   simkit.Endpoint
		want simkit.FaultKind
	}{
		{"token", simkit.FaultHang},
		{"send", simkit.FaultDrop},
		{"send", simkit.FaultDrop},
		{"send", simkit.FaultHang},
		{"", 0}, // a request matching no endpoint is never faulted
	}
	for i, st := range steps {
		f, ok := fs.Take(st.ep)
		if ok != (st.want != 0) || f.Kind != st.want {
			t.Fatalf("step %d (%q): got %v %v, want %v", i, st.ep, f.Kind, ok, st.want)
		}
	}
	if got := fs.List(); len(got) != 1 || got[0].Kind != simkit.FaultHang {
		t.Fatalf("faults left %+v, want only the unbounded hang", got)
	}
	fs.Clear()
	if _, ok := fs.Take("send"); ok {
		t.Fatal("a fault survived Clear")
	}
}

func TestWindowsExactFromArrivalTimes(t *testing.T) {
	clk := simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	w := simkit.Windows{Now: clk.Now}
	w.Set("send", simkit.Limit{N: 2, Per: time.Second})
	w.Set("free", simkit.Limit{N: -1})
	steps := []struct {
		at   time.Duration // since the start
		ep   simkit.Endpoint
		want bool
	}{
		{0, "send", true},
		{400 * time.Millisecond, "send", true},
		{999 * time.Millisecond, "send", false}, // 2 in (−0.001 s, 0.999 s]
		{time.Second, "send", true},             // the first left the window
		{1399 * time.Millisecond, "send", false},
		{1400 * time.Millisecond, "send", true},
		{1400 * time.Millisecond, "free", true},
		{1400 * time.Millisecond, "none", true}, // no limit set
	}
	start := clk.Now()
	for i, st := range steps {
		clk.Set(start.Add(st.at))
		if got := w.Allow(st.ep); got != st.want {
			t.Fatalf("step %d: %s at +%v allowed=%v, want %v", i, st.ep, st.at, got, st.want)
		}
	}
	// Lowering a limit while serving applies at once.
	w.Set("send", simkit.Limit{N: 0})
	clk.Advance(time.Hour)
	if w.Allow("send") {
		t.Fatal("allowed under a limit of 0")
	}
	w.Reset()
	w.Set("send", simkit.Limit{N: 1})
	if !w.Allow("send") || w.Allow("send") {
		t.Fatal("per defaults to one second: want one call allowed, then refused")
	}
}

func TestTokens(t *testing.T) {
	clk := simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ts := simkit.Tokens{Now: clk.Now, Mint: func() string { return "t-" + simkit.RandomHex(8) }}
	short, exp := ts.Issue("app", time.Minute)
	forever, never := ts.Issue("user:ann", 0)
	other, _ := ts.Issue("app", time.Hour)
	if !strings.HasPrefix(short, "t-") || !exp.Equal(clk.Now().Add(time.Minute)) || !never.IsZero() {
		t.Fatalf("issued %q expiring %v, and one expiring %v", short, exp, never)
	}
	check := func(tok string, wantSubject string, want simkit.TokenState) {
		t.Helper()
		if sub, st := ts.Check(tok); st != want || sub != wantSubject {
			t.Fatalf("Check(%q) = %q %v, want %q %v", tok, sub, st, wantSubject, want)
		}
	}
	check(short, "app", simkit.TokenValid)
	check(forever, "user:ann", simkit.TokenValid)
	check("never-issued", "", simkit.TokenUnknown)
	clk.Advance(time.Minute)
	check(short, "app", simkit.TokenExpired)
	check(forever, "user:ann", simkit.TokenValid)
	if !ts.Revoke(other) || ts.Revoke(other) {
		t.Fatal("Revoke should report a known token once")
	}
	check(other, "", simkit.TokenUnknown)
	check(forever, "user:ann", simkit.TokenValid)
	ts.RevokeAll()
	check(forever, "", simkit.TokenUnknown)
	if ts.Issued() != 3 {
		t.Fatalf("Issued = %d, want 3", ts.Issued())
	}
	ts.ResetIssued()
	if ts.Issued() != 0 {
		t.Fatal("ResetIssued left a count")
	}
}

func TestLogKeepsNewest(t *testing.T) {
	l := simkit.Log[int]{Max: 3}
	for i := range 7 {
		l.Add(i)
	}
	if got := l.All(); len(got) != 3 || got[0] != 4 || got[2] != 6 {
		t.Fatalf("kept %v, want the newest 3 once past twice Max", got)
	}
	l.Reset()
	if l.Len() != 0 {
		t.Fatal("Reset left entries")
	}
}

func TestControlEndpoints(t *testing.T) {
	resets := 0
	s := newToy(nil)
	s.Kit = simkit.New[notice](simkit.Config{
		Route:   func(r *http.Request) simkit.Endpoint { return simkit.Endpoint(strings.TrimPrefix(r.URL.Path, "/")) },
		Handler: http.HandlerFunc(s.serve),
		Limits:  map[simkit.Endpoint]simkit.Limit{"send": {N: 5, Per: time.Second}},
		OnReset: func() { resets++ },
	})
	base := simtest.Start(t, s.Kit)
	ctx := t.Context()
	ctl := &simkit.Control{URL: base}
	tok, _ := s.IssueToken("app", 0)

	in := simkit.Fault{Kind: simkit.FaultLatency, Endpoint: "send", Count: 2, Delay: 5 * time.Millisecond}
	if err := ctl.Inject(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Inject(ctx, simkit.Fault{Kind: simkit.FaultStatus, Status: 503, Header: http.Header{"Retry-After": {"1"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := ctl.Faults(ctx)
	if err != nil || len(got) != 2 || got[0].Kind != in.Kind || got[0].Delay != in.Delay || got[0].Count != 2 || got[1].Header.Get("Retry-After") != "1" {
		t.Fatalf("Faults = %+v, %v", got, err)
	}
	if err := ctl.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := ctl.Faults(ctx); len(got) != 0 {
		t.Fatalf("faults after clear: %+v", got)
	}

	if err := ctl.SetLimit(ctx, "send", simkit.Limit{N: 1, Per: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if lim, err := ctl.Limits(ctx); err != nil || lim["send"] != (simkit.Limit{N: 1, Per: time.Hour}) {
		t.Fatalf("Limits = %v, %v", lim, err)
	}
	post(base+"/send", tok, `{"to":"ann","text":"1"}`)
	if st, _ := post(base+"/send", tok, `{"to":"ann","text":"2"}`); st != 429 {
		t.Fatalf("second call under a 1/h limit set over HTTP: HTTP %d", st)
	}
	var recs []notice
	if err := ctl.Records(ctx, &recs); err != nil || len(recs) != 1 || recs[0].Text != "1" {
		t.Fatalf("Records = %+v, %v", recs, err)
	}
	calls, err := ctl.Calls(ctx)
	if err != nil || len(calls) != 2 || calls[1].Status != 429 || calls[1].Error != "too_many" {
		t.Fatalf("Calls = %+v, %v", calls, err)
	}

	other, _ := s.IssueToken("app", 0)
	if known, err := ctl.RevokeToken(ctx, other); err != nil || !known {
		t.Fatalf("RevokeToken = %v, %v", known, err)
	}
	if _, st := s.CheckToken(tok); st != simkit.TokenValid {
		t.Fatal("revoking one token revoked another")
	}
	if err := ctl.RevokeTokens(ctx); err != nil {
		t.Fatal(err)
	}
	if _, st := s.CheckToken(tok); st != simkit.TokenUnknown {
		t.Fatal("RevokeTokens left a token valid")
	}
	if n, err := ctl.TokensIssued(ctx); err != nil || n != 2 {
		t.Fatalf("TokensIssued = %d, %v; want 2", n, err)
	}

	if err := ctl.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if calls, _ := ctl.Calls(ctx); len(calls) != 0 || len(s.Records()) != 0 || resets != 1 || s.TokensIssued() != 0 {
		t.Fatalf("after Reset: %d calls, %d records, OnReset ran %d times", len(calls), len(s.Records()), resets)
	}

	// Bad input is refused with the field and the rule.
	bad := []struct{ method, path, body, want string }{
		{"POST", "faults", `{"kind":"explode"}`, `fault kind \"explode\" is not one of`},
		{"POST", "faults", `{"kind":"latency","delay":"soon"}`, "delay must be a non-negative duration"},
		{"POST", "faults", `{"kind":"status","status":1000}`, "status must be an HTTP status"},
		{"POST", "faults", `{"kind":"drop","count":-1}`, "count must be >= 0"},
		{"POST", "faults", `{"kind":"drop","colour":"red"}`, `unknown field \"colour\"`},
		{"PUT", "limits/send", `{"n":1,"per":"-1s"}`, "per must be a positive duration"},
	}
	for _, b := range bad {
		req, _ := http.NewRequest(b.method, base+simkit.ControlPrefix+b.path, strings.NewReader(b.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(raw), b.want) {
			t.Errorf("%s %s %s: HTTP %d %s, want 400 saying %q", b.method, b.path, b.body, resp.StatusCode, raw, b.want)
		}
	}
	if err := (&simkit.Control{URL: base}).Inject(ctx, simkit.Fault{}); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("Control.Inject of a fault without a kind: %v", err)
	}
}

func TestShutdownReleasesHeldCalls(t *testing.T) {
	for _, kind := range []simkit.FaultKind{simkit.FaultHang, simkit.FaultLatency} {
		t.Run(kind.String(), func(t *testing.T) {
			s, base, tok := startToy(t, nil)
			s.Inject(simkit.Fault{Kind: kind, Delay: time.Hour, Count: 1})
			req, _ := http.NewRequest(http.MethodPost, base+"/send", strings.NewReader(`{"to":"ann"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			simtest.CheckShutdownReleases(t, s.Kit, req)
			if len(s.Records()) != 0 {
				t.Fatal("a call released by shutdown was handled")
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := s.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				t.Fatalf("Serve after Shutdown: %v", err)
			}
		})
	}
}
