// Command simulator serves a provider's API simulator over HTTP, for the
// demo, benchmarks and manual testing when the real provider is out of
// reach.
//
//	go run ./cmd/simulator -provider easemob -addr 127.0.0.1:9100 \
//		-org herald -app demo -client-id demo-client-id -client-secret-file secret.txt
//
// Beside the provider's API, every simulator serves simkit's control
// endpoints under /_sim/ (faults, calls, records, token revocation, limits,
// reset), so the demo, benchmarks and tests in other processes can drive it
// with simkit.Control.
//
// The secret comes from -client-secret-file, else the environment variable
// HERALD_SIM_CLIENT_SECRET, else the simulator's obvious default. It is never
// logged. The command logs one JSON line saying where it listens, and shuts
// down gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// SecretEnv is the environment variable read for the client secret when no
// -client-secret-file is given.
const SecretEnv = "HERALD_SIM_CLIENT_SECRET"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "simulator:", err)
		}
		os.Exit(2)
	}
}

// common holds the flags every provider's simulator shares.
type common struct {
	addr             string
	clientID         string
	clientSecret     string
	clientSecretFile string
}

// server is a running simulator.
type server interface {
	Start(addr string) (baseURL string, err error)
	Shutdown(ctx context.Context) error
}

// simulator is one provider's entry: it registers its own flags and, once
// they are parsed, builds its server and says what to log about it.
type simulator struct {
	flags func(fs *flag.FlagSet) (build func(common) (server, map[string]string))
}

// simulators lists the providers that have one. Adding a provider is one
// entry here and one file like easemob.go whose server embeds a
// *simkit.Kit (which gives it Start, Shutdown and the control endpoints).
func simulators() map[string]simulator {
	return map[string]simulator{
		"easemob":  easemobSimulator(),
		"feishu":   feishuSimulator(),
		"dingtalk": dingtalkSimulator(),
		"enos":     enosSimulator(),
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, logw io.Writer) error {
	log := zerolog.New(logw).With().Timestamp().Str("component", "simulator").Logger()
	sims := simulators()
	names := make([]string, 0, len(sims))
	for name := range sims {
		names = append(names, name)
	}
	sort.Strings(names)

	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(logw)
	provider := fs.String("provider", "", "provider to simulate: "+strings.Join(names, ", "))
	var c common
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9100", "address to listen on")
	fs.StringVar(&c.clientID, "client-id", "", "client id the simulator accepts (default: the simulator's demo id)")
	fs.StringVar(&c.clientSecretFile, "client-secret-file", "", "file holding the client secret (default: $"+SecretEnv+", else the demo secret)")
	shutdown := fs.Duration("shutdown-timeout", 5*time.Second, "how long to wait for calls in progress on shutdown")
	builders := make(map[string]func(common) (server, map[string]string), len(sims))
	for name, sim := range sims {
		builders[name] = sim.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	build, ok := builders[*provider]
	if !ok {
		return fmt.Errorf("-provider must be one of %s, got %q", strings.Join(names, ", "), *provider)
	}
	switch {
	case c.clientSecretFile != "":
		b, err := os.ReadFile(c.clientSecretFile)
		if err != nil {
			return fmt.Errorf("read -client-secret-file: %w", err)
		}
		c.clientSecret = strings.TrimSpace(string(b))
		if c.clientSecret == "" {
			return fmt.Errorf("-client-secret-file %s is empty", c.clientSecretFile)
		}
	default:
		c.clientSecret = getenv(SecretEnv)
	}

	srv, info := build(c)
	baseURL, err := srv.Start(c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	ev := log.Info().Str("provider", *provider).Str("addr", strings.TrimPrefix(baseURL, "http://")).Str("base_url", baseURL)
	for k, v := range info {
		ev = ev.Str(k, v)
	}
	ev.Msg("simulator listening")

	<-ctx.Done()
	log.Info().Str("provider", *provider).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Str("provider", *provider).Msg("stopped")
	return nil
}
