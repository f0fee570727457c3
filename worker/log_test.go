package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/worker"
)

// go-redis's own messages come out as JSON lines at warn, like the rest of
// the worker's log.
func TestRedisLogIsJSON(t *testing.T) {
	var buf bytes.Buffer
	worker.RedisLog{Log: zerolog.New(&buf)}.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s", 5, "connection refused")
	var line struct{ Level, Message string }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q (%v)", buf.String(), err)
	}
	if line.Level != "warn" || line.Message != "redis: connection pool: failed to dial after 5 attempts: connection refused" {
		t.Errorf("got %+v", line)
	}
}

// A worker on a Redis that may evict keys says so at start, naming the
// policy; on a noeviction Redis it says nothing of it.
func TestWorkerWarnsWhenRedisEvicts(t *testing.T) {
	for _, policy := range []string{"allkeys-lru", "noeviction"} {
		t.Run(policy, func(t *testing.T) {
			own, err := redistest.Start() // its own: the test changes its config
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(own.Stop)
			rdb := own.Client(t)
			if err := rdb.ConfigSet(context.Background(), "maxmemory-policy", policy).Err(); err != nil {
				t.Fatal(err)
			}
			cfg := simConfig("http://127.0.0.1:1") // no job runs: the account is never called
			cfg.Redis.URL = own.URL()
			logs := &syncBuffer{}
			_, stop := runWorker(t, cfg, rdb, logs)
			awaitCond(t, 20*time.Second, "the worker to start", func() bool { return strings.Contains(logs.String(), `"message":"worker started"`) })
			stop()
			warned := strings.Contains(logs.String(), `"maxmemory_policy":"`+policy+`"`)
			if warned != (policy != "noeviction") {
				t.Errorf("maxmemory-policy %s: warned %v; logs:\n%s", policy, warned, logs.String())
			}
		})
	}
}
