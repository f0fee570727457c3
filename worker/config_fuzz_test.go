package worker

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds config loading arbitrary YAML and an arbitrary
// HERALD_ environment (one VAR=value a line). Whatever comes in, loading
// must not panic; a config it accepts must hold no NaN, infinity or
// negative duration, have Redis options start accepts and retry settings
// giving no negative delay; and a refusal from Validate is a *ConfigError
// naming a key.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []struct{ yaml, env string }{
		{"", ""},
		{easemobYAML + "    client_secret: x\n", ""},
		{easemobYAML, "HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=x\nHERALD_CONCURRENCY=7"},
		{"retry:\n  jitter: .nan\n", ""},
		{"", "HERALD_LIMITER_HEADROOM=-Inf"},
		{"", "HERALD_CONCURENCY=5"},
		{"delivered_ttl: 1s\n", ""},
		{"redis:\n  url: redis://127.0.0.1:6380/0?dial_timeout=x\n", ""},
		{"admin:\n  addr: not an addr\n", ""},
		{"queues:\n  easemob: 3\n", "HERALD_QUEUES_ENOS=2"},
		{"easemob:\n  a:\n    limits:\n      x: {jobs: [push.sync], rate: 1, per: 1s}\n", "HERALD_EASEMOB_A_LIMITS_X_BURST=2"},
		{"retry: {initial: 1h, max: 100h, multiplier: 10}\n", ""},
	} {
		f.Add(s.yaml, s.env)
	}
	f.Fuzz(func(t *testing.T, yaml, env string) {
		// Files named by the input (secrets, the CA bundle) would make the
		// fuzzer read this machine's files; their handling has its tests.
		if strings.Contains(strings.ToLower(yaml+env), "_file") {
			t.Skip()
		}
		var environ []string
		for _, line := range strings.Split(env, "\n") {
			if line != "" {
				environ = append(environ, "HERALD_"+strings.TrimPrefix(line, "HERALD_"))
			}
		}
		cfg, err := decodeConfig([]byte(yaml), "fuzz.yaml", environ)
		if err != nil {
			return // the YAML decoder's errors name a line; env errors are checked below
		}
		if err := cfg.Validate(); err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key == "" {
				t.Fatalf("Validate: %v, want a *ConfigError naming a key", err)
			}
			return
		}
		if err := checkNumbers(reflect.ValueOf(cfg), ""); err != nil {
			t.Fatalf("accepted a config with %v", err)
		}
		if f := cfg.Retry.Multiplier; math.IsNaN(f) || f < 1 {
			t.Fatalf("accepted retry.multiplier %v", f)
		}
		if _, err := cfg.Redis.options(); cfg.Redis.Configured() && err != nil {
			t.Fatalf("accepted a Redis config start refuses: %v", err)
		}
		if d := cfg.Retry.backoff(defaultMaxRetry); d < 0 {
			t.Fatalf("accepted retry settings giving a negative delay %v", d)
		}
	})
}
