package easemob_test

import (
	"context"
	"testing"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"

	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// BenchmarkPushSingle is one push/single call end to end: token from Redis,
// request, simulator, reply decoded.
func BenchmarkPushSingle(b *testing.B) {
	sim := easemobsim.New(relaxed(easemobsim.Options{}))
	cfg := config(simtest.Start(b, sim.Kit))
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
