package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/tasks"
)

// strayInterval is how often a worker looks in Redis for shard queues of
// its providers that its own shards setting does not name.
const strayInterval = 10 * time.Second

// strays serves the shards a producer with another shards setting than
// the worker's filled (tasks.WithShards). Their jobs would otherwise wait
// for a worker that may never come. asynq fixes a server's queues when it
// starts, so each batch of such queues found gets an asynq server of its
// own, with jobsPerDequeuer slots, its provider's weight, and a place in
// the scheduler. It warns each time: the fix is to give producers and
// workers the same shards.
type strays struct {
	w        *Worker
	interval time.Duration

	mu     sync.Mutex
	served map[string]bool // stray queues with a server
	srvs   []*asynq.Server
}

// run looks for stray queues at once and then every interval until ctx
// is done. h is the handler the worker's servers run.
func (s *strays) run(ctx context.Context, h asynq.Handler) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.look(h)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// look starts a server for the provider queues in Redis that no server of
// this worker takes jobs from.
func (s *strays) look(h asynq.Handler) {
	all, err := s.w.insp.Queues()
	if err != nil {
		return // Redis is away; the health check says so
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]int{}
	for _, q := range all {
		p, ok := tasks.ProviderOfQueue(q)
		weight := s.w.weights[p.Queue()]
		if !ok || weight == 0 || s.w.weights[q] > 0 || s.served[q] {
			continue // not a provider's, a provider this worker lacks, or served
		}
		found[q] = weight
	}
	if len(found) == 0 {
		return
	}
	names := sortedKeys(found)
	log := s.w.log.With().Strs("queues", names).Int("shards", s.w.cfg.Shards).Logger()
	srv := asynq.NewServerFromRedisClient(s.w.rdb, s.w.serverConfig(jobsPerDequeuer, found))
	if err := srv.Start(h); err != nil {
		log.Error().Err(err).Msg("could not serve queues of another shard count")
		return
	}
	if s.served == nil {
		s.served = map[string]bool{}
	}
	for _, q := range names {
		s.served[q] = true
	}
	s.srvs = append(s.srvs, srv)
	s.w.sched.add(names...)
	log.Warn().Msg("serving queues of another shard count: give producers and workers the same shards")
}

// servers are the servers started for stray queues.
func (s *strays) servers() []*asynq.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.srvs)
}
