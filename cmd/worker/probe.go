package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errUnhealthy is what a non-2xx answer wraps.
var errUnhealthy = errors.New("unhealthy")

// probe GETs url and reports whether it answered 2xx. It is `worker
// -probe URL`, for Docker and Compose healthchecks: the image is
// distroless, with no curl or wget, so the worker asks itself. Kubernetes
// probes HTTP on its own and does not need it.
func probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read a little of the body, so the connection closes cleanly and the
	// server does not log a reset.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s answered %s", errUnhealthy, url, resp.Status)
	}
	return nil
}
