package redistest

import (
	"context"
	"testing"
)

func TestServerIsolated(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.Addr == "127.0.0.1:6379" {
		t.Fatal("must never use the shared Redis on 6379")
	}
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c2 := s.Client(t) // flushes
	if n, err := c2.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("Client did not flush: exists=%d err=%v", n, err)
	}
}
