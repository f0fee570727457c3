// Package worker runs Herald's jobs: it takes tasks from the provider queues
// in Redis, checks them, holds them to the providers' limits and hands them
// to each provider's client, mapping what the provider says onto asynq's
// retry, reschedule and archive.
//
// Any number of workers may run against one Redis: queues, limits, tokens
// and delivered-markers all live there, so they hold across replicas.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/ratelimit"
)

// Worker is one worker process: asynq servers over the provider queues
// and the admin HTTP server.
type Worker struct {
	cfg      Config
	rdb      redis.UniversalClient
	log      zerolog.Logger
	accounts Accounts
	registry *prometheus.Registry
	metrics  *Metrics
	// srvs share the worker's concurrency (see splitConcurrency).
	srvs []*asynq.Server
	// weights are the configured queues and their weights; strays serves
	// the shards of other counts that turn up in Redis.
	weights  map[string]int
	strays   *strays
	insp     *asynq.Inspector
	sched    *scheduler // nil: scheduled jobs wait for asynq's whole-second forwarder
	records  records
	inflight *inflight
}

// New assembles a worker on rdb, which the caller owns and closes after Run
// returns. The provider accounts are built from cfg.
func New(cfg Config, rdb redis.UniversalClient, log zerolog.Logger) (*Worker, error) {
	accounts, err := buildAccounts(cfg, rdb)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w := &Worker{
		cfg: cfg, rdb: rdb, log: log, accounts: accounts,
		registry: reg, metrics: NewMetrics(reg),
		insp: asynq.NewInspectorFromRedisClient(rdb),
	}
	reg.MustRegister(newQueueCollector(w.insp), newReauthCollector(accounts), newRedisMemoryCollector(rdb, cfg.Redis.MasterName))
	w.records = newRecords(rdb, cfg.DeliveredTTL.D())
	w.inflight = newInflight(ratelimit.NewConcurrency(rdb), w.records, log, w.metrics)

	w.weights = w.queues(accounts)
	w.sched = &scheduler{rdb: rdb, queues: sortedKeys(w.weights), tick: schedulerTick, idle: schedulerIdle,
		log: log.With().Str("component", "scheduler").Logger()}
	for _, n := range splitConcurrency(cfg.Concurrency) {
		w.srvs = append(w.srvs, asynq.NewServerFromRedisClient(rdb, w.serverConfig(n, w.weights)))
	}
	w.strays = &strays{w: w, interval: strayInterval}
	return w, nil
}

// serverConfig is the config of one of the worker's asynq servers, with n
// of its slots, taking jobs from queues.
func (w *Worker) serverConfig(n int, queues map[string]int) asynq.Config {
	asynqLevel := asynq.WarnLevel
	if w.log.GetLevel() <= zerolog.DebugLevel {
		asynqLevel = asynq.DebugLevel
	}
	return asynq.Config{
		Concurrency:              n,
		Queues:                   queues,
		ShutdownTimeout:          w.cfg.ShutdownTimeout.D(),
		DelayedTaskCheckInterval: w.cfg.PollInterval.D(),
		// The scheduler moves a due job to its queue within a tick; an
		// idle worker that looked at its queues only every poll_interval
		// would undo that precision. asynq sleeps half to one and a half
		// of this between looks at empty queues: 20 to 60 ms, so each
		// server costs an idle Redis 25 looks a second, and a job moved
		// by the scheduler waits about 20 ms on average (the servers look
		// independently).
		TaskCheckInterval: min(w.cfg.PollInterval.D(), 2*schedulerTick),
		RetryDelayFunc:    w.cfg.Retry.retryDelay,
		IsFailure:         isFailure,
		Logger:            asynqLogger{w.log.With().Str("component", "asynq").Logger()},
		LogLevel:          asynqLevel,
		HealthCheckFunc: func(err error) {
			if err != nil {
				w.log.Error().Err(err).Msg("redis health check failed")
			}
		},
	}
}

// queues are the weighted queues the worker takes jobs from: those of the
// providers it has accounts for, so a replica without (say) Feishu
// credentials leaves Feishu jobs pending for one that has them instead of
// archiving them. Each provider's shards all get its weight.
func (w *Worker) queues(accounts Accounts) map[string]int {
	queues := map[string]int{}
	for p := range accounts {
		weight := w.cfg.Queues[p.Queue()]
		if weight == 0 {
			weight = 1
		}
		for _, q := range p.Queues(w.cfg.Shards) {
			queues[q] = weight
		}
	}
	return queues
}

// Handler is the full chain a task goes through: identity and logging,
// the not-before guard, then the dispatcher that calls the provider.
func (w *Worker) Handler() asynq.Handler {
	host, _ := os.Hostname()
	lim := newLimiter(w.rdb, w.cfg.Limiter, w.metrics, w.inflight)
	events := &outcomes{log: w.eventLog(), now: time.Now}
	d := &dispatcher{
		accounts: w.accounts,
		records:  w.records,
		limiter:  lim,
		circuits: newCircuits(w.rdb, w.cfg.Circuit, w.metrics),
		inflight: w.inflight,
		policy:   w.cfg.inDoubtPolicy,
		worker:   fmt.Sprintf("%s:%d", host, os.Getpid()),
		metrics:  w.metrics,
		events:   events,
	}
	return chain(dingTalkTracking(d),
		withTaskInfo(w.log, w.metrics, events),
		notBefore(time.Now),
	)
}

// drainTimeout is how long a stopping worker waits for its calls out:
// the longest call timeout, and time to write their records.
func (w *Worker) drainTimeout() time.Duration {
	longest := defaultCallTimeout
	for _, accts := range w.accounts {
		for _, a := range accts {
			longest = max(longest, a.timeout)
		}
	}
	return longest + 10*time.Second
}

// Run processes jobs and serves the admin endpoints until ctx is done, then
// shuts down gracefully: it stops taking new jobs and gives running ones
// the shutdown timeout to finish before handing them back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	w.publishAccounts(ctx)
	warnIfRedisEvicts(ctx, w.rdb, w.cfg.Redis.MasterName, w.log)
	defer w.startWebhooks(ctx)()
	var admin *http.Server
	adminErr := make(chan error, 1)
	if w.cfg.Admin.Addr != "-" {
		var err error
		admin, err = w.startAdmin(adminErr)
		if err != nil {
			return err
		}
	}
	stopAPI, err := w.startAPI(adminErr)
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		return err
	}
	defer stopAPI()
	h := w.Handler()
	for i, srv := range w.srvs {
		if err := srv.Start(h); err != nil {
			for _, started := range w.srvs[:i] {
				started.Shutdown()
			}
			if admin != nil {
				admin.Close()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	w.log.Info().Int("concurrency", w.cfg.Concurrency).Msg("worker started")
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		if w.sched != nil {
			w.sched.run(schedCtx)
		}
	}()
	straysDone := make(chan struct{})
	go func() {
		defer close(straysDone)
		w.strays.run(schedCtx, h)
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-adminErr:
	}
	w.log.Info().Dur("shutdown_timeout", w.cfg.ShutdownTimeout.D()).Msg("shutting down: no new jobs; waiting for running ones")
	stopSched()
	<-schedDone
	<-straysDone
	var stopping sync.WaitGroup
	for _, srv := range append(w.srvs, w.strays.servers()...) {
		stopping.Go(srv.Shutdown)
	}
	stopping.Wait()
	// asynq has handed back the jobs still running after its shutdown
	// timeout, but a call already sent is still out: let it end and write
	// its delivery record, or a retry would send it again (it finds the
	// call's attempt record and waits for it meanwhile).
	if grace := w.drainTimeout(); !w.inflight.drain(grace) {
		w.log.Error().Dur("waited", grace).Msg("calls still out or records unwritten at exit: their jobs will be found in doubt")
	}
	if admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := admin.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Warn().Err(err).Msg("admin server shutdown")
		}
	}
	w.log.Info().Msg("worker stopped")
	return runErr
}
