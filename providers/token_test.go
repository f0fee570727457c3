package providers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

const testKey = "easemob:default"

// stores runs a test against both homes of a TokenCache: Redis, shared by
// replicas, and process memory, the zero value.
var stores = []struct {
	name string
	new  func(t *testing.T) *providers.TokenCache
}{
	{"redis", func(t *testing.T) *providers.TokenCache { return providers.NewTokenCache(srv.Client(t)) }},
	{"memory", func(t *testing.T) *providers.TokenCache { return &providers.TokenCache{} }},
}

// counter is a FetchFunc that counts its calls and hands out "tok-1",
// "tok-2", … valid for an hour.
type counter struct{ n atomic.Int64 }

func (c *counter) fetch(ctx context.Context) (providers.Token, error) {
	n := c.n.Add(1)
	return providers.Token{Value: fmt.Sprintf("tok-%d", n), ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func TestTokenMissFetchesOnceAndCaches(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			c := st.new(t)
			var f counter
			for i := range 3 {
				got, err := c.Token(t.Context(), testKey, f.fetch)
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if got != "tok-1" {
					t.Fatalf("call %d: token %q, want tok-1", i, got)
				}
			}
			if n := f.n.Load(); n != 1 {
				t.Fatalf("fetched %d times, want 1", n)
			}
		})
	}
}

func TestTokenStoredUnderHashTaggedKey(t *testing.T) {
	rdb := srv.Client(t)
	c := providers.NewTokenCache(rdb)
	var f counter
	if _, err := c.Token(t.Context(), testKey, f.fetch); err != nil {
		t.Fatal(err)
	}
	got, err := rdb.Get(t.Context(), "herald:token:{easemob:default}").Result()
	if err != nil || got != "tok-1" {
		t.Fatalf("GET herald:token:{easemob:default} = %q, %v; want tok-1", got, err)
	}
	if n := rdb.Exists(t.Context(), "herald:token:{easemob:default}:lock").Val(); n != 0 {
		t.Fatal("refresh lock still held after the token was stored")
	}
}

// evalCounter counts the Lua scripts a Redis client ran successfully, so a
// test can wait until every goroutine has looked at the cache.
type evalCounter struct{ n atomic.Int64 }

func (h *evalCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *evalCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *evalCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if name := cmd.Name(); err == nil && (name == "evalsha" || name == "eval") {
			h.n.Add(1)
		}
		return err
	}
}

// TestTokenConcurrentMissesFetchOnce has 20 goroutines miss at once, spread
// over two caches with their own Redis connections (two replicas). The one
// fetch is held open until every goroutine has asked Redis for the token, so
// all of them see the miss while the fetch is under way.
func TestTokenConcurrentMissesFetchOnce(t *testing.T) {
	rdb := srv.Client(t)
	newClient := func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr}) }
	fetchOnceAcrossReplicas(t, newClient, testKey, func(ctx context.Context) {
		if rdb.Exists(ctx, "herald:token:{easemob:default}").Val() != 0 {
			t.Fatal("token cached before the fetch returned")
		}
	})
}

// fetchOnceAcrossReplicas has 20 callers, spread over two replicas with
// clients from newClient, miss key at once, and checks that one fetch
// served them all. The fetch is held until every caller has looked up the
// token; whileHeld runs then.
func fetchOnceAcrossReplicas(t *testing.T, newClient func() redis.UniversalClient, key string, whileHeld func(context.Context)) {
	t.Helper()
	const callers = 20
	var evals evalCounter
	replicas := make([]*providers.TokenCache, 2)
	for i := range replicas {
		c := newClient()
		t.Cleanup(func() { c.Close() })
		c.AddHook(&evals)
		replicas[i] = providers.NewTokenCache(c)
	}

	release := make(chan struct{})
	var fetches atomic.Int64
	fetch := func(ctx context.Context) (providers.Token, error) {
		n := fetches.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return providers.Token{}, ctx.Err()
		}
		return providers.Token{Value: fmt.Sprintf("tok-%d", n), ExpiresAt: time.Now().Add(time.Hour)}, nil
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = replicas[i%2].Token(ctx, key, fetch) })
	}
	simtest.WaitUntil(t, "every caller to look up the token", func() bool { return evals.n.Load() >= callers })
	if whileHeld != nil {
		whileHeld(ctx)
	}
	close(release)
	wg.Wait()

	for i := range callers {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Errorf("caller %d: %q, %v; want tok-1", i, got[i], errs[i])
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetched %d times, want 1", n)
	}
}

func TestTokenConcurrentMissesFetchOnceInMemory(t *testing.T) {
	const callers = 20
	var c providers.TokenCache
	var fetches atomic.Int64
	var started sync.WaitGroup
	started.Add(callers)
	release := make(chan struct{})
	fetch := func(ctx context.Context) (providers.Token, error) {
		fetches.Add(1)
		<-release
		return providers.Token{Value: "tok", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			started.Done()
			if got, err := c.Token(t.Context(), testKey, fetch); err != nil || got != "tok" {
				t.Errorf("Token = %q, %v", got, err)
			}
		})
	}
	started.Wait()
	simtest.WaitUntil(t, "the fetch to start", func() bool { return fetches.Load() > 0 })
	close(release)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetched %d times, want 1", n)
	}
}

func TestTokenDropOnlyMatching(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			c := st.new(t)
			var f counter
			if _, err := c.Token(t.Context(), testKey, f.fetch); err != nil {
				t.Fatal(err)
			}
			// Another replica already replaced the token we saw fail.
			if err := c.Drop(t.Context(), testKey, "tok-stale"); err != nil {
				t.Fatal(err)
			}
			if got, _ := c.Token(t.Context(), testKey, f.fetch); got != "tok-1" || f.n.Load() != 1 {
				t.Fatalf("after dropping a different token: %q after %d fetches; want tok-1 after 1", got, f.n.Load())
			}
			if err := c.Drop(t.Context(), testKey, "tok-1"); err != nil {
				t.Fatal(err)
			}
			if got, _ := c.Token(t.Context(), testKey, f.fetch); got != "tok-2" || f.n.Load() != 2 {
				t.Fatalf("after dropping the cached token: %q after %d fetches; want tok-2 after 2", got, f.n.Load())
			}
		})
	}
}

func TestTokenTTLHonoursMargin(t *testing.T) {
	tests := []struct {
		name   string
		margin time.Duration
		life   time.Duration
		want   time.Duration // -1: no expiry
	}{
		{"default margin", 0, time.Hour, 55 * time.Minute},
		{"custom margin", 10 * time.Minute, time.Hour, 50 * time.Minute},
		{"negative margin is none", -time.Minute, time.Hour, time.Hour},
		{"shorter than margin: half its life", 0, 4 * time.Minute, 2 * time.Minute},
		{"equal to margin: half its life", 0, 5 * time.Minute, 150 * time.Second},
		{"no expiry", 0, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := srv.Client(t)
			c := providers.NewTokenCache(rdb)
			c.Margin = tt.margin
			fetch := func(context.Context) (providers.Token, error) {
				tok := providers.Token{Value: "tok"}
				if tt.life > 0 {
					tok.ExpiresAt = time.Now().Add(tt.life)
				}
				return tok, nil
			}
			if _, err := c.Token(t.Context(), testKey, fetch); err != nil {
				t.Fatal(err)
			}
			got := rdb.PTTL(t.Context(), "herald:token:{easemob:default}").Val()
			if tt.want < 0 {
				if got != -1 {
					t.Fatalf("PTTL %v, want none (-1)", got)
				}
				return
			}
			if got > tt.want || got < tt.want-2*time.Second {
				t.Fatalf("PTTL %v, want about %v", got, tt.want)
			}
		})
	}
}

func TestTokenExpiredIsNotCached(t *testing.T) {
	rdb := srv.Client(t)
	c := providers.NewTokenCache(rdb)
	var n int
	fetch := func(context.Context) (providers.Token, error) {
		n++
		return providers.Token{Value: "tok", ExpiresAt: time.Now().Add(-time.Second)}, nil
	}
	for range 2 {
		if got, err := c.Token(t.Context(), testKey, fetch); err != nil || got != "tok" {
			t.Fatalf("Token = %q, %v", got, err)
		}
	}
	if n != 2 {
		t.Fatalf("fetched %d times, want 2 (an expired token is used once, never cached)", n)
	}
	if rdb.Exists(t.Context(), "herald:token:{easemob:default}:lock").Val() != 0 {
		t.Fatal("lock left behind")
	}
}

func TestTokenFetchErrorPropagatesAndReleasesLock(t *testing.T) {
	errBoom := errors.New("provider said no")
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			c := st.new(t)
			fail := func(context.Context) (providers.Token, error) { return providers.Token{}, errBoom }
			_, err := c.Token(t.Context(), testKey, fail)
			if !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want it to wrap the fetch error", err)
			}
			// Were the lock still held, this call would wait for it to
			// expire (15 s) and run out of time.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			var f counter
			if got, err := c.Token(ctx, testKey, f.fetch); err != nil || got != "tok-1" {
				t.Fatalf("next Token = %q, %v; want tok-1", got, err)
			}
		})
	}
}

func TestTokenEmptyValueIsAnError(t *testing.T) {
	c := providers.NewTokenCache(srv.Client(t))
	empty := func(context.Context) (providers.Token, error) { return providers.Token{}, nil }
	if _, err := c.Token(t.Context(), testKey, empty); err == nil || !strings.Contains(err.Error(), "empty token") {
		t.Fatalf("err = %v, want an empty-token error", err)
	}
}

func TestTokenWaitIsBoundedByContext(t *testing.T) {
	rdb := srv.Client(t)
	// A replica holds the lock and is taking its time.
	rdb.Set(t.Context(), "herald:token:{easemob:default}:lock", "other-replica", time.Minute)
	c := providers.NewTokenCache(rdb)
	var f counter
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Token(ctx, testKey, f.fetch)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if f.n.Load() != 0 {
		t.Fatal("fetched while another replica held the lock")
	}
}

func TestTokenTakesOverAnExpiredLock(t *testing.T) {
	rdb := srv.Client(t)
	// A replica took the lock and crashed: the lock expires on its own.
	rdb.Set(t.Context(), "herald:token:{easemob:default}:lock", "crashed-replica", 300*time.Millisecond)
	c := providers.NewTokenCache(rdb)
	var f counter
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if got, err := c.Token(ctx, testKey, f.fetch); err != nil || got != "tok-1" {
		t.Fatalf("Token = %q, %v; want tok-1", got, err)
	}
	if f.n.Load() != 1 {
		t.Fatalf("fetched %d times, want 1", f.n.Load())
	}
}

func TestTokenFetchIsBoundedByLockTTL(t *testing.T) {
	c := providers.NewTokenCache(srv.Client(t))
	c.LockTTL = 100 * time.Millisecond
	slow := func(ctx context.Context) (providers.Token, error) {
		<-ctx.Done()
		return providers.Token{}, ctx.Err()
	}
	_, err := c.Token(t.Context(), testKey, slow)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the fetch cut off at LockTTL", err)
	}
}

// BenchmarkTokenHit is the cost every provider call pays: one round trip to
// Redis for a cached token.
func BenchmarkTokenHit(b *testing.B) {
	c := providers.NewTokenCache(srv.Client(b))
	var f counter
	ctx := context.Background()
	if _, err := c.Token(ctx, testKey, f.fetch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Token(ctx, testKey, f.fetch); err != nil {
			b.Fatal(err)
		}
	}
}
