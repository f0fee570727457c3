// Command worker runs Herald's jobs.
//
//	worker [-config herald.yaml]          run the worker
//	worker -check -config herald.yaml     check the config and exit
//	worker -probe http://127.0.0.1:8080/readyz   exit 0 if it answers 2xx
//	worker -version                       print the build's version and exit
//	worker demo [-keep] [-faults]         the zero-setup demo
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
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/worker"
)

func main() {
	// Once, here: go-redis has one logger for the process, and its own
	// lines (a failed dial when Redis goes away) would otherwise be plain
	// text among the JSON.
	redis.SetLogger(worker.RedisLog{Log: zerolog.New(zerolog.SyncWriter(os.Stdout)).With().Timestamp().Str("component", "redis").Logger()})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}

const usage = `Usage:
  worker [flags]        run the worker (demo mode when no Redis is configured)
  worker demo [-keep] [-faults]
                        the zero-setup demo: an embedded Redis and the provider
                        simulators, sample jobs enqueued and delivered, then exit;
                        -faults makes some calls fail (retried, one archived)
  worker feishu-auth [-config f] <account> < token
                        store a new Feishu refresh token (read from stdin)

Configuration comes from -config (a YAML file), then HERALD_* environment
variables over it; see README.md. Exit status: 0 ok, 1 failed while running,
2 bad flags or config.

Flags:
`

// demoModeNote is what -check says when nothing is configured: "config ok"
// alone would hide that the worker would not touch a real Redis.
const demoModeNote = `config ok: no Redis configured, so the worker would run in DEMO MODE:
an embedded Redis and the provider simulators, nothing persists and nothing
reaches a real provider. Set redis.url (HERALD_REDIS_URL) or redis.addrs
and a provider account for a real worker.`

// redisPingTimeout bounds the first contact with Redis at start.
const redisPingTimeout = 10 * time.Second

// run is main with its dependencies passed in, for tests. Exit status 2
// means bad flags or config; 1 means the worker failed while running.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	if len(args) > 0 && args[0] == "feishu-auth" {
		return feishuAuth(ctx, args[1:], os.Stdin, stdout, stderr, environ)
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", lookupEnv(environ, "HERALD_CONFIG"), "YAML config file (env HERALD_CONFIG)")
	check := fs.Bool("check", false, "check the config and environment as start does, without connecting, and exit")
	keep := fs.Bool("keep", false, "demo: keep running after the sample jobs are delivered, for the UI")
	faults := fs.Bool("faults", false, "demo: the Easemob simulator answers a 5xx burst (retried) and a permanent 400 (archived)")
	probeURL := fs.String("probe", "", "GET this URL and exit 0 if it answers 2xx, 1 if not (container healthchecks)")
	version := fs.Bool("version", false, "print the version and exit")

	// The command may come first (worker demo -keep) or after the flags
	// (worker -keep demo).
	demo := len(args) > 0 && args[0] == "demo"
	if demo {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if !demo && fs.NArg() > 0 && fs.Arg(0) == "demo" {
		demo = true
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "worker: unknown command %q; the only command is demo\n\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, versionString())
		return 0
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
		if !cfg.Redis.Configured() {
			fmt.Fprintln(stdout, demoModeNote)
		} else {
			fmt.Fprintln(stdout, "config ok")
		}
		return 0
	}
	// The demo prints its story on stdout; its logs go to stderr.
	logOut := stdout
	if demo {
		logOut = stderr
	}
	log, _ := worker.NewLogger(logOut, cfg.Log.Level)

	if !cfg.Redis.Configured() {
		// Before anything is enqueued: a demo that dies on a taken port
		// after enqueueing teaches nothing.
		if err := demoAdminAddr(&cfg, stderr); err != nil {
			fmt.Fprintln(stderr, "worker:", err)
			return 1
		}
		d, err := worker.StartDemo()
		if err != nil {
			log.Error().Err(err).Msg("demo mode failed to start")
			return 1
		}
		defer d.Close()
		d.Configure(&cfg)
		d.Warn(log)
		if demo {
			return runDemo(ctx, cfg, d, log, stdout, *keep, *faults)
		}
	}
	return runWorker(ctx, cfg, log, stderr)
}

func runWorker(ctx context.Context, cfg worker.Config, log zerolog.Logger, stderr io.Writer) int {
	rdb, err := worker.NewRedisClient(cfg.Redis)
	if err != nil {
		log.Error().Err(err).Msg("redis config")
		return 2
	}
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	err = worker.PingRedis(pctx, rdb, cfg.Redis)
	cancel()
	if err != nil {
		// Plainly on stderr as well as in the JSON log: this is the first
		// thing a newcomer with a stopped Redis sees.
		fmt.Fprintln(stderr, "worker:", err)
		log.Error().Err(err).Msg("redis unreachable")
		return 1
	}
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

// lookupEnv is os.Getenv on environ, so tests control it.
func lookupEnv(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v
		}
	}
	return ""
}
