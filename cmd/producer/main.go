// Command producer enqueues Herald notification jobs and checks or cancels
// them: the same Producer a Go service uses, for shells, scripts and
// operators.
//
//	echo '{"targets":["alice"],"pushMessage":{"title":"Hi","content":"Hello"}}' |
//		producer enqueue easemob:push.single --key order-42
//	producer status order-42
//	producer cancel order-42
//
// Redis comes from --redis or HERALD_REDIS_URL. Results are JSON on stdout;
// errors are one line on stderr. Run producer --help for the flags, the job
// types and the exit statuses.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis logs failed dials itself; the error that matters reaches
	// the user through run, on one line.
	redis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
