package tasks_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
)

// redisSrv is the package's throwaway redis-server. Tests take a flushed
// client from it with redisSrv.Client(t); examples call redisURL().
var redisSrv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &redisSrv) }

// redisURL empties the test server, so each example starts from nothing
// (its output must not depend on what ran before), and returns its URL.
// A real program would read the URL from its config, e.g.
// "redis://localhost:6379/0".
func redisURL() string {
	c := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		panic("flush test redis: " + err.Error())
	}
	return redisSrv.URL()
}
