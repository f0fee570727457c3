package providers_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/providers"
)

// On a Redis Cluster the token cache works for accounts whose keys live on
// different masters: a token and its refresh lock share a slot (one script
// touches both), replicas still fetch once, and Drop only drops the token it
// was given.
func TestTokenOnCluster(t *testing.T) {
	cluster, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	keys := tokenKeysOnEveryMaster(t, cluster.Client(t), len(cluster.Addrs))

	t.Run("miss fetches once and caches on the owning master", func(t *testing.T) {
		ctx := t.Context()
		rc := cluster.Client(t)
		c := providers.NewTokenCache(rc)
		for _, key := range keys {
			var f counter
			for i := range 3 {
				if got, err := c.Token(ctx, key, f.fetch); err != nil || got != "tok-1" {
					t.Fatalf("%s call %d: %q, %v; want tok-1", key, i, got, err)
				}
			}
			if n := f.n.Load(); n != 1 {
				t.Fatalf("%s: fetched %d times, want 1", key, n)
			}
			m := ownerOf(t, rc, key)
			if got, err := m.Get(ctx, "herald:token:{"+key+"}").Result(); err != nil || got != "tok-1" {
				t.Errorf("%s: GET on its master %s = %q, %v; want tok-1", key, m.Options().Addr, got, err)
			}
			// Only the token is there: the lock was released.
			if n, err := m.DBSize(ctx).Result(); err != nil || n != 1 {
				t.Errorf("%s: master %s holds %d keys (%v), want the token only", key, m.Options().Addr, n, err)
			}
		}
	})

	t.Run("drop only the matching token", func(t *testing.T) {
		ctx := t.Context()
		c := providers.NewTokenCache(cluster.Client(t))
		for _, key := range keys {
			var f counter
			steps := []struct {
				drop string // "" for none
				want string // the token Token returns afterwards
			}{
				{"", "tok-1"},
				{"tok-stale", "tok-1"},
				{"tok-1", "tok-2"},
			}
			for i, s := range steps {
				if s.drop != "" {
					if err := c.Drop(ctx, key, s.drop); err != nil {
						t.Fatalf("%s step %d: Drop: %v", key, i, err)
					}
				}
				if got, err := c.Token(ctx, key, f.fetch); err != nil || got != s.want {
					t.Fatalf("%s step %d: Token = %q, %v; want %s", key, i, got, err, s.want)
				}
			}
		}
	})

	t.Run("concurrent misses across replicas fetch once", func(t *testing.T) {
		cluster.Client(t) // flush
		newClient := func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs})
		}
		fetchOnceAcrossReplicas(t, newClient, keys[1], nil)
	})
}

// tokenKeysOnEveryMaster picks one account key per master, checking that
// the token and its refresh lock hash to the same slot.
func tokenKeysOnEveryMaster(t *testing.T, rc *redis.ClusterClient, masters int) []string {
	t.Helper()
	ctx := t.Context()
	seen := map[string]bool{}
	var keys []string
	for i := 0; len(keys) < masters; i++ {
		if i == 1000 {
			t.Fatalf("1000 keys did not cover %d masters: %v", masters, seen)
		}
		key := fmt.Sprintf("easemob:acct%d", i)
		tok, err := rc.ClusterKeySlot(ctx, "herald:token:{"+key+"}").Result()
		if err != nil {
			t.Fatal(err)
		}
		if lock, err := rc.ClusterKeySlot(ctx, "herald:token:{"+key+"}:lock").Result(); err != nil || lock != tok {
			t.Fatalf("%s: token in slot %d, lock in %d (%v)", key, tok, lock, err)
		}
		addr := ownerOf(t, rc, key).Options().Addr
		if !seen[addr] {
			seen[addr] = true
			keys = append(keys, key)
		}
	}
	return keys
}

// ownerOf is the master serving the token key of an account.
func ownerOf(t *testing.T, rc *redis.ClusterClient, key string) *redis.Client {
	t.Helper()
	m, err := rc.MasterForKey(t.Context(), "herald:token:{"+key+"}")
	if err != nil {
		t.Fatalf("master for %s: %v", key, err)
	}
	return m
}
