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
)

func TestRun(t *testing.T) {
	handler := func(status int) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.WriteHeader(status)
		})
	}
	// A port that was free a moment ago: nothing answers there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/readyz"
	ln.Close()
	// A server that answers only after the probe has given up.
	stall := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(stall) })

	tests := []struct {
		name    string
		args    func() []string
		want    int
		wantErr string
	}{
		{"ok", serve(t, handler(http.StatusOK)), 0, ""},
		{"no content is ok", serve(t, handler(http.StatusNoContent)), 0, ""},
		{"not ready", serve(t, handler(http.StatusServiceUnavailable)), 1, "503"},
		{"not found", serve(t, handler(http.StatusNotFound)), 1, "404"},
		{"nothing listening", func() []string { return []string{closed} }, 1, "refused"},
		{"too slow", func() []string { return []string{"-timeout", "50ms", slow.URL} }, 1, "deadline"},
		{"no url", func() []string { return nil }, 2, "usage"},
		{"two urls", func() []string { return []string{closed, closed} }, 2, "usage"},
		{"bad flag", func() []string { return []string{"-nope", closed} }, 2, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := run(tt.args(), &stderr); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr: %s", got, tt.want, stderr.String())
			}
			if tt.wantErr == "" && stderr.Len() > 0 {
				t.Errorf("healthy probe wrote %q", stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestProbeWrapsUnhealthy(t *testing.T) {
	url := serve(t, http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, "redis unreachable", http.StatusServiceUnavailable)
	}))()[0]
	err := probe(context.Background(), url)
	if !errors.Is(err, errUnhealthy) {
		t.Fatalf("probe = %v, want errUnhealthy", err)
	}
}

// serve starts h and returns args naming its URL.
func serve(t *testing.T, h http.Handler) func() []string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return func() []string { return []string{srv.URL + "/readyz"} }
}
