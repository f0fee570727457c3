package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
)

// worker feishu-auth reads the refresh token from stdin, stores it in the
// workers' Redis for the account (lifting a pause) and never echoes it.
func TestFeishuAuthStoresRefreshToken(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	key := "herald:token:{feishu:ops:user}:refresh"
	rdb.HSet(ctx, key, "refresh_token", "ur-old", "reauth", "refused")
	env := []string{
		"HERALD_REDIS_URL=" + srv.URL(),
		"HERALD_FEISHU_OPS_BASE_URL=https://open.feishu.cn", "HERALD_FEISHU_OPS_APP_ID=cli_x",
		"HERALD_FEISHU_OPS_APP_SECRET=s", "HERALD_FEISHU_OPS_HELPDESK_ID=1", "HERALD_FEISHU_OPS_HELPDESK_TOKEN=t",
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"unknown account", []string{"nobody"}, "ur-new\n", 2, `no feishu account "nobody"`},
		{"no account", nil, "ur-new\n", 2, "usage"},
		{"empty stdin", []string{"ops"}, "\n", 2, "stdin must hold one refresh token"},
		{"two tokens", []string{"ops"}, "a b\n", 2, "stdin must hold one refresh token"},
		{"stored", []string{"ops"}, "ur-new\n", 0, `stored a new refresh token for feishu account "ops"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := feishuAuth(ctx, tc.args, strings.NewReader(tc.stdin), &out, &errs, env)
			if code != tc.code || !strings.Contains(out.String()+errs.String(), tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errs.String())
			}
			if strings.Contains(out.String()+errs.String(), "ur-new") {
				t.Error("the refresh token was echoed")
			}
		})
	}
	got, err := rdb.HGetAll(ctx, key).Result()
	if err != nil || got["refresh_token"] != "ur-new" || got["reauth"] != "" {
		t.Fatalf("stored state %v (%v), want ur-new and no pause", got, err)
	}
}
