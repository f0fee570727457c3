package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// maxCAFile bounds redis.tls_ca_file: a CA bundle is kilobytes (the whole
// Mozilla set is about 200 KiB).
const maxCAFile = 4 << 20

// NewRedisClient builds the one Redis client a worker shares between asynq,
// the limiters, the token cache and the delivered-markers: standalone from
// a URL, or Sentinel or Cluster from addresses. It does not connect.
func NewRedisClient(c RedisConfig) (redis.UniversalClient, error) {
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	switch {
	case o.standalone != nil:
		return redis.NewClient(o.standalone), nil
	case o.cluster != nil:
		return redis.NewClusterClient(o.cluster), nil
	default:
		return redis.NewFailoverClient(o.failover), nil
	}
}

// redisOptions is a RedisConfig turned into go-redis options: exactly one
// field is set.
type redisOptions struct {
	standalone *redis.Options
	cluster    *redis.ClusterOptions
	failover   *redis.FailoverOptions
}

// options makes every check NewRedisClient needs, without dialling: the
// URL and its query options parsed, addresses well formed, the CA bundle
// read. Validate calls it so that `worker -check` fails where start would.
func (c RedisConfig) options() (redisOptions, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return redisOptions{}, err
	}
	if c.URL != "" {
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			// go-redis' messages quote the URL, password and all.
			return redisOptions{}, &ConfigError{Key: "redis.url", Rule: redactURLError(err.Error(), c.URL)}
		}
		if err := checkHostPort(opt.Addr); err != nil {
			return redisOptions{}, &ConfigError{Key: "redis.url", Rule: err.Error()}
		}
		if opt.TLSConfig != nil && tc != nil {
			opt.TLSConfig.RootCAs = tc.RootCAs
			if tc.ServerName != "" {
				opt.TLSConfig.ServerName = tc.ServerName
			}
		}
		if c.Username != "" {
			opt.Username = c.Username
		}
		if c.Password != "" {
			opt.Password = c.Password
		}
		return redisOptions{standalone: opt}, nil
	}
	if len(c.Addrs) == 0 {
		return redisOptions{}, &ConfigError{Key: "redis", Rule: "no url or addrs configured"}
	}
	if c.MasterName == "" && !c.Cluster {
		return redisOptions{}, &ConfigError{Key: "redis.addrs", Rule: "needs master_name (sentinel) or cluster: true"}
	}
	for _, a := range c.Addrs {
		if err := checkHostPort(a); err != nil {
			return redisOptions{}, &ConfigError{Key: "redis.addrs", Rule: err.Error()}
		}
	}
	if c.Cluster {
		return redisOptions{cluster: &redis.ClusterOptions{
			Addrs: c.Addrs, Username: c.Username, Password: c.Password, TLSConfig: tc,
		}}, nil
	}
	return redisOptions{failover: &redis.FailoverOptions{
		MasterName: c.MasterName, SentinelAddrs: c.Addrs, SentinelPassword: c.SentinelPassword,
		Username: c.Username, Password: c.Password, DB: c.DB, TLSConfig: tc,
	}}, nil
}

// redactURLError removes the URL's password from a parse error.
func redactURLError(msg, rawURL string) string {
	if _, rest, ok := strings.Cut(rawURL, "://"); ok {
		if userinfo, _, ok := strings.Cut(rest, "@"); ok {
			if _, pass, ok := strings.Cut(userinfo, ":"); ok && pass != "" {
				msg = strings.ReplaceAll(msg, pass, "xxxxx")
			}
		}
	}
	return msg
}

// checkHostPort checks a host:port to dial: a host and a port in range.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address", addr)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if n, err := net.LookupPort("tcp", port); err != nil || n == 0 {
		return fmt.Errorf("%q: port must be 1-65535", addr)
	}
	return nil
}

// tlsConfig is the TLS setup for a TLS connection, nil for plain TCP.
func (c RedisConfig) tlsConfig() (*tls.Config, error) {
	if !c.tlsOn() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if c.TLSCAFile != "" {
		pem, err := readFileMax(c.TLSCAFile, maxCAFile)
		if err != nil {
			return nil, &ConfigError{Key: "redis.tls_ca_file", Rule: err.Error()}
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Key: "redis.tls_ca_file", Rule: "holds no PEM certificate"}
		}
	}
	return tc, nil
}

// Addr says where c points, for messages: host:port, or the list of
// Sentinel or Cluster addresses. It never includes credentials.
func (c RedisConfig) Addr() string {
	if c.URL != "" {
		if opt, err := redis.ParseURL(c.URL); err == nil {
			return opt.Addr
		}
		return "the configured redis.url"
	}
	return strings.Join(c.Addrs, ",")
}

// PingRedis checks that rdb answers, in words an operator can act on:
// "cannot reach Redis at host:port: <cause>" rather than the first command
// that happened to fail deep inside asynq.
func PingRedis(ctx context.Context, rdb redis.UniversalClient, c RedisConfig) error {
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis at %s: %w", c.Addr(), err)
	}
	return nil
}
