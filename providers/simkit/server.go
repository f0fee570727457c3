package simkit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Start serves the Kit on addr (e.g. "127.0.0.1:0") in the background and
// returns its base URL, e.g. "http://127.0.0.1:41234". Close stops it.
func (k *Kit[R]) Start(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	k.url = "http://" + l.Addr().String()
	k.mu.Unlock()
	go func() { _ = k.Serve(l) }()
	return k.URL(), nil
}

// Serve serves the Kit on l until Close or Shutdown, after which it returns
// http.ErrServerClosed.
func (k *Kit[R]) Serve(l net.Listener) error {
	return k.server().Serve(l)
}

func (k *Kit[R]) server() *http.Server {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hs == nil {
		k.hs = &http.Server{Handler: k, ReadHeaderTimeout: 10 * time.Second}
	}
	return k.hs
}

// URL is the base URL Start listens on, or "" if it was not started.
func (k *Kit[R]) URL() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.url
}

// Shutdown stops accepting calls and waits, as long as ctx allows, for
// calls in progress. Held calls (hang, latency) are released first.
func (k *Kit[R]) Shutdown(ctx context.Context) error {
	k.closeOnce.Do(func() { close(k.done) })
	return k.server().Shutdown(ctx)
}

// Close stops the server at once, dropping calls in progress.
func (k *Kit[R]) Close() error {
	k.closeOnce.Do(func() { close(k.done) })
	if err := k.server().Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
