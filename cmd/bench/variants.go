package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// A variant is one way of running the same work: a push/async to one
// user of the Easemob simulator per job.
type variant struct {
	name  string
	queue string
	// enqueuer returns a function adding one job for target, due at at
	// (zero: now).
	enqueuer func(rdb redis.UniversalClient) func(ctx context.Context, target string, at time.Time) error
	// start runs a server on rdb taking the variant's jobs until stop.
	start func(rdb redis.UniversalClient, simURL string, concurrency int) (stop func(), err error)
}

var (
	bare = variant{
		name: "bare asynq", queue: "bare",
		enqueuer: func(rdb redis.UniversalClient) func(context.Context, string, time.Time) error {
			c := asynq.NewClientFromRedisClient(rdb)
			return func(ctx context.Context, target string, at time.Time) error {
				b, err := json.Marshal(tasks.EasemobPushAsync{Target: target, PushMessage: message})
				if err != nil {
					return err
				}
				opts := []asynq.Option{asynq.Queue("bare")}
				if !at.IsZero() {
					opts = append(opts, asynq.ProcessAt(at))
				}
				_, err = c.EnqueueContext(ctx, asynq.NewTask("bare:push.async", b), opts...)
				return err
			}
		},
		start: startBare,
	}
	heraldNoLimits = heraldVariant("herald, no limits", false)
	heraldLimits   = heraldVariant("herald, limits on", true)
)

// message is every job's push message.
var message = tasks.PushMessage{Title: "bench", Content: "Herald benchmark"}

// startBare is what a user of asynq alone would write: a server whose
// handler decodes the job and makes the same call through the same
// Easemob client, with its token in process memory and an HTTP transport
// keeping a connection per worker slot. Its scheduled-task poll is
// Herald's default poll_interval (1 s; asynq's own default is 5 s).
func startBare(rdb redis.UniversalClient, simURL string, concurrency int) (func(), error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	client := easemob.New(easemob.Config{
		BaseURL: simURL, OrgName: easemobsim.DefaultOrgName, AppName: easemobsim.DefaultAppName,
		ClientID: easemobsim.DefaultClientID, ClientSecret: easemobsim.DefaultClientSecret,
		HTTPClient: &http.Client{Transport: tr, Timeout: 15 * time.Second},
		Tokens:     providers.NewTokenCache(nil),
	})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              concurrency,
		Queues:                   map[string]int{"bare": 1},
		DelayedTaskCheckInterval: time.Second,
		LogLevel:                 asynq.ErrorLevel,
	})
	err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var job tasks.EasemobPushAsync
		if err := json.Unmarshal(t.Payload(), &job); err != nil {
			return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
		}
		_, err := client.PushAsync(ctx, &job)
		return err
	}))
	if err != nil {
		return nil, err
	}
	return srv.Shutdown, nil
}

func heraldVariant(name string, limits bool) variant {
	return variant{
		name: name, queue: tasks.Easemob.Queue(),
		enqueuer: func(rdb redis.UniversalClient) func(context.Context, string, time.Time) error {
			p := tasks.NewProducer(rdb)
			return func(ctx context.Context, target string, at time.Time) error {
				var opts []tasks.Option
				if !at.IsZero() {
					opts = append(opts, tasks.DeliverAt(at))
				}
				_, err := p.Enqueue(ctx, &tasks.EasemobPushAsync{Target: target, PushMessage: message}, opts...)
				return err
			}
		},
		start: func(rdb redis.UniversalClient, simURL string, concurrency int) (func(), error) {
			cfg := heraldConfig(simURL, concurrency, limits)
			// Herald formats its per-job log line at the default level,
			// info, as it would in production; only the writing is left
			// out.
			w, err := worker.New(cfg, rdb, zerolog.New(io.Discard).Level(zerolog.InfoLevel))
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			return func() { cancel(); <-done }, nil
		},
	}
}

// heraldConfig is the worker's default config for one Easemob account on
// the simulator. With limits, the job's limits are on but set far above
// what the run reaches (non-binding), so their cost is measured and not
// their waiting; without, every default limit is switched off.
func heraldConfig(simURL string, concurrency int, limits bool) worker.Config {
	cfg := worker.Defaults()
	cfg.Admin.Addr = "-"
	cfg.Concurrency = concurrency
	lim := map[string]worker.LimitConfig{}
	if limits {
		lim["push_async"] = worker.LimitConfig{Jobs: []string{"push.async"}, Rate: 1_000_000, Per: worker.Duration(time.Second), Burst: 1_000_000}
		lim["in_flight"] = worker.LimitConfig{Concurrent: 1_000_000, Lease: worker.Duration(2 * time.Minute)}
	} else {
		for name := range worker.DefaultLimits(tasks.Easemob) {
			lim[name] = worker.LimitConfig{Disabled: true}
		}
	}
	cfg.Easemob = map[string]worker.EasemobAccount{"default": {
		BaseURL: simURL, OrgName: easemobsim.DefaultOrgName, AppName: easemobsim.DefaultAppName,
		ClientID: easemobsim.DefaultClientID, ClientSecret: easemobsim.DefaultClientSecret,
		Limits: lim,
	}}
	return cfg
}
