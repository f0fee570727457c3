package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for a TokenCache whose fields are left zero.
const (
	// DefaultTokenMargin is how long before expiry a cached token stops
	// being handed out. A call that starts with a token about to expire
	// could reach the provider after it has; five minutes covers a slow
	// call plus a few retries, and is what most providers' SDKs use
	// (Feishu's Go SDK uses three).
	DefaultTokenMargin = 5 * time.Minute
	// DefaultTokenLockTTL bounds how long one replica may hold the refresh
	// lock. It must be longer than a token request takes: the fetch is
	// cancelled when it runs out, and another replica may take over.
	DefaultTokenLockTTL = 15 * time.Second
	// DefaultTokenLocalTTL is a good LocalTTL for a token that is only
	// ever replaced on expiry or an auth error (the worker's Easemob app
	// tokens).
	DefaultTokenLocalTTL = 30 * time.Second
)

// Token is an access token and the moment the provider says it expires.
// A zero ExpiresAt means the token does not expire (Easemob issues such
// tokens when asked for ttl 0): it is cached until an auth error drops it.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// FetchFunc asks the provider for a new token. It runs on one replica at a
// time per key, bounded by the cache's LockTTL.
type FetchFunc func(ctx context.Context) (Token, error)

// TokenCache keeps provider tokens in Redis so every worker replica uses the
// same one. Providers ban apps that ask for tokens too often (Easemob says so
// outright), so a miss is refreshed under a Redis lock: one replica fetches,
// the others poll the cache until the token appears.
//
// A token for key k lives at "herald:token:{k}" and the refresh lock at
// "herald:token:{k}:lock"; the hash tag keeps both in one Redis Cluster slot.
//
// The zero value, and NewTokenCache(nil), keep tokens in process memory
// instead: fine for one process (a test, the demo, a CLI), but each process
// then fetches its own token. Set the exported fields before first use.
type TokenCache struct {
	// Margin is subtracted from a token's lifetime to get how long it is
	// cached. Zero means DefaultTokenMargin; a negative margin means none.
	// A token that lives less than the margin is cached for half its life.
	Margin time.Duration
	// LockTTL is how long the refresh lock is held at most, and so the
	// longest a fetch may take. Zero means DefaultTokenLockTTL.
	LockTTL time.Duration
	// LocalTTL is how long a process keeps using a token it has read from
	// (or stored in) Redis without asking Redis again, so a job costs no
	// Redis read while its token is fresh. It never outlasts the token's
	// own time in Redis. Zero (the default) reads Redis on every call.
	// A token another replica drops after an auth error, or an operator
	// deletes from Redis, is dropped here when this process meets the same
	// error, or after LocalTTL at the latest: so leave it zero where a
	// token is replaced by hand (Feishu's user token after
	// re-authorization).
	LocalTTL time.Duration

	rdb   redis.UniversalClient
	mem   memStore // the store itself when rdb is nil
	local memStore // with rdb: tokens fresh in this process
}

// NewTokenCache returns a cache kept in rdb, shared by every process that
// uses the same Redis. A nil rdb keeps tokens in process memory.
func NewTokenCache(rdb redis.UniversalClient) *TokenCache {
	return &TokenCache{rdb: rdb}
}

// Token returns the cached token for key, fetching a new one with fetch if
// there is none. Concurrent misses, in this process or any other sharing the
// Redis, result in one fetch: the others wait for its result, for as long as
// ctx allows. A fetch error is returned to the caller that fetched; waiting
// callers then try to fetch themselves.
func (c *TokenCache) Token(ctx context.Context, key string, fetch FetchFunc) (string, error) {
	s := c.store()
	k, lk := tokenKey(key), lockKey(key)
	if v, ok := c.fresh(k); ok {
		return v, nil
	}
	owner, err := newOwner()
	if err != nil {
		return "", err
	}
	wait := 5 * time.Millisecond
	for {
		v, ttl, locked, err := s.getOrLock(ctx, k, lk, owner, c.lockTTL())
		if err != nil {
			return "", fmt.Errorf("providers: token %s: %w", key, err)
		}
		if v != "" {
			c.keep(k, v, ttl)
			return v, nil
		}
		if locked {
			return c.refresh(ctx, s, key, owner, fetch)
		}
		// Another replica is fetching. Poll with a growing pause, capped
		// so a waiter notices the token soon after it lands.
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("providers: token %s: waiting for another refresh: %w", key, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// refresh runs fetch while holding the lock, stores the token and releases
// the lock, whatever happens.
func (c *TokenCache) refresh(ctx context.Context, s tokenStore, key, owner string, fetch FetchFunc) (string, error) {
	k, lk := tokenKey(key), lockKey(key)
	// Cleanup must happen even if the caller's ctx is done by now, or the
	// other replicas wait for the lock to expire.
	cleanup := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	}
	fctx, cancel := context.WithTimeout(ctx, c.lockTTL())
	tok, err := fetch(fctx)
	cancel()
	if err == nil && tok.Value == "" {
		err = errors.New("fetch returned an empty token")
	}
	if err != nil {
		cctx, ccancel := cleanup()
		defer ccancel()
		_ = s.compareAndDelete(cctx, lk, owner)
		return "", fmt.Errorf("providers: token %s: %w", key, err)
	}
	cctx, ccancel := cleanup()
	defer ccancel()
	ttl := c.ttl(tok, time.Now())
	if ttl < 0 {
		// Already (nearly) expired: use it for this call, cache nothing.
		_ = s.compareAndDelete(cctx, lk, owner)
		return tok.Value, nil
	}
	// A failed store still leaves the caller a usable token; the lock
	// expires on its own and the next miss refetches.
	if s.storeAndUnlock(cctx, k, lk, owner, tok.Value, ttl) == nil {
		c.keep(k, tok.Value, ttl)
	}
	return tok.Value, nil
}

// Drop removes the cached token for key, but only if it is still token: after
// an auth error, a replica must not throw away a fresher token another
// replica has just stored.
func (c *TokenCache) Drop(ctx context.Context, key, token string) error {
	_ = c.local.compareAndDelete(ctx, tokenKey(key), token)
	if err := c.store().compareAndDelete(ctx, tokenKey(key), token); err != nil {
		return fmt.Errorf("providers: drop token %s: %w", key, err)
	}
	return nil
}

// ttl is how long tok may be cached: 0 for ever, negative not at all.
func (c *TokenCache) ttl(tok Token, now time.Time) time.Duration {
	if tok.ExpiresAt.IsZero() {
		return 0
	}
	life := tok.ExpiresAt.Sub(now)
	m := c.margin()
	var ttl time.Duration
	if life > m {
		ttl = life - m
	} else {
		ttl = life / 2
	}
	if ttl < time.Millisecond {
		return -1
	}
	return ttl
}

func (c *TokenCache) margin() time.Duration {
	switch {
	case c.Margin == 0:
		return DefaultTokenMargin
	case c.Margin < 0:
		return 0
	}
	return c.Margin
}

// fresh returns the token for Redis key k if this process holds it fresh.
func (c *TokenCache) fresh(k string) (string, bool) {
	if c.rdb == nil || c.LocalTTL <= 0 {
		return "", false
	}
	c.local.mu.Lock()
	defer c.local.mu.Unlock()
	return c.local.get(k, time.Now())
}

// keep holds v in process memory for LocalTTL, but no longer than ttl, its
// time left in Redis (0: no expiry).
func (c *TokenCache) keep(k, v string, ttl time.Duration) {
	if c.rdb == nil || c.LocalTTL <= 0 {
		return
	}
	life := c.LocalTTL
	if ttl > 0 {
		life = min(life, ttl)
	}
	c.local.mu.Lock()
	defer c.local.mu.Unlock()
	c.local.set(k, v, life, time.Now())
}

func (c *TokenCache) lockTTL() time.Duration {
	if c.LockTTL <= 0 {
		return DefaultTokenLockTTL
	}
	return c.LockTTL
}

func (c *TokenCache) store() tokenStore {
	if c.rdb != nil {
		return redisStore{c.rdb}
	}
	return &c.mem
}

func tokenKey(key string) string { return "herald:token:{" + key + "}" }
func lockKey(key string) string  { return "herald:token:{" + key + "}:lock" }

// newOwner is a random lock value, so only the holder releases the lock.
func newOwner() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("providers: lock owner: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// tokenStore is where tokens and refresh locks live: Redis, or this process.
type tokenStore interface {
	// getOrLock returns the cached value of k with its time left (0: no
	// expiry) or, if there is none, tries to take the lock lk for owner.
	// Value empty and false: someone else holds the lock.
	getOrLock(ctx context.Context, k, lk, owner string, lockTTL time.Duration) (v string, ttl time.Duration, locked bool, err error)
	// storeAndUnlock caches v at k for ttl (0: no expiry) and releases lk
	// if owner still holds it.
	storeAndUnlock(ctx context.Context, k, lk, owner, v string, ttl time.Duration) error
	// compareAndDelete deletes k if its value is v.
	compareAndDelete(ctx context.Context, k, v string) error
}

// The scripts make each step one atomic round trip, so a replica never sees
// "no token" and then loses the race for a lock whose holder has already
// stored one.
var (
	getOrLockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return {1, v, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, '', 0} end
return {0, '', 0}
`)
	storeAndUnlockScript = redis.NewScript(`
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
`)
	compareAndDeleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)
)

type redisStore struct{ rdb redis.UniversalClient }

func (r redisStore) getOrLock(ctx context.Context, k, lk, owner string, lockTTL time.Duration) (string, time.Duration, bool, error) {
	res, err := getOrLockScript.Run(ctx, r.rdb, []string{k, lk}, owner, lockTTL.Milliseconds()).Slice()
	if err != nil {
		return "", 0, false, err
	}
	if len(res) != 3 {
		return "", 0, false, fmt.Errorf("unexpected script reply %v", res)
	}
	state, _ := res[0].(int64)
	v, _ := res[1].(string)
	pttl, _ := res[2].(int64)
	switch state {
	case 1:
		// PTTL is -1 for a key without expiry.
		return v, time.Duration(max(pttl, 0)) * time.Millisecond, false, nil
	case 2:
		return "", 0, true, nil
	}
	return "", 0, false, nil
}

func (r redisStore) storeAndUnlock(ctx context.Context, k, lk, owner, v string, ttl time.Duration) error {
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	return storeAndUnlockScript.Run(ctx, r.rdb, []string{k, lk}, v, ms, owner).Err()
}

func (r redisStore) compareAndDelete(ctx context.Context, k, v string) error {
	return compareAndDeleteScript.Run(ctx, r.rdb, []string{k}, v).Err()
}

// memStore is the in-process tokenStore. Its zero value is ready.
type memStore struct {
	mu      sync.Mutex
	entries map[string]memEntry
}

type memEntry struct {
	v   string
	exp time.Time // zero: no expiry
}

func (m *memStore) get(k string, now time.Time) (string, bool) {
	e, ok := m.entries[k]
	if !ok {
		return "", false
	}
	if !e.exp.IsZero() && !now.Before(e.exp) {
		delete(m.entries, k)
		return "", false
	}
	return e.v, true
}

func (m *memStore) set(k, v string, ttl time.Duration, now time.Time) {
	if m.entries == nil {
		m.entries = make(map[string]memEntry)
	}
	e := memEntry{v: v}
	if ttl > 0 {
		e.exp = now.Add(ttl)
	}
	m.entries[k] = e
}

func (m *memStore) getOrLock(_ context.Context, k, lk, owner string, lockTTL time.Duration) (string, time.Duration, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if v, ok := m.get(k, now); ok {
		return v, 0, false, nil
	}
	if _, held := m.get(lk, now); held {
		return "", 0, false, nil
	}
	m.set(lk, owner, lockTTL, now)
	return "", 0, true, nil
}

func (m *memStore) storeAndUnlock(_ context.Context, k, lk, owner, v string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.set(k, v, ttl, now)
	if cur, ok := m.get(lk, now); ok && cur == owner {
		delete(m.entries, lk)
	}
	return nil
}

func (m *memStore) compareAndDelete(_ context.Context, k, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.get(k, time.Now()); ok && cur == v {
		delete(m.entries, k)
	}
	return nil
}
