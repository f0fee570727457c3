// Package autopipe sends the commands of many goroutines to Redis in shared
// pipelines, so that concurrent jobs pay for one round trip between them
// instead of one each.
//
// A round trip costs more than the small commands it carries: a write and
// a read system call on each side, and the server's event loop. Herald's
// worker makes two short pipelines per job (before the provider call and
// after it) from as many goroutines as it has slots; under load, those of
// different jobs are sent together.
//
// It is group commit: the first goroutine to queue into an empty batch
// leads it. It waits until the pipeline before has been answered, takes
// the batch with whatever other goroutines queued meanwhile, and sends it.
// A goroutine alone is sent at once, so an idle worker waits for nothing;
// a busy one waits at most for the pipeline already out.
//
// go-redis's own AutoPipeliner (experimental in v9.23) joins single
// commands; it joins whole pipelines only in its full-duplex mode, on one
// held connection, which its documentation advises against on a fast link.
// A job here queues a pipeline of scripts and reads each reply after, so
// the pipeline is the unit joined.
package autopipe

import (
	"context"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Batcher joins the commands of concurrent Exec calls into one pipeline.
// It is safe for concurrent use. Make one with New.
type Batcher struct {
	rdb  redis.UniversalClient
	mu   sync.Mutex
	open *batch // the batch callers queue into; nil until one does
	// turn is held by the leader of the pipeline that is out.
	turn chan struct{}
}

// batch is the commands of one pipeline, and its end.
type batch struct {
	cmds []redis.Cmder
	done chan struct{}
}

// New returns a Batcher sending on rdb (a Cluster client splits each
// pipeline by node, as it does any pipeline).
func New(rdb redis.UniversalClient) *Batcher {
	return &Batcher{rdb: rdb, turn: make(chan struct{}, 1)}
}

// Exec sends cmds, with those of any other Exec calls at about the same
// time, and returns once they are answered: each command holds its own
// reply and error, as after a pipeline's Exec. The error returned is the
// first of cmds' errors (redis.Nil included, as from a pipeline).
//
// The commands go whatever happens to ctx once queued, as another caller
// may be waiting on the same pipeline; ctx's values (tracing, say) reach
// the pipeline when this call leads it.
func (b *Batcher) Exec(ctx context.Context, cmds []redis.Cmder) error {
	if len(cmds) == 0 {
		return nil
	}
	b.mu.Lock()
	bt := b.open
	lead := bt == nil
	if lead {
		bt = &batch{done: make(chan struct{})}
		b.open = bt
	}
	bt.cmds = append(bt.cmds, cmds...)
	b.mu.Unlock()

	if lead {
		b.send(ctx, bt)
	} else {
		<-bt.done
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// send waits for the pipeline out to be answered, then sends bt. The turn
// and the followers are released however it ends: a leader that never
// let go would stall every job after it.
func (b *Batcher) send(ctx context.Context, bt *batch) {
	b.turn <- struct{}{}
	defer func() {
		<-b.turn
		close(bt.done)
	}()
	// From here on, callers start the next batch.
	b.mu.Lock()
	b.open = nil
	b.mu.Unlock()
	pipe := b.rdb.Pipeline()
	_ = pipe.BatchProcess(ctx, bt.cmds...)
	_, _ = pipe.Exec(context.WithoutCancel(ctx)) // every command holds its own error
}

// Pipeline returns a pipeline whose Exec goes through b: code written
// against a go-redis pipeline (queue commands, Exec, read each reply) joins
// other callers' round trips unchanged.
func (b *Batcher) Pipeline() redis.Pipeliner {
	return pipeline{Pipeliner: b.rdb.Pipeline(), b: b}
}

type pipeline struct {
	redis.Pipeliner
	b *Batcher
}

func (p pipeline) Exec(ctx context.Context) ([]redis.Cmder, error) {
	cmds := slices.Clone(p.Cmds())
	p.Discard()
	return cmds, p.b.Exec(ctx, cmds)
}

func (p pipeline) Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	if err := fn(p); err != nil {
		return nil, err
	}
	return p.Exec(ctx)
}
