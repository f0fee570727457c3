package worker

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
)

// gauge returns the value of the series name{labels}, and whether it was
// gathered.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue series
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// The queue gauges read a real Redis: depth by state, the oldest pending
// job's age, and redis_up. When Redis goes away they keep their last values
// and redis_up says 0.
func TestQueueCollector(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newQueueCollector(asynq.NewInspectorFromRedisClient(rdb)))

	if up, _ := gauge(t, reg, "herald_redis_up", nil); up != 1 {
		t.Fatalf("herald_redis_up = %v before any queue exists, want 1", up)
	}
	if _, ok := gauge(t, reg, "herald_queue_tasks", nil); ok {
		t.Error("queue gauges for queues nobody has used")
	}

	client := asynq.NewClientFromRedisClient(rdb)
	for range 2 {
		if _, err := client.Enqueue(asynq.NewTask("easemob:push.sync", []byte(`{}`)), asynq.Queue("easemob")); err != nil {
			t.Fatal(err)
		}
	}
	// A raw client that forgot the queue strands its task in asynq's
	// "default", which no worker serves: the gauges show it all the same.
	if _, err := client.Enqueue(asynq.NewTask("easemob:push.sync", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	pending := map[string]string{"queue": "easemob", "state": "pending"}
	if n, _ := gauge(t, reg, "herald_queue_tasks", pending); n != 2 {
		t.Errorf("pending = %v, want 2", n)
	}
	if n, _ := gauge(t, reg, "herald_queue_tasks", map[string]string{"queue": "default", "state": "pending"}); n != 1 {
		t.Errorf("pending in the default queue = %v, want 1", n)
	}
	// asynq measures the age from when the task became pending; wait
	// until it shows.
	deadline := time.Now().Add(10 * time.Second)
	var age float64
	for age <= 0 && time.Now().Before(deadline) {
		age, _ = gauge(t, reg, "herald_queue_oldest_pending_seconds", map[string]string{"queue": "easemob"})
		time.Sleep(10 * time.Millisecond)
	}
	if age <= 0 || age > 60 {
		t.Errorf("oldest pending age = %v s, want a small positive age", age)
	}

	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if rdb.Ping(ctx).Err() == nil {
		t.Fatal("redis still answers after Stop")
	}
	if up, _ := gauge(t, reg, "herald_redis_up", nil); up != 0 {
		t.Errorf("herald_redis_up = %v with Redis down, want 0", up)
	}
	if n, ok := gauge(t, reg, "herald_queue_tasks", pending); !ok || n != 2 {
		t.Errorf("pending = %v (%v) with Redis down, want the last value 2 kept", n, ok)
	}
}

// herald_build_info is 1 and carries the Go version.
func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	v, ok := gauge(t, reg, "herald_build_info", map[string]string{"go_version": runtime.Version()})
	if !ok || v != 1 {
		t.Fatalf("herald_build_info{go_version=%q} = %v (%v), want 1", runtime.Version(), v, ok)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "herald_build_info" {
			for _, lp := range mf.GetMetric()[0].GetLabel() {
				if strings.TrimSpace(lp.GetValue()) == "" {
					t.Errorf("label %s is empty", lp.GetName())
				}
			}
		}
	}
}
