package worker

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"github.com/redis/go-redis/v9"
)

// NewRedisClient builds the one Redis client a worker shares between asynq,
// the limiters, the token cache and the delivered-markers: standalone from
// a URL, or Sentinel or Cluster from addresses.
func NewRedisClient(c RedisConfig) (redis.UniversalClient, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	if c.URL != "" {
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, &ConfigError{Key: "redis.url", Rule: err.Error()}
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
		return redis.NewClient(opt), nil
	}
	if len(c.Addrs) == 0 {
		return nil, &ConfigError{Key: "redis", Rule: "no url or addrs configured"}
	}
	if c.MasterName == "" && !c.Cluster {
		return nil, &ConfigError{Key: "redis.addrs", Rule: "needs master_name (sentinel) or cluster: true"}
	}
	if c.Cluster {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Addrs, Username: c.Username, Password: c.Password, TLSConfig: tc,
		}), nil
	}
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: c.MasterName, SentinelAddrs: c.Addrs, SentinelPassword: c.SentinelPassword,
		Username: c.Username, Password: c.Password, DB: c.DB, TLSConfig: tc,
	}), nil
}

// tlsConfig is the TLS setup for a TLS connection, nil for plain TCP.
func (c RedisConfig) tlsConfig() (*tls.Config, error) {
	if !c.tlsOn() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
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
