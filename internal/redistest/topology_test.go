package redistest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The cluster comes up with every slot served, its masters each own a
// share, Client starts from an empty cluster, and Stop leaves nothing
// running or on disk.
func TestCluster(t *testing.T) {
	start := time.Now()
	c, err := StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster of 3 ready in %s", time.Since(start).Round(time.Millisecond))
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()
	if len(c.Addrs) != 3 || slices.Contains(c.Addrs, "127.0.0.1:6379") {
		t.Fatalf("Addrs = %v, want 3 nodes, none on 6379", c.Addrs)
	}
	ctx := context.Background()
	rc := c.Client(t)

	// Keys spread over every master, and each master owns a third of the
	// slots: the split is even.
	owners := map[string]int{}
	for i := range 60 {
		key := fmt.Sprintf("k%d", i)
		if err := rc.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		m, err := rc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		owners[m.Options().Addr]++
	}
	if len(owners) != 3 {
		t.Fatalf("60 keys landed on %d masters (%v), want all 3", len(owners), owners)
	}
	slots, err := rc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string]int{}
	for _, s := range slots {
		perNode[s.Nodes[0].Addr] += s.End - s.Start + 1
	}
	for _, addr := range c.Addrs {
		if n := perNode[addr]; n < 5461 || n > 5462 {
			t.Errorf("%s owns %d slots, want 5461 or 5462 (%v)", addr, n, perNode)
		}
	}

	rc2 := c.Client(t)                 // flushes every master
	n, err := rc2.DBSize(ctx).Result() // summed over the masters
	if err != nil || n != 0 {
		t.Fatalf("after Client: DBSIZE = %d, %v; want 0", n, err)
	}

	c.Stop()
	stopped = true
	for _, addr := range c.Addrs {
		if ping(addr) == nil {
			t.Errorf("%s still answers after Stop", addr)
		}
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster dir %s left behind: %v", c.dir, err)
	}
}

// The Sentinel reports the master, a failover client reaches it through
// the Sentinel, and Stop cleans up.
func TestSentinel(t *testing.T) {
	start := time.Now()
	s, err := StartSentinel()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sentinel ready in %s", time.Since(start).Round(time.Millisecond))
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if s.MasterName != "herald" || len(s.SentinelAddrs) != 1 {
		t.Fatalf("MasterName %q, SentinelAddrs %v", s.MasterName, s.SentinelAddrs)
	}
	for _, a := range append([]string{s.MasterAddr}, s.SentinelAddrs...) {
		if a == "127.0.0.1:6379" {
			t.Fatal("must never use the shared Redis on 6379")
		}
	}
	ctx := context.Background()
	rc := s.Client(t)
	if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The write went to the master the Sentinel names.
	direct := redis.NewClient(&redis.Options{Addr: s.MasterAddr})
	defer direct.Close()
	if v, err := direct.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET k on the master = %q, %v; want v", v, err)
	}
	s.Client(t) // flushes
	if n, err := direct.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("Client did not flush: exists=%d err=%v", n, err)
	}

	s.Stop()
	stopped = true
	for _, a := range append([]string{s.MasterAddr}, s.SentinelAddrs...) {
		if ping(a) == nil {
			t.Errorf("%s still answers after Stop", a)
		}
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("sentinel dir %s left behind: %v", s.dir, err)
	}
}
