// Command worker runs Herald's jobs.
//
//	worker [-config herald.yaml]          run the worker
//	worker -check -config herald.yaml     check the config and exit
//	worker -probe http://127.0.0.1:8080/readyz   exit 0 if it answers 2xx
//	worker demo [-keep]                   the zero-setup demo
//	worker feishu-auth <account> < token  store a new Feishu refresh token
//
// Configuration comes from the YAML file, then HERALD_* environment
// variables (see README). With no Redis configured the worker runs in demo
// mode: an embedded Redis and the provider simulators.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}

// run is main with its dependencies passed in, for tests. Exit status 2
// means bad flags or config; 1 means the worker failed while running.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	if len(args) > 0 && args[0] == "feishu-auth" {
		return feishuAuth(ctx, args[1:], os.Stdin, stdout, stderr, environ)
	}
	demo := len(args) > 0 && args[0] == "demo"
	if demo {
		args = args[1:]
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv("HERALD_CONFIG"), "YAML config file (env HERALD_CONFIG)")
	check := fs.Bool("check", false, "check the config and exit")
	keep := fs.Bool("keep", false, "demo: keep running after the sample jobs are delivered, for the UI")
	probeURL := fs.String("probe", "", "GET this URL and exit 0 if it answers 2xx, 1 if not (container healthchecks)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *probeURL != "" {
		if err := probe(ctx, *probeURL, 3*time.Second); err != nil {
			fmt.Fprintln(stderr, "worker: probe:", err)
			return 1
		}
		return 0
	}
	cfg, err := worker.ReadConfig(*configPath, environ)
	if err == nil && demo && cfg.Redis.Configured() {
		err = errors.New("demo runs on its own embedded Redis; unset redis.url / HERALD_REDIS_URL")
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return 2
	}
	if *check {
		fmt.Fprintln(stdout, "config ok")
		return 0
	}
	// The demo prints its story on stdout; its logs go to stderr.
	logOut := stdout
	if demo {
		logOut = stderr
	}
	log, _ := worker.NewLogger(logOut, cfg.Log.Level)

	if !cfg.Redis.Configured() {
		d, err := worker.StartDemo()
		if err != nil {
			log.Error().Err(err).Msg("demo mode failed to start")
			return 1
		}
		defer d.Close()
		d.Configure(&cfg)
		d.Warn(log)
		if demo {
			return runDemo(ctx, cfg, d, log, stdout, *keep)
		}
	}
	return runWorker(ctx, cfg, log)
}

func runWorker(ctx context.Context, cfg worker.Config, log zerolog.Logger) int {
	rdb, err := worker.NewRedisClient(cfg.Redis)
	if err != nil {
		log.Error().Err(err).Msg("redis config")
		return 2
	}
	defer rdb.Close()
	w, err := worker.New(cfg, rdb, log)
	if err != nil {
		log.Error().Err(err).Msg("worker config")
		return 2
	}
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error().Err(err).Msg("worker failed")
		return 1
	}
	return 0
}
