package worker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const easemobYAML = `
redis:
  url: redis://127.0.0.1:1/0
easemob:
  default:
    base_url: https://a1.easemob.com
    org_name: org
    app_name: app
    client_id: id
`

func TestLoadConfigFileAndEnv(t *testing.T) {
	secret := writeFile(t, "secret", "s3cret\n")
	path := writeFile(t, "herald.yaml", easemobYAML+"concurrency: 5\nqueues:\n  easemob: 3\n")
	cfg, err := LoadConfig(path, []string{
		"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET_FILE=" + secret,
		"HERALD_CONCURRENCY=7",
		"HERALD_QUEUES_ENOS=2",
		"HERALD_POLL_INTERVAL=250ms",
		"HERALD_EASEMOB_SHOP_EU_BASE_URL=http://127.0.0.1:9",
		"HERALD_EASEMOB_SHOP_EU_ORG_NAME=o",
		"HERALD_EASEMOB_SHOP_EU_APP_NAME=a",
		"HERALD_EASEMOB_SHOP_EU_CLIENT_ID=i",
		"HERALD_EASEMOB_SHOP_EU_CLIENT_SECRET=s",
		"HERALD_EASEMOB_SHOP_EU_ZONE=+01:00",
		"OTHER=ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Easemob["default"].ClientSecret; got != "s3cret" {
		t.Errorf("secret from _FILE = %q, want s3cret (newline trimmed)", got)
	}
	if cfg.Concurrency != 7 {
		t.Errorf("env must override file: concurrency = %d", cfg.Concurrency)
	}
	if cfg.Queues["easemob"] != 3 || cfg.Queues["enos"] != 2 {
		t.Errorf("queues = %v", cfg.Queues)
	}
	if cfg.PollInterval.D() != 250*time.Millisecond {
		t.Errorf("poll_interval = %v", cfg.PollInterval.D())
	}
	eu, ok := cfg.Easemob["shop_eu"]
	if !ok || eu.ClientSecret != "s" || eu.BaseURL != "http://127.0.0.1:9" {
		t.Fatalf("account from env alone = %+v (ok=%v)", eu, ok)
	}
	loc, _ := eu.Location()
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != 3600 {
		t.Errorf("zone offset = %d, want 3600", off)
	}
	if cfg.ShutdownTimeout.D() != 30*time.Second {
		t.Errorf("defaults lost: shutdown_timeout = %v", cfg.ShutdownTimeout.D())
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	full := easemobYAML + "    client_secret: x\n"
	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantKey string
	}{
		{"missing secret", easemobYAML, nil, "easemob.default.client_secret"},
		{"bad url", "redis:\n  url: http://x\n", nil, "redis.url"},
		{"sentinel without master", "redis:\n  addrs: [a:1]\n", nil, "redis.addrs"},
		{"unknown queue", full + "queues:\n  sms: 1\n", nil, "queues.sms"},
		{"zero weight", full + "queues:\n  easemob: 0\n", nil, "queues.easemob"},
		{"bad zone", full, []string{"HERALD_EASEMOB_DEFAULT_ZONE=Mars/Base"}, "easemob.default.zone"},
		{"bad base url", full, []string{"HERALD_EASEMOB_DEFAULT_BASE_URL=a1.easemob.com"}, "easemob.default.base_url"},
		{"env not an int", full, []string{"HERALD_CONCURRENCY=many"}, "HERALD_CONCURRENCY"},
		{"env not a duration", full, []string{"HERALD_SHUTDOWN_TIMEOUT=30"}, "HERALD_SHUTDOWN_TIMEOUT"},
		{"secret twice", full, []string{"HERALD_REDIS_PASSWORD=a", "HERALD_REDIS_PASSWORD_FILE=/x"}, "HERALD_REDIS_PASSWORD"},
		{"bad level", full + "log:\n  level: loud\n", nil, "log.level"},
		{"public ui without password", full + "admin:\n  addr: 0.0.0.0:8080\n", nil, "admin.monitoring.password"},
		{"concurrency", full + "concurrency: 0\n", nil, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, "c.yaml", tt.yaml), tt.env)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			if ce.Key != tt.wantKey {
				t.Fatalf("key = %q, want %q (err: %v)", ce.Key, tt.wantKey, err)
			}
		})
	}
}

func TestLoadConfigRejectsUnknownYAMLKeys(t *testing.T) {
	_, err := LoadConfig(writeFile(t, "c.yaml", "concurency: 3\n"), nil)
	if err == nil {
		t.Fatal("a misspelt key must be an error, not silently ignored")
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	_, err := LoadConfig("", []string{"HERALD_REDIS_DB=notanint", "HERALD_REDIS_PASSWORD=hunter2x",
		"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=hunter2x"})
	if err == nil {
		t.Fatal("want an error for HERALD_REDIS_DB")
	}
	if strings.Contains(err.Error(), "hunter2x") {
		t.Fatalf("error leaks a secret: %v", err)
	}
}
