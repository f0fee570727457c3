package feishu

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RefreshStore keeps one account's refresh token where every replica sees
// it: a Redis hash beside the account's cached user token,
//
//	herald:token:{feishu:<account>:user}          the user token (TokenCache)
//	herald:token:{feishu:<account>:user}:lock     its refresh lock (TokenCache)
//	herald:token:{feishu:<account>:user}:refresh  hash: refresh_token,
//	    access_token, access_expires_at, rotated_at, reauth
//
// all in one Cluster slot, so each change below is one atomic script.
//
// Feishu rotates the refresh token on every use and refuses a used one, so
// the rules are:
//   - only the holder of the user token's refresh lock redeems the refresh
//     token (the TokenCache's fetch runs under that lock);
//   - the pair Feishu answers with is stored before anything else, and
//     only if the refresh token in Redis is still the one redeemed
//     (compare-and-set): an operator's new token stored meanwhile wins;
//   - a refusal pauses the account (the reauth field) only if the refused
//     token is still the current one, so a replica whose lock ran out
//     cannot pause an account another replica has just rotated.
//
// The zero value is not usable; use NewRefreshStore. A nil Redis keeps the
// state in the store itself (one process).
type RefreshStore struct {
	rdb     redis.UniversalClient
	account string
	key     string
	userKey string

	mu  sync.Mutex
	mem map[string]string
}

// NewRefreshStore returns the store for account's refresh token in rdb.
func NewRefreshStore(rdb redis.UniversalClient, account string) *RefreshStore {
	k := userTokenKey(account)
	return &RefreshStore{
		rdb: rdb, account: account,
		key:     "herald:token:{" + k + "}:refresh",
		userKey: "herald:token:{" + k + "}",
	}
}

// userTokenKey is the TokenCache key of account's user token.
func userTokenKey(account string) string { return "feishu:" + account + ":user" }

// refreshState is what the store holds for the account.
type refreshState struct {
	Token  string // "" when Redis holds none: the config's bootstrap applies
	Reauth string // why the account is paused; "" when it is not
}

var (
	// rotateScript stores the pair Feishu answered with if the refresh
	// token is still the one redeemed (ARGV[1]; "" means none was stored,
	// the config's bootstrap was used).
	rotateScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'refresh_token') or ''
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'refresh_token', ARGV[2], 'access_token', ARGV[3], 'access_expires_at', ARGV[4], 'rotated_at', ARGV[5])
redis.call('HDEL', KEYS[1], 'reauth')
return 1
`)
	// refuseScript pauses the account if the refused token (ARGV[1]) is
	// still current.
	refuseScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'refresh_token') or ''
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'reauth', ARGV[2])
return 1
`)
	// storeScript is the operator's: a new refresh token, no pause, and no
	// cached user token, so the next call refreshes with it.
	storeScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'refresh_token', ARGV[1], 'rotated_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'reauth', 'access_token', 'access_expires_at')
redis.call('DEL', KEYS[2])
return 1
`)
)

func (s *RefreshStore) load(ctx context.Context) (refreshState, error) {
	if s.rdb == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return refreshState{Token: s.mem["refresh_token"], Reauth: s.mem["reauth"]}, nil
	}
	v, err := s.rdb.HMGet(ctx, s.key, "refresh_token", "reauth").Result()
	if err != nil {
		return refreshState{}, fmt.Errorf("feishu: read refresh token: %w", err)
	}
	str := func(x any) string { s, _ := x.(string); return s }
	return refreshState{Token: str(v[0]), Reauth: str(v[1])}, nil
}

// rotate stores the new pair if old is still current. It reports false if
// someone (an operator) stored another token meanwhile.
func (s *RefreshStore) rotate(ctx context.Context, old, refresh, access string, exp, now time.Time) (bool, error) {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	if s.rdb == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.mem["refresh_token"] != old {
			return false, nil
		}
		s.set(map[string]string{"refresh_token": refresh, "access_token": access, "access_expires_at": ms(exp), "rotated_at": ms(now)})
		delete(s.mem, "reauth")
		return true, nil
	}
	n, err := rotateScript.Run(ctx, s.rdb, []string{s.key}, old, refresh, access, ms(exp), ms(now)).Int()
	if err != nil {
		return false, fmt.Errorf("feishu: store rotated refresh token: %w", err)
	}
	return n == 1, nil
}

// refuse pauses the account with reason if old is still current, and
// reports whether it did.
func (s *RefreshStore) refuse(ctx context.Context, old, reason string) (bool, error) {
	if s.rdb == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.mem["refresh_token"] != old {
			return false, nil
		}
		s.set(map[string]string{"reauth": reason})
		return true, nil
	}
	n, err := refuseScript.Run(ctx, s.rdb, []string{s.key}, old, reason).Int()
	if err != nil {
		return false, fmt.Errorf("feishu: mark account for re-authorization: %w", err)
	}
	return n == 1, nil
}

// Store replaces the refresh token with one an operator obtained (a new
// authorization of the user), lifts any pause and forgets the cached user
// token, so the account's next call refreshes with it.
func (s *RefreshStore) Store(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return errors.New("feishu: refresh token is empty")
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if s.rdb == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.mem = map[string]string{"refresh_token": refreshToken, "rotated_at": now}
		return nil
	}
	if err := storeScript.Run(ctx, s.rdb, []string{s.key, s.userKey}, refreshToken, now).Err(); err != nil {
		return fmt.Errorf("feishu: store refresh token for account %q: %w", s.account, err)
	}
	return nil
}

// NeedsReauth reports whether the account is paused because Feishu refused
// its refresh token, and why.
func (s *RefreshStore) NeedsReauth(ctx context.Context) (bool, string, error) {
	st, err := s.load(ctx)
	if err != nil {
		return false, "", err
	}
	return st.Reauth != "", st.Reauth, nil
}

func (s *RefreshStore) set(kv map[string]string) {
	if s.mem == nil {
		s.mem = map[string]string{}
	}
	for k, v := range kv {
		s.mem[k] = v
	}
}

// StoreRefreshToken stores a new refresh token for account in rdb: what
// `worker feishu-auth <account>` does. Waiting jobs pick it up on their
// next attempt.
func StoreRefreshToken(ctx context.Context, rdb redis.UniversalClient, account, refreshToken string) error {
	if rdb == nil {
		return errors.New("feishu: StoreRefreshToken needs the workers' Redis")
	}
	return NewRefreshStore(rdb, account).Store(ctx, refreshToken)
}
