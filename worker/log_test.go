package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

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
