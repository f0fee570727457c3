package worker

import (
	"crypto/tls"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// NewRedisClient builds the one Redis client a worker shares between asynq,
// the limiters, the token cache and the delivered-markers: standalone from
// a URL, or Sentinel or Cluster from addresses.
func NewRedisClient(c RedisConfig) (redis.UniversalClient, error) {
	if c.URL != "" {
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, &ConfigError{Key: "redis.url", Rule: err.Error()}
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
		return nil, fmt.Errorf("redis: no url or addrs configured")
	}
	var tc *tls.Config
	if c.TLS {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
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
