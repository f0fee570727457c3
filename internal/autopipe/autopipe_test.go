package autopipe

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// pipelines records the pipelines a client sends, and can hold the first
// until released.
type pipelines struct {
	mu    sync.Mutex
	sizes []int
	hold  chan struct{} // closed to let the first pipeline go; nil: none held
}

func (p *pipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (p *pipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (p *pipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if cmds[0].Name() == "hello" || cmds[0].Name() == "client" {
			return next(ctx, cmds) // a new connection's own start
		}
		p.mu.Lock()
		p.sizes = append(p.sizes, len(cmds))
		first := len(p.sizes) == 1
		p.mu.Unlock()
		if first && p.hold != nil {
			<-p.hold
		}
		return next(ctx, cmds)
	}
}

func (p *pipelines) sent() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.sizes...)
}

func TestExecAloneGoesAtOnce(t *testing.T) {
	rdb := srv.Client(t)
	var p pipelines
	rdb.AddHook(&p)
	b := New(rdb)
	ctx := context.Background()

	set := redis.NewStatusCmd(ctx, "SET", "k", "v")
	get := redis.NewStringCmd(ctx, "GET", "k")
	if err := b.Exec(ctx, []redis.Cmder{set, get}); err != nil {
		t.Fatal(err)
	}
	if got, err := get.Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
	if got := p.sent(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("pipelines sent %v, want one of 2 commands", got)
	}
}

// While one pipeline is out, every caller that comes queues into the next,
// and each gets its own replies.
func TestExecJoinsCallersWhileAPipelineIsOut(t *testing.T) {
	b, rdb, p, first := heldOut(t)
	ctx := context.Background()

	const callers = 50
	var wg sync.WaitGroup
	got := make([]int64, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "n" + strconv.Itoa(i)
			incr := redis.NewIntCmd(ctx, "INCRBY", key, i)
			errs[i] = b.Exec(ctx, []redis.Cmder{incr, redis.NewIntCmd(ctx, "INCRBY", key, i)})
			got[i] = incr.Val()
		}()
	}
	waitFor(t, func() bool { return queued(b) == 2*callers })
	close(p.hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := range callers {
		if errs[i] != nil || got[i] != int64(i) {
			t.Errorf("caller %d: first INCRBY = %d, %v; want %d", i, got[i], errs[i], i)
		}
		if n, _ := rdb.Get(ctx, "n"+strconv.Itoa(i)).Int64(); n != int64(2*i) {
			t.Errorf("caller %d: key holds %d, want %d", i, n, 2*i)
		}
	}
	if sent := p.sent(); len(sent) != 2 || sent[1] != 2*callers {
		t.Fatalf("pipelines sent %v, want [1 %d]", sent, 2*callers)
	}
}

// A pipeline from Pipeline is queued and read as any go-redis pipeline, and
// joins other callers' round trips.
func TestPipelineJoins(t *testing.T) {
	b, _, p, _ := heldOut(t)
	ctx := context.Background()

	var wg sync.WaitGroup
	for _, v := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pipe := b.Pipeline()
			pipe.Set(ctx, v, v+v, 0)
			get := pipe.Get(ctx, v)
			cmds, err := pipe.Exec(ctx)
			if err != nil || len(cmds) != 2 || get.Val() != v+v {
				t.Errorf("pipeline for %s: %d commands, GET %q, %v", v, len(cmds), get.Val(), err)
			}
			if pipe.Len() != 0 {
				t.Errorf("pipeline for %s holds %d commands after Exec", v, pipe.Len())
			}
		}()
	}
	waitFor(t, func() bool { return queued(b) == 4 })
	close(p.hold)
	wg.Wait()
	if sent := p.sent(); len(sent) != 2 || sent[1] != 4 {
		t.Fatalf("pipelines sent %v, want [1 4]", sent)
	}
}

// A command's error is its own: the caller beside it in the pipeline is
// untouched.
func TestExecErrorsStayWithTheirCommands(t *testing.T) {
	b, rdb, p, _ := heldOut(t)
	ctx := context.Background()
	if err := rdb.LPush(ctx, "list", "x").Err(); err != nil {
		t.Fatal(err)
	}

	bad := redis.NewIntCmd(ctx, "INCR", "list")
	good := redis.NewIntCmd(ctx, "INCR", "counter")
	var badErr, goodErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); badErr = b.Exec(ctx, []redis.Cmder{bad}) }()
	go func() { defer wg.Done(); goodErr = b.Exec(ctx, []redis.Cmder{good}) }()
	waitFor(t, func() bool { return queued(b) == 2 })
	close(p.hold)
	wg.Wait()
	if badErr == nil || !redis.HasErrorPrefix(badErr, "WRONGTYPE") {
		t.Errorf("INCR on a list: Exec = %v, want WRONGTYPE", badErr)
	}
	if goodErr != nil || good.Val() != 1 {
		t.Errorf("INCR beside it: %d, %v; want 1, nil", good.Val(), goodErr)
	}
}

// Redis away: every caller gets the connection's error, none hangs.
func TestExecRedisAway(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	b := New(rdb)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := redis.NewStatusCmd(ctx, "PING")
			var op *net.OpError
			if err := b.Exec(ctx, []redis.Cmder{cmd}); !errors.As(err, &op) || !errors.As(cmd.Err(), &op) {
				t.Errorf("Exec = %v, command %v; want the dial error", err, cmd.Err())
			}
		}()
	}
	wg.Wait()
}

// heldOut returns a Batcher whose first pipeline (a PING) is out and held
// until p.hold is closed; the PING's Exec error arrives on first.
func heldOut(t *testing.T) (b *Batcher, rdb *redis.Client, p *pipelines, first <-chan error) {
	rdb = srv.Client(t)
	p = &pipelines{hold: make(chan struct{})}
	rdb.AddHook(p)
	b = New(rdb)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() { errc <- b.Exec(ctx, []redis.Cmder{redis.NewStatusCmd(ctx, "PING")}) }()
	waitFor(t, func() bool { return len(p.sent()) == 1 })
	return b, rdb, p, errc
}

// queued is how many commands wait for the next pipeline.
func queued(b *Batcher) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		return 0
	}
	return len(b.open.cmds)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
