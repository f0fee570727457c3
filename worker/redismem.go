package worker

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Herald keeps everything in Redis: queued jobs, delivery records, tokens,
// limits, events. A Redis that runs out of memory refuses writes (with
// noeviction) or, with any other maxmemory-policy, silently deletes keys
// to make room: a queued job or a delivered-marker among them is a lost
// job or a duplicate send. Neither shows in Herald's own figures, so the
// worker reports each master's memory and policy and warns at start when
// the policy evicts.

// redisMemory is one master's memory as INFO memory reports it.
type redisMemory struct {
	node   string
	used   int64
	max    int64 // 0: no limit
	policy string
}

// evicts reports whether Redis may delete keys when it reaches maxmemory.
// Only noeviction keeps every job: it refuses writes instead, which
// producers and workers see as errors and retry.
func (m redisMemory) evicts() bool { return m.policy != "noeviction" }

// readRedisMemory asks every master rdb writes to for its memory: one on
// a standalone or Sentinel setup, each master of a Cluster. node names a
// master in metrics and logs: its address, or the Sentinel master name
// (a Sentinel client's own address is a placeholder).
func readRedisMemory(ctx context.Context, rdb redis.UniversalClient, sentinelMaster string) ([]redisMemory, error) {
	read := func(ctx context.Context, c *redis.Client, node string) (redisMemory, error) {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return redisMemory{}, err
		}
		return parseRedisMemory(node, info)
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		var (
			mu  sync.Mutex // ForEachMaster calls fn concurrently
			out []redisMemory
		)
		err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			mem, err := read(ctx, m, m.Options().Addr)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, mem)
			return nil
		})
		// The masters that answered, in a stable order, even when one
		// did not.
		slices.SortFunc(out, func(a, b redisMemory) int { return strings.Compare(a.node, b.node) })
		return out, err
	case *redis.Client:
		mem, err := read(ctx, c, redisMemoryNode(c, sentinelMaster))
		if err != nil {
			return nil, err
		}
		return []redisMemory{mem}, nil
	default:
		return nil, fmt.Errorf("redis memory: unsupported client %T", rdb)
	}
}

// redisMemoryNode names the one master a standalone or Sentinel client
// writes to.
func redisMemoryNode(c *redis.Client, sentinelMaster string) string {
	if sentinelMaster != "" {
		return sentinelMaster
	}
	return c.Options().Addr
}

// parseRedisMemory reads the fields Herald uses from an INFO memory reply.
func parseRedisMemory(node, info string) (redisMemory, error) {
	m := redisMemory{node: node}
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		var err error
		switch k {
		case "used_memory":
			m.used, err = strconv.ParseInt(v, 10, 64)
		case "maxmemory":
			m.max, err = strconv.ParseInt(v, 10, 64)
		case "maxmemory_policy":
			m.policy = v
		default:
			continue
		}
		if err != nil {
			return m, fmt.Errorf("redis memory: INFO memory %s: %w", k, err)
		}
		seen++
	}
	if seen < 3 {
		return m, fmt.Errorf("redis memory: INFO memory lacks used_memory, maxmemory or maxmemory_policy")
	}
	return m, nil
}

// warnIfRedisEvicts logs, once at start, each master whose policy may
// evict Herald's keys. A Redis that does not answer INFO (some managed
// services restrict it) is logged at debug and not held against it.
func warnIfRedisEvicts(ctx context.Context, rdb redis.UniversalClient, sentinelMaster string, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	mems, err := readRedisMemory(ctx, rdb, sentinelMaster)
	if err != nil {
		log.Debug().Err(err).Msg("could not read Redis' maxmemory-policy")
		return
	}
	for _, m := range mems {
		if m.evicts() {
			log.Warn().Str("node", m.node).Str("maxmemory_policy", m.policy).
				Msg("Redis may evict keys when full, queued jobs and delivery records among them (lost jobs, duplicate sends); set maxmemory-policy noeviction")
		}
	}
}

// redisMemoryCollector reports each master's memory at scrape time. When
// Redis does not answer it reports nothing: herald_redis_up says why.
type redisMemoryCollector struct {
	rdb            redis.UniversalClient
	sentinelMaster string
	used, max      *prometheus.Desc
	policy         *prometheus.Desc
}

func newRedisMemoryCollector(rdb redis.UniversalClient, sentinelMaster string) *redisMemoryCollector {
	return &redisMemoryCollector{
		rdb: rdb, sentinelMaster: sentinelMaster,
		used: prometheus.NewDesc("herald_redis_memory_used_bytes",
			"Memory each Redis master uses (INFO memory used_memory), by master: its address, or the Sentinel master name.", []string{"node"}, nil),
		max: prometheus.NewDesc("herald_redis_memory_max_bytes",
			"Each Redis master's maxmemory; 0 when it has none (it grows until the machine runs out).", []string{"node"}, nil),
		policy: prometheus.NewDesc("herald_redis_maxmemory_policy",
			"Always 1, labelled with each master's maxmemory-policy. Any policy but noeviction lets a full Redis delete queued jobs and delivery records.",
			[]string{"node", "policy"}, nil),
	}
}

func (c *redisMemoryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.used
	ch <- c.max
	ch <- c.policy
}

func (c *redisMemoryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A master that did not answer is left out; herald_redis_up (or its
	// absence here) tells a dashboard.
	mems, _ := readRedisMemory(ctx, c.rdb, c.sentinelMaster)
	for _, m := range mems {
		ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(m.used), m.node)
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(m.max), m.node)
		ch <- prometheus.MustNewConstMetric(c.policy, prometheus.GaugeValue, 1, m.node, m.policy)
	}
}
