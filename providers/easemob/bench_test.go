package easemob_test

import (
	"context"
	"testing"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

// BenchmarkPushSingle is one push/single call end to end: token from Redis,
// request, simulator, reply decoded.
func BenchmarkPushSingle(b *testing.B) {
	sim := easemobsim.New(relaxed(easemobsim.Options{}))
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	cfg := config(url)
	cfg.Tokens = providers.NewTokenCache(srv.Client(b))
	c := easemob.New(cfg)
	job := single("u1", "u2", "u3")
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.PushSingle(ctx, job); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
