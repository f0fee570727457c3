package feishu_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
)

// Eight replicas (each its own client, token cache and Redis connection)
// send for as long as three user tokens last. The refresh endpoint is
// called once per expiry, every refresh token is redeemed exactly once and
// in chain, and no call carries an expired token.
func TestRotationAcrossReplicas(t *testing.T) {
	const (
		replicas = 8
		userTTL  = 2 * time.Second        // Feishu says expires_in in whole seconds
		margin   = 500 * time.Millisecond // so a token is used for 1.5 s
		run      = 3600 * time.Millisecond
	)
	sim, url := startSim(t, feishusim.Options{UserTokenTTL: userTTL, ExecuteSendPerMinute: -1})
	bootstrap := sim.IssueRefreshToken()
	srv.Client(t) // empty Redis
	var clients []*feishu.Client
	for range replicas {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		cfg := config(url, bootstrap, rdb)
		cfg.Tokens = providers.NewTokenCache(rdb)
		cfg.Tokens.Margin = margin
		clients = append(clients, feishu.New(cfg))
	}
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	sent := make([]int, replicas)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < run {
				if _, err := c.Send(ctx, job("6985032626234982420")); err != nil {
					errs <- err
					return
				}
				sent[i]++
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	for _, call := range sim.Calls() {
		if call.Endpoint == feishusim.ExecuteSend && call.Error != "" {
			t.Errorf("execute_send answered %s (%d): a call carried a bad or expired token", call.Error, call.Status)
		}
	}
	reds := sim.Redemptions()
	seen := map[string]bool{}
	for i, r := range reds {
		if r.Code != 0 {
			t.Errorf("refresh %d refused with %d", i, r.Code)
		}
		want := bootstrap
		if i > 0 {
			want = reds[i-1].Issued
		}
		if r.Token != want {
			t.Errorf("refresh %d presented %q, want the token the previous one issued (%q)", i, r.Token, want)
		}
		if seen[r.Token] {
			t.Errorf("refresh token %q redeemed twice", r.Token)
		}
		seen[r.Token] = true
	}
	users := map[string]bool{}
	total := 0
	for _, rec := range sim.Received() {
		users[rec.UserToken] = true
		total++
	}
	// The first token, then one per 1.5 s of use: 3 in 3.6 s, so the user
	// token expired (for Herald) twice mid-test.
	if len(reds) != 3 || len(users) != 3 {
		t.Errorf("%d refresh calls and %d user tokens used over %v, want 3 and 3", len(reds), len(users), run)
	}
	if n := sim.TokensIssued(); n != 1+len(reds) { // one app token, one user token per refresh
		t.Errorf("simulator issued %d tokens, want %d", n, 1+len(reds))
	}
	t.Logf("%d execute_send calls from %d replicas, per replica %v", total, replicas, sent)
}

// When Feishu refuses the refresh token, the account is paused: Send
// fails Paused with a RetryAfter and no call to Feishu, NeedsReauth says so,
// and no further refresh is tried until an operator stores a new token;
// then Send delivers again.
func TestRevokedRefreshTokenPausesAccount(t *testing.T) {
	sim, url := startSim(t, feishusim.Options{UserTokenTTL: time.Hour, ExecuteSendPerMinute: -1})
	rdb := srv.Client(t)
	c := newClient(url, sim.IssueRefreshToken(), rdb)
	ctx := context.Background()
	if _, err := c.Send(ctx, job("1")); err != nil {
		t.Fatal(err)
	}
	sim.RevokeRefreshTokens()
	// The user token goes too (as when the user withdraws the app), so
	// the next call needs a refresh.
	if err := rdb.Del(ctx, "herald:token:{feishu:default:user}").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, err := c.Send(ctx, job("2"))
		pe := providerError(t, err)
		if pe.Class != providers.Paused || pe.Code != "needs_reauth" || pe.RetryAfter != 200*time.Millisecond {
			t.Fatalf("send %d: %v (class %v, retry %v)", i, err, pe.Class, pe.RetryAfter)
		}
	}
	if n := len(sim.Redemptions()); n != 2 {
		t.Errorf("%d refresh calls, want 2 (bootstrap, the refused one; none while paused)", n)
	}
	if needs, err := c.NeedsReauth(ctx); err != nil || !needs {
		t.Fatalf("NeedsReauth = %v, %v", needs, err)
	}
	if err := feishu.StoreRefreshToken(ctx, rdb, "default", sim.IssueRefreshToken()); err != nil {
		t.Fatal(err)
	}
	if needs, _ := c.NeedsReauth(ctx); needs {
		t.Error("still needs re-authorization after a new token was stored")
	}
	if _, err := c.Send(ctx, job("2")); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Received()); n != 2 {
		t.Errorf("%d received, want 2", n)
	}
}

// The config's refresh token is used only while Redis holds none: a
// replica started later with the (spent) bootstrap token uses the rotated
// one from Redis.
func TestBootstrapOnlyWhenRedisHoldsNone(t *testing.T) {
	sim, url := startSim(t, feishusim.Options{ExecuteSendPerMinute: -1})
	rdb := srv.Client(t)
	boot := sim.IssueRefreshToken()
	ctx := context.Background()
	if _, err := newClient(url, boot, rdb).Send(ctx, job("1")); err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, "herald:token:{feishu:default:user}") // force a refresh
	if _, err := newClient(url, boot, rdb).Send(ctx, job("1")); err != nil {
		t.Fatal(err)
	}
	reds := sim.Redemptions()
	if len(reds) != 2 || reds[1].Token != reds[0].Issued || reds[1].Code != 0 {
		t.Fatalf("redemptions %+v", reds)
	}
}
