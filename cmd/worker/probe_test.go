package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	serve := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/readyz"
	}
	// A port that was free a moment ago: nothing answers there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/readyz"
	ln.Close()

	tests := []struct {
		name    string
		url     string
		want    int
		wantErr string
	}{
		{"ok", serve(http.StatusOK), 0, ""},
		{"no content is ok", serve(http.StatusNoContent), 0, ""},
		{"not ready", serve(http.StatusServiceUnavailable), 1, "503"},
		{"not found", serve(http.StatusNotFound), 1, "404"},
		{"nothing listening", closed, 1, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			// The probe needs no config: a broken environment must not
			// make a healthy worker look dead.
			env := []string{"HERALD_CONCURRENCY=broken"}
			if got := run(context.Background(), []string{"-probe", tt.url}, &out, &stderr, env); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr: %s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestProbeGivesUp(t *testing.T) {
	stall := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(stall) })
	err := probe(context.Background(), slow.URL, 50*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("probe of a stalled server = %v, want a deadline error", err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, "redis unreachable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(bad.Close)
	if err := probe(context.Background(), bad.URL, time.Second); !errors.Is(err, errUnhealthy) {
		t.Fatalf("probe = %v, want errUnhealthy", err)
	}
}
