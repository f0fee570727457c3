package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// Calls made maxConns at a time, round after round, reuse their
// connections: the server sees maxConns connections, not a new one per
// call as with Go's default of 2 idle per host.
func TestNewHTTPClientKeepsConnectionsForItsConcurrency(t *testing.T) {
	const conns, rounds = 8, 5
	tests := []struct {
		name     string
		client   *http.Client
		wantMost int64
		wantMore bool // more than conns connections expected
	}{
		{"sized to the concurrency", providers.NewHTTPClient(5*time.Second, conns), conns, false},
		{"Go's default transport", &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opened atomic.Int64
			release := make(chan struct{})
			var arrived sync.WaitGroup
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Done()
				<-release // hold until all of the round are in, so they overlap
				_, _ = w.Write([]byte(`{}`))
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					opened.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			for range rounds {
				arrived.Add(conns)
				var done sync.WaitGroup
				for range conns {
					done.Add(1)
					go func() {
						defer done.Done()
						if _, err := providers.Do(t.Context(), tt.client, providers.Request{Provider: "p", Op: "op", Method: "GET", URL: srv.URL}); err != nil {
							t.Error(err)
						}
					}()
				}
				arrived.Wait()
				for range conns {
					release <- struct{}{}
				}
				done.Wait()
			}
			got := opened.Load()
			t.Logf("%d connections for %d calls in rounds of %d", got, conns*rounds, conns)
			if tt.wantMore && got <= conns {
				t.Fatalf("%d connections: the default transport should have opened more than %d", got, conns)
			}
			if !tt.wantMore && got > tt.wantMost {
				t.Fatalf("%d connections opened, want at most %d", got, tt.wantMost)
			}
		})
	}
}

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			var in map[string]any
			_ = json.NewDecoder(r.Body).Decode(&in)
			w.Header().Set("X-Request-Id", "req-2")
			w.Header().Set("X-Tt-Logid", r.Header.Get("X-Want-Logid"))
			_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "auth": r.Header.Get("Authorization"), "in": in})
		case "/big":
			_, _ = w.Write([]byte(`{"pad":"` + strings.Repeat("x", 100) + `"}`))
		case "/id":
			_, _ = w.Write([]byte(`{"task_id":12345678901234567890}`))
		case "/limited":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`<html>slow down</html>`))
		}
	}))
	defer srv.Close()
	ctx := t.Context()
	hc := providers.NewHTTPClient(5*time.Second, 4)
	do := func(path string, mod func(*providers.Request)) *providers.Reply {
		t.Helper()
		req := providers.Request{Provider: "feishu", Op: "execute_send", URL: srv.URL + path,
			RequestIDHeaders: []string{"X-Tt-Logid", "X-Request-Id"}}
		if mod != nil {
			mod(&req)
		}
		rep, err := providers.Do(ctx, hc, req)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	t.Run("request sent as given; request id from the first header present", func(t *testing.T) {
		for _, tc := range []struct{ logid, want string }{{"log-1", "log-1"}, {"", "req-2"}} {
			rep := do("/echo", func(r *providers.Request) {
				r.Body = []byte(`{"n":1}`)
				r.Header = http.Header{"Authorization": {"Bearer tok"}, "X-Want-Logid": {tc.logid}}
			})
			var out struct {
				Method, Auth string
				In           map[string]any
			}
			if err := rep.DecodeJSON(&out); err != nil {
				t.Fatal(err)
			}
			if rep.Status != 200 || out.Method != "POST" || out.Auth != "Bearer tok" || out.In["n"] != json.Number("1") || rep.RequestID != tc.want {
				t.Fatalf("reply %+v, decoded %+v", rep, out)
			}
		}
	})
	t.Run("numbers stay exact", func(t *testing.T) {
		var out struct {
			TaskID json.Number `json:"task_id"`
		}
		if err := do("/id", nil).DecodeJSON(&out); err != nil || out.TaskID != "12345678901234567890" {
			t.Fatalf("task_id %q, %v", out.TaskID, err)
		}
		var loose map[string]any
		if err := do("/id", nil).DecodeJSON(&loose); err != nil || loose["task_id"] != json.Number("12345678901234567890") {
			t.Fatalf("task_id into any: %v (%T)", loose["task_id"], loose["task_id"])
		}
	})
	t.Run("reply bounded", func(t *testing.T) {
		rep := do("/big", func(r *providers.Request) { r.MaxReplyBytes = 50 })
		if !rep.Truncated || len(rep.Body) != 50 {
			t.Fatalf("truncated %v, %d bytes kept", rep.Truncated, len(rep.Body))
		}
		var v any
		err := rep.DecodeJSON(&v)
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Class != providers.Transient || pe.Code != "reply_too_large" || pe.Provider != "feishu" || pe.Op != "execute_send" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreadable reply is a transient bad_reply", func(t *testing.T) {
		rep := do("/limited", nil)
		var v any
		var pe *providers.Error
		if err := rep.DecodeJSON(&v); !errors.As(err, &pe) || pe.Code != "bad_reply" || pe.Class != providers.Transient || pe.Err == nil {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("error from a reply", func(t *testing.T) {
		rep := do("/limited", nil)
		e := rep.Error(providers.RateLimited, "", "")
		if e.Status != 429 || e.RetryAfter != 7*time.Second || e.Message != "Too Many Requests" || e.Provider != "feishu" || e.Op != "execute_send" {
			t.Fatalf("error %+v", e)
		}
	})
	t.Run("no reply is a transient transport error", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		_, err = providers.Do(ctx, hc, providers.Request{Provider: "enos", Op: "notice.produce", URL: "http://" + addr})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Class != providers.Transient || pe.Message != "request failed" || pe.Provider != "enos" {
			t.Fatalf("err = %v", err)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		<-cctx.Done()
		_, err = providers.Do(cctx, hc, providers.Request{Provider: "enos", Op: "notice.produce", URL: srv.URL + "/echo"})
		if !errors.As(err, &pe) || pe.Message != "timed out" {
			t.Fatalf("err = %v, want timed out", err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v      string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := providers.ParseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v %v, want %v %v", tt.v, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRequestID(t *testing.T) {
	h := http.Header{"X-Request-Id": {"r"}, "X-Tt-Logid": {" "}}
	if got := providers.RequestID(h, "X-Tt-Logid", "X-Request-Id"); got != "r" {
		t.Fatalf("got %q, want the first non-blank", got)
	}
	if got := providers.RequestID(h); got != "" {
		t.Fatalf("no names: got %q", got)
	}
}
