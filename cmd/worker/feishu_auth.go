package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/worker"
)

// feishuAuth is `worker feishu-auth [-config herald.yaml] <account>`: it
// reads a new Feishu refresh token from stdin (so it stays out of shell
// history and process lists) and stores it in the workers' Redis for the
// account, lifting the account's pause. The account's waiting jobs go out
// on their next attempt, within its reauth_retry.
//
// Exit status 2 means bad arguments or config; 1 that Redis refused.
func feishuAuth(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("worker feishu-auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", lookupEnv(environ, "HERALD_CONFIG"), "YAML config file (env HERALD_CONFIG)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: worker feishu-auth [-config herald.yaml] <account>  (the refresh token on stdin)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "worker feishu-auth:", err)
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	account := fs.Arg(0)
	cfg, err := worker.LoadConfig(*configPath, environ)
	if err != nil {
		return fail(2, err)
	}
	if !cfg.Redis.Configured() {
		return fail(2, errors.New("the refresh token is stored in the workers' Redis: configure redis.url (HERALD_REDIS_URL)"))
	}
	if _, ok := cfg.Feishu[account]; !ok {
		return fail(2, fmt.Errorf("no feishu account %q in the config", account))
	}
	b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		return fail(2, fmt.Errorf("read the refresh token from stdin: %w", err))
	}
	token := strings.TrimSpace(string(b))
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return fail(2, errors.New("stdin must hold one refresh token (and nothing else)"))
	}
	rdb, err := worker.NewRedisClient(cfg.Redis)
	if err != nil {
		return fail(2, err)
	}
	defer rdb.Close()
	if err := feishu.StoreRefreshToken(ctx, rdb, account, token); err != nil {
		return fail(1, err)
	}
	fmt.Fprintf(stdout, "stored a new refresh token for feishu account %q; its waiting jobs go out on their next attempt\n", account)
	return 0
}
