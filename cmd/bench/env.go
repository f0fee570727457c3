package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

// env is what every measurement shares: one redis-server child process and
// one Easemob simulator with its limits off, behind a recorder that notes
// when each push arrives.
type env struct {
	redis *redistest.Server
	sim   *easemobsim.Server
	rec   *recorder
	url   string
	hs    *http.Server
}

func startEnv() (*env, error) {
	rs, err := redistest.Start()
	if err != nil {
		return nil, err
	}
	// Non-binding: the simulator would otherwise answer push/async beyond
	// 100 a second with 429, and the benchmark measures Herald, not the
	// provider's limits.
	qps := map[easemobsim.Endpoint]int{}
	for ep := range easemobsim.DefaultQPS() {
		qps[ep] = -1
	}
	sim := easemobsim.New(easemobsim.Options{QPS: qps, MaxRecords: 100})
	e := &env{redis: rs, sim: sim, rec: &recorder{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rs.Stop()
		return nil, err
	}
	e.url = "http://" + l.Addr().String()
	e.hs = &http.Server{Handler: e.rec.wrap(sim), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.hs.Serve(l) }()
	return e, nil
}

func (e *env) close() {
	_ = e.hs.Close()
	e.sim.Close()
	e.redis.Stop()
}

// client is a fresh Redis client counting its round trips.
func (e *env) client(size int) (*redis.Client, *tripCounter) {
	c := redis.NewClient(&redis.Options{Addr: e.redis.Addr, PoolSize: size})
	tc := &tripCounter{}
	c.AddHook(tc)
	return c, tc
}

// reset empties Redis and the simulator's records between measurements.
func (e *env) reset(ctx context.Context) error {
	e.sim.Reset()
	e.rec.reset()
	c := redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	defer c.Close()
	return c.FlushAll(ctx).Err()
}

// arrival is one push as the simulator got it: the user it was for and
// when it arrived.
type arrival struct {
	target string
	at     time.Time
}

// recorder notes every push's arrival before the simulator handles it.
type recorder struct {
	n        atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	got      []arrival
}

func (r *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if i := strings.Index(req.URL.Path, "/push/"); i >= 0 {
			now := time.Now()
			target := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
			r.mu.Lock()
			r.got = append(r.got, arrival{target, now})
			r.mu.Unlock()
			r.n.Add(1)
			cur := r.inFlight.Add(1)
			for p := r.peak.Load(); cur > p && !r.peak.CompareAndSwap(p, cur); p = r.peak.Load() {
			}
			defer r.inFlight.Add(-1)
		}
		next.ServeHTTP(w, req)
	})
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.got = nil
	r.mu.Unlock()
	r.n.Store(0)
	r.peak.Store(0)
}

func (r *recorder) arrivals() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.got...)
}

// wait polls until n pushes have arrived.
func (r *recorder) wait(ctx context.Context, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for r.n.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d pushes arrived within %v", r.n.Load(), n, limit)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}
