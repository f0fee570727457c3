package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// clusterAccounts is how many Easemob accounts the cluster run spreads its
// jobs over, each its own app on its own simulator, so each has its own
// token and limit keys, as separate customers would.
const clusterAccounts = 8

// clusterMasters is the size of the cluster the run starts.
const clusterMasters = 3

// clusterResult is one run of Herald, limits on, on the cluster.
type clusterResult struct {
	shards     int
	perSec     float64
	cmdsPerJob float64
	// shares are the masters' parts of all commands, largest first.
	shares []float64
}

// clusterSpread runs n jobs through Herald on a local Redis Cluster once
// per shard count, and reports how the commands Redis ran were shared by
// its masters.
func clusterSpread(ctx context.Context, n, concurrency int, shardCounts []int) ([]clusterResult, error) {
	cl, err := redistest.StartCluster(clusterMasters)
	if err != nil {
		return nil, err
	}
	defer cl.Stop()

	rec := &recorder{}
	mux := http.NewServeMux()
	qps := map[easemobsim.Endpoint]int{}
	for ep := range easemobsim.DefaultQPS() {
		qps[ep] = -1
	}
	for i := range clusterAccounts {
		sim := easemobsim.New(easemobsim.Options{AppName: clusterApp(i), QPS: qps, MaxRecords: 100})
		defer sim.Close()
		mux.Handle("/"+easemobsim.DefaultOrgName+"/"+clusterApp(i)+"/", sim)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: rec.wrap(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	defer hs.Close()
	url := "http://" + l.Addr().String()

	var out []clusterResult
	for _, shards := range shardCounts {
		res, err := clusterDispatch(ctx, cl.Addrs, url, rec, n, concurrency, shards)
		if err != nil {
			return nil, fmt.Errorf("cluster, %d shards: %w", shards, err)
		}
		out = append(out, res)
	}
	return out, nil
}

func clusterApp(i int) string { return fmt.Sprintf("app%d", i) }

// clusterDispatch is dispatch on the cluster: n jobs over the accounts
// enqueued with no worker running, then a worker with the given shards
// timed until the last push arrives and the queues are empty.
func clusterDispatch(ctx context.Context, addrs []string, simURL string, rec *recorder, n, concurrency, shards int) (clusterResult, error) {
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: concurrency + 10})
	defer rc.Close()
	if err := rc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.FlushAll(ctx).Err() }); err != nil {
		return clusterResult{}, err
	}
	rec.reset()

	p := tasks.NewProducer(rc, tasks.WithShards(shards))
	var next atomic.Int64
	enq := func(ctx context.Context, target string, _ time.Time) error {
		account := fmt.Sprintf("shop%d", next.Add(1)%clusterAccounts)
		_, err := p.Enqueue(ctx, &tasks.EasemobPushAsync{Target: target, PushMessage: message}, tasks.Account(account))
		return err
	}
	if err := enqueueAll(ctx, enq, n, 8, func(i int) (string, time.Time) { return "j" + fmt.Sprint(i), time.Time{} }); err != nil {
		return clusterResult{}, err
	}
	if err := rc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return resetStats(ctx, m) }); err != nil {
		return clusterResult{}, err
	}

	cfg := heraldConfig(simURL, concurrency, true)
	acct := cfg.Easemob["default"]
	delete(cfg.Easemob, "default")
	for i := range clusterAccounts {
		a := acct
		a.AppName = clusterApp(i)
		cfg.Easemob[fmt.Sprintf("shop%d", i)] = a
	}
	cfg.Shards = shards
	w, err := worker.New(cfg, rc, zerolog.New(io.Discard).Level(zerolog.InfoLevel))
	if err != nil {
		return clusterResult{}, err
	}
	start := time.Now()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	if err := rec.wait(ctx, n, time.Duration(n)*20*time.Millisecond+30*time.Second); err != nil {
		return clusterResult{}, err
	}
	took := time.Since(start)
	if _, err := drained(ctx, rc, tasks.Easemob.Queues(shards)...); err != nil {
		return clusterResult{}, err
	}

	var mu sync.Mutex
	var perMaster []float64
	err = rc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		s, err := readStats(ctx, m)
		mu.Lock()
		perMaster = append(perMaster, float64(s.commands()))
		mu.Unlock()
		return err
	})
	if err != nil {
		return clusterResult{}, err
	}
	var total float64
	for _, c := range perMaster {
		total += c
	}
	slices.SortFunc(perMaster, func(a, b float64) int { return int(b - a) })
	res := clusterResult{shards: shards, perSec: float64(n) / took.Seconds(), cmdsPerJob: total / float64(n)}
	for _, c := range perMaster {
		res.shares = append(res.shares, c/total)
	}
	return res, nil
}
