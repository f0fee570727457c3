// Package pipescript queues Lua script runs on a go-redis pipeline, so
// that several scripts (and plain commands) cost one round trip: one per
// node on Redis Cluster, where a pipeline over several slots is split by
// node.
//
// A script queued by its SHA only runs if the server has it cached;
// redis.Script.Run falls back to EVAL by itself, but on a pipeline it
// cannot, since the NOSCRIPT reply comes after Exec. Result does that
// fallback: a NOSCRIPT reply means the script did not run, so running it
// again cannot count anything twice.
package pipescript

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Queued is one script run queued on a pipeline.
type Queued struct {
	script *redis.Script
	rdb    redis.Scripter
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// Queue queues s on pipe. rdb is where it runs again if the server lost
// its script cache (a restart, a failover, SCRIPT FLUSH).
func Queue(ctx context.Context, pipe redis.Pipeliner, rdb redis.Scripter, s *redis.Script, keys []string, args ...any) *Queued {
	return &Queued{script: s, rdb: rdb, keys: keys, args: args, cmd: s.EvalSha(ctx, pipe, keys, args...)}
}

// Result is the script's reply, once the pipeline has run.
func (q *Queued) Result(ctx context.Context) *redis.Cmd {
	if redis.HasErrorPrefix(q.cmd.Err(), "NOSCRIPT") {
		q.cmd = q.script.Run(ctx, q.rdb, q.keys, q.args...)
	}
	return q.cmd
}
