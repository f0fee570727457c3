// Command healthcheck asks an HTTP endpoint whether it is well and exits 0
// when it answers 2xx, 1 otherwise.
//
//	healthcheck [-timeout 3s] http://127.0.0.1:8080/readyz
//
// It exists for the container image. The image is distroless: no shell, no
// curl, no wget, which is most of its point. Docker and Compose healthchecks
// run a command inside the container, so the image carries this one.
// Kubernetes probes HTTP itself and does not need it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is main with its output passed in, for tests. It returns the exit
// status: 0 healthy, 1 not, 2 bad usage.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcheck [-timeout 3s] URL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := probe(ctx, fs.Arg(0)); err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

// errUnhealthy is what a non-2xx answer wraps.
var errUnhealthy = errors.New("unhealthy")

// probe GETs url and reports whether it answered 2xx.
func probe(ctx context.Context, url string) error {
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
