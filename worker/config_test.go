package worker

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
	notPEM := writeFile(t, "ca.pem", "not a certificate\n")
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
		{"concurrency negative", full, []string{"HERALD_CONCURRENCY=-3"}, "concurrency"},
		{"concurrency absurd", full + "concurrency: 10000000\n", nil, "concurrency"},
		{"queue weight absurd", full + "queues:\n  easemob: 1000000\n", nil, "queues.easemob"},

		// Floats: NaN passes every "< 0" and "> 1" test, so each is refused by name.
		{"jitter NaN yaml", full + "retry:\n  jitter: .nan\n", nil, "retry.jitter"},
		{"jitter NaN env", full, []string{"HERALD_RETRY_JITTER=NaN"}, "retry.jitter"},
		{"jitter too big", full + "retry:\n  jitter: 1.5\n", nil, "retry.jitter"},
		{"jitter negative", full, []string{"HERALD_RETRY_JITTER=-0.1"}, "retry.jitter"},
		{"multiplier NaN", full, []string{"HERALD_RETRY_MULTIPLIER=nan"}, "retry.multiplier"},
		{"multiplier Inf", full + "retry:\n  multiplier: .inf\n", nil, "retry.multiplier"},
		{"multiplier below 1", full + "retry:\n  multiplier: 0.5\n", nil, "retry.multiplier"},
		{"multiplier absurd", full + "retry:\n  multiplier: 1000\n", nil, "retry.multiplier"},
		{"headroom NaN", full + "limiter:\n  headroom: .NaN\n", nil, "limiter.headroom"},
		{"headroom -Inf", full, []string{"HERALD_LIMITER_HEADROOM=-Inf"}, "limiter.headroom"},
		{"headroom too big", full + "limiter:\n  headroom: 2\n", nil, "limiter.headroom"},
		{"margin negative", full, []string{"HERALD_LIMITER_MARGIN=-1ms"}, "limiter.margin"},
		{"adaptive decrease 1", full + "limiter:\n  adaptive:\n    decrease: 1\n", nil, "limiter.adaptive.decrease"},
		{"adaptive increase 0", full, []string{"HERALD_LIMITER_ADAPTIVE_INCREASE=0"}, "limiter.adaptive.increase"},
		{"adaptive floor 0", full, []string{"HERALD_LIMITER_ADAPTIVE_FLOOR=0"}, "limiter.adaptive.floor"},

		// Durations.
		{"negative shutdown", full, []string{"HERALD_SHUTDOWN_TIMEOUT=-1s"}, "shutdown_timeout"},
		{"zero poll", full + "poll_interval: 0s\n", nil, "poll_interval"},
		{"negative retry initial", full + "retry:\n  initial: -2s\n", nil, "retry.initial"},
		{"max below initial", full + "retry:\n  initial: 1m\n  max: 1s\n", nil, "retry"},
		{"negative max wait", full, []string{"HERALD_LIMITER_MAX_WAIT=-1ms"}, "limiter.max_wait"},
		{"negative account timeout", full, []string{"HERALD_EASEMOB_DEFAULT_TIMEOUT=-5s"}, "easemob.default.timeout"},
		{"negative limit per", full + "    limits:\n      x: {jobs: [push.sync], rate: 1, per: -1s}\n", nil, "easemob.default.limits.x.per"},
		{"delivered_ttl 1s", full + "delivered_ttl: 1s\n", nil, "delivered_ttl"},
		{"delivered_ttl under retries", full + "delivered_ttl: 25h\nretry:\n  max: 2h\n", nil, "delivered_ttl"},

		// Redis: what start would refuse, -check refuses.
		{"redis bad db", "redis:\n  url: redis://127.0.0.1:6380/abc\n", nil, "redis.url"},
		{"redis bad dial_timeout", "redis:\n  url: redis://127.0.0.1:6380/0?dial_timeout=soon\n", nil, "redis.url"},
		{"redis unknown option", "redis:\n  url: redis://127.0.0.1:6380/0?dial_timeot=1s\n", nil, "redis.url"},
		{"redis port out of range", "redis:\n  url: redis://127.0.0.1:70000/0\n", nil, "redis.url"},
		{"redis negative db", "redis:\n  addrs: [a:1]\n  master_name: m\n  db: -1\n", nil, "redis.db"},
		{"cluster with db", "redis:\n  addrs: [a:1]\n  cluster: true\n  db: 2\n", nil, "redis.db"},
		{"sentinel addr no port", "redis:\n  addrs: [sentinel1]\n  master_name: m\n", nil, "redis.addrs"},
		{"missing CA file", "redis:\n  url: rediss://127.0.0.1:6380/0\n  tls_ca_file: /nonexistent/ca.pem\n", nil, "redis.tls_ca_file"},
		{"CA file not PEM", "redis:\n  url: rediss://127.0.0.1:6380/0\n  tls_ca_file: " + notPEM + "\n", nil, "redis.tls_ca_file"},

		// Admin.
		{"admin not an addr", full + "admin:\n  addr: not an addr\n", nil, "admin.addr"},
		{"admin port out of range", full, []string{"HERALD_ADMIN_ADDR=127.0.0.1:99999"}, "admin.addr"},
		{"admin port negative", full, []string{"HERALD_ADMIN_ADDR=127.0.0.1:-1"}, "admin.addr"},

		// The environment: a misspelt variable is an error, not ignored.
		{"misspelt variable", full, []string{"HERALD_CONCURENCY=5"}, "HERALD_CONCURENCY"},
		{"misspelt account key", full, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRT=x"}, "HERALD_EASEMOB_DEFAULT_CLIENT_SECRT"},
		{"_FILE of a non-secret", full, []string{"HERALD_REDIS_URL_FILE=/x"}, "HERALD_REDIS_URL_FILE"},
		{"unknown section", full, []string{"HERALD_SMS_DEFAULT_TOKEN=x"}, "HERALD_SMS_DEFAULT_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, "c.yaml", tt.yaml), tt.env)
			if err != nil {
				t.Log(err)
			}
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

// The errors that need more than a key say what to do.
func TestConfigErrorsExplain(t *testing.T) {
	full := easemobYAML + "    client_secret: x\n"
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"closest variable", full, []string{"HERALD_CONCURENCY=5"}, []string{"did you mean HERALD_CONCURRENCY?"}},
		{"closest account variable", full, []string{"HERALD_EASEMOB_DEFAULT_ORGNAME=o"}, []string{"did you mean HERALD_EASEMOB_DEFAULT_ORG_NAME?"}},
		{"several unknown", full, []string{"HERALD_B=1", "HERALD_A=1"}, []string{"HERALD_A", "and 1 more: HERALD_B"}},
		{"file form of a plain key", full, []string{"HERALD_LOG_LEVEL_FILE=/x"}, []string{"only secrets have a _FILE form, give HERALD_LOG_LEVEL itself"}},
		{"ttl floor", full + "delivered_ttl: 1s\n", nil, []string{"set at least 24h0m0s", "25 retries", "4h25m33s", "never less than 24h0m0s"}},
		// initial 1h, max 4h, ×2, no jitter: 1+2+23×4 = 95h of backoff, plus 13h of attempts.
		{"ttl from retries", full + "delivered_ttl: 48h\nretry:\n  initial: 1h\n  max: 4h\n  jitter: 0\n", nil, []string{"set at least 108h0m0s", "wait up to 95h0m0s"}},
		{"admin addr is an address problem", full + "admin:\n  addr: not an addr\n", nil, []string{"admin.addr", "not a host:port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, "c.yaml", tt.yaml), tt.env)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// What must keep loading: account variables (created from the environment
// alone, with limits), _FILE secrets, and Herald's other commands'
// variables in a shared environment.
func TestLoadConfigKnownVariables(t *testing.T) {
	secret := writeFile(t, "secret", "s\n")
	cfg, err := LoadConfig("", []string{
		"HERALD_REDIS_URL=redis://127.0.0.1:6380/0",
		"HERALD_REDIS_PASSWORD_FILE=" + secret,
		"HERALD_EASEMOB_EU_2_BASE_URL=https://a1.easemob.com",
		"HERALD_EASEMOB_EU_2_ORG_NAME=o",
		"HERALD_EASEMOB_EU_2_APP_NAME=a",
		"HERALD_EASEMOB_EU_2_CLIENT_ID=i",
		"HERALD_EASEMOB_EU_2_CLIENT_SECRET_FILE=" + secret,
		"HERALD_EASEMOB_EU_2_LIMITS_PUSH_SYNC_RATE=2",
		"HERALD_EASEMOB_EU_2_LIMITS_PUSH_SYNC_PER=1s",
		"HERALD_EASEMOB_EU_2_LIMITS_PUSH_SYNC_JOBS=push.sync",
		"HERALD_QUEUES_EASEMOB=2",
		"HERALD_CONFIG=/etc/herald/herald.yaml",
		"HERALD_SIM_CLIENT_SECRET=s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Easemob["eu_2"].Limits["push_sync"]; l.Rate != 2 || l.Per.D() != time.Second {
		t.Errorf("limit from env = %+v", l)
	}
	if cfg.Redis.Password != "s" || cfg.Easemob["eu_2"].ClientSecret != "s" {
		t.Error("_FILE secrets not read")
	}
}

// The unknown-variable check follows the struct it overlays: a provider
// section added to Config later is covered with no list to update.
func TestEnvCheckFollowsTheStruct(t *testing.T) {
	type account struct {
		AppID     string `yaml:"app_id"`
		AppSecret string `yaml:"app_secret" secret:"true"`
	}
	type config struct {
		Concurrency int                `yaml:"concurrency"`
		Feishu      map[string]account `yaml:"feishu"`
	}
	secret := writeFile(t, "secret", "s\n")
	load := func(environ ...string) (config, error) {
		var c config
		e := &envVars{vars: map[string]string{}, read: map[string]bool{}}
		for _, kv := range environ {
			k, v, _ := strings.Cut(kv, "=")
			e.vars[k] = v
		}
		v := reflect.ValueOf(&c).Elem()
		if err := e.overlay(v, envPrefix, ""); err != nil {
			return c, err
		}
		return c, e.unread(v)
	}
	c, err := load("HERALD_FEISHU_OPS_APP_ID=cli_1", "HERALD_FEISHU_OPS_APP_SECRET_FILE="+secret)
	if err != nil || c.Feishu["ops"].AppID != "cli_1" || c.Feishu["ops"].AppSecret != "s" {
		t.Fatalf("new section from env = %+v, %v", c, err)
	}
	_, err = load("HERALD_FEISHU_OPS_APP_ID=cli_1", "HERALD_FEISHU_OPS_APPSECRET=s")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "HERALD_FEISHU_OPS_APPSECRET" || !strings.Contains(ce.Rule, "HERALD_FEISHU_OPS_APP_SECRET") {
		t.Fatalf("misspelt key in a new section: %v", err)
	}
}

// A _FILE or CA path mistyped as a device must not fill memory.
func TestConfigFilesAreBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	_, err := LoadConfig("", []string{"HERALD_REDIS_PASSWORD_FILE=/dev/zero"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "HERALD_REDIS_PASSWORD_FILE" || !strings.Contains(ce.Rule, "larger than") {
		t.Fatalf("err = %v", err)
	}
	_, err = LoadConfig("", []string{"HERALD_REDIS_URL=rediss://127.0.0.1:6380/0", "HERALD_REDIS_TLS_CA_FILE=/dev/zero"})
	if !errors.As(err, &ce) || ce.Key != "redis.tls_ca_file" {
		t.Fatalf("err = %v", err)
	}
}

// go-redis quotes the URL in its parse errors; the password must not
// follow it into ours.
func TestRedisURLErrorHidesPassword(t *testing.T) {
	_, err := LoadConfig("", []string{"HERALD_REDIS_URL=redis://u:hunter2x@127.0.0.1:6380/abc"})
	if err == nil {
		t.Fatal("want an error for the bad db")
	}
	if strings.Contains(err.Error(), "hunter2x") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
