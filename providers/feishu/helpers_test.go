package feishu_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/tasks"

	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// startSim starts a simulator for the test.
func startSim(t *testing.T, opts feishusim.Options) (*feishusim.Server, string) {
	t.Helper()
	sim := feishusim.New(opts)
	return sim, simtest.Start(t, sim.Kit)
}

// config is a client config for the simulator at url, bootstrapped with
// refresh, keeping its tokens in rdb.
func config(url, refresh string, rdb redis.UniversalClient) feishu.Config {
	return feishu.Config{
		BaseURL: url, AppID: feishusim.DefaultAppID, AppSecret: feishusim.DefaultAppSecret,
		HelpdeskID: feishusim.DefaultHelpdeskID, HelpdeskToken: feishusim.DefaultHelpdeskToken,
		RefreshToken: refresh, Account: "default", Redis: rdb,
		Tokens:      providers.NewTokenCache(rdb),
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
		ReauthRetry: 200 * time.Millisecond,
	}
}

// setup starts a simulator without limits and a client for it.
func setup(t *testing.T, opts feishusim.Options) (*feishu.Client, *feishusim.Server, redis.UniversalClient) {
	t.Helper()
	if opts.ExecuteSendPerMinute == 0 {
		opts.ExecuteSendPerMinute = -1
	}
	sim, url := startSim(t, opts)
	rdb := srv.Client(t)
	return feishu.New(config(url, sim.IssueRefreshToken(), rdb)), sim, rdb
}

func job(id string) *tasks.FeishuExecuteSend {
	return &tasks.FeishuExecuteSend{NotificationID: id, SendAt: "1624326025000"}
}

// providerError asserts err is a *providers.Error from feishu and holds no
// secret.
func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *providers.Error", err, err)
	}
	if pe.Provider != feishu.Provider {
		t.Fatalf("Provider %q, want feishu", pe.Provider)
	}
	for _, s := range []string{feishusim.DefaultAppSecret, feishusim.DefaultHelpdeskToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error text holds a secret: %v", err)
		}
	}
	return pe
}

func newClient(url, refresh string, rdb redis.UniversalClient) *feishu.Client {
	return feishu.New(config(url, refresh, rdb))
}
