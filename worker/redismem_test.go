package worker

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/internal/redistest"
)

// The memory gauges and the start-up warning read a real Redis: its
// used_memory, maxmemory and policy as an operator sets them with CONFIG
// SET, and nothing when Redis is gone.
func TestRedisMemory(t *testing.T) {
	own, err := redistest.Start() // its own: the test changes its config
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	rdb := own.Client(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newRedisMemoryCollector(rdb, ""))
	node := map[string]string{"node": own.Addr}

	cases := []struct {
		maxmemory, policy string
		wantMax           float64
		warns             bool
	}{
		{"0", "noeviction", 0, false},
		{"64mb", "allkeys-lru", 64 << 20, true},
		{"1gb", "volatile-ttl", 1 << 30, true},
		{"64mb", "noeviction", 64 << 20, false},
	}
	for _, tc := range cases {
		if err := rdb.ConfigSet(ctx, "maxmemory", tc.maxmemory).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.ConfigSet(ctx, "maxmemory-policy", tc.policy).Err(); err != nil {
			t.Fatal(err)
		}
		if used, ok := gauge(t, reg, "herald_redis_memory_used_bytes", node); !ok || used < 100_000 {
			t.Errorf("%s: used = %v (%v), want Redis' own ~1 MB at least", tc.policy, used, ok)
		}
		if max, _ := gauge(t, reg, "herald_redis_memory_max_bytes", node); max != tc.wantMax {
			t.Errorf("maxmemory %s: max = %v, want %v", tc.maxmemory, max, tc.wantMax)
		}
		if v, ok := gauge(t, reg, "herald_redis_maxmemory_policy", map[string]string{"node": own.Addr, "policy": tc.policy}); !ok || v != 1 {
			t.Errorf("policy %s: gauge = %v (%v), want 1", tc.policy, v, ok)
		}

		var logs bytes.Buffer
		warnIfRedisEvicts(ctx, rdb, "", zerolog.New(&logs))
		line := logs.String()
		if warned := strings.Contains(line, `"maxmemory_policy":"`+tc.policy+`"`); warned != tc.warns {
			t.Errorf("policy %s: warned %v, want %v: %q", tc.policy, warned, tc.warns, line)
		}
		if tc.warns && (!strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, `"node":"`+own.Addr+`"`)) {
			t.Errorf("warning %q lacks its level or node", line)
		}
	}

	own.Stop()
	if _, ok := gauge(t, reg, "herald_redis_memory_used_bytes", nil); ok {
		t.Error("memory gauges reported with Redis gone")
	}
	var logs bytes.Buffer
	warnIfRedisEvicts(ctx, rdb, "", zerolog.New(&logs).Level(zerolog.InfoLevel))
	if logs.Len() != 0 {
		t.Errorf("Redis gone: logged %q at info, want nothing (Run reports the outage)", logs.String())
	}
}

func TestParseRedisMemory(t *testing.T) {
	cases := []struct {
		name, info string
		want       redisMemory
		err        string
	}{
		{"redis 7", "# Memory\r\nused_memory:1055200\r\nused_memory_human:1.01M\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n",
			redisMemory{node: "n", used: 1055200, policy: "noeviction"}, ""},
		{"limit", "used_memory:10\nmaxmemory:67108864\nmaxmemory_policy:allkeys-lru\n",
			redisMemory{node: "n", used: 10, max: 64 << 20, policy: "allkeys-lru"}, ""},
		{"no policy", "used_memory:10\nmaxmemory:0\n", redisMemory{}, "lacks"},
		{"bad number", "used_memory:ten\nmaxmemory:0\nmaxmemory_policy:noeviction\n", redisMemory{}, "used_memory"},
		{"empty", "", redisMemory{}, "lacks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRedisMemory("n", tc.info)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
