package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/herald-dispatch/herald/tasks"
)

// Config is the worker's configuration: a YAML file, then HERALD_*
// environment variables over it. Every field has a working default, so an
// empty Config runs the demo: no Redis configured means an embedded Redis and
// the provider simulators.
//
// Secrets (Redis password, provider secrets) are best given in the
// environment, either as the value (HERALD_EASEMOB_DEFAULT_CLIENT_SECRET) or
// as a file holding it (HERALD_EASEMOB_DEFAULT_CLIENT_SECRET_FILE, as
// Kubernetes and Docker secrets mount them).
type Config struct {
	Redis RedisConfig `yaml:"redis"`

	// Concurrency is how many jobs one worker process runs at once.
	Concurrency int `yaml:"concurrency"`
	// Queues weighs the provider queues against each other: with easemob 3
	// and enos 1, easemob jobs are taken three times as often while both
	// have work. A queue left out gets weight 1. A worker takes jobs only
	// from the queues of providers it has accounts for.
	Queues map[string]int `yaml:"queues"`
	// Shards spreads each provider's jobs over this many queues
	// (tasks.Provider.Queues), so that on a Redis Cluster every master
	// carries a share of a provider's queue traffic rather than the one
	// holding the slot of its single queue. Producers must be given the
	// same number (tasks.WithShards, the producer's HERALD_SHARDS); a
	// worker also serves, and warns about, any other shard of its
	// providers it finds in Redis (see strays). A queue weight holds for
	// each of its provider's shards, so the providers keep their shares.
	// Default 1: one queue per provider, all a single Redis server needs.
	Shards int `yaml:"shards"`
	// ShutdownTimeout bounds how long a stopping worker waits for running
	// jobs before handing them back to the queue.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// PollInterval is how often asynq moves retrying jobs, and scheduled
	// ones Herald's scheduler has not (it was down), to their queue.
	// Scheduled jobs normally go at their due time through Herald's
	// scheduler, which sleeps until the next one is due (at least 20 ms,
	// at most a second) whatever this says.
	PollInterval Duration `yaml:"poll_interval"`
	// Retry shapes the backoff between attempts of a transient failure.
	Retry RetryConfig `yaml:"retry"`
	// DeliveredTTL is how long a delivered-marker keeps a retried task from
	// sending twice: it must outlast a task's retries.
	DeliveredTTL Duration `yaml:"delivered_ttl"`

	// Limiter tunes waiting for the providers' limits.
	Limiter LimiterConfig `yaml:"limiter"`
	// Circuit stops sending to an account whose calls keep failing.
	Circuit CircuitConfig `yaml:"circuit"`
	// InDoubt overrides, per job type ("easemob:push.single"), what a
	// retry does with a call whose reply never came: "resend" or "hold".
	// See DefaultInDoubt.
	InDoubt map[string]InDoubtPolicy `yaml:"in_doubt"`

	Admin AdminConfig `yaml:"admin"`
	API   APIConfig   `yaml:"api"`
	Log   LogConfig   `yaml:"log"`
	// Events records each job's outcome in a Redis stream and, per
	// account, a signed webhook (events.go).
	Events EventsConfig `yaml:"events"`

	// Easemob maps account names to Easemob apps.
	Easemob map[string]EasemobAccount `yaml:"easemob"`
	// Feishu maps account names to Feishu helpdesks (config_feishu.go).
	Feishu map[string]FeishuAccount `yaml:"feishu"`
	// DingTalk maps account names to DingTalk apps (work notices).
	DingTalk map[string]DingTalkAccount `yaml:"dingtalk"`
	// EnOS maps account names to EnOS applications.
	EnOS map[string]EnOSAccount `yaml:"enos"`
}

// RedisConfig says how to reach Redis: standalone, Sentinel or Cluster.
// Leave it empty for the demo's embedded Redis.
type RedisConfig struct {
	// URL is a redis:// or rediss:// URL for a standalone server. It may
	// carry the user, password and database.
	URL string `yaml:"url"`
	// Addrs lists Sentinel addresses (with MasterName) or Cluster seed
	// nodes (with Cluster).
	Addrs      []string `yaml:"addrs"`
	MasterName string   `yaml:"master_name"`
	Cluster    bool     `yaml:"cluster"`
	Username   string   `yaml:"username"`
	Password   string   `yaml:"password" secret:"true"`
	// SentinelPassword authenticates to the Sentinels themselves.
	SentinelPassword string `yaml:"sentinel_password" secret:"true"`
	DB               int    `yaml:"db"`
	// TLS turns on TLS for Sentinel and Cluster (a rediss:// URL does it
	// for standalone).
	TLS bool `yaml:"tls"`
	// TLSCAFile is a PEM bundle of the CAs to trust instead of the
	// system's, for a Redis behind a private CA.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSServerName is the name to check in the server's certificate when
	// it differs from the address dialled.
	TLSServerName string `yaml:"tls_server_name"`
}

// tlsOn reports whether TLS is configured, by URL scheme or flag.
func (r RedisConfig) tlsOn() bool {
	return r.TLS || strings.HasPrefix(r.URL, "rediss://")
}

// Configured reports whether any Redis was configured. When none is, the
// worker runs in demo mode.
func (r RedisConfig) Configured() bool {
	return r.URL != "" || len(r.Addrs) > 0
}

// RetryConfig is exponential backoff with jitter for transient failures.
type RetryConfig struct {
	Initial Duration `yaml:"initial"`
	Max     Duration `yaml:"max"`
	// Multiplier grows the delay each attempt.
	Multiplier float64 `yaml:"multiplier"`
	// Jitter is the randomisation factor: 0.5 means ±50 %.
	Jitter float64 `yaml:"jitter"`
}

// AdminConfig is the admin HTTP server: health, metrics and the queue UI.
type AdminConfig struct {
	// Addr to listen on; "-" turns the admin server off.
	Addr string `yaml:"addr"`
	// Monitoring serves asynqmon at /monitoring.
	Monitoring MonitoringConfig `yaml:"monitoring"`
}

// MonitoringConfig controls the asynqmon UI. It is read-only unless
// ReadWrite is set, and behind basic auth whenever a password is set.
type MonitoringConfig struct {
	Disabled  bool   `yaml:"disabled"`
	ReadWrite bool   `yaml:"read_write"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password" secret:"true"`
}

// LogConfig sets the log level: debug, info, warn or error.
type LogConfig struct {
	Level string `yaml:"level"`
}

// EasemobAccount is one Easemob app.
type EasemobAccount struct {
	// BaseURL is the app's REST host, e.g. https://a1.easemob.com.
	BaseURL      string `yaml:"base_url"`
	OrgName      string `yaml:"org_name"`
	AppName      string `yaml:"app_name"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret" secret:"true"`
	// Zone is the Easemob server's time zone, in which startDate is read:
	// an IANA name ("Asia/Shanghai") or a fixed offset ("+08:00").
	// Default +08:00.
	Zone string `yaml:"zone"`
	// Timeout bounds one HTTP call.
	Timeout Duration `yaml:"timeout"`
	// Limits override or add to DefaultLimits(easemob), by name.
	Limits map[string]LimitConfig `yaml:"limits"`
}

// Location parses Zone.
func (a EasemobAccount) Location() (*time.Location, error) { return parseZone(a.Zone) }

// Duration is a time.Duration written as "1s", "5m" in YAML and the
// environment.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 500ms, 30s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults returns a Config with every default filled in.
func Defaults() Config {
	return Config{
		Concurrency:     20,
		Queues:          map[string]int{},
		Shards:          1,
		ShutdownTimeout: Duration(30 * time.Second),
		PollInterval:    Duration(time.Second),
		Retry: RetryConfig{
			Initial:    Duration(2 * time.Second),
			Max:        Duration(10 * time.Minute),
			Multiplier: 2,
			Jitter:     0.5,
		},
		DeliveredTTL: Duration(24 * time.Hour),
		Limiter: LimiterConfig{
			MaxWait: Duration(2 * time.Second),
			Margin:  Duration(10 * time.Millisecond),
			Adaptive: AdaptiveConfig{
				Decrease: 0.5, Increase: 0.1, Quiet: Duration(30 * time.Second), Probe: Duration(5 * time.Minute), Floor: 0.05,
			},
		},
		Circuit: CircuitConfig{Failures: 5, Probe: Duration(30 * time.Second)},
		InDoubt: map[string]InDoubtPolicy{},
		Admin:   AdminConfig{Addr: "127.0.0.1:8080"},
		Log:     LogConfig{Level: "info"},
	}
}

// LoadConfig reads the YAML file at path (none when path is empty), lays the
// HERALD_* variables of environ (os.Environ() outside tests) over it and
// checks the result.
func LoadConfig(path string, environ []string) (Config, error) {
	cfg, err := ReadConfig(path, environ)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ReadConfig is LoadConfig without the final Validate.
func ReadConfig(path string, environ []string) (Config, error) {
	var b []byte
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
	}
	return decodeConfig(b, path, environ)
}

// decodeConfig is ReadConfig on the file's contents; src names the file in
// errors.
func decodeConfig(b []byte, src string, environ []string) (Config, error) {
	cfg := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %w", src, err)
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ConfigError names the key that is wrong.
type ConfigError struct {
	Key  string // e.g. "easemob.default.client_secret"
	Rule string
}

func (e *ConfigError) Error() string { return "config: " + e.Key + ": " + e.Rule }

// Validate checks the config and returns a *ConfigError naming the first
// wrong key. It makes every check a worker's start makes except
// connecting: the Redis options are parsed and the CA file read, the admin
// address parsed, every account checked. What passes Validate fails at
// start only because something is unreachable.
func (c Config) Validate() error {
	bad := func(key, rule string) error { return &ConfigError{Key: key, Rule: rule} }
	// Every number first, whatever section it is in (the limiter and the
	// accounts grow fields): a NaN passes every "< 0" and "> 1" test below.
	if err := checkNumbers(reflect.ValueOf(c), ""); err != nil {
		return err
	}
	r := c.Redis
	switch {
	case r.URL != "" && len(r.Addrs) > 0:
		return bad("redis.url", "set either url (standalone) or addrs (sentinel/cluster), not both")
	case r.URL != "":
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return bad("redis.url", "must be a redis:// or rediss:// URL")
		}
	case len(r.Addrs) > 0 && r.MasterName == "" && !r.Cluster:
		return bad("redis.addrs", "needs master_name (sentinel) or cluster: true")
	case r.MasterName != "" && r.Cluster:
		return bad("redis.cluster", "sentinel (master_name) and cluster are exclusive")
	}
	switch {
	case r.DB < 0:
		return bad("redis.db", "must not be negative")
	case r.URL != "" && r.DB != 0:
		return bad("redis.db", "give the database in the URL (redis://host:6379/2) instead")
	case r.Cluster && r.DB != 0:
		return bad("redis.db", "Redis Cluster has only database 0")
	case r.URL != "" && r.TLS && !strings.HasPrefix(r.URL, "rediss://"):
		return bad("redis.tls", "a standalone Redis takes TLS from a rediss:// URL")
	case (r.TLSCAFile != "" || r.TLSServerName != "") && !r.tlsOn():
		return bad("redis.tls_ca_file", "TLS settings need tls: true or a rediss:// URL")
	}
	if r.Configured() {
		if _, err := r.options(); err != nil {
			return err
		}
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		return bad("concurrency", fmt.Sprintf("must be 1 to %d", maxConcurrency))
	}
	known := map[string]bool{}
	for _, p := range tasks.Providers() {
		known[p.Queue()] = true
	}
	for _, q := range sortedKeys(c.Queues) {
		if !known[q] {
			return bad("queues."+q, "unknown queue; queues are the providers: feishu, easemob, dingtalk, enos")
		}
		if c.Queues[q] < 1 || c.Queues[q] > maxQueueWeight {
			return bad("queues."+q, fmt.Sprintf("weight must be 1 to %d", maxQueueWeight))
		}
	}
	if c.Shards < 1 || c.Shards > tasks.MaxShards {
		return bad("shards", fmt.Sprintf("must be 1 to %d", tasks.MaxShards))
	}
	if c.ShutdownTimeout <= 0 {
		return bad("shutdown_timeout", "must be positive")
	}
	if c.PollInterval <= 0 {
		return bad("poll_interval", "must be positive")
	}
	if c.Retry.Initial <= 0 || c.Retry.Max < c.Retry.Initial {
		return bad("retry", "needs 0 < initial <= max")
	}
	if c.Retry.Multiplier < 1 || c.Retry.Multiplier > maxMultiplier {
		return bad("retry.multiplier", fmt.Sprintf("must be 1 to %g", float64(maxMultiplier)))
	}
	if c.Retry.Jitter < 0 || c.Retry.Jitter > 1 {
		return bad("retry.jitter", "must be between 0 and 1")
	}
	if need, why := c.Retry.markerLife(); c.DeliveredTTL.D() < need {
		return bad("delivered_ttl", fmt.Sprintf("%s is too short, set at least %s: a delivered-marker must outlive every retry of its task, or a retry after a crash sends again; %s",
			c.DeliveredTTL.D(), need, why))
	}
	if err := c.Circuit.check(); err != nil {
		return err
	}
	for _, typ := range sortedKeys(c.InDoubt) {
		if err := checkInDoubt(typ, c.InDoubt[typ]); err != nil {
			return err
		}
	}
	if c.Limiter.MaxWait < 0 {
		return bad("limiter.max_wait", "must not be negative")
	}
	if c.Limiter.Headroom < 0 || c.Limiter.Headroom > 1 {
		return bad("limiter.headroom", "must be between 0 and 1")
	}
	if c.Limiter.Margin < 0 {
		return bad("limiter.margin", "must not be negative")
	}
	if a := c.Limiter.Adaptive; !a.Disabled {
		switch {
		case a.Decrease <= 0 || a.Decrease >= 1:
			return bad("limiter.adaptive.decrease", "must be above 0 and below 1 (0.5 halves the rate)")
		case a.Increase <= 0 || a.Increase > 1:
			return bad("limiter.adaptive.increase", "must be above 0 and at most 1")
		case a.Quiet <= 0:
			return bad("limiter.adaptive.quiet", "must be positive")
		case a.Probe < 0:
			return bad("limiter.adaptive.probe", "must not be negative")
		case a.Floor <= 0 || a.Floor > 1:
			return bad("limiter.adaptive.floor", "must be above 0 and at most 1")
		}
	}
	if a := c.Admin.Addr; a != "-" {
		if err := checkListenAddr(a); err != nil {
			return bad("admin.addr", err.Error()+` (or "-" for no admin server)`)
		}
	}
	if m := c.Admin.Monitoring; c.Admin.Addr != "-" && !m.Disabled && m.Password == "" && !loopback(c.Admin.Addr) {
		return bad("admin.monitoring.password", "required when admin.addr is not a loopback address (or set admin.monitoring.disabled)")
	}
	if err := c.API.validate(); err != nil {
		return err
	}
	if err := c.Events.validate(); err != nil {
		return err
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return bad("log.level", err.Error())
	}
	if len(c.Easemob)+len(c.EnOS)+len(c.Feishu)+len(c.DingTalk) == 0 && c.Redis.Configured() {
		// Without Redis the worker runs the demo, which brings its own.
		return bad("easemob", "no provider accounts configured: a worker needs at least one")
	}
	for _, name := range sortedKeys(c.Easemob) {
		a := c.Easemob[name]
		key := "easemob." + name
		if err := tasks.CheckAccountName(name); err != nil {
			return bad(key, "account name "+err.Error())
		}
		if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key+".base_url", "must be an http(s) URL such as https://a1.easemob.com")
		}
		for _, f := range []struct{ k, v string }{
			{"org_name", a.OrgName}, {"app_name", a.AppName}, {"client_id", a.ClientID}, {"client_secret", a.ClientSecret},
		} {
			if f.v == "" {
				return bad(key+"."+f.k, "required")
			}
		}
		if _, err := a.Location(); err != nil {
			return bad(key+".zone", err.Error())
		}
		if err := checkLimits(tasks.Easemob, key+".limits", a.Limits); err != nil {
			return err
		}
	}
	if err := validateDingTalk(c.DingTalk); err != nil {
		return err
	}
	if err := validateFeishu(c.Feishu); err != nil {
		return err
	}
	return c.validateEnOS()
}

// Bounds past which a value is a typo rather than a choice.
const (
	// maxConcurrency: each slot is a goroutine that may hold a Redis
	// connection and an HTTP call.
	maxConcurrency = 10000
	maxQueueWeight = 1000
	// maxMultiplier: at 10 the delay reaches retry.max within a few
	// attempts already.
	maxMultiplier = 10
)

// Assumptions about a task the worker cannot see from its config: the
// producer sets them per job.
const (
	// defaultMaxRetry is asynq's MaxRetry for a job that sets none.
	defaultMaxRetry = 25
	// defaultTaskTimeout is asynq's bound on one attempt of a job that
	// sets no Timeout.
	defaultTaskTimeout = 30 * time.Minute
	// minDeliveredTTL is the floor for delivered_ttl whatever the retry
	// settings: a job may set a larger MaxRetry, and waits on rate limits
	// (and open circuits) spend no retries, so no sum of delays bounds a
	// task's life; a day covers the defaults with room.
	minDeliveredTTL = 24 * time.Hour
)

// markerLife is the shortest delivered_ttl these retry settings allow, and
// how it was reached: asynq's default 25 retries at the longest backoff
// (+jitter), plus 26 attempts of asynq's default 30-minute timeout, and
// never below a day.
func (r RetryConfig) markerLife() (time.Duration, string) {
	var backoff float64
	delay := float64(r.Initial)
	for range defaultMaxRetry {
		backoff += min(delay, float64(r.Max)) * (1 + r.Jitter)
		delay *= r.Multiplier
	}
	backoff = min(backoff, float64(1<<62)) // durations of centuries, kept in range
	attempts := (defaultMaxRetry + 1) * defaultTaskTimeout
	span := time.Duration(min(backoff+float64(attempts), float64(1<<62)))
	why := fmt.Sprintf("with these retry settings %d retries (asynq's default MaxRetry) wait up to %s, and %d attempts of up to %s (asynq's default Timeout) add %s",
		defaultMaxRetry, time.Duration(backoff).Round(time.Second), defaultMaxRetry+1, defaultTaskTimeout, attempts)
	if span < minDeliveredTTL {
		return minDeliveredTTL, why + fmt.Sprintf(" = %s, and jobs with a larger MaxRetry or long rate-limit waits last longer, so never less than %s",
			span.Round(time.Second), minDeliveredTTL)
	}
	return span.Round(time.Second), why + " = " + span.Round(time.Second).String()
}

// checkNumbers walks v (a config section, key its YAML path) and refuses a
// float that is NaN or infinite and a negative duration, naming the key.
// It reflects over the struct so that fields added later are covered.
func checkNumbers(v reflect.Value, key string) error {
	switch {
	case v.Type() == reflect.TypeFor[Duration]():
		if v.Int() < 0 {
			return &ConfigError{Key: key, Rule: "must not be negative"}
		}
	case v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return &ConfigError{Key: key, Rule: fmt.Sprintf("must be a finite number, not %v", f)}
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if tag := yamlName(v.Type().Field(i)); tag != "" {
				if err := checkNumbers(v.Field(i), join(key, tag)); err != nil {
					return err
				}
			}
		}
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			if err := checkNumbers(v.MapIndex(k), join(key, k.String())); err != nil {
				return err
			}
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			if err := checkNumbers(v.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkListenAddr checks an address to listen on: host:port with the port
// 0-65535 (0 picks a free one) and the host empty, a name or an IP.
func checkListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address like 127.0.0.1:8080 or :8080", addr)
	}
	if strings.ContainsAny(host, " /\\") {
		return fmt.Errorf("%q: %q is not a host name or IP", addr, host)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%q: port must be 0-65535", addr)
	}
	return nil
}

// checkLimits checks an account's limits: each well-formed, and each job it
// names one of the provider's actions.
func checkLimits(p tasks.Provider, key string, limits map[string]LimitConfig) error {
	actions := map[string]bool{}
	for _, typ := range tasks.Types() {
		if prov, ok := tasks.ProviderOf(typ); ok && prov == p {
			actions[actionOf(typ)] = true
		}
	}
	for _, name := range sortedKeys(limits) {
		c := limits[name]
		if rule := checkLimit(c); rule != "" {
			return &ConfigError{Key: key + "." + name, Rule: rule}
		}
		for _, j := range c.Jobs {
			if !actions[j] {
				return &ConfigError{Key: key + "." + name + ".jobs", Rule: fmt.Sprintf("%q is not a %s job (e.g. %s)", j, p, strings.Join(sortedKeys(actions), ", "))}
			}
		}
	}
	return nil
}

// loopback reports whether addr only listens on this machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseZone(s string) (*time.Location, error) {
	if s == "" {
		return tasks.ChinaStandardTime(), nil
	}
	if t, err := time.Parse("-07:00", s); err == nil {
		_, off := t.Zone()
		return time.FixedZone(s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an offset like +08:00 nor a known IANA zone", s)
	}
	return loc, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
